CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE spaces (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    dialect TEXT NOT NULL,
    key     TEXT NOT NULL,
    limits  TEXT NOT NULL DEFAULT '{}',
    UNIQUE (dialect, key)
);
CREATE TABLE entities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    space_id   INTEGER NOT NULL REFERENCES spaces (id),
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    attrs      TEXT NOT NULL,
    owner_id   INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (space_id, kind, key)
);
CREATE INDEX entities_by_kind ON entities (space_id, kind, id);
CREATE INDEX entities_by_owner ON entities (space_id, kind, owner_id, id);
CREATE TABLE aliases (
    space_id  INTEGER NOT NULL,
    namespace TEXT NOT NULL,
    alias     TEXT NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities (id),
    PRIMARY KEY (space_id, namespace, alias)
);
CREATE INDEX aliases_by_entity ON aliases (entity_id, namespace);
CREATE TABLE edges (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    space_id   INTEGER NOT NULL,
    subject_id INTEGER NOT NULL REFERENCES entities (id),
    relation   TEXT NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES entities (id),
    created_at INTEGER NOT NULL,
    UNIQUE (subject_id, relation, member_id)
);
CREATE INDEX edges_by_subject ON edges (subject_id, relation, seq);
CREATE INDEX edges_by_member ON edges (member_id, relation, seq);
CREATE TABLE counters (
    entity_id INTEGER NOT NULL,
    relation  TEXT NOT NULL,
    direction TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (entity_id, relation, direction)
);
