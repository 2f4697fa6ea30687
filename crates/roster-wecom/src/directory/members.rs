use std::collections::{HashMap, HashSet};

use roster_core::{
    all_pages, batch_outcomes, Direction, EntityId, Refusal, RemoveEdges, StoreError, Target,
};

use super::departments::{Department, DEPARTMENT_ID_MAX};
use super::users::{user_key, User};
use super::{parse_id, Directory, Fault, Record, Tag, DEPARTMENT, USER};

/// `tag --member--> user | department`. One relation for both kinds, so the per-tag limit
/// counts users and departments together, as WeCom does.
pub(crate) const MEMBER: &str = "member";

/// Member ids as a client sent them: WeCom userids, and department ids in decimal.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberIds {
    pub users: Vec<String>,
    pub departments: Vec<String>,
}

/// What an add or remove did. `invalid_*` hold, once each and as sent, the ids that name no
/// user or department of the corp; the valid ones were applied.
#[derive(Debug, Default)]
pub(crate) struct Change {
    pub invalid_users: Vec<String>,
    pub invalid_departments: Vec<String>,
    /// How many distinct users and departments the ids named.
    pub valid: usize,
}

impl Change {
    /// Every id was invalid: nothing was written, and both dialects refuse the call.
    pub(crate) fn all_invalid(&self) -> bool {
        self.valid == 0
    }
}

/// A tag's members, each list in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Members {
    pub users: Vec<User>,
    pub departments: Vec<Department>,
}

/// How many users and departments a tag has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberCounts {
    pub users: i64,
    pub departments: i64,
}

impl Directory {
    /// Add users and departments to a tag. Unknown ids are reported, not fatal; a call that
    /// would take the tag past its member limit writes nothing.
    pub(crate) async fn add_members(&self, tag: &Tag, ids: &MemberIds) -> Result<Change, Fault> {
        let (entities, change) = self.resolve(ids).await?;
        if change.all_invalid() {
            return Ok(change);
        }
        let limit = self.corp.limits.members_per_tag;
        let mut plan = self.plan();
        let members = entities.into_iter().map(Target::from).collect();
        let added = Self::add_capped(&mut plan, tag.entity.into(), MEMBER, members, limit);
        let applied = self.engine.store.apply(plan).await;
        let outcomes = batch_outcomes(applied, added).map_err(tag_gone)?;
        if outcomes.iter().any(|(_, outcome)| outcome.is_full()) {
            return Err(Fault::TagFull(limit));
        }
        Ok(change)
    }

    /// Remove users and departments from a tag. Unknown ids are reported; ids of users or
    /// departments that are not members are ignored.
    pub(crate) async fn remove_members(&self, tag: &Tag, ids: &MemberIds) -> Result<Change, Fault> {
        let (entities, change) = self.resolve(ids).await?;
        if change.all_invalid() {
            return Ok(change);
        }
        let mut plan = self.plan();
        plan.remove_edges(RemoveEdges {
            subject: tag.entity.into(),
            relation: MEMBER.into(),
            members: entities,
            reciprocal: None,
        });
        self.engine.store.apply(plan).await.map_err(tag_gone)?;
        Ok(change)
    }

    pub(crate) async fn members(&self, tag: &Tag) -> Result<Members, Fault> {
        let store = &self.engine.store;
        let space = self.corp.space;
        let edges =
            all_pages(|page| store.list_edges(space, tag.entity, MEMBER, Direction::Members, page))
                .await?;
        let ids: Vec<EntityId> = edges.iter().map(|edge| edge.member).collect();
        let entities = store.entities(space, &ids).await?;
        let mut members = Members::default();
        for entity in ids.iter().filter_map(|id| entities.get(id)) {
            match entity.kind.as_str() {
                USER => members.users.push(User::from_entity(entity)?),
                DEPARTMENT => members.departments.push(Department::from_entity(entity)?),
                _ => {}
            }
        }
        Ok(members)
    }

    /// Member counts of each tag: the engine counts a tag's members in O(1), and the
    /// departments among them come from one read of the tags' edges to the corp's departments.
    pub(crate) async fn member_counts(&self, tags: &[Tag]) -> Result<Vec<MemberCounts>, Fault> {
        let store = &self.engine.store;
        let departments: Vec<EntityId> = self.all(DEPARTMENT).await?.iter().map(|d| d.id).collect();
        let subjects: Vec<EntityId> = tags.iter().map(|tag| tag.entity).collect();
        let space = self.corp.space;
        let totals = store
            .counts(space, &subjects, MEMBER, Direction::Members)
            .await?;
        let mut departments_in: HashMap<EntityId, i64> = HashMap::new();
        for (tag, _) in store
            .edges_within(space, &subjects, MEMBER, &departments)
            .await?
        {
            *departments_in.entry(tag).or_default() += 1;
        }
        let mut counts = Vec::with_capacity(tags.len());
        for tag in tags {
            let in_tag = departments_in.get(&tag.entity).copied().unwrap_or(0);
            let total = totals.get(&tag.entity).copied().unwrap_or(0);
            counts.push(MemberCounts {
                users: total - in_tag,
                departments: in_tag,
            });
        }
        Ok(counts)
    }

    /// Check a call's lists against the per-call limits and look their ids up: the distinct
    /// entities they name, and the ids that name nothing. (Users and departments are never
    /// deleted, so what resolves here is still there when the edges are written.)
    async fn resolve(&self, ids: &MemberIds) -> Result<(Vec<EntityId>, Change), Fault> {
        if ids.users.is_empty() && ids.departments.is_empty() {
            return Err(Fault::NoMembers);
        }
        let limits = self.corp.limits;
        if ids.users.len() as i64 > limits.users_per_call {
            return Err(Fault::TooManyUsers(limits.users_per_call));
        }
        if ids.departments.len() as i64 > limits.departments_per_call {
            return Err(Fault::TooManyDepartments(limits.departments_per_call));
        }
        let mut entities = Vec::new();
        let mut seen = HashSet::new();
        let mut change = Change::default();

        let user_keys = ids.users.iter().map(|id| Some(user_key(id))).collect();
        let department_keys = ids
            .departments
            .iter()
            .map(|id| parse_id(id, DEPARTMENT_ID_MAX).map(|n| n.to_string()))
            .collect();
        for (kind, sent, keys, invalid) in [
            (USER, &ids.users, user_keys, &mut change.invalid_users),
            (
                DEPARTMENT,
                &ids.departments,
                department_keys,
                &mut change.invalid_departments,
            ),
        ] {
            let keys: Vec<Option<String>> = keys;
            let lookup: Vec<String> = keys.iter().flatten().cloned().collect();
            let found = self
                .engine
                .store
                .find_entities(self.corp.space, kind, &lookup)
                .await?;
            for (id, key) in sent.iter().zip(&keys) {
                match key.as_ref().and_then(|key| found.get(key)) {
                    Some(entity) if seen.insert(entity.id) => entities.push(entity.id),
                    Some(_) => {}
                    None => push_once(invalid, id),
                }
            }
        }
        change.valid = entities.len();
        Ok((entities, change))
    }
}

fn push_once(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|seen| seen == id) {
        list.push(id.to_string());
    }
}

/// The store refuses edges on a subject that no longer exists: the tag was deleted meanwhile.
fn tag_gone(e: StoreError) -> Fault {
    match e {
        StoreError::Refused {
            refusal: Refusal::NotFound,
            ..
        } => Fault::TagNotFound,
        e => e.into(),
    }
}
