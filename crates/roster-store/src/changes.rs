//! The change log and delivery bookkeeping, read and written the same way on both backends:
//! the columns, how a row becomes a [`Change`] or a [`DeliveryAttempt`], and the PostgreSQL
//! statements (SQLite's are in `sqlite::changes`).

use serde_json::Value;
use sqlx::PgPool;

use roster_core::{
    CallbackMethod, Change, ChangeOp, DeliveryAttempt, EntityRef, Resend, SpaceId, StoreError,
};

use crate::backend;

pub(crate) const CHANGE_COLUMNS: &str =
    "seq, space_id, plan, at, op, subject_kind, subject_key, relation, member_kind, member_key, context";
pub(crate) const ATTEMPT_COLUMNS: &str =
    "id, space_id, change_seq, event, url, headers, request, attempt, at, status, response, error, resend, method";

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
