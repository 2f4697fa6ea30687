//! The storage contract, run against SQLite and (when configured) PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use roster_core::*;
use roster_store::test_support::{postgres_database, ScratchDatabase};
use serde_json::{json, Value};

/// When [`Fixture::entity`] creates entities.
const CREATED_AT: i64 = 1;
/// When [`Fixture::add_edges`] and [`Fixture::remove_edges`] write.
const EDGES_AT: i64 = 100;

struct Fixture {
    store: Arc<dyn Store>,
    space: Space,
    _dir: Option<tempfile::TempDir>,
    _database: Option<ScratchDatabase>,
}

/// A fixture on SQLite in a temporary directory when `database` is `None`, else on that
/// scratch PostgreSQL database.
async fn fixture(database: Option<ScratchDatabase>) -> Fixture {
    let (store, dir) = match &database {
        None => {
            let dir = tempfile::tempdir().unwrap();
            (roster_store::open_sqlite_dir(dir.path()).await, Some(dir))
        }
        Some(database) => (roster_store::open_postgres(database.url()).await, None),
    };
    let store = store.unwrap();
    let space = store
        .ensure_space("test", "s1", &BTreeMap::new())
        .await
        .unwrap();
    Fixture {
        store,
        space,
        _dir: dir,
        _database: database,
    }
}

/// The plan of the one step `step`.
fn one_step(space: SpaceId, now: i64, step: Step) -> WritePlan {
    let mut plan = WritePlan::new(space, now);
    plan.push(step);
    plan
}

/// The step a plan was refused at, and why; panics if it was not refused.
fn refused(result: Result<Applied, StoreError>) -> (StepId, Refusal) {
    match result {
        Err(StoreError::Refused { step, refusal }) => (step, refusal),
        other => panic!("expected a refused plan, got {other:?}"),
    }
}

fn set_alias(namespace: &str, alias: &str, entity: EntityId) -> Step {
    Step::SetAlias {
        namespace: namespace.into(),
        alias: alias.into(),
        entity: entity.into(),
    }
}

fn remove_alias(namespace: &str, alias: &str, entity: EntityId) -> Step {
    Step::RemoveAlias {
        namespace: namespace.into(),
        alias: alias.into(),
        entity: entity.into(),
    }
}

fn targets(ids: &[EntityId]) -> Vec<Target> {
    ids.iter().map(|&id| id.into()).collect()
}

/// What the store reads back for some entities: compared before and after a refused plan.
#[derive(Debug, PartialEq)]
struct Snapshot {
    entities: Vec<Entity>,
    aliases: BTreeMap<String, EntityId>,
    edges: Vec<(String, EntityId, EntityId)>,
    counts: Vec<(String, EntityId, Direction, i64)>,
}

impl Fixture {
    /// An empty plan in the fixture's space.
    fn plan(&self, now: i64) -> WritePlan {
        WritePlan::new(self.space.id, now)
    }

    /// Apply the plan of the one step `step`.
    async fn apply(&self, now: i64, step: Step) -> Result<Applied, StoreError> {
        self.store.apply(one_step(self.space.id, now, step)).await
    }

    async fn entity(&self, kind: &str, key: &str) -> EntityId {
        let mut plan = self.plan(CREATED_AT);
        let step = plan.create(kind, key, json!({ "name": key }), None);
        self.store.apply(plan).await.unwrap().entity(step).id
    }

    fn add(&self, subject: EntityId, members: &[EntityId]) -> AddEdges {
        AddEdges::new(subject, "r", targets(members))
    }

    fn remove(&self, subject: EntityId, members: &[EntityId]) -> RemoveEdges {
        RemoveEdges {
            subject: subject.into(),
            relation: "r".into(),
            members: members.to_vec(),
            reciprocal: None,
        }
    }

    /// The outcomes of a committed one-step AddEdges plan.
    async fn add_edges(&self, add: AddEdges) -> Vec<(EntityId, Outcome)> {
        let applied = self.apply(EDGES_AT, Step::AddEdges(add)).await.unwrap();
        applied.outcomes(StepId(0)).to_vec()
    }

    /// The outcomes of a committed one-step RemoveEdges plan.
    async fn remove_edges(&self, remove: RemoveEdges) -> Vec<(EntityId, Outcome)> {
        let applied = self
            .apply(EDGES_AT, Step::RemoveEdges(remove))
            .await
            .unwrap();
        applied.outcomes(StepId(0)).to_vec()
    }

    async fn count(&self, id: EntityId, relation: &str, direction: Direction) -> i64 {
        self.store
            .counts(self.space.id, &[id], relation, direction)
            .await
            .unwrap()[&id]
    }

    /// The (members, memberships) counters of `id` under `relation`.
    async fn counts(&self, id: EntityId, relation: &str) -> (i64, i64) {
        (
            self.count(id, relation, Direction::Members).await,
            self.count(id, relation, Direction::Memberships).await,
        )
    }

    /// The edges of `entity` under `relation`, seen from `direction` (at most 1000).
    async fn edges(&self, entity: EntityId, relation: &str, direction: Direction) -> Vec<Edge> {
        let page = PageRequest {
            after: None,
            limit: 1000,
            newest_first: false,
        };
        let listed = self
            .store
            .list_edges(self.space.id, entity, relation, direction, page)
            .await
            .unwrap();
        assert_eq!(listed.next, None);
        listed.items
    }

    /// Every entity of `kinds`, the `names` aliases, and the edges and counters of those
    /// entities under `relations`.
    async fn snapshot(&self, kinds: &[&str], names: &[&str], relations: &[&str]) -> Snapshot {
        let mut entities = Vec::new();
        for kind in kinds {
            let filter = EntityFilter {
                space_id: self.space.id,
                kind: kind.to_string(),
                owner: None,
            };
            let page = PageRequest {
                after: None,
                limit: 1000,
                newest_first: false,
            };
            let listed = self.store.list_entities(&filter, page).await.unwrap();
            assert_eq!(listed.next, None);
            entities.extend(listed.items);
        }
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let aliases = self
            .store
            .resolve_aliases(self.space.id, "name", &names)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let (mut edges, mut counts) = (Vec::new(), Vec::new());
        for relation in relations {
            for entity in &entities {
                for edge in self.edges(entity.id, relation, Direction::Members).await {
                    edges.push((relation.to_string(), edge.subject, edge.member));
                }
                for direction in [Direction::Members, Direction::Memberships] {
                    let n = self.count(entity.id, relation, direction).await;
                    counts.push((relation.to_string(), entity.id, direction, n));
                }
            }
        }
        Snapshot {
            entities,
            aliases,
            edges,
            counts,
        }
    }

    /// Every counter of `ids` under `relations` equals the number of edges it counts.
    async fn assert_counters_match_edges(&self, ids: &[EntityId], relations: &[&str]) {
        for &id in ids {
            for relation in relations {
                for direction in [Direction::Members, Direction::Memberships] {
                    let listed = self.edges(id, relation, direction).await.len() as i64;
                    assert_eq!(
                        self.count(id, relation, direction).await,
                        listed,
                        "{relation} {direction:?} of {id}"
                    );
                }
            }
        }
    }
}

roster_store::on_both_backends!(super::fixture;
    batch_outcomes_and_counters,
    abort_policy_writes_nothing,
    caps_per_member_and_subject,
    reciprocal_edges_follow_both_directions,
    keyset_paging_is_stable,
    edge_pages_read_the_other_end_with_each_edge,
    delete_entity_keeps_counts_exact,
    aliases_and_entities,
    concurrent_adds_never_exceed_cap,
    aborted_and_committed_writes_side_by_side,
    batch_lookups_by_key_and_from_either_end,
    concurrent_reciprocal_adds_stay_symmetric,
    linked_entities_by_owner_or_membership,
    batch_create_find_and_alias_removal,
    large_batches_keep_order_and_counts,
    refused_step_leaves_nothing_of_the_plan,
    created_targets_name_entities_of_the_same_plan,
    concurrent_plans_for_one_key_have_one_winner,
    update_with_expect_refuses_changed_or_missing,
    upsert_keeps_or_replaces_attrs,
    delete_adjusts_the_counters_of_the_other_ends,
    prune_deletes_only_older_entities_of_its_kind,
    aliases_and_targets_stay_in_their_space,
    members_of_many_subjects_in_one_read,
    dumps_load_into_another_space_and_replace_contents,
    change_log_records_what_committed_plans_changed,
    delivery_cursor_moves_from_where_it_is,
    statistics_are_refreshed_outside_plans,
    retention_removes_whole_plans_whose_callbacks_are_done,
);

async fn batch_outcomes_and_counters(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let (a, b) = (f.entity("user", "a").await, f.entity("user", "b").await);
    let other_space = f
        .store
        .ensure_space("test", "s2", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other_space.id, CREATED_AT);
    let step = plan.create("user", "x", json!({}), None);
    let foreign = f.store.apply(plan).await.unwrap().entity(step).id;
    let out = f.add_edges(f.add(task, &[a, a, foreign, 999_999])).await;
    assert_eq!(
        out,
        vec![
            (a, Outcome::Added),
            (foreign, Outcome::UnknownMember),
            (999_999, Outcome::UnknownMember)
        ]
    );
    let out = f.add_edges(f.add(task, &[a, b, task])).await;
    assert_eq!(
        out,
        vec![
            (a, Outcome::AlreadyPresent),
            (b, Outcome::Added),
            (task, Outcome::SelfEdge)
        ]
    );
    assert_eq!(f.count(task, "r", Direction::Members).await, 2);
    assert_eq!(f.count(a, "r", Direction::Memberships).await, 1);
    let removed = f.remove_edges(f.remove(task, &[a, a, b, b])).await;
    // b is listed twice: one outcome per distinct member.
    assert_eq!(removed, vec![(a, Outcome::Removed), (b, Outcome::Removed)]);
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    // A subject of another space is not found.
    let foreign_subject = Step::AddEdges(f.add(foreign, &[a]));
    assert_eq!(
        refused(f.apply(EDGES_AT, foreign_subject).await),
        (StepId(0), Refusal::NotFound)
    );
}

async fn abort_policy_writes_nothing(f: Fixture) {
    let task = f.entity("task", "t1").await;
    let a = f.entity("user", "a").await;
    let mut req = f.add(task, &[a, 424_242]);
    req.policy.abort_on_unknown = true;
    assert_eq!(
        refused(f.apply(EDGES_AT, Step::AddEdges(req)).await),
        (
            StepId(0),
            Refusal::Aborted(vec![
                (a, Outcome::Aborted),
                (424_242, Outcome::UnknownMember)
            ])
        )
    );
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert_eq!(f.count(a, "r", Direction::Memberships).await, 0);
    // Aborted by a cap, after another step: neither is written.
    let mut plan = f.plan(EDGES_AT);
    let b = plan.create("user", "b", json!({}), None);
    let mut req = AddEdges::new(task, "r", vec![a.into(), b.into()]);
    req.caps.members_per_subject = Some(0);
    req.policy.abort_on_full = true;
    let add = plan.add_edges(req);
    let result = f.store.apply(plan).await;
    assert!(matches!(
        &result,
        Err(StoreError::Refused { step, refusal: Refusal::Aborted(_) }) if *step == add
    ));
    // batch_outcomes reads the outcomes of an aborted batch as of a committed one.
    let outcomes = batch_outcomes(result, add).unwrap();
    assert_eq!(outcomes[0], (a, Outcome::SubjectFull));
    assert_eq!(outcomes[1].1, Outcome::SubjectFull);
    assert!(f
        .store
        .edges_among(f.space.id, task, "r", &[a])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.count(task, "r", Direction::Members).await, 0);
    assert!(f
        .store
        .find_entity(f.space.id, "user", "b")
        .await
        .unwrap()
        .is_none());
}

async fn caps_per_member_and_subject(f: Fixture) {
    let (t1, t2) = (f.entity("task", "t1").await, f.entity("task", "t2").await);
    let users = [
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
    ];
    let mut req = f.add(t1, &users);
    req.caps.members_per_subject = Some(2);
    let out = f.add_edges(req).await;
    assert_eq!(out[2], (users[2], Outcome::SubjectFull));
    assert_eq!(f.count(t1, "r", Direction::Members).await, 2);
    let mut req = f.add(t2, &users);
    req.caps.subjects_per_member = Some(1);
    let out = f.add_edges(req).await;
    assert_eq!(
        out,
        vec![
            (users[0], Outcome::MemberFull),
            (users[1], Outcome::MemberFull),
            (users[2], Outcome::Added)
        ]
    );
}

async fn reciprocal_edges_follow_both_directions(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    let follow = |from, to| {
        let mut req = f.add(from, &[to]);
        req.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: Some(1),
        });
        req
    };
    assert_eq!(f.add_edges(follow(a, b)).await[0].1, Outcome::Added);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(f.add_edges(follow(b, a)).await[0].1, Outcome::Added);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 1);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 1);
    // a already has its one mutual partner: c -> a then a -> c is refused on a's side.
    assert_eq!(f.add_edges(follow(c, a)).await[0].1, Outcome::Added);
    assert_eq!(
        f.add_edges(follow(a, c)).await[0].1,
        Outcome::SubjectReciprocalFull
    );
    assert_eq!(f.add_edges(follow(c, b)).await[0].1, Outcome::Added);
    assert_eq!(
        f.add_edges(follow(b, c)).await[0].1,
        Outcome::SubjectReciprocalFull
    );
    let mut unfollow = f.remove(b, &[a]);
    unfollow.reciprocal = Some("mutual".into());
    assert_eq!(f.remove_edges(unfollow).await[0].1, Outcome::Removed);
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(a, "mutual", Direction::Memberships).await, 0);
}

async fn keyset_paging_is_stable(f: Fixture) {
    let chat = f.entity("chat", "c").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    f.add_edges(f.add(chat, &users)).await;
    let page = |after, newest_first| PageRequest {
        after,
        limit: 2,
        newest_first,
    };
    let first = f
        .store
        .list_edges(f.space.id, chat, "r", Direction::Members, page(None, false))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[..2]
    );
    // A member removed before the cursor and one added after do not shift the next page.
    f.remove_edges(f.remove(chat, &[users[0]])).await;
    let second = f
        .store
        .list_edges(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            page(first.next, false),
        )
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[2..4]
    );
    let third = f
        .store
        .list_edges(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            page(second.next, false),
        )
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|e| e.member).collect::<Vec<_>>(),
        users[4..]
    );
    assert_eq!(third.next, None);
    let newest = f
        .store
        .list_edges(f.space.id, chat, "r", Direction::Members, page(None, true))
        .await
        .unwrap();
    assert_eq!(newest.items[0].member, users[4]);
    let reverse = f
        .store
        .list_edges(
            f.space.id,
            users[3],
            "r",
            Direction::Memberships,
            page(None, false),
        )
        .await
        .unwrap();
    assert_eq!(reverse.items.len(), 1);
    assert_eq!(reverse.items[0].subject, chat);
    assert_eq!(reverse.items[0].created_at, EDGES_AT);
}

/// A page read with the entities or aliases at the other ends is the page of `list_edges`
/// with what `entities` and `aliases_of` say of those ends, page by page, either way round.
async fn edge_pages_read_the_other_end_with_each_edge(f: Fixture) {
    let chat = f.entity("chat", "c").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    // u2 has no alias in the namespace; u4 has one only in another.
    for i in [0, 1, 3] {
        let alias = format!("ou_{i}");
        f.apply(2, set_alias("open_id/app1", &alias, users[i]))
            .await
            .unwrap();
    }
    f.apply(2, set_alias("open_id/app2", "ou_x", users[4]))
        .await
        .unwrap();
    f.add_edges(f.add(chat, &users)).await;
    let other_chat = f.entity("chat", "d").await;
    f.add_edges(f.add(other_chat, &users[3..4])).await;
    let lists = [
        (chat, Direction::Members),
        (users[3], Direction::Memberships),
    ];
    for (entity, direction) in lists {
        for newest_first in [false, true] {
            let mut after = None;
            loop {
                let page = PageRequest {
                    after,
                    limit: 2,
                    newest_first,
                };
                let edges = f
                    .store
                    .list_edges(f.space.id, entity, "r", direction, page)
                    .await
                    .unwrap();
                let others: Vec<EntityId> = edges
                    .items
                    .iter()
                    .map(|e| match direction {
                        Direction::Members => e.member,
                        Direction::Memberships => e.subject,
                    })
                    .collect();
                let entities = f.store.entities(f.space.id, &others).await.unwrap();
                let aliases = f
                    .store
                    .aliases_of(f.space.id, "open_id/app1", &others)
                    .await
                    .unwrap();
                let with_entities = f
                    .store
                    .list_edges_entities(f.space.id, entity, "r", direction, page)
                    .await
                    .unwrap();
                let want: Vec<(Edge, Entity)> = edges
                    .items
                    .iter()
                    .zip(&others)
                    .map(|(edge, other)| (*edge, entities[other].clone()))
                    .collect();
                assert_eq!(with_entities.items, want);
                assert_eq!(with_entities.next, edges.next);
                let with_aliases = f
                    .store
                    .list_edges_aliases(f.space.id, entity, "r", direction, "open_id/app1", page)
                    .await
                    .unwrap();
                let want: Vec<(Edge, Option<String>)> = edges
                    .items
                    .iter()
                    .zip(&others)
                    .map(|(edge, other)| (*edge, aliases.get(other).cloned()))
                    .collect();
                assert_eq!(with_aliases.items, want);
                assert_eq!(with_aliases.next, edges.next);
                after = edges.next;
                if after.is_none() {
                    break;
                }
            }
        }
    }
    let aliased = f
        .store
        .list_edges_aliases(
            f.space.id,
            chat,
            "r",
            Direction::Members,
            "open_id/app1",
            PageRequest {
                after: None,
                limit: 10,
                newest_first: false,
            },
        )
        .await
        .unwrap();
    let ids: Vec<Option<&str>> = aliased.items.iter().map(|(_, a)| a.as_deref()).collect();
    assert_eq!(ids, [Some("ou_0"), Some("ou_1"), None, Some("ou_3"), None]);
}

async fn delete_entity_keeps_counts_exact(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    for (from, to) in [(a, b), (b, a), (c, a), (a, c), (b, c)] {
        let mut req = f.add(from, &[to]);
        req.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: None,
        });
        f.add_edges(req).await;
    }
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 2);
    f.apply(2, Step::Delete { entity: a.into() }).await.unwrap();
    assert_eq!(f.count(b, "r", Direction::Members).await, 1);
    assert_eq!(f.count(b, "r", Direction::Memberships).await, 0);
    assert_eq!(f.count(c, "r", Direction::Memberships).await, 1);
    assert_eq!(f.count(c, "r", Direction::Members).await, 0);
    assert_eq!(f.count(b, "mutual", Direction::Members).await, 0);
    assert_eq!(f.count(c, "mutual", Direction::Members).await, 0);
    assert!(f.store.entity(f.space.id, a).await.unwrap().is_none());
    assert_eq!(
        refused(f.apply(3, Step::Delete { entity: a.into() }).await),
        (StepId(0), Refusal::NotFound)
    );
}

async fn aliases_and_entities(f: Fixture) {
    let a = f.entity("user", "a").await;
    let b = f.entity("user", "b").await;
    f.apply(2, set_alias("open_id/app1", "ou_a", a))
        .await
        .unwrap();
    f.apply(2, set_alias("open_id/app1", "ou_a", a))
        .await
        .unwrap();
    assert_eq!(
        refused(f.apply(2, set_alias("open_id/app1", "ou_a", b)).await),
        (StepId(0), Refusal::KeyTaken)
    );
    let found = f
        .store
        .resolve_aliases(f.space.id, "open_id/app1", &["ou_a".into(), "ou_zz".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found["ou_a"], a);
    assert_eq!(
        f.store
            .aliases_of(f.space.id, "open_id/app1", &[a, b])
            .await
            .unwrap()[&a],
        "ou_a"
    );
    let mut plan = f.plan(2);
    plan.create("user", "a", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (StepId(0), Refusal::KeyTaken)
    );
    let mut plan = f.plan(5);
    let step = plan.update(a, json!({"name": "Alice"}));
    let updated = f.store.apply(plan).await.unwrap().into_entity(step);
    assert_eq!(updated.attrs["name"], "Alice");
    assert_eq!((updated.created_at, updated.updated_at), (1, 5));
    let mut plan = f.plan(9);
    let step = plan.upsert("user", "a", json!({"name": "Alice"}), None);
    let upserted = f.store.apply(plan).await.unwrap().into_entity(step);
    assert_eq!(
        upserted.updated_at, 5,
        "an identical upsert changes nothing"
    );
    let page = f
        .store
        .list_entities(
            &EntityFilter {
                space_id: f.space.id,
                kind: "user".into(),
                owner: None,
            },
            PageRequest {
                after: None,
                limit: 1,
                newest_first: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].id, a);
    assert_eq!(page.next, Some(a));
    let secret = f.store.secret("cursor").await.unwrap();
    assert_eq!(secret, f.store.secret("cursor").await.unwrap());
    assert_eq!(secret.len(), 64);
}

async fn concurrent_adds_never_exceed_cap(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut users = Vec::new();
    for i in 0..40 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    let cap = 25;
    let mut tasks = Vec::new();
    for chunk in users.chunks(4) {
        let mut req = f.add(tag, chunk);
        req.caps.members_per_subject = Some(cap);
        let plan = one_step(f.space.id, EDGES_AT, Step::AddEdges(req));
        let store = f.store.clone();
        tasks.push(tokio::spawn(
            async move { store.apply(plan).await.unwrap() },
        ));
    }
    let mut added = 0;
    for task in tasks {
        added += task
            .await
            .unwrap()
            .outcomes(StepId(0))
            .iter()
            .filter(|(_, o)| *o == Outcome::Added)
            .count() as i64;
    }
    assert_eq!(added, cap);
    assert_eq!(f.count(tag, "r", Direction::Members).await, cap);
}

async fn batch_lookups_by_key_and_from_either_end(f: Fixture) {
    let (a, b, c) = (
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    );
    f.entity("other", "d").await;
    let found = f
        .store
        .find_entities(
            f.space.id,
            "acct",
            &["a".into(), "c".into(), "d".into(), "zz".into()],
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!((found["a"].id, found["c"].id), (a, c));
    f.add_edges(f.add(b, &[a])).await;
    f.add_edges(f.add(c, &[a, b])).await;
    // Which of a, b, c have `a` as a member: b and c, keyed by subject.
    let fans = f
        .store
        .memberships_among(f.space.id, a, "r", &[a, b, c])
        .await
        .unwrap();
    assert_eq!(fans.len(), 2);
    assert_eq!((fans[&b].subject, fans[&b].member), (b, a));
    assert_eq!(fans[&c].subject, c);
    let following = f
        .store
        .edges_among(f.space.id, c, "r", &[a, b, c])
        .await
        .unwrap();
    assert_eq!(following.len(), 2);
    assert_eq!(following[&b].member, b);
}

async fn concurrent_reciprocal_adds_stay_symmetric(f: Fixture) {
    let users = [
        f.entity("acct", "a").await,
        f.entity("acct", "b").await,
        f.entity("acct", "c").await,
    ];
    let mut tasks = Vec::new();
    for round in 0..24 {
        let (from, to) = (users[round % 3], users[(round / 3 + 1 + round) % 3]);
        let mut add = f.add(from, &[to]);
        add.reciprocal = Some(Reciprocal {
            relation: "mutual".into(),
            max_per_entity: None,
        });
        let mut remove = f.remove(from, &[to]);
        remove.reciprocal = Some("mutual".into());
        let add = one_step(f.space.id, EDGES_AT, Step::AddEdges(add));
        let remove = one_step(f.space.id, EDGES_AT, Step::RemoveEdges(remove));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store.apply(add).await.unwrap();
            if round % 4 == 0 {
                store.apply(remove).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut edges = std::collections::HashSet::new();
    for relation in ["r", "mutual"] {
        for &x in &users {
            for &y in f
                .store
                .edges_among(f.space.id, x, relation, &users)
                .await
                .unwrap()
                .keys()
            {
                edges.insert((relation, x, y));
            }
        }
    }
    for &x in &users {
        for &y in &users {
            let both = edges.contains(&("r", x, y)) && edges.contains(&("r", y, x));
            assert_eq!(edges.contains(&("mutual", x, y)), both);
        }
        let partners = edges.iter().filter(|(r, s, _)| *r == "mutual" && *s == x);
        assert_eq!(
            partners.count() as i64,
            f.count(x, "mutual", Direction::Members).await
        );
    }
}

async fn linked_entities_by_owner_or_membership(f: Fixture) {
    let (alice, bob) = (
        f.entity("user", "alice").await,
        f.entity("user", "bob").await,
    );
    let mut plan = f.plan(CREATED_AT);
    let steps = [
        ("owned", alice),
        ("followed", bob),
        ("both", alice),
        ("unrelated", bob),
    ]
    .map(|(key, owner)| plan.create("task", key, json!({}), Some(owner.into())));
    let applied = f.store.apply(plan).await.unwrap();
    let [owned, followed, both, unrelated] = steps.map(|step| applied.entity(step).id);
    let tasks = [owned, followed, both];
    let mut follow = f.add(tasks[1], &[alice]);
    follow.relation = "follower".into();
    f.add_edges(follow).await;
    let mut collaborate = f.add(tasks[2], &[alice]);
    collaborate.relation = "collaborator".into();
    f.add_edges(collaborate).await;
    let mut other_relation = f.add(unrelated, &[alice]);
    other_relation.relation = "other".into();
    f.add_edges(other_relation).await;

    let relations = ["follower", "collaborator"];
    let page = |after| PageRequest {
        after,
        limit: 2,
        newest_first: false,
    };
    let first = f
        .store
        .list_linked(f.space.id, "task", alice, &relations, page(None))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        tasks[..2]
    );
    let second = f
        .store
        .list_linked(f.space.id, "task", alice, &relations, page(first.next))
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        tasks[2..]
    );
    assert_eq!(second.next, None);
    let owned_only = f
        .store
        .list_linked(f.space.id, "task", alice, &[], page(None))
        .await
        .unwrap();
    assert_eq!(
        owned_only.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [tasks[0], tasks[2]]
    );
    let of_bob = f
        .store
        .list_linked(f.space.id, "task", bob, &relations, page(None))
        .await
        .unwrap();
    assert_eq!(
        of_bob.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [tasks[1], unrelated]
    );
}

async fn batch_create_find_and_alias_removal(f: Fixture) {
    let mut plan = f.plan(3);
    let steps: Vec<StepId> = (0..1200)
        .map(|i| {
            let key = format!("u{i}");
            plan.create("user", key.clone(), json!({ "name": key }), None)
        })
        .collect();
    let applied = f.store.apply(plan).await.unwrap();
    let created: Vec<Entity> = steps.iter().map(|&s| applied.entity(s).clone()).collect();
    assert_eq!(created.len(), 1200);
    assert_eq!(created[7].key, "u7");
    assert_eq!(created[7].attrs["name"], "u7");
    assert_eq!(
        f.store
            .entity(f.space.id, created[7].id)
            .await
            .unwrap()
            .unwrap(),
        created[7]
    );

    // One existing key refuses the whole plan.
    let mut plan = f.plan(3);
    plan.create("user", "fresh", json!({}), None);
    let taken = plan.create("user", "u3", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (taken, Refusal::KeyTaken)
    );
    let keys: Vec<String> = ["u0", "u1199", "fresh", "nobody"].map(String::from).into();
    let found = f
        .store
        .find_entities(f.space.id, "user", &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "the refused plan wrote nothing");
    assert_eq!(found["u1199"].id, created[1199].id);
    let many: Vec<String> = (0..1200).map(|i| format!("u{i}")).collect();
    assert_eq!(
        f.store
            .find_entities(f.space.id, "user", &many)
            .await
            .unwrap()
            .len(),
        1200
    );
    assert!(f
        .store
        .find_entities(f.space.id, "tag", &keys)
        .await
        .unwrap()
        .is_empty());

    let (a, b) = (created[0].id, created[1].id);
    f.apply(4, set_alias("name", "x", a)).await.unwrap();
    f.apply(4, remove_alias("name", "x", b)).await.unwrap();
    assert_eq!(
        refused(f.apply(4, set_alias("name", "x", b)).await),
        (StepId(0), Refusal::KeyTaken),
        "removing another entity's alias does nothing"
    );
    f.apply(4, remove_alias("name", "x", a)).await.unwrap();
    f.apply(4, set_alias("name", "x", b)).await.unwrap();
    let names = ["x".to_string()];
    assert_eq!(
        f.store
            .resolve_aliases(f.space.id, "name", &names)
            .await
            .unwrap()["x"],
        b
    );
}

/// Batches larger than one statement's chunk: order, caps and counters stay exact.
async fn large_batches_keep_order_and_counts(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut plan = f.plan(CREATED_AT);
    let steps: Vec<StepId> = (0..1300)
        .map(|i| plan.create("user", format!("u{i}"), json!({}), None))
        .collect();
    let applied = f.store.apply(plan).await.unwrap();
    let users: Vec<EntityId> = steps.iter().map(|&s| applied.entity(s).id).collect();
    // Reversed, so the insertion order differs from the id order.
    let mut batch: Vec<EntityId> = users[..1200].iter().rev().copied().collect();
    batch.push(batch[0]);
    let mut req = f.add(tag, &batch);
    req.caps.members_per_subject = Some(1250);
    let out = f.add_edges(req).await;
    assert_eq!(out.len(), 1200, "duplicates collapse");
    assert!(out.iter().all(|(_, o)| *o == Outcome::Added));
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_edges(
                f.space.id,
                tag,
                "r",
                Direction::Members,
                PageRequest {
                    after,
                    limit: 500,
                    newest_first: false,
                },
            )
            .await
            .unwrap();
        listed.extend(page.items.iter().map(|e| e.member));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, batch[..1200], "edges keep the batch order");
    assert_eq!(f.count(tag, "r", Direction::Members).await, 1200);
    assert_eq!(f.count(users[0], "r", Direction::Memberships).await, 1);

    let mut req = f.add(tag, &users[1150..1300]);
    req.caps.members_per_subject = Some(1250);
    let out = f.add_edges(req).await;
    let tally = |outcome| out.iter().filter(|(_, o)| *o == outcome).count();
    assert_eq!(
        (
            tally(Outcome::AlreadyPresent),
            tally(Outcome::Added),
            tally(Outcome::SubjectFull)
        ),
        (50, 50, 50)
    );
    assert_eq!(out[100], (users[1250], Outcome::SubjectFull));
    assert_eq!(f.count(tag, "r", Direction::Members).await, 1250);
    assert_eq!(f.count(users[1299], "r", Direction::Memberships).await, 0);
}

/// Writes that abort and writes that commit, at once (on SQLite they share group commits):
/// each keeps exactly its own effect.
async fn aborted_and_committed_writes_side_by_side(f: Fixture) {
    let tag = f.entity("tag", "t").await;
    let mut users = Vec::new();
    for i in 0..32 {
        users.push(f.entity("user", &format!("u{i}")).await);
    }
    let mut tasks = Vec::new();
    for (i, &user) in users.iter().enumerate() {
        let aborting = i % 2 == 1;
        let mut req = f.add(tag, &[user]);
        if aborting {
            req.members.push(Target::Existing(999_999));
            req.policy.abort_on_unknown = true;
        }
        let plan = one_step(f.space.id, EDGES_AT, Step::AddEdges(req));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            (user, aborting, store.apply(plan).await)
        }));
    }
    for task in tasks {
        let (user, aborting, result) = task.await.unwrap();
        if aborting {
            let aborted = vec![(user, Outcome::Aborted), (999_999, Outcome::UnknownMember)];
            assert_eq!(refused(result), (StepId(0), Refusal::Aborted(aborted)));
        } else {
            assert_eq!(
                result.unwrap().outcomes(StepId(0)),
                [(user, Outcome::Added)]
            );
        }
    }
    let present = f
        .store
        .edges_among(f.space.id, tag, "r", &users)
        .await
        .unwrap();
    for (i, user) in users.iter().enumerate() {
        assert_eq!(present.contains_key(user), i % 2 == 0, "user {i}");
    }
    assert_eq!(f.count(tag, "r", Direction::Members).await, 16);
}

/// A refused step rolls back every step before it: entities, aliases, edges and counters read
/// back exactly as before, and the error names the refused step.
async fn refused_step_leaves_nothing_of_the_plan(f: Fixture) {
    let (holder, x) = (
        f.entity("user", "holder").await,
        f.entity("user", "x").await,
    );
    let tag = f.entity("tag", "t").await;
    for (alias, entity) in [("taken", holder), ("other", holder), ("x", x)] {
        f.apply(2, set_alias("name", alias, entity)).await.unwrap();
    }
    f.add_edges(f.add(tag, &[holder, x])).await;
    f.add_edges(f.add(x, &[holder])).await;
    let names = ["taken", "other", "x", "fresh"];
    let snapshot = || f.snapshot(&["user", "tag"], &names, &["r", "s"]);
    let before = snapshot().await;

    // Every kind of write, then an alias another entity holds.
    let mut plan = f.plan(7);
    let newbie = plan.create("user", "newbie", json!({}), None);
    plan.set_alias("name", "fresh", newbie);
    let mut add = AddEdges::new(tag, "s", vec![newbie.into(), x.into(), holder.into()]);
    add.caps.members_per_subject = Some(10);
    plan.add_edges(add);
    plan.add_edges(AddEdges::new(newbie, "r", targets(&[x, holder])));
    plan.update(x, json!({"name": "changed"}));
    plan.upsert("user", "holder", json!({"name": "replaced"}), None);
    plan.upsert("user", "upserted", json!({}), None);
    plan.remove_edges(f.remove(tag, &[holder]));
    plan.remove_alias("name", "other", holder);
    let taken = plan.set_alias("name", "taken", newbie);
    plan.create("user", "after", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (taken, Refusal::KeyTaken)
    );
    assert_eq!(snapshot().await, before);

    // A delete (of edges, counters and an alias), then a key that exists.
    let mut plan = f.plan(8);
    plan.remove_edges(f.remove(x, &[holder]));
    plan.delete(x);
    let existing = plan.create("tag", "t", json!({}), None);
    assert_eq!(
        refused(f.store.apply(plan).await),
        (existing, Refusal::KeyTaken)
    );
    assert_eq!(snapshot().await, before);

    // A batch aborted by its policy; its members see the plan's earlier steps (holder is
    // gone, the new user exists), and none of them is kept.
    let mut plan = f.plan(9);
    plan.delete(holder);
    let newbie = plan.create("user", "newbie", json!({}), None);
    let mut add = AddEdges::new(tag, "r", vec![newbie.into(), holder.into()]);
    add.policy.abort_on_unknown = true;
    let aborted = plan.add_edges(add);
    let (step, refusal) = refused(f.store.apply(plan).await);
    assert_eq!(step, aborted);
    let Refusal::Aborted(outcomes) = refusal else {
        panic!("expected an aborted batch, got {refusal:?}");
    };
    assert_eq!(outcomes[0].1, Outcome::Aborted);
    assert_eq!(outcomes[1], (holder, Outcome::UnknownMember));
    assert_eq!(snapshot().await, before);
}

/// Later steps name the entities earlier steps create; the results come back per step.
async fn created_targets_name_entities_of_the_same_plan(f: Fixture) {
    let owner = f.entity("user", "owner").await;
    let (u1, u2, u3) = (
        f.entity("user", "u1").await,
        f.entity("user", "u2").await,
        f.entity("user", "u3").await,
    );
    let elsewhere = f.entity("tag", "elsewhere").await;
    f.add_edges(f.add(elsewhere, &[u2])).await;

    let mut plan = f.plan(7);
    let tag = plan.create("tag", "eng", json!({"name": "eng"}), Some(owner.into()));
    let named = plan.set_alias("name", "eng", tag);
    let newbie = plan.create("user", "newbie", json!({}), Some(tag.into()));
    let members = vec![u1.into(), u2.into(), newbie.into(), u3.into(), u1.into()];
    let mut add = AddEdges::new(tag, "r", members);
    add.caps = Caps {
        members_per_subject: Some(2),
        subjects_per_member: Some(1),
    };
    let added = plan.add_edges(add);
    let follows = plan.add_edges(AddEdges::new(newbie, "follows", vec![tag.into()]));
    let counted = plan.update(tag, json!({"name": "eng", "members": 2}));
    let applied = f.store.apply(plan).await.unwrap();

    assert_eq!(applied.results.len(), 6);
    assert_eq!(applied.results[named.0], StepResult::Done);
    let created = applied.entity(tag);
    let tag_id = created.id;
    assert_eq!(
        (created.kind.as_str(), created.key.as_str(), created.owner),
        ("tag", "eng", Some(owner))
    );
    assert_eq!((created.created_at, created.updated_at), (7, 7));
    let newbie_id = applied.entity(newbie).id;
    assert_eq!(applied.entity(newbie).owner, Some(tag_id));
    assert_eq!(
        applied.outcomes(added),
        [
            (u1, Outcome::Added),
            (u2, Outcome::MemberFull),
            (newbie_id, Outcome::Added),
            (u3, Outcome::SubjectFull)
        ]
    );
    assert_eq!(applied.outcomes(follows), [(tag_id, Outcome::Added)]);
    let counted = applied.entity(counted);
    assert_eq!(counted.id, tag_id);
    assert_eq!(counted.attrs["members"], 2);

    // As stored.
    assert_eq!(
        f.store.entity(f.space.id, tag_id).await.unwrap().as_ref(),
        Some(counted)
    );
    assert_eq!(
        f.store
            .entity(f.space.id, newbie_id)
            .await
            .unwrap()
            .as_ref(),
        Some(applied.entity(newbie))
    );
    let eng = ["eng".to_string()];
    let resolved = f.store.resolve_aliases(f.space.id, "name", &eng).await;
    assert_eq!(resolved.unwrap()["eng"], tag_id);
    let members = f
        .store
        .edges_among(f.space.id, tag_id, "r", &[u1, u2, newbie_id, u3])
        .await
        .unwrap();
    let mut members: Vec<EntityId> = members.into_keys().collect();
    members.sort();
    assert_eq!(members, [u1, newbie_id]);
    let all = [owner, u1, u2, u3, elsewhere, tag_id, newbie_id];
    f.assert_counters_match_edges(&all, &["r", "follows"]).await;
    assert_eq!(f.count(tag_id, "r", Direction::Members).await, 2);
    assert_eq!(f.count(tag_id, "follows", Direction::Memberships).await, 1);
}

/// Racing plans for one entity key, or one alias: the key decides, exactly one plan commits
/// and every other one is refused whole.
async fn concurrent_plans_for_one_key_have_one_winner(f: Fixture) {
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let mut plan = f.plan(i);
        let created = plan.create("user", "same", json!({ "writer": i }), None);
        plan.set_alias("name", format!("writer{i}"), created);
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move { (i, store.apply(plan).await) }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(applied)) => winners.push((i, applied.entity(StepId(0)).clone())),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::KeyTaken)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create commits");
    let (writer, winner) = winners.pop().unwrap();
    assert_eq!(winner.attrs["writer"], writer);
    let users = f.snapshot(&["user"], &[], &[]).await.entities;
    assert_eq!(users, std::slice::from_ref(&winner));
    let names: Vec<String> = (0..16).map(|i| format!("writer{i}")).collect();
    let aliases = f
        .store
        .resolve_aliases(f.space.id, "name", &names)
        .await
        .unwrap();
    assert_eq!(
        aliases.into_iter().collect::<Vec<_>>(),
        [(format!("writer{writer}"), winner.id)],
        "the losers' aliases were rolled back with their creates"
    );

    let mut members = Vec::new();
    for i in 0..16 {
        members.push(f.entity("member", &format!("m{i}")).await);
    }
    let mut tasks = Vec::new();
    for &member in &members {
        let plan = one_step(f.space.id, 2, set_alias("name", "shared", member));
        let store = f.store.clone();
        tasks.push(tokio::spawn(
            async move { (member, store.apply(plan).await) },
        ));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (member, Ok(_)) => winners.push(member),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::KeyTaken)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one alias commits");
    let shared = ["shared".to_string()];
    let resolved = f.store.resolve_aliases(f.space.id, "name", &shared).await;
    assert_eq!(resolved.unwrap()["shared"], winners[0]);
    let named = f.store.aliases_of(f.space.id, "name", &members).await;
    assert_eq!(named.unwrap().len(), 1);
}

/// An Update with `expect` writes only over the attrs it was read with.
async fn update_with_expect_refuses_changed_or_missing(f: Fixture) {
    let id = f.entity("user", "a").await;
    let read = f.store.entity(f.space.id, id).await.unwrap().unwrap();
    let mut plan = f.plan(5);
    let step = plan.update_from(&read, json!({"name": "a", "v": 1}));
    let first = f.store.apply(plan).await.unwrap().into_entity(step);
    assert_eq!(first.attrs, json!({"name": "a", "v": 1}));
    assert_eq!((first.created_at, first.updated_at), (CREATED_AT, 5));

    // `read` is stale now: a second read-modify-write from it is refused and changes nothing.
    let mut plan = f.plan(6);
    plan.update_from(&read, json!({"name": "a", "v": 2}));
    assert_eq!(
        refused(f.store.apply(plan).await),
        (StepId(0), Refusal::Changed)
    );
    assert_eq!(
        f.store.entity(f.space.id, id).await.unwrap(),
        Some(first.clone())
    );

    // `expect` sees the plan's own earlier writes; the refusal undoes them too.
    let mut plan = f.plan(7);
    plan.update(id, json!({"v": 3}));
    let stale = plan.update_from(&first, json!({"v": 4}));
    assert_eq!(
        refused(f.store.apply(plan).await),
        (stale, Refusal::Changed)
    );
    assert_eq!(
        f.store.entity(f.space.id, id).await.unwrap(),
        Some(first.clone())
    );

    // Racing read-modify-writes from one read: one wins, the others are refused.
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let mut plan = f.plan(10 + i);
        plan.update_from(&first, json!({ "writer": i }));
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move { (i, store.apply(plan).await) }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(_)) => winners.push(i),
            (_, lost) => assert_eq!(refused(lost), (StepId(0), Refusal::Changed)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one read-modify-write commits");
    let stored = f.store.entity(f.space.id, id).await.unwrap().unwrap();
    assert_eq!(stored.attrs, json!({ "writer": winners[0] }));
    assert_eq!(stored.updated_at, 10 + winners[0]);

    // Missing, or in another space: not found, with or without `expect`.
    let other_space = f
        .store
        .ensure_space("test", "s2", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other_space.id, CREATED_AT);
    let step = plan.create("user", "a", json!({}), None);
    let foreign = f.store.apply(plan).await.unwrap().into_entity(step);
    for entity in [999_999, foreign.id] {
        for expect in [None, Some(json!({}))] {
            let update = Step::Update {
                entity: entity.into(),
                attrs: json!({"v": 5}),
                expect,
            };
            assert_eq!(
                refused(f.apply(8, update).await),
                (StepId(0), Refusal::NotFound)
            );
        }
    }
    assert_eq!(
        f.store.entity(foreign.space_id, foreign.id).await.unwrap(),
        Some(foreign)
    );
}

/// An Upsert of the attrs already stored writes nothing new; other attrs replace them.
async fn upsert_keeps_or_replaces_attrs(f: Fixture) {
    let upsert = |now, attrs: Value| {
        let f = &f;
        async move {
            let mut plan = f.plan(now);
            let step = plan.upsert("user", "u", attrs, None);
            f.store.apply(plan).await.unwrap().into_entity(step)
        }
    };
    let created = upsert(3, json!({"name": "u", "tags": [1, 2]})).await;
    assert_eq!((created.created_at, created.updated_at), (3, 3));
    let same = upsert(5, json!({"tags": [1, 2], "name": "u"})).await;
    assert_eq!(same, created, "identical attrs keep updated_at");
    let replaced = upsert(9, json!({"name": "v"})).await;
    assert_eq!(replaced.id, created.id);
    assert_eq!(replaced.attrs, json!({"name": "v"}));
    assert_eq!((replaced.created_at, replaced.updated_at), (3, 9));
    assert_eq!(
        f.store.entity(f.space.id, created.id).await.unwrap(),
        Some(replaced)
    );
    let users = f.snapshot(&["user"], &[], &[]).await.entities;
    assert_eq!(users.len(), 1);
}

/// Deleting an entity takes its edges off the counters of the entities on their other ends,
/// whichever side it was on and under every relation.
async fn delete_adjusts_the_counters_of_the_other_ends(f: Fixture) {
    let (a, b, c, d) = (
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
        f.entity("user", "d").await,
    );
    let relations = ["r", "s", "mutual"];
    let mut plan = f.plan(EDGES_AT);
    plan.add_edges(AddEdges::new(a, "r", targets(&[b, c, d])));
    plan.add_edges(AddEdges::new(b, "r", targets(&[a, c])));
    plan.add_edges(AddEdges::new(c, "s", targets(&[a])));
    plan.add_edges(AddEdges::new(a, "s", targets(&[c, d])));
    let mut own = AddEdges::new(a, "s", targets(&[a]));
    own.allow_self = true;
    plan.add_edges(own);
    let mut follow = AddEdges::new(d, "r", targets(&[a, b]));
    follow.reciprocal = Some(Reciprocal {
        relation: "mutual".into(),
        max_per_entity: None,
    });
    plan.add_edges(follow);
    plan.set_alias("name", "a", a);
    f.store.apply(plan).await.unwrap();
    f.assert_counters_match_edges(&[a, b, c, d], &relations)
        .await;
    assert_eq!(f.count(a, "mutual", Direction::Members).await, 1);
    assert_eq!(f.count(c, "r", Direction::Memberships).await, 2);

    f.apply(2, Step::Delete { entity: a.into() }).await.unwrap();
    assert!(f.store.entity(f.space.id, a).await.unwrap().is_none());
    f.assert_counters_match_edges(&[b, c, d], &relations).await;
    assert_eq!(f.counts(b, "r").await, (1, 1));
    assert_eq!(f.counts(c, "r").await, (0, 1));
    assert_eq!(f.counts(c, "s").await, (0, 0));
    assert_eq!(f.counts(d, "r").await, (1, 0));
    assert_eq!(f.counts(d, "s").await, (0, 0));
    assert_eq!(f.counts(d, "mutual").await, (0, 0));
    for relation in relations {
        assert_eq!(f.counts(a, relation).await, (0, 0));
    }
    // Its alias went with it.
    f.apply(3, set_alias("name", "a", b)).await.unwrap();

    // An entity created, linked and deleted in one plan leaves every counter as it was.
    let before = f.snapshot(&["user"], &["a"], &relations).await;
    let mut plan = f.plan(4);
    let e = plan.create("user", "e", json!({}), None);
    plan.add_edges(AddEdges::new(e, "r", targets(&[b, c])));
    plan.add_edges(AddEdges::new(c, "s", vec![e.into()]));
    plan.delete(e);
    f.store.apply(plan).await.unwrap();
    assert_eq!(f.snapshot(&["user"], &["a"], &relations).await, before);
}

async fn prune_deletes_only_older_entities_of_its_kind(f: Fixture) {
    let mut plan = f.plan(10);
    let old = plan.create("code", "old", json!({}), None);
    plan.create("keep", "old", json!({}), None);
    plan.set_alias("code", "old-code", old);
    f.store.apply(plan).await.unwrap();
    let mut plan = f.plan(20);
    plan.create("code", "new", json!({}), None);
    f.store.apply(plan).await.unwrap();

    let mut plan = f.plan(30);
    plan.prune("code", 20);
    f.store.apply(plan).await.unwrap();
    let codes = ["old".to_string(), "new".to_string()];
    let found = f
        .store
        .find_entities(f.space.id, "code", &codes)
        .await
        .unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["new"]);
    assert!(f
        .store
        .find_entity(f.space.id, "keep", "old")
        .await
        .unwrap()
        .is_some());
    let aliases = f
        .store
        .resolve_aliases(f.space.id, "code", &["old-code".to_string()])
        .await
        .unwrap();
    assert!(aliases.is_empty());
}

async fn aliases_and_targets_stay_in_their_space(f: Fixture) {
    let other = f
        .store
        .ensure_space("test", "elsewhere", &BTreeMap::new())
        .await
        .unwrap();
    let mut plan = WritePlan::new(other.id, 1);
    let stranger = plan.create("user", "stranger", json!({}), None);
    let stranger = f.store.apply(plan).await.unwrap().entity(stranger).id;
    let (step, refusal) = refused(f.apply(2, set_alias("n", "a", stranger)).await);
    assert_eq!((step, refusal), (StepId(0), Refusal::NotFound));
    let (_, refusal) = refused(f.apply(2, set_alias("n", "a", 999_999)).await);
    assert_eq!(refusal, Refusal::NotFound);
    // A plan naming a step that stores no entity, or a later one, is not run at all.
    let mut plan = f.plan(3);
    let alias = plan.set_alias("n", "b", Target::Created(StepId(1)));
    plan.create("user", "late", json!({}), None);
    plan.set_alias("n", "c", alias);
    assert!(matches!(
        f.store.apply(plan).await,
        Err(StoreError::Backend(_))
    ));
    assert!(f
        .store
        .find_entity(f.space.id, "user", "late")
        .await
        .unwrap()
        .is_none());
    // The store still takes writes afterwards.
    f.entity("user", "after").await;
}

/// A database written by roster before relation names were interned: rows as they were.
const V1_ROWS: &str = "
    INSERT INTO spaces (id, dialect, key, limits) VALUES (1, 'test', 's1', '{}');
    INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at)
        VALUES (1, 1, 'user', 'a', '{}', NULL, 1, 1), (2, 1, 'user', 'b', '{}', NULL, 1, 1),
               (3, 1, 'feishu.app', 'cli_a', '{}', NULL, 1, 1),
               (4, 1, 'feishu.chat', 'oc_1', '{\"owner\":2,\"bot_managers\":[3],\"name\":\"x\"}', 3, 1, 1),
               (5, 1, 'feishu.chat', 'oc_2', '{\"owner\":null,\"bot_managers\":[]}', 3, 1, 1),
               (6, 1, 'feishu.apaas.workflow_instance', 'wi', '{\"initiator\":2}', NULL, 1, 1);
    INSERT INTO aliases (space_id, namespace, alias, entity_id) VALUES (1, 'kunlun_id', 'k_b', 2);
    INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at)
        VALUES (7, 1, 1, 'follows', 2, 5), (8, 1, 2, 'follows', 1, 6),
               (9, 1, 1, 'mutual', 2, 6), (10, 1, 2, 'mutual', 1, 6);
    INSERT INTO counters (entity_id, relation, direction, n) VALUES
        (1, 'follows', 'members', 1), (1, 'follows', 'memberships', 1),
        (2, 'follows', 'members', 1), (2, 'follows', 'memberships', 1),
        (1, 'mutual', 'members', 1), (1, 'mutual', 'memberships', 1),
        (2, 'mutual', 'members', 1), (2, 'mutual', 'memberships', 1);
";

/// What a migrated database must still say, and that it takes writes after its old rows.
async fn v1_data_survives(store: Arc<dyn Store>) {
    // Attributes that held row ids name entities by key, or through the owner column.
    let rewritten = store.entities(1, &[4, 5, 6]).await.unwrap();
    assert_eq!(rewritten[&4].owner, Some(2));
    assert_eq!(
        rewritten[&4].attrs,
        json!({ "bot_managers": ["cli_a"], "name": "x" })
    );
    assert_eq!(rewritten[&5].owner, Some(3));
    assert_eq!(rewritten[&5].attrs, json!({ "bot_managers": [] }));
    assert_eq!(rewritten[&6].attrs, json!({ "initiator": "k_b" }));
    let page = PageRequest {
        after: None,
        limit: 10,
        newest_first: false,
    };
    let following = store
        .list_edges(1, 1, "follows", Direction::Members, page)
        .await
        .unwrap();
    assert_eq!(
        following.items,
        vec![Edge {
            subject: 1,
            member: 2,
            created_at: 5,
            seq: 7
        }]
    );
    let mutual = store
        .counts(1, &[1, 2], "mutual", Direction::Members)
        .await
        .unwrap();
    assert_eq!(mutual, [(1, 1), (2, 1)].into());
    let mut plan = WritePlan::new(1, 20);
    let c = plan.create("user", "c", json!({}), None);
    let followed = plan.add_edges(AddEdges::new(1, "follows", vec![c.into()]));
    let applied = store.apply(plan).await.unwrap();
    assert_eq!(applied.outcomes(followed)[0].1, Outcome::Added);
    let following = store
        .list_edges(1, 1, "follows", Direction::Members, page)
        .await
        .unwrap();
    assert_eq!(following.items.len(), 2);
    assert!(following.items[1].seq > 10, "{following:?}");
    assert_eq!(
        store
            .counts(1, &[1], "follows", Direction::Members)
            .await
            .unwrap()[&1],
        2
    );
    // A removal through the migrated rows dissolves the mutual pair on both sides.
    let mut plan = WritePlan::new(1, 21);
    plan.remove_edges(RemoveEdges {
        subject: Target::Existing(2),
        relation: "follows".into(),
        members: vec![1],
        reciprocal: Some("mutual".into()),
    });
    store.apply(plan).await.unwrap();
    let mutual = store
        .counts(1, &[1, 2], "mutual", Direction::Members)
        .await
        .unwrap();
    assert_eq!(mutual, [(1, 0), (2, 0)].into());
    store.close().await;
}

#[tokio::test]
async fn sqlite_v1_database_migrates_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("roster.db")).unwrap();
    conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY);
         INSERT INTO schema_migrations VALUES (1);",
    )
    .unwrap();
    conn.execute_batch(V1_ROWS).unwrap();
    drop(conn);
    v1_data_survives(roster_store::open_sqlite_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_v1_database_migrates_with_its_data() {
    use sqlx::{Connection, Executor};
    let Some(database) = postgres_database("postgres_v1_database_migrates_with_its_data").await
    else {
        return;
    };
    let url = database.url();
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let v1 = include_str!("../../migrations/postgres/0001_init.sql");
    for statement in v1.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute(statement).await.unwrap();
    }
    conn.execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    conn.execute("INSERT INTO schema_migrations VALUES (1)")
        .await
        .unwrap();
    // Identity columns take explicit ids only when told to.
    let rows = V1_ROWS
        .replace("INSERT INTO spaces (id, dialect, key, limits)", "INSERT INTO spaces (id, dialect, key, limits) OVERRIDING SYSTEM VALUE")
        .replace(
            "INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at)",
            "INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at) OVERRIDING SYSTEM VALUE",
        )
        .replace(
            "INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at)",
            "INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at) OVERRIDING SYSTEM VALUE",
        );
    for statement in rows.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute(statement).await.unwrap();
    }
    // Entity ids continue after the explicit ones, as they would have.
    conn.execute("SELECT setval(pg_get_serial_sequence('entities', 'id'), 6)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    v1_data_survives(roster_store::open_postgres(url).await.unwrap()).await;
}

/// Rows written before migration 0010, which turns identity columns into plain sequences: the
/// last row of each table is deleted, so ids must continue past it, not past the rows left.
const BEFORE_PLAIN_SEQUENCES: &str = "
    INSERT INTO spaces (dialect, key) VALUES ('test', 'kept'), ('test', 'gone');
    DELETE FROM spaces WHERE key = 'gone';
    INSERT INTO names (name) VALUES ('follows'), ('gone');
    DELETE FROM names WHERE name = 'gone';
    INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
        VALUES (1, 'user', 'a', '{}', 1, 1), (1, 'user', 'b', '{}', 1, 1),
               (1, 'user', 'gone', '{}', 1, 1);
    DELETE FROM entities WHERE key = 'gone';
    INSERT INTO edges (space_id, subject_id, relation_id, member_id, created_at)
        VALUES (1, 1, 1, 2, 1);
    INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key, relation,
                         member_kind, member_key)
        VALUES (1, 7, 1, 'edge_added', 'user', 'a', 'follows', 'user', 'b'),
               (1, 8, 1, 'edge_removed', 'user', 'a', 'follows', 'user', 'b');
    DELETE FROM changes WHERE plan = 8;
    INSERT INTO delivery_attempts (space_id, change_seq, event, url, headers, request, attempt,
                                   at, response)
        VALUES (1, 1, 'kept', 'http://127.0.0.1:9/', '[]', '{}', 1, 1, ''),
               (1, 1, 'gone', 'http://127.0.0.1:9/', '[]', '{}', 1, 1, '');
    DELETE FROM delivery_attempts WHERE event = 'gone';
";

#[tokio::test]
async fn postgres_plain_sequences_migration_keeps_rows_and_ids() {
    use sqlx::Connection;
    let Some(database) =
        postgres_database("postgres_plain_sequences_migration_keeps_rows_and_ids").await
    else {
        return;
    };
    let url = database.url();
    roster_store::test_support::migrate_postgres_below(url, 10).await;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(BEFORE_PLAIN_SEQUENCES)
        .execute(&mut conn)
        .await
        .unwrap();

    let store = roster_store::open_postgres(url).await.unwrap();
    let identities: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(identities, 0, "no identity column is left");
    // The rows kept their ids.
    let spaces = store.spaces("test").await.unwrap();
    assert_eq!(
        spaces
            .iter()
            .map(|s| (s.id, s.key.as_str()))
            .collect::<Vec<_>>(),
        [(1, "kept")]
    );
    let users = store.entities(1, &[1, 2]).await.unwrap();
    assert_eq!((users[&1].key.as_str(), users[&2].key.as_str()), ("a", "b"));
    let follows = store.edges_among(1, 1, "follows", &[2]).await.unwrap();
    assert_eq!(follows[&2].seq, 1);
    let changes = store.changes(1, 0, 10).await.unwrap();
    assert_eq!(
        changes.iter().map(|c| (c.seq, c.plan)).collect::<Vec<_>>(),
        [(1, 7)]
    );
    let attempts = store.attempts(Some(1), 0, 10).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.id, a.event.as_str()))
            .collect::<Vec<_>>(),
        [(1, "kept")]
    );

    // New rows take the ids after the last ones ever given, deleted or not.
    let space = store
        .ensure_space("test", "new", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(space.id, 3);
    let mut plan = WritePlan::new(1, 2);
    let c = plan.create("user", "c", json!({}), None);
    plan.push(Step::AddEdges(AddEdges::new(
        Target::Created(c),
        "likes",
        targets(&[1]),
    )));
    let applied = store.apply(plan).await.unwrap();
    assert_eq!(applied.entity(c).id, 4);
    let likes: i32 = sqlx::query_scalar("SELECT id FROM names WHERE name = 'likes'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(likes, 3);
    let changes = store.changes(1, 1, 10).await.unwrap();
    assert!(
        !changes.is_empty() && changes.iter().all(|c| c.seq > 2),
        "{changes:?}"
    );
    let mut attempt = attempts[0].clone();
    attempt.event = "new".into();
    assert_eq!(store.record_attempt(&attempt, None).await.unwrap(), 3);
    conn.close().await.unwrap();
    store.close().await;
}

async fn members_of_many_subjects_in_one_read(f: Fixture) {
    let (t1, t2, t3) = (
        f.entity("task", "t1").await,
        f.entity("task", "t2").await,
        f.entity("task", "t3").await,
    );
    let (a, b) = (f.entity("user", "a").await, f.entity("user", "b").await);
    f.add_edges(f.add(t1, &[b, a])).await;
    f.add_edges(f.add(t2, &[a])).await;
    let members = f
        .store
        .members_of(f.space.id, &[t1, t2, t3], "r")
        .await
        .unwrap();
    assert_eq!(members[&t1], vec![b, a], "in the order they were added");
    assert_eq!(members[&t2], vec![a]);
    assert!(!members.contains_key(&t3));
    let other = f
        .store
        .members_of(f.space.id, &[t1], "other")
        .await
        .unwrap();
    assert!(other.is_empty());
}

async fn dumps_load_into_another_space_and_replace_contents(f: Fixture) {
    // A space with owners, aliases, reciprocal edges and counters.
    let mut plan = f.plan(CREATED_AT);
    let app = plan.create("app", "cli", json!({ "secret": "s" }), None);
    let a = plan.create("user", "a", json!({ "name": "a" }), Some(app.into()));
    let b = plan.create("user", "b", json!({ "name": "b" }), None);
    plan.set_alias("open_id", "ou_a", Target::Created(a));
    plan.set_alias("open_id", "ou_b", Target::Created(b));
    let applied = f.store.apply(plan).await.unwrap();
    let (a, b) = (applied.entity(a).id, applied.entity(b).id);
    let mut add = AddEdges::new(a, "follows", targets(&[b]));
    add.reciprocal = Some(Reciprocal {
        relation: "mutual".into(),
        max_per_entity: None,
    });
    f.apply(EDGES_AT, Step::AddEdges(add.clone()))
        .await
        .unwrap();
    add.subject = b.into();
    add.members = targets(&[a]);
    f.apply(EDGES_AT + 1, Step::AddEdges(add)).await.unwrap();
    let dump = f.store.dump_space(f.space.id).await.unwrap();
    assert_eq!(dump.entities.len(), 3);
    assert_eq!(dump.entities[1].owner.as_ref().unwrap().key, "cli");
    assert_eq!(dump.aliases.len(), 2);
    let relations: Vec<&str> = dump.edges.iter().map(|e| e.relation.as_str()).collect();
    assert_eq!(relations, ["follows", "follows", "mutual", "mutual"]);

    // Loaded as another space: the same contents under new ids, counters recounted.
    let mut copy = dump.clone();
    copy.space.key = "copy".into();
    f.store.load_spaces(vec![copy.clone()]).await.unwrap();
    let spaces = f.store.spaces("test").await.unwrap();
    let copied = spaces.iter().find(|s| s.key == "copy").unwrap();
    assert_eq!(f.store.dump_space(copied.id).await.unwrap(), copy);
    let ids = f
        .store
        .resolve_aliases(copied.id, "open_id", &["ou_a".into(), "ou_b".into()])
        .await
        .unwrap();
    assert!(ids["ou_a"] != a && ids["ou_b"] != b);
    let counts = f
        .store
        .counts(
            copied.id,
            &[ids["ou_a"], ids["ou_b"]],
            "mutual",
            Direction::Members,
        )
        .await
        .unwrap();
    assert_eq!(counts, [(ids["ou_a"], 1), (ids["ou_b"], 1)].into());

    // Loaded over the original after it changed: exactly the dump again.
    let extra = f.entity("user", "c").await;
    f.add_edges(f.add(a, &[extra])).await;
    f.store.load_spaces(vec![dump.clone()]).await.unwrap();
    assert_eq!(f.store.dump_space(f.space.id).await.unwrap(), dump);

    // A dump that contradicts itself loads nothing, in any of the spaces given.
    let mut broken = dump.clone();
    broken.edges[0].member.key = "nobody".into();
    let mut emptied = copy.clone();
    emptied.entities.clear();
    emptied.aliases.clear();
    emptied.edges.clear();
    match f.store.load_spaces(vec![emptied, broken]).await {
        Err(StoreError::InvalidDump(why)) => assert!(why.contains("nobody"), "{why}"),
        other => panic!("expected an invalid dump, got {other:?}"),
    }
    assert_eq!(f.store.dump_space(copied.id).await.unwrap(), copy);
    assert_eq!(f.store.dump_space(f.space.id).await.unwrap(), dump);
}

/// The change log of the fixture's space after `after`.
async fn changes_after(f: &Fixture, after: i64) -> Vec<Change> {
    f.store.changes(f.space.id, after, 1000).await.unwrap()
}

/// (op, subject key, relation, member key) of each change.
fn summary(changes: &[Change]) -> Vec<(ChangeOp, &str, Option<&str>, Option<&str>)> {
    changes
        .iter()
        .map(|c| {
            (
                c.op,
                c.subject.key.as_str(),
                c.relation.as_deref(),
                c.member.as_ref().map(|m| m.key.as_str()),
            )
        })
        .collect()
}

async fn change_log_records_what_committed_plans_changed(f: Fixture) {
    let a = f.entity("user", "a").await;
    let b = f.entity("user", "b").await;
    let start = changes_after(&f, 0).await;
    assert_eq!(
        summary(&start),
        [
            (ChangeOp::EntityCreated, "a", None, None),
            (ChangeOp::EntityCreated, "b", None, None)
        ]
    );
    let mark = start.last().unwrap().seq;

    // One plan: its changes share a plan number and the plan's context.
    let mut plan = f.plan(EDGES_AT);
    plan.context = Some(json!({ "operator": "x" }));
    plan.push(Step::AddEdges(f.add(a, &[b])));
    f.store.apply(plan).await.unwrap();
    // Nothing changes: nothing recorded.
    f.add_edges(f.add(a, &[b])).await;
    // A refused plan records nothing, though its first step did change something.
    let mut plan = f.plan(EDGES_AT);
    plan.push(Step::AddEdges(f.add(b, &[a])));
    plan.create("user", "a", json!({}), None);
    refused(f.store.apply(plan).await);
    // Deleting an entity records the edges it was on, then the entity.
    f.apply(EDGES_AT, Step::Delete { entity: b.into() })
        .await
        .unwrap();

    let changes = changes_after(&f, mark).await;
    assert_eq!(
        summary(&changes),
        [
            (ChangeOp::EdgeAdded, "a", Some("r"), Some("b")),
            (ChangeOp::EdgeRemoved, "a", Some("r"), Some("b")),
            (ChangeOp::EntityDeleted, "b", None, None),
        ]
    );
    assert_eq!(changes[0].context, Some(json!({ "operator": "x" })));
    assert_eq!(changes[0].at, EDGES_AT);
    assert_eq!(changes[1].plan, changes[2].plan);
    assert_ne!(changes[0].plan, changes[1].plan);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    // Paged from any point.
    assert_eq!(changes_after(&f, changes[0].seq).await, changes[1..]);
    assert_eq!(
        f.store.changes(f.space.id, mark, 1).await.unwrap(),
        changes[..1]
    );
}

async fn delivery_cursor_moves_from_where_it_is(f: Fixture) {
    let store = &f.store;
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), None);
    assert!(store
        .advance_delivery_cursor(f.space.id, 0, 0)
        .await
        .unwrap());
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), Some(0));
    assert!(store
        .advance_delivery_cursor(f.space.id, 0, 5)
        .await
        .unwrap());
    // Another process moved it first: refused, and it stays.
    assert!(!store
        .advance_delivery_cursor(f.space.id, 0, 7)
        .await
        .unwrap());
    assert!(!store
        .advance_delivery_cursor(f.space.id, 3, 7)
        .await
        .unwrap());
    assert_eq!(store.delivery_cursor(f.space.id).await.unwrap(), Some(5));

    let resend = Resend {
        due_ms: 1_000,
        then_ms: vec![2_000],
        timeout_ms: 500,
        acceptance: Acceptance::Ok,
    };
    let attempt = DeliveryAttempt {
        id: 0,
        space: f.space.id,
        change_seq: 5,
        event: "e".into(),
        method: CallbackMethod::Get,
        url: "http://127.0.0.1:9/".into(),
        headers: vec![("Content-Type".into(), "text/xml".into())],
        request: "<xml/>".into(),
        attempt: 1,
        at: 10,
        status: None,
        response: String::new(),
        error: Some("connection refused".into()),
        resend: Some(resend.clone()),
    };
    let first = store.record_attempt(&attempt, None).await.unwrap();
    let pending = store.pending_resends(f.space.id).await.unwrap();
    assert_eq!(
        pending,
        [DeliveryAttempt {
            id: first,
            ..attempt.clone()
        }]
    );
    // One claimant wins a re-send; one that read it before loses it.
    let claimed = Resend {
        due_ms: 9_000,
        ..resend.clone()
    };
    assert!(store
        .claim_resend((f.space.id, first), &resend, &claimed)
        .await
        .unwrap());
    assert!(!store
        .claim_resend((f.space.id, first), &resend, &claimed)
        .await
        .unwrap());
    let pending = store.pending_resends(f.space.id).await.unwrap();
    assert_eq!(pending[0].resend, Some(claimed.clone()));
    assert!(store
        .claim_resend((f.space.id, first), &claimed, &resend)
        .await
        .unwrap());
    // The re-send, answered, ends the pending one in the same write.
    let answered = DeliveryAttempt {
        attempt: 2,
        status: Some(200),
        response: "ok".into(),
        error: None,
        resend: None,
        ..attempt.clone()
    };
    let second = store.record_attempt(&answered, Some(first)).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap(), []);
    let listed = store.attempts(Some(f.space.id), 0, 10).await.unwrap();
    assert_eq!(
        listed,
        [
            DeliveryAttempt {
                id: first,
                resend: None,
                ..attempt.clone()
            },
            DeliveryAttempt {
                id: second,
                ..answered
            }
        ]
    );
    assert_eq!(store.attempts(None, first, 10).await.unwrap(), listed[1..]);

    // A receiver change drops what is still to come.
    let third = store.record_attempt(&attempt, None).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap().len(), 1);
    store.drop_resends(f.space.id).await.unwrap();
    assert_eq!(store.pending_resends(f.space.id).await.unwrap(), []);
    assert!(!store
        .claim_resend((f.space.id, third), &resend, &claimed)
        .await
        .unwrap());
}

/// A plan of many rows gathers no statistics itself: the housekeeping pass's
/// `refresh_statistics` finds the tables it grew (once PostgreSQL's activity counts, sent
/// within a second or so, show it) and analyzes them, once. SQLite keeps none.
async fn statistics_are_refreshed_outside_plans(f: Fixture) {
    let mut plan = f.plan(CREATED_AT);
    for i in 0..1300 {
        plan.create("user", format!("u{i}"), json!({}), None);
    }
    f.store.apply(plan).await.unwrap();
    if f._database.is_none() {
        assert_eq!(
            f.store.refresh_statistics().await.unwrap(),
            Vec::<String>::new()
        );
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let refreshed = f.store.refresh_statistics().await.unwrap();
        if refreshed.contains(&"entities".to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "entities never analyzed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let again = f.store.refresh_statistics().await.unwrap();
    assert!(!again.contains(&"entities".to_string()), "{again:?}");
}

async fn retention_removes_whole_plans_whose_callbacks_are_done(f: Fixture) {
    let store = &f.store;
    let space = f.space.id;
    let [a, b, c] = [
        f.entity("user", "a").await,
        f.entity("user", "b").await,
        f.entity("user", "c").await,
    ];
    // Three plans of two changes each, at 10, 20 and 30.
    for (at, subject, members) in [(10, a, [b, c]), (20, b, [a, c]), (30, c, [a, b])] {
        f.apply(at, Step::AddEdges(f.add(subject, &members)))
            .await
            .unwrap();
    }
    let all = changes_after(&f, 0).await;
    assert_eq!(all.len(), 9);
    let (p1_end, p2_end) = (all[4].seq, all[6].seq);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        span,
        ChangeSpan {
            pruned_through: 0,
            oldest: Some(all[0].seq),
            last: all[8].seq
        }
    );

    // Nothing goes before the delivery cursor is set, nor past it.
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 0);
    store
        .advance_delivery_cursor(space, 0, all[8].seq)
        .await
        .unwrap();
    // A callback of the second plan is still to be re-sent: that plan stays, whole.
    let pending = DeliveryAttempt {
        id: 0,
        space,
        change_seq: p2_end,
        event: "e".into(),
        method: CallbackMethod::Post,
        url: "http://127.0.0.1:9/".into(),
        headers: vec![],
        request: "{}".into(),
        attempt: 1,
        at: 20,
        status: Some(500),
        response: String::new(),
        error: None,
        resend: Some(Resend {
            due_ms: 0,
            then_ms: vec![],
            timeout_ms: 1,
            acceptance: Acceptance::Ok,
        }),
    };
    let pending_id = store.record_attempt(&pending, None).await.unwrap();
    let delivered = DeliveryAttempt {
        status: Some(200),
        resend: None,
        at: 10,
        ..pending.clone()
    };
    store.record_attempt(&delivered, None).await.unwrap();
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 5);
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 0);
    assert_eq!(changes_after(&f, 0).await, all[5..]);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        (span.pruned_through, span.oldest),
        (p1_end, Some(all[5].seq))
    );
    assert!(span.lost(0) && !span.lost(p1_end));

    // Given up: the second plan goes; the third is within the horizon.
    store.drop_resends(space).await.unwrap();
    assert_eq!(store.prune_changes(space, 25, 1000).await.unwrap(), 2);
    assert_eq!(changes_after(&f, 0).await, all[7..]);
    // Attempts made before the horizon with no re-send to come go; the kept count.
    store.record_attempt(&pending, None).await.unwrap();
    assert_eq!(store.prune_attempts(space, 25, 1000).await.unwrap(), 2);
    let kept = store.attempts(Some(space), 0, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].id > pending_id && kept[0].resend.is_some());

    // Everything past the horizon: the log is empty but remembers where it ended.
    assert_eq!(
        store.prune_changes(space, 31, 1000).await.unwrap(),
        0,
        "a re-send holds it"
    );
    store.drop_resends(space).await.unwrap();
    assert_eq!(store.prune_changes(space, 31, 1000).await.unwrap(), 2);
    let span = store.change_span(space).await.unwrap();
    assert_eq!(
        span,
        ChangeSpan {
            pruned_through: all[8].seq,
            oldest: None,
            last: all[8].seq
        }
    );
    assert_eq!(span.first_available(), all[8].seq + 1);
    let stats = store.history_stats().await.unwrap();
    assert_eq!((stats.change_rows, stats.oldest_change_at), (0, None));
    assert!(stats.database_bytes > 0);
    store.reclaim(1000).await.unwrap();
}

/// A database made before incremental auto-vacuum is rebuilt once with it, its data kept.
#[tokio::test]
async fn sqlite_takes_up_incremental_auto_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE older (x); INSERT INTO older VALUES (42);",
        )
        .unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 0);
    }
    let store = roster_store::open_sqlite_dir(dir.path()).await.unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "INCREMENTAL");
    let kept: i64 = conn
        .query_row("SELECT x FROM older", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 42);
}
