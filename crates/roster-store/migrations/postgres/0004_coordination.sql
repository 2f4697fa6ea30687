-- What every roster process on this database shares beyond stored data: recent requests per
-- rate-limit key, and leases on short exclusive sections. Unlogged: a crash may forget them,
-- which only forgets recent rates and frees the sections. Keys begin with the space's name.
CREATE UNLOGGED TABLE rate_log (
    key   TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX rate_log_by_key ON rate_log (key, at_ms);
CREATE UNLOGGED TABLE holds (
    key        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
