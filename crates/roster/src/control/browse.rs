//! Browsing a space, for the console and for operators: `GET /_roster/spaces/{dialect}/{key}`
//! (limits and counts), `.../entities` (search by key or any alias, paged), `.../entity` (one
//! entity, its aliases and relations), `.../edges` (one relation of it, from either side,
//! paged) and `.../graph` (its neighbourhood, capped). Entities are named by kind and key, which
//! survive resets and snapshot loads; pages are sealed with the engine's cursors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use roster_core::{
    Direction, Edge, Entity, EntityId, EntitySearch, PageRequest, RelationCount, Space,
};

use super::{parse_space_name, Control, ControlError};

/// A page holds at most this many items.
const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;
/// A neighbourhood holds at most this many entities, the one it is of included.
const MAX_GRAPH_NODES: usize = 80;
/// A neighbourhood reads at most this many edges per hop.
const GRAPH_EDGES_PER_HOP: u32 = 400;

type Named = Path<(String, String)>;

impl Control {
    async fn space_at(&self, (dialect, key): (String, String)) -> Result<Space, ControlError> {
        self.space(&parse_space_name(&format!("{dialect}/{key}"))?)
            .await
    }

    /// The entity of `space` named by `kind` and `key`.
    async fn entity_named(&self, space: &Space, at: &EntityAt) -> Result<Entity, ControlError> {
        self.engine
            .store
            .find_entity(space.id, &at.kind, &at.key)
            .await?
            .ok_or_else(|| ControlError::UnknownEntity(at.kind.clone(), at.key.clone()))
    }

    /// `entities` (of `space`) rendered, each with its owner named.
    async fn render(&self, space: &Space, entities: &[Entity]) -> Result<Vec<Value>, ControlError> {
        let owners: Vec<EntityId> = entities.iter().filter_map(|e| e.owner).collect();
        let owners = self.engine.store.entities(space.id, &owners).await?;
        Ok(entities
            .iter()
            .map(|e| rendered(e, e.owner.and_then(|id| owners.get(&id))))
            .collect())
    }

    fn open_page(&self, scope: &str, token: Option<&str>) -> Result<Option<i64>, ControlError> {
        token
            .map(|token| {
                self.engine
                    .cursors
                    .open(scope, token)
                    .ok_or(ControlError::BadPageToken)
            })
            .transpose()
    }
}

fn rendered(entity: &Entity, owner: Option<&Entity>) -> Value {
    json!({
        "kind": entity.kind,
        "key": entity.key,
        "attrs": entity.attrs,
        "owner": owner.map(|o| json!({ "kind": o.kind, "key": o.key })),
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    })
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Members => "members",
        Direction::Memberships => "memberships",
    }
}

fn relation_json(relation: &RelationCount) -> Value {
    json!({
        "relation": relation.relation,
        "direction": direction_name(relation.direction),
        "count": relation.count,
    })
}

/// A query string this module takes, or a 400 that says what is wrong with it.
fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ControlError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ControlError::BadQuery(e.body_text()))
}

fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// `GET /_roster/spaces/{dialect}/{key}`: the space, its limit overrides, how many entities
/// of each kind and edges it holds, and the seq of its last change (to follow
/// `/_roster/changes` from).
pub(super) async fn space_summary(
    State(control): State<Arc<Control>>,
    Path(at): Named,
) -> Result<Response, ControlError> {
    let space = control.space_at(at).await?;
    let counts = control.engine.store.space_counts(space.id).await?;
    let changes = control.engine.store.change_span(space.id).await?;
    Ok(Json(json!({
        "space": format!("{}/{}", space.dialect, space.key),
        "dialect": space.dialect,
        "key": space.key,
        "limits": space.limits,
        "counts": { "kinds": counts.kinds, "edges": counts.edges },
        "last_change": changes.last,
        "oldest_change": changes.oldest,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchQuery {
    kind: Option<String>,
    #[serde(default)]
    q: String,
    page: Option<String>,
    limit: Option<u32>,
}

/// `GET /_roster/spaces/{dialect}/{key}/entities?kind=&q=&page=&limit=`: the entities (of
/// `kind`) whose key or any alias starts with `q`, in creation order;
/// `{"entities": [...], "next_page": token or null}`.
pub(super) async fn search_entities(
    State(control): State<Arc<Control>>,
    Path(at): Named,
    search: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, ControlError> {
    let search = query(search)?;
    let space = control.space_at(at).await?;
    let kind = search.kind.filter(|k| !k.is_empty());
    let scope = format!(
        "_roster/entities\0{}\0{}\0{}",
        space.id,
        kind.as_deref().unwrap_or_default(),
        search.q
    );
    let page = PageRequest {
        after: control.open_page(&scope, search.page.as_deref())?,
        limit: page_limit(search.limit),
        newest_first: false,
    };
    let found = EntitySearch {
        space_id: space.id,
        kind,
        prefix: search.q,
    };
    let page = control.engine.store.search_entities(&found, page).await?;
    Ok(Json(json!({
        "entities": control.render(&space, &page.items).await?,
        "next_page": page.next.map(|n| control.engine.cursors.seal(&scope, n)),
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct EntityAt {
    kind: String,
    key: String,
}

/// `GET /_roster/spaces/{dialect}/{key}/entity?kind=&key=`: the entity, its aliases and the
/// relations it is on, from each side, with their counts.
pub(super) async fn entity(
    State(control): State<Arc<Control>>,
    Path(at): Named,
    named: Result<Query<EntityAt>, QueryRejection>,
) -> Result<Response, ControlError> {
    let named = query(named)?;
    let space = control.space_at(at).await?;
    let entity = control.entity_named(&space, &named).await?;
    let store = &control.engine.store;
    let aliases = store.entity_aliases(space.id, entity.id).await?;
    let relations = store.relations_of(space.id, entity.id).await?;
    let rendered = control
        .render(&space, std::slice::from_ref(&entity))
        .await?;
    Ok(Json(json!({
        "entity": rendered[0],
        "aliases": aliases
            .iter()
            .map(|(namespace, alias)| json!({ "namespace": namespace, "alias": alias }))
            .collect::<Vec<_>>(),
        "relations": relations.iter().map(relation_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Side {
    Members,
    Memberships,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EdgesQuery {
    kind: String,
    key: String,
    relation: String,
    direction: Side,
    page: Option<String>,
    limit: Option<u32>,
}

/// `GET /_roster/spaces/{dialect}/{key}/edges?kind=&key=&relation=&direction=&page=&limit=`:
/// the entity's members (`direction=members`) or the subjects it is a member of
/// (`memberships`) under `relation`, oldest edge first;
/// `{"edges": [{"entity", "created_at"}], "next_page": token or null}`.
pub(super) async fn edges(
    State(control): State<Arc<Control>>,
    Path(at): Named,
    edges: Result<Query<EdgesQuery>, QueryRejection>,
) -> Result<Response, ControlError> {
    let edges = query(edges)?;
    let space = control.space_at(at).await?;
    let at = EntityAt {
        kind: edges.kind,
        key: edges.key,
    };
    let entity = control.entity_named(&space, &at).await?;
    let direction = match edges.direction {
        Side::Members => Direction::Members,
        Side::Memberships => Direction::Memberships,
    };
    let scope = format!(
        "_roster/edges\0{}\0{}\0{}",
        entity.id,
        edges.relation,
        direction_name(direction)
    );
    let request = PageRequest {
        after: control.open_page(&scope, edges.page.as_deref())?,
        limit: page_limit(edges.limit),
        newest_first: false,
    };
    let page = control
        .engine
        .store
        .list_edges_entities(space.id, entity.id, &edges.relation, direction, request)
        .await?;
    let (listed, others): (Vec<Edge>, Vec<Entity>) = page.items.into_iter().unzip();
    let rendered = control.render(&space, &others).await?;
    let items: Vec<Value> = rendered
        .into_iter()
        .zip(&listed)
        .map(|(entity, edge)| json!({ "entity": entity, "created_at": edge.created_at }))
        .collect();
    Ok(Json(json!({
        "edges": items,
        "next_page": page.next.map(|n| control.engine.cursors.seal(&scope, n)),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GraphQuery {
    kind: String,
    key: String,
    hops: Option<u8>,
}

/// `GET /_roster/spaces/{dialect}/{key}/graph?kind=&key=&hops=1|2`: the entity and the
/// entities within `hops` edges of it (at most [`MAX_GRAPH_NODES`]), with the edges between
/// them that were read; `{"nodes": [{"kind", "key", "attrs", "hop"}], "edges": [{"from", "to",
/// "relation"}], "truncated"}`, edges naming nodes by index, the entity itself first.
pub(super) async fn graph(
    State(control): State<Arc<Control>>,
    Path(at): Named,
    graph: Result<Query<GraphQuery>, QueryRejection>,
) -> Result<Response, ControlError> {
    let graph = query(graph)?;
    let hops = graph.hops.unwrap_or(1);
    if !(1..=2).contains(&hops) {
        return Err(ControlError::BadQuery("hops is 1 or 2".into()));
    }
    let space = control.space_at(at).await?;
    let root = control
        .entity_named(
            &space,
            &EntityAt {
                kind: graph.kind,
                key: graph.key,
            },
        )
        .await?;
    let store = &control.engine.store;
    let mut order = vec![root.id];
    let mut hop_of = HashMap::from([(root.id, 0u8)]);
    let mut edges = Vec::new();
    let mut truncated = false;
    let mut frontier = vec![root.id];
    for hop in 1..=hops {
        let read = store
            .edges_touching(space.id, &frontier, GRAPH_EDGES_PER_HOP)
            .await?;
        truncated |= read.len() == GRAPH_EDGES_PER_HOP as usize;
        let mut next = Vec::new();
        for edge in read {
            for end in [edge.subject, edge.member] {
                if hop_of.contains_key(&end) {
                    continue;
                }
                if order.len() == MAX_GRAPH_NODES {
                    truncated = true;
                    continue;
                }
                hop_of.insert(end, hop);
                order.push(end);
                next.push(end);
            }
            if hop_of.contains_key(&edge.subject) && hop_of.contains_key(&edge.member) {
                edges.push(edge);
            }
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    let index: HashMap<EntityId, usize> =
        order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let found = store.entities(space.id, &order).await?;
    let nodes: Vec<Value> = order
        .iter()
        .map(|id| {
            let entity = &found[id];
            json!({ "kind": entity.kind, "key": entity.key, "attrs": entity.attrs, "hop": hop_of[id] })
        })
        .collect();
    let edges: Vec<Value> = edges
        .iter()
        .map(|e| json!({ "from": index[&e.subject], "to": index[&e.member], "relation": e.relation }))
        .collect();
    Ok(Json(json!({ "nodes": nodes, "edges": edges, "truncated": truncated })).into_response())
}
