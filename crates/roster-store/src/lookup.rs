//! Lookups of many keys at once: the keys travel as one array parameter (`= ANY($n)`), so a
//! statement has one text whatever the number of keys and stays prepared; on a pooled
//! connection or inside a write transaction.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

/// Whether PostgreSQL text can hold `text`: it holds no NUL character, so a key or name with one
/// names nothing stored, and a lookup of it finds nothing (as on SQLite, where none is stored)
/// instead of failing.
pub(crate) fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// The keys of `keys` that something stored may have (see [`storable`]).
pub(crate) fn storable_keys(keys: &[String]) -> Vec<String> {
    keys.iter().filter(|k| storable(k)).cloned().collect()
}

/// A leading parameter of a [`rows_in`] lookup.
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

/// The rows of `sql` for every value in `list`: `{list}` in `sql` stands for the array of the
/// values, the parameter after the `fixed` ones (`x = ANY({list})`).
pub(crate) async fn rows_in<V>(
    conn: &mut PgConnection,
    sql: &str,
    fixed: &[Param<'_>],
    list: &[V],
) -> Result<Vec<PgRow>, sqlx::Error>
where
    V: for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + sqlx::postgres::PgHasArrayType
        + Clone
        + Send
        + 'static,
{
    let sql = sql.replace("{list}", &format!("${}", fixed.len() + 1));
    let mut query = sqlx::query(&sql);
    for param in fixed {
        query = match param {
            Param::Int(value) => query.bind(*value),
            Param::Text(value) => query.bind(*value),
        };
    }
    query.bind(list.to_vec()).fetch_all(&mut *conn).await
}

/// A row's first two columns.
pub(crate) fn pair<A, B>(row: &PgRow) -> Result<(A, B), sqlx::Error>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    B: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    Ok((row.try_get(0)?, row.try_get(1)?))
}
