CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE spaces (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dialect TEXT NOT NULL,
    key     TEXT NOT NULL,
    limits  TEXT NOT NULL DEFAULT '{}',
    UNIQUE (dialect, key)
);
CREATE TABLE entities (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id   BIGINT NOT NULL REFERENCES spaces (id),
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    attrs      TEXT NOT NULL,
    owner_id   BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (space_id, kind, key)
);
CREATE INDEX entities_by_kind ON entities (space_id, kind, id);
CREATE INDEX entities_by_owner ON entities (space_id, kind, owner_id, id);
CREATE TABLE aliases (
    space_id  BIGINT NOT NULL,
    namespace TEXT NOT NULL,
    alias     TEXT NOT NULL,
    entity_id BIGINT NOT NULL REFERENCES entities (id),
    PRIMARY KEY (space_id, namespace, alias)
);
CREATE INDEX aliases_by_entity ON aliases (entity_id, namespace);
CREATE TABLE edges (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id   BIGINT NOT NULL,
    subject_id BIGINT NOT NULL REFERENCES entities (id),
    relation   TEXT NOT NULL,
    member_id  BIGINT NOT NULL REFERENCES entities (id),
    created_at BIGINT NOT NULL,
    UNIQUE (subject_id, relation, member_id)
);
CREATE INDEX edges_by_subject ON edges (subject_id, relation, seq);
CREATE INDEX edges_by_member ON edges (member_id, relation, seq);
CREATE TABLE counters (
    entity_id BIGINT NOT NULL,
    relation  TEXT NOT NULL,
    direction TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (entity_id, relation, direction)
);
