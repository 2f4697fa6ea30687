-- The change log (outbox): every relationship change a plan commits, written in the plan's
-- transaction. `plan` is one random number for all the changes of one plan. Entities are
-- named by kind and key, which outlive their rows. Callbacks are rendered from it, and
-- GET /_roster/changes pages through it.
CREATE TABLE changes (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id     BIGINT NOT NULL,
    plan         BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    op           TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_key  TEXT NOT NULL,
    relation     TEXT,
    member_kind  TEXT,
    member_key   TEXT,
    context      TEXT
);
CREATE INDEX changes_by_space ON changes (space_id, seq);
-- Per space, the last change whose callbacks are done (delivered or given up).
CREATE TABLE delivery_cursors (
    space_id BIGINT PRIMARY KEY,
    seq      BIGINT NOT NULL
);
-- Every attempt to deliver a callback, with the receiver's answer.
CREATE TABLE delivery_attempts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id   BIGINT NOT NULL,
    change_seq BIGINT NOT NULL,
    event      TEXT NOT NULL,
    url        TEXT NOT NULL,
    headers    TEXT NOT NULL,
    request    TEXT NOT NULL,
    attempt    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    status     BIGINT,
    response   TEXT NOT NULL,
    error      TEXT
);
CREATE INDEX delivery_attempts_by_space ON delivery_attempts (space_id, id);
