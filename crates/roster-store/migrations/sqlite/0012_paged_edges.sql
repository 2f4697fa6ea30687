-- A page of edges is one range scan from either end. Edges are keyed in the order a subject's
-- members are paged in, (space, subject, relation, seq), with the member and created_at beside
-- the key; a unique index keeps an edge unique by its two ends; the index from the member's
-- end holds created_at (and the key's subject), so it answers a page without the table.
CREATE TABLE edges_paged (
    space_id    INTEGER NOT NULL,
    subject_id  INTEGER NOT NULL,
    relation_id INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (space_id, subject_id, relation_id, seq)
) WITHOUT ROWID;
INSERT INTO edges_paged (space_id, subject_id, relation_id, member_id, seq, created_at)
    SELECT space_id, subject_id, relation_id, member_id, seq, created_at FROM edges;
DROP TABLE edges;
ALTER TABLE edges_paged RENAME TO edges;
CREATE UNIQUE INDEX edges_by_ends ON edges (space_id, subject_id, relation_id, member_id);
CREATE INDEX edges_by_member ON edges (space_id, member_id, relation_id, seq, created_at);
-- The alias a page shows of each member is read from the entity's index alone.
DROP INDEX aliases_by_entity;
CREATE INDEX aliases_by_entity ON aliases (entity_id, namespace, space_id, alias);
