//! The change log and delivery bookkeeping on SQLite (see [`crate::changes`]).

use rusqlite::{params, Connection, OptionalExtension};

use roster_core::{Change, ChangeSpan, DeliveryAttempt, HistoryStats, Resend, SpaceId, StoreError};

use crate::changes::{
    attempt, change, change_span, history_stats, json_text, prunable_through, prune_bound,
    resend_text, AttemptRow, ChangeRow, ATTEMPT_COLUMNS, CHANGE_COLUMNS, CHANGE_LOG_SIZE,
    CHANGE_SPAN, DELETE_ATTEMPTS, DELETE_CHANGES, OLDEST_CHANGES, PRUNE_BOUND, SET_HORIZON,
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

pub(super) fn span(conn: &Connection, space: SpaceId) -> Result<ChangeSpan, StoreError> {
    conn.prepare_cached(CHANGE_SPAN)
        .and_then(|mut s| s.query_row([space], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))))
        .map(change_span)
        .map_err(StoreError::backend)
}

/// One batch of retention, inside the writer's transaction (see `Store::prune_changes`).
pub(super) fn prune_changes(
    conn: &Connection,
    space: SpaceId,
    before: i64,
    limit: u32,
) -> rusqlite::Result<u64> {
    let bound = conn
        .prepare_cached(PRUNE_BOUND)?
        .query_row([space], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let Some(bound) = prune_bound(bound) else {
        return Ok(0);
    };
    let oldest = conn
        .prepare_cached(OLDEST_CHANGES)?
        .query_map(params![space, i64::from(limit) + 1], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some(through) = prunable_through(&oldest, before, bound, limit as usize) else {
        return Ok(0);
    };
    let deleted = conn
        .prepare_cached(DELETE_CHANGES)?
        .execute(params![space, through])?;
    conn.prepare_cached(SET_HORIZON)?
        .execute(params![space, through])?;
    Ok(deleted as u64)
}

pub(super) fn prune_attempts(
    conn: &Connection,
    space: SpaceId,
    before: i64,
    limit: u32,
) -> rusqlite::Result<u64> {
    let deleted = conn
        .prepare_cached(DELETE_ATTEMPTS)?
        .execute(params![space, before, limit])?;
    Ok(deleted as u64)
}

/// Move up to `limit` free pages to the end of the file and cut them off (the database runs
/// with `auto_vacuum = INCREMENTAL`); how many.
pub(super) fn reclaim(conn: &Connection, limit: u32) -> rusqlite::Result<u64> {
    let free =
        |conn: &Connection| conn.query_row("PRAGMA freelist_count", [], |row| row.get::<_, i64>(0));
    let before = free(conn)?;
    if before == 0 {
        return Ok(0);
    }
    // Run to completion: each step of the pragma frees one page.
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({limit})"))?;
    Ok((before - free(conn)?).max(0) as u64)
}

pub(super) fn stats(conn: &Connection) -> Result<HistoryStats, StoreError> {
    let read = || -> rusqlite::Result<HistoryStats> {
        let log = conn
            .prepare_cached(CHANGE_LOG_SIZE)?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        Ok(history_stats(log, pages * page_size))
    };
    read().map_err(StoreError::backend)
}
