-- How many times a space's contents were loaded whole (a reset, a snapshot import): tokens
-- name it, so those issued before a load stop working, as after a credential change.
ALTER TABLE spaces ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
