-- How far retention removed each space's change log: a reader whose cursor is behind it is
-- told so (410 Gone) rather than handed a gap.
CREATE TABLE change_horizons (
    space_id       INTEGER PRIMARY KEY,
    pruned_through INTEGER NOT NULL
);
