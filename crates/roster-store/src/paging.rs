//! Keyset pages, the same on every backend.

use roster_core::{Page, PageRequest};

/// Comparison, order and starting position of a keyset page.
pub(crate) fn keyset(page: PageRequest) -> (&'static str, &'static str, i64) {
    if page.newest_first {
        ("<", "DESC", i64::MAX)
    } else {
        (">", "ASC", 0)
    }
}

/// Trim the probe row fetched past `limit` and say where the next page starts.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: u32, position: impl Fn(&T) -> i64) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more {
        items.last().map(position)
    } else {
        None
    };
    Page { items, next }
}
