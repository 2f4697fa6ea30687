-- Relation names interned as small integers, and edges keyed by their space first (the
-- distribution column), without a rowid: an edge is stored once in its key and once in each
-- of the two indexes that list it from either end.
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO names (name) SELECT relation FROM edges UNION SELECT relation FROM counters;
CREATE TABLE edges_lean (
    space_id    INTEGER NOT NULL,
    subject_id  INTEGER NOT NULL,
    relation_id INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (space_id, subject_id, relation_id, member_id)
) WITHOUT ROWID;
INSERT INTO edges_lean
    SELECT e.space_id, e.subject_id, n.id, e.member_id, e.seq, e.created_at
    FROM edges e JOIN names n ON n.name = e.relation;
INSERT INTO sequences (name, value) VALUES ('edge_seq', (SELECT COALESCE(MAX(seq), 0) FROM edges));
DROP TABLE edges;
ALTER TABLE edges_lean RENAME TO edges;
CREATE INDEX edges_by_subject ON edges (space_id, subject_id, relation_id, seq);
CREATE INDEX edges_by_member ON edges (space_id, member_id, relation_id, seq);
-- direction: 0 the members of the entity, 1 the subjects it belongs to.
CREATE TABLE counters_lean (
    entity_id   INTEGER NOT NULL,
    relation_id INTEGER NOT NULL,
    direction   INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (entity_id, relation_id, direction)
) WITHOUT ROWID;
INSERT INTO counters_lean
    SELECT c.entity_id, n.id, CASE c.direction WHEN 'members' THEN 0 ELSE 1 END, c.n
    FROM counters c JOIN names n ON n.name = c.relation;
DROP TABLE counters;
ALTER TABLE counters_lean RENAME TO counters;
