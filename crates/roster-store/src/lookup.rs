//! Lookups of many keys at once: `... IN (...)` in chunks small enough for both backends'
//! parameter limits, on a pooled connection or inside a write transaction.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::placeholders;

/// Values per statement.
pub(crate) const CHUNK: usize = 500;

/// A leading parameter of a [`rows_in`] lookup.
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

/// The rows of `sql` for every value in `list`: `{list}` in `sql` stands for the values'
/// placeholders, which follow the `fixed` ones.
pub(crate) async fn rows_in<V>(
    conn: &mut PgConnection,
    sql: &str,
    fixed: &[Param<'_>],
    list: &[V],
) -> Result<Vec<PgRow>, sqlx::Error>
where
    V: for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Clone
        + Send
        + 'static,
{
    let mut rows = Vec::new();
    for chunk in list.chunks(CHUNK) {
        let sql = sql.replace("{list}", &placeholders(fixed.len() + 1, chunk.len()));
        let mut query = sqlx::query(&sql);
        for param in fixed {
            query = match param {
                Param::Int(value) => query.bind(*value),
                Param::Text(value) => query.bind(*value),
            };
        }
        for value in chunk {
            query = query.bind(value.clone());
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// A row's first two columns.
pub(crate) fn pair<A, B>(row: &PgRow) -> Result<(A, B), sqlx::Error>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    B: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    Ok((row.try_get(0)?, row.try_get(1)?))
}
