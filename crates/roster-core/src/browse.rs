//! What an operator browses a space with (the console, roster's own routes): counts, search,
//! an entity's aliases and relations, its neighbourhood. Never part of a vendor request.

use std::collections::BTreeMap;

use crate::model::{Direction, EntityId, SpaceId};

/// How many entities of each kind a space holds, how many edges, and where its change log is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceCounts {
    pub kinds: BTreeMap<String, i64>,
    pub edges: i64,
}

/// Entities of a space whose key, or any of whose aliases, starts with `prefix` (every entity
/// when it is empty), of one kind or of any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySearch {
    pub space_id: SpaceId,
    pub kind: Option<String>,
    pub prefix: String,
}

/// A relation an entity is on, from one side, with how many edges it has there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationCount {
    pub relation: String,
    pub direction: Direction,
    pub count: i64,
}

/// `subject --relation--> member`, the relation named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEdge {
    pub subject: EntityId,
    pub relation: String,
    pub member: EntityId,
}
