-- Plain sequences instead of identity columns, each continuing where its identity stopped
-- (ids are never reused, even those of deleted rows). Citus cannot change the shard count of
-- a table with an identity column, nor undistribute it (docs/scale-out.md).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('spaces', 'id', 'space_ids', 'bigint'),
        ('entities', 'id', 'entity_ids', 'bigint'),
        ('names', 'id', 'name_ids', 'integer'),
        ('changes', 'seq', 'change_seq', 'bigint'),
        ('delivery_attempts', 'id', 'attempt_ids', 'bigint')
    ) AS t (tab, col, seq, typ) LOOP
        EXECUTE format('CREATE SEQUENCE %I AS %s', c.seq, c.typ);
        EXECUTE format('SELECT setval(%L, last_value, is_called) FROM %s',
                       c.seq, pg_get_serial_sequence(c.tab, c.col));
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP IDENTITY', c.tab, c.col);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET DEFAULT nextval(%L)',
                       c.tab, c.col, c.seq);
        EXECUTE format('ALTER SEQUENCE %I OWNED BY %I.%I', c.seq, c.tab, c.col);
    END LOOP;
END
$$;
