use std::collections::BTreeMap;

use serde_json::Value;

pub type SpaceId = i64;
pub type EntityId = i64;

/// One isolated tenant of one dialect (a Feishu tenant, a TIM app, a WeCom corp).
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub id: SpaceId,
    pub dialect: String,
    pub key: String,
    /// Limit overrides by name; a dialect falls back to the vendor default for absent names.
    pub limits: BTreeMap<String, i64>,
    /// Bumped each time the space's contents are loaded whole (a reset, a snapshot import);
    /// dialects seal it into their tokens, so earlier tokens stop working.
    pub generation: i64,
}

impl Space {
    pub fn limit(&self, name: &str, vendor_default: i64) -> i64 {
        self.limits.get(name).copied().unwrap_or(vendor_default)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: EntityId,
    pub space_id: SpaceId,
    pub kind: String,
    /// Unique within (space, kind).
    pub key: String,
    /// Dialect-owned attributes; the engine stores them and never looks inside.
    pub attrs: Value,
    /// The entity that created or owns this one, when the dialect cares.
    pub owner: Option<EntityId>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `subject --relation--> member`, with when it was made and its position in insertion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub subject: EntityId,
    pub member: EntityId,
    pub created_at: i64,
    pub seq: i64,
}

/// Which side of a relation a list or count looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The members of a subject (a task's followers, the users an account follows).
    Members,
    /// The subjects a member belongs to (the tasks a user follows, an account's fans).
    Memberships,
}

/// Upper bounds checked, per member, inside the write transaction. `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// How many members one subject may have under the relation.
    pub members_per_subject: Option<i64>,
    /// How many subjects one member may belong to under the relation.
    pub subjects_per_member: Option<i64>,
}

/// A relation kept automatically on both sides while the edge exists in both directions
/// (mutual follows): when `a -> b` and `b -> a` both exist, `a <-> b` exists under `relation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reciprocal {
    pub relation: String,
    /// Cap on how many reciprocal partners one entity may have.
    pub max_per_entity: Option<i64>,
}

/// What to do with the whole batch when some members cannot be added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddPolicy {
    /// Write nothing if any member is unknown (or a forbidden self edge).
    pub abort_on_unknown: bool,
    /// Write nothing if any member hits a cap.
    pub abort_on_full: bool,
}

/// The result for one member of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    AlreadyPresent,
    /// Not an entity of this space.
    UnknownMember,
    /// The member is the subject itself and the relation forbids that.
    SelfEdge,
    /// The subject already has `members_per_subject` members.
    SubjectFull,
    /// The member already belongs to `subjects_per_member` subjects.
    MemberFull,
    /// The subject already has the maximum number of reciprocal partners.
    SubjectReciprocalFull,
    /// The member already has the maximum number of reciprocal partners.
    MemberReciprocalFull,
    /// Would have been added, but the batch was aborted by its policy.
    Aborted,
    Removed,
    NotPresent,
}

impl Outcome {
    /// Whether this outcome left (or would leave) the member in place.
    pub fn is_member(self) -> bool {
        matches!(self, Outcome::Added | Outcome::AlreadyPresent)
    }

    pub fn is_full(self) -> bool {
        matches!(
            self,
            Outcome::SubjectFull
                | Outcome::MemberFull
                | Outcome::SubjectReciprocalFull
                | Outcome::MemberReciprocalFull
        )
    }
}

/// Keyset page request. `after` is the `seq` (or id) of the last item already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
    pub newest_first: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Position to resume from, present when more items follow.
    pub next: Option<i64>,
}

/// Every item of a keyset-paged list, fetched page by page in order.
pub async fn all_pages<T, F>(
    mut fetch: impl FnMut(PageRequest) -> F,
) -> Result<Vec<T>, crate::StoreError>
where
    F: std::future::Future<Output = Result<Page<T>, crate::StoreError>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(PageRequest {
            after,
            limit: 1000,
            newest_first: false,
        })
        .await?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFilter {
    pub space_id: SpaceId,
    pub kind: String,
    pub owner: Option<EntityId>,
}
