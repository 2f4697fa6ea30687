-- Relation names interned as small integers, and edges keyed by their space first (the
-- distribution column).
CREATE TABLE names (
    id   INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO names (name) SELECT relation FROM edges UNION SELECT relation FROM counters;
CREATE SEQUENCE edge_seq;
SELECT setval('edge_seq', (SELECT COALESCE(MAX(seq), 0) FROM edges) + 1, false);
CREATE TABLE edges_lean (
    space_id    BIGINT NOT NULL,
    subject_id  BIGINT NOT NULL,
    relation_id INTEGER NOT NULL,
    member_id   BIGINT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT nextval('edge_seq'),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (space_id, subject_id, relation_id, member_id)
);
INSERT INTO edges_lean (space_id, subject_id, relation_id, member_id, seq, created_at)
    SELECT e.space_id, e.subject_id, n.id, e.member_id, e.seq, e.created_at
    FROM edges e JOIN names n ON n.name = e.relation;
DROP TABLE edges;
ALTER TABLE edges_lean RENAME TO edges;
ALTER TABLE edges RENAME CONSTRAINT edges_lean_pkey TO edges_pkey;
CREATE INDEX edges_by_subject ON edges (space_id, subject_id, relation_id, seq);
CREATE INDEX edges_by_member ON edges (space_id, member_id, relation_id, seq);
-- direction: 0 the members of the entity, 1 the subjects it belongs to.
CREATE TABLE counters_lean (
    entity_id   BIGINT NOT NULL,
    relation_id INTEGER NOT NULL,
    direction   SMALLINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (entity_id, relation_id, direction)
);
INSERT INTO counters_lean
    SELECT c.entity_id, n.id, CASE c.direction WHEN 'members' THEN 0 ELSE 1 END, c.n
    FROM counters c JOIN names n ON n.name = c.relation;
DROP TABLE counters;
ALTER TABLE counters_lean RENAME TO counters;
ALTER TABLE counters RENAME CONSTRAINT counters_lean_pkey TO counters_pkey;
