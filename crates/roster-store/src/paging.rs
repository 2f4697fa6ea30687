//! Keyset pages, the same on every backend.

use std::collections::HashMap;

use roster_core::{Direction, Edge, EntityId, Page, PageRequest};

/// Comparison, order and starting position of a keyset page.
pub(crate) fn keyset(page: PageRequest) -> (&'static str, &'static str, i64) {
    if page.newest_first {
        ("<", "DESC", i64::MAX)
    } else {
        (">", "ASC", 0)
    }
}

/// The edge column holding the entity a list of edges is read from, and the one holding each
/// edge's other end.
pub(crate) fn ends(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Members => ("subject_id", "member_id"),
        Direction::Memberships => ("member_id", "subject_id"),
    }
}

/// What a page of edges reads of each edge's other end, in the page's one statement.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OtherEnd {
    Nothing,
    Entity,
    /// Its alias in the namespace bound as the statement's sixth parameter.
    Alias,
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

/// A page of edges read with nothing else.
pub(crate) fn edges_only(page: Page<(Edge, ())>) -> Page<Edge> {
    Page {
        items: page.items.into_iter().map(|(edge, ())| edge).collect(),
        next: page.next,
    }
}

/// (subject, member) rows, in order, as each subject's members.
pub(crate) fn group_members(edges: Vec<(EntityId, EntityId)>) -> HashMap<EntityId, Vec<EntityId>> {
    let mut members: HashMap<EntityId, Vec<EntityId>> = HashMap::new();
    for (subject, member) in edges {
        members.entry(subject).or_default().push(member);
    }
    members
}
