-- How far retention removed each space's change log: a reader whose cursor is behind it is
-- told so (410 Gone) rather than handed a gap.
CREATE TABLE change_horizons (
    space_id       BIGINT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);
-- Housekeeping deletes the oldest rows of these tables every minute: vacuum them after a small
-- share of their rows went (not autovacuum's default fifth), so the space is reused, not grown.
ALTER TABLE changes SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE delivery_attempts SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
