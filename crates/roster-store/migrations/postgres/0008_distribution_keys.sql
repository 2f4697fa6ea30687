-- Every row of a space's tables is keyed by its space first (the distribution column of a
-- PostgreSQL-compatible distributed engine; docs/scale-out.md): entities, counters, the
-- change log and delivery attempts. A unique key of a distributed table must hold that
-- column, and no foreign key may point at a distributed table's row from another one's.
ALTER TABLE aliases DROP CONSTRAINT aliases_entity_id_fkey;
ALTER TABLE entities DROP CONSTRAINT entities_pkey;
ALTER TABLE entities ADD PRIMARY KEY (space_id, id);

ALTER TABLE counters ADD COLUMN space_id BIGINT;
UPDATE counters c SET space_id = e.space_id FROM entities e WHERE e.id = c.entity_id;
DELETE FROM counters WHERE space_id IS NULL;
ALTER TABLE counters ALTER COLUMN space_id SET NOT NULL;
ALTER TABLE counters DROP CONSTRAINT counters_pkey;
ALTER TABLE counters ADD PRIMARY KEY (space_id, entity_id, relation_id, direction);

ALTER TABLE changes DROP CONSTRAINT changes_pkey;
ALTER TABLE changes ADD PRIMARY KEY (space_id, seq);
DROP INDEX changes_by_space;

ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_pkey;
ALTER TABLE delivery_attempts ADD PRIMARY KEY (space_id, id);
DROP INDEX delivery_attempts_by_space;
