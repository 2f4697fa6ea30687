-- A page of edges is one index range scan from either end: each index that lists edges from
-- one end holds what a page reads of an edge (the other end, created_at), so PostgreSQL
-- answers it with an index-only scan.
DROP INDEX edges_by_subject;
DROP INDEX edges_by_member;
CREATE INDEX edges_by_subject ON edges (space_id, subject_id, relation_id, seq)
    INCLUDE (member_id, created_at);
CREATE INDEX edges_by_member ON edges (space_id, member_id, relation_id, seq)
    INCLUDE (subject_id, created_at);
-- The alias a page shows of each member is read from the entity's index alone.
DROP INDEX aliases_by_entity;
CREATE INDEX aliases_by_entity ON aliases (space_id, entity_id, namespace) INCLUDE (alias);
