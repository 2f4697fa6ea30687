//! The change log and delivery bookkeeping on SQLite (see [`crate::changes`]).

use rusqlite::{params, Connection, OptionalExtension};

use roster_core::{Change, DeliveryAttempt, Resend, SpaceId, StoreError};

use crate::changes::{
    attempt, change, json_text, resend_text, AttemptRow, ChangeRow, ATTEMPT_COLUMNS, CHANGE_COLUMNS,
};

pub(super) fn changes(
    conn: &Connection,
    space: SpaceId,
    after: i64,
    limit: u32,
) -> Result<Vec<Change>, StoreError> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE space_id = ?1 AND seq > ?2
         ORDER BY seq LIMIT ?3"
    );
    let rows: Vec<ChangeRow> = super::collect(conn, &sql, params![space, after, limit], |row| {
        row.try_into()
    })?;
    rows.into_iter().map(change).collect()
}

pub(super) fn delivery_cursor(
    conn: &Connection,
    space: SpaceId,
) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT seq FROM delivery_cursors WHERE space_id = ?1")
        .and_then(|mut s| s.query_row([space], |row| row.get(0)).optional())
        .map_err(StoreError::backend)
}

pub(super) fn advance_delivery_cursor(
    conn: &Connection,
    space: SpaceId,
    from: i64,
    to: i64,
) -> rusqlite::Result<bool> {
    let moved = conn
        .prepare_cached("UPDATE delivery_cursors SET seq = ?3 WHERE space_id = ?1 AND seq = ?2")?
        .execute(params![space, from, to])?;
    if moved == 1 || from != 0 {
        return Ok(moved == 1);
    }
    let set = conn
        .prepare_cached(
            "INSERT INTO delivery_cursors (space_id, seq) VALUES (?1, ?2)
             ON CONFLICT (space_id) DO NOTHING",
        )?
        .execute(params![space, to])?;
    Ok(set == 1)
}

pub(super) fn record_attempt(
    conn: &Connection,
    a: &DeliveryAttempt,
    follows: Option<i64>,
) -> rusqlite::Result<i64> {
    if let Some(earlier) = follows {
        conn.prepare_cached("UPDATE delivery_attempts SET resend = NULL WHERE id = ?1")?
            .execute([earlier])?;
    }
    conn.prepare_cached(
        "INSERT INTO delivery_attempts (space_id, change_seq, event, url, headers, request,
                                        attempt, at, status, response, error, resend, method)
         VALUES (?1, ?2, ?3, ?4, ?11, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13) RETURNING id",
    )?
    .query_row(
        params![
            a.space,
            a.change_seq,
            a.event,
            a.url,
            a.request,
            a.attempt,
            a.at,
            a.status,
            a.response,
            a.error,
            json_text(&a.headers),
            resend_text(&a.resend),
            a.method.as_str()
        ],
        |row| row.get(0),
    )
}

pub(super) fn claim_resend(
    conn: &Connection,
    attempt: i64,
    expected: &Resend,
    claimed: &Resend,
) -> rusqlite::Result<bool> {
    let done = conn
        .prepare_cached("UPDATE delivery_attempts SET resend = ?3 WHERE id = ?1 AND resend = ?2")?
        .execute(params![
            attempt,
            resend_text(&Some(expected.clone())),
            resend_text(&Some(claimed.clone()))
        ])?;
    Ok(done == 1)
}

pub(super) fn drop_resends(conn: &Connection, space: SpaceId) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE delivery_attempts SET resend = NULL WHERE space_id = ?1 AND resend IS NOT NULL",
    )?
    .execute([space])?;
    Ok(())
}

pub(super) fn pending_resends(
    conn: &Connection,
    space: SpaceId,
) -> Result<Vec<DeliveryAttempt>, StoreError> {
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts
         WHERE space_id = ?1 AND resend IS NOT NULL ORDER BY id"
    );
    let rows: Vec<AttemptRow> = super::collect(conn, &sql, [space], |row| row.try_into())?;
    rows.into_iter().map(attempt).collect()
}

pub(super) fn attempts(
    conn: &Connection,
    space: Option<SpaceId>,
    after: i64,
    limit: u32,
) -> Result<Vec<DeliveryAttempt>, StoreError> {
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts
         WHERE (?1 IS NULL OR space_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3"
    );
    let rows: Vec<AttemptRow> = super::collect(conn, &sql, params![space, after, limit], |row| {
        row.try_into()
    })?;
    rows.into_iter().map(attempt).collect()
}
