//! The storage contract, run against SQLite and (when configured) PostgreSQL.

mod changes;
mod dumps;
mod edges;
mod entities;
mod housekeeping;
mod migrations;
mod paging;
mod plans;

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

    /// The (members, memberships) counters of `id` under `relation`, read together.
    async fn counts(&self, id: EntityId, relation: &str) -> (i64, i64) {
        let counted = [
            (relation, Direction::Members),
            (relation, Direction::Memberships),
        ];
        let counters = self
            .store
            .counters(self.space.id, &[id], &counted)
            .await
            .unwrap();
        (counters[0][&id], counters[1][&id])
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

/// The change log of the fixture's space after `after`.
async fn changes_after(f: &Fixture, after: i64) -> Vec<Change> {
    f.store.changes(f.space.id, after, 1000).await.unwrap()
}
