//! The change log and delivery bookkeeping, read and written the same way on both backends:
//! the columns, how a row becomes a [`Change`] or a [`DeliveryAttempt`], and the PostgreSQL
//! statements (SQLite's are in `sqlite::changes`).

use serde_json::Value;
use sqlx::PgPool;

use roster_core::{
    CallbackMethod, Change, ChangeOp, ChangeSpan, DeliveryAttempt, EntityRef, HistoryStats, Resend,
    SpaceId, StoreError,
};

use crate::backend;

pub(crate) const CHANGE_COLUMNS: &str =
    "seq, space_id, plan, at, op, subject_kind, subject_key, relation, member_kind, member_key, context";
pub(crate) const ATTEMPT_COLUMNS: &str =
    "id, space_id, change_seq, event, url, headers, request, attempt, at, status, response, error, resend, method";

/// A space's largest and smallest kept seq and how far retention removed its log ($1 or ?1;
/// SQLite reads `$1` as a numbered parameter too).
pub(crate) const CHANGE_SPAN: &str = "SELECT
    (SELECT COALESCE(MAX(seq), 0) FROM changes WHERE space_id = $1),
    (SELECT MIN(seq) FROM changes WHERE space_id = $1),
    (SELECT COALESCE(MAX(pruned_through), 0) FROM change_horizons WHERE space_id = $1)";

pub(crate) fn change_span((last, oldest, pruned_through): (i64, Option<i64>, i64)) -> ChangeSpan {
    ChangeSpan {
        pruned_through,
        oldest,
        last: last.max(pruned_through),
    }
}

/// What holds a space's changes back from retention: its delivery cursor (nothing is removed
/// before it is set) and the first change a callback still to be re-sent reports (a
/// handshake, which reports none, holds nothing back).
pub(crate) const PRUNE_BOUND: &str = "SELECT
    (SELECT seq FROM delivery_cursors WHERE space_id = $1),
    (SELECT MIN(change_seq) FROM delivery_attempts
     WHERE space_id = $1 AND resend IS NOT NULL AND change_seq > 0)";

/// The last change retention may remove, from [`PRUNE_BOUND`]'s row.
pub(crate) fn prune_bound((cursor, resending): (Option<i64>, Option<i64>)) -> Option<i64> {
    let cursor = cursor?;
    Some(resending.map_or(cursor, |first| cursor.min(first - 1)))
}

/// The oldest changes of a space, one more than a batch: (seq, plan, at).
pub(crate) const OLDEST_CHANGES: &str =
    "SELECT seq, plan, at FROM changes WHERE space_id = $1 ORDER BY seq LIMIT $2";
pub(crate) const DELETE_CHANGES: &str = "DELETE FROM changes WHERE space_id = $1 AND seq <= $2";
pub(crate) const SET_HORIZON: &str =
    "INSERT INTO change_horizons (space_id, pruned_through) VALUES ($1, $2)
     ON CONFLICT (space_id) DO UPDATE SET pruned_through = excluded.pruned_through";
/// At most $3 attempts of space $1 made before $2 with no re-send to come.
pub(crate) const DELETE_ATTEMPTS: &str = "DELETE FROM delivery_attempts
     WHERE space_id = $1 AND id IN (SELECT id FROM delivery_attempts
       WHERE space_id = $1 AND at < $2 AND resend IS NULL ORDER BY id LIMIT $3)";
/// The change log's rows and when its oldest was made.
pub(crate) const CHANGE_LOG_SIZE: &str = "SELECT COUNT(*), MIN(at) FROM changes";

pub(crate) fn history_stats(
    (change_rows, oldest_change_at): (i64, Option<i64>),
    database_bytes: i64,
) -> HistoryStats {
    HistoryStats {
        change_rows,
        oldest_change_at,
        database_bytes,
    }
}

/// Of a space's oldest changes (`oldest`: `limit` + 1 rows in seq order), the last seq of the
/// batch to remove: the changes up to `bound` made before `before`, whole plans (a plan larger
/// than a batch goes a batch at a time); none when there is nothing to remove.
pub(crate) fn prunable_through(
    oldest: &[(i64, i64, i64)],
    before: i64,
    bound: i64,
    limit: usize,
) -> Option<i64> {
    let batch = &oldest[..oldest.len().min(limit)];
    let mut take = batch
        .iter()
        .take_while(|(seq, _, at)| *seq <= bound && *at < before)
        .count();
    let whole_batch = take == limit;
    if let (Some(last), Some(next)) = (take.checked_sub(1), oldest.get(take)) {
        let plan = oldest[last].1;
        if next.1 == plan {
            let start = batch[..take].iter().rposition(|(_, p, _)| *p != plan);
            match start {
                Some(i) => take = i + 1,
                None if whole_batch => {}
                None => take = 0,
            }
        }
    }
    take.checked_sub(1).map(|last| batch[last].0)
}

/// A row of `changes`, in [`CHANGE_COLUMNS`] order.
pub(crate) type ChangeRow = (
    i64,
    SpaceId,
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A row of `delivery_attempts`, in [`ATTEMPT_COLUMNS`] order.
pub(crate) type AttemptRow = (
    i64,
    SpaceId,
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// Headers as their column stores them.
pub(crate) fn json_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).expect("headers serialize")
}

/// A pending re-send as its column stores it.
pub(crate) fn resend_text(resend: &Option<Resend>) -> Option<String> {
    resend
        .as_ref()
        .map(|r| serde_json::to_string(r).expect("a re-send serializes"))
}

pub(crate) fn change(row: ChangeRow) -> Result<Change, StoreError> {
    let (
        seq,
        space,
        plan,
        at,
        op,
        subject_kind,
        subject_key,
        relation,
        member_kind,
        member_key,
        context,
    ) = row;
    let op = ChangeOp::parse(&op).ok_or_else(|| backend(format!("unknown change op {op:?}")))?;
    let context = context
        .map(|text| serde_json::from_str::<Value>(&text))
        .transpose()
        .map_err(backend)?;
    Ok(Change {
        seq,
        space,
        plan,
        at,
        op,
        subject: EntityRef {
            kind: subject_kind,
            key: subject_key,
        },
        relation,
        member: member_kind
            .zip(member_key)
            .map(|(kind, key)| EntityRef { kind, key }),
        context,
    })
}

pub(crate) fn attempt(row: AttemptRow) -> Result<DeliveryAttempt, StoreError> {
    let (
        id,
        space,
        change_seq,
        event,
        url,
        headers,
        request,
        attempt,
        at,
        status,
        response,
        error,
        resend,
        method,
    ) = row;
    Ok(DeliveryAttempt {
        id,
        space,
        change_seq,
        event,
        method: CallbackMethod::parse(&method)
            .ok_or_else(|| backend(format!("unknown callback method {method:?}")))?,
        url,
        headers: serde_json::from_str(&headers).map_err(backend)?,
        request,
        attempt: attempt as u32,
        at,
        status: status.map(|s| s as u16),
        response,
        error,
        resend: resend
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(backend)?,
    })
}

pub(crate) async fn changes(
    pool: &PgPool,
    space: SpaceId,
    after: i64,
    limit: u32,
) -> Result<Vec<Change>, StoreError> {
    let rows: Vec<ChangeRow> = sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE space_id = $1 AND seq > $2
         ORDER BY seq LIMIT $3"
    ))
    .bind(space)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter().map(change).collect()
}

pub(crate) async fn delivery_cursor(
    pool: &PgPool,
    space: SpaceId,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT seq FROM delivery_cursors WHERE space_id = $1")
        .bind(space)
        .fetch_optional(pool)
        .await
        .map_err(backend)
}

pub(crate) async fn advance_delivery_cursor(
    pool: &PgPool,
    space: SpaceId,
    from: i64,
    to: i64,
) -> Result<bool, StoreError> {
    let moved =
        sqlx::query("UPDATE delivery_cursors SET seq = $3 WHERE space_id = $1 AND seq = $2")
            .bind(space)
            .bind(from)
            .bind(to)
            .execute(pool)
            .await
            .map_err(backend)?;
    if moved.rows_affected() == 1 || from != 0 {
        return Ok(moved.rows_affected() == 1);
    }
    let set = sqlx::query(
        "INSERT INTO delivery_cursors (space_id, seq) VALUES ($1, $2)
         ON CONFLICT (space_id) DO NOTHING",
    )
    .bind(space)
    .bind(to)
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(set.rows_affected() == 1)
}

pub(crate) async fn record_attempt(
    pool: &PgPool,
    a: &DeliveryAttempt,
    follows: Option<i64>,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await.map_err(backend)?;
    if let Some(earlier) = follows {
        sqlx::query("UPDATE delivery_attempts SET resend = NULL WHERE space_id = $1 AND id = $2")
            .bind(a.space)
            .bind(earlier)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    let id = sqlx::query_scalar(
        "INSERT INTO delivery_attempts (space_id, change_seq, event, url, headers, request,
                                        attempt, at, status, response, error, resend, method)
         VALUES ($1, $2, $3, $4, $11, $5, $6, $7, $8, $9, $10, $12, $13) RETURNING id",
    )
    .bind(a.space)
    .bind(a.change_seq)
    .bind(&a.event)
    .bind(&a.url)
    .bind(&a.request)
    .bind(i64::from(a.attempt))
    .bind(a.at)
    .bind(a.status.map(i64::from))
    .bind(&a.response)
    .bind(&a.error)
    .bind(json_text(&a.headers))
    .bind(resend_text(&a.resend))
    .bind(a.method.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(id)
}

pub(crate) async fn claim_resend(
    pool: &PgPool,
    (space, attempt): (SpaceId, i64),
    expected: &Resend,
    claimed: &Resend,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE delivery_attempts SET resend = $4 WHERE space_id = $1 AND id = $2 AND resend = $3",
    )
    .bind(space)
    .bind(attempt)
    .bind(resend_text(&Some(expected.clone())))
    .bind(resend_text(&Some(claimed.clone())))
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn drop_resends(pool: &PgPool, space: SpaceId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE delivery_attempts SET resend = NULL WHERE space_id = $1 AND resend IS NOT NULL",
    )
    .bind(space)
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn pending_resends(
    pool: &PgPool,
    space: SpaceId,
) -> Result<Vec<DeliveryAttempt>, StoreError> {
    let rows: Vec<AttemptRow> = sqlx::query_as(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts
         WHERE space_id = $1 AND resend IS NOT NULL ORDER BY id"
    ))
    .bind(space)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter().map(attempt).collect()
}

pub(crate) async fn attempts(
    pool: &PgPool,
    space: Option<SpaceId>,
    after: i64,
    limit: u32,
) -> Result<Vec<DeliveryAttempt>, StoreError> {
    let rows: Vec<AttemptRow> = sqlx::query_as(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts
         WHERE ($1::bigint IS NULL OR space_id = $1) AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(space)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter().map(attempt).collect()
}

/// Changes in one batch of retention, at most.
fn probe(limit: u32) -> i64 {
    i64::from(limit) + 1
}

pub(crate) async fn span(pool: &PgPool, space: SpaceId) -> Result<ChangeSpan, StoreError> {
    let row = sqlx::query_as(CHANGE_SPAN)
        .bind(space)
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    Ok(change_span(row))
}

pub(crate) async fn prune_changes(
    pool: &PgPool,
    space: SpaceId,
    before: i64,
    limit: u32,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(backend)?;
    // The cursor before the re-sends: a callback is recorded before the cursor passes it.
    let bound = sqlx::query_as(PRUNE_BOUND)
        .bind(space)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    let Some(bound) = prune_bound(bound) else {
        return Ok(0);
    };
    let oldest: Vec<(i64, i64, i64)> = sqlx::query_as(OLDEST_CHANGES)
        .bind(space)
        .bind(probe(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    let Some(through) = prunable_through(&oldest, before, bound, limit as usize) else {
        return Ok(0);
    };
    let deleted = sqlx::query(DELETE_CHANGES)
        .bind(space)
        .bind(through)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::query(SET_HORIZON)
        .bind(space)
        .bind(through)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(deleted.rows_affected())
}

pub(crate) async fn prune_attempts(
    pool: &PgPool,
    space: SpaceId,
    before: i64,
    limit: u32,
) -> Result<u64, StoreError> {
    let deleted = sqlx::query(DELETE_ATTEMPTS)
        .bind(space)
        .bind(before)
        .bind(i64::from(limit))
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(deleted.rows_affected())
}

pub(crate) async fn stats(pool: &PgPool) -> Result<HistoryStats, StoreError> {
    let log = sqlx::query_as(CHANGE_LOG_SIZE)
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    let bytes = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    Ok(history_stats(log, bytes))
}

#[cfg(test)]
mod tests {
    use super::prunable_through;

    /// (seq, plan, at) rows: plans 1 (seqs 1-2), 2 (3-5), 3 (6).
    const LOG: [(i64, i64, i64); 6] = [
        (1, 1, 10),
        (2, 1, 10),
        (3, 2, 20),
        (4, 2, 20),
        (5, 2, 20),
        (6, 3, 30),
    ];

    #[test]
    fn a_batch_ends_with_a_whole_plan() {
        // By time, by bound, by batch size: never inside a plan.
        assert_eq!(prunable_through(&LOG, 25, 99, 10), Some(5));
        assert_eq!(prunable_through(&LOG, 15, 99, 10), Some(2));
        assert_eq!(prunable_through(&LOG, 99, 4, 10), Some(2));
        assert_eq!(prunable_through(&LOG[..5], 99, 99, 4), Some(2));
        assert_eq!(prunable_through(&LOG, 99, 99, 10), Some(6));
        // Nothing old enough, or nothing before the bound.
        assert_eq!(prunable_through(&LOG, 10, 99, 10), None);
        assert_eq!(prunable_through(&LOG, 99, 1, 10), None);
        assert_eq!(prunable_through(&[], 99, 99, 10), None);
        // A plan larger than a batch goes a batch at a time.
        assert_eq!(prunable_through(&LOG[2..], 99, 99, 2), Some(4));
    }
}
