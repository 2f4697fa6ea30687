//! A space's whole contents, with entities named by (kind, key) instead of row ids, so that it
//! can be written to a file and loaded into any store (snapshots, and resets to a seed).
//! Counters are not part of it: loading recounts them from the edges.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Entity, EntityId};

/// An entity named the way every store can find it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpedEntity {
    pub kind: String,
    pub key: String,
    pub attrs: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<EntityRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpedAlias {
    pub namespace: String,
    pub alias: String,
    pub entity: EntityRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpedEdge {
    pub subject: EntityRef,
    pub relation: String,
    pub member: EntityRef,
    pub created_at: i64,
}

/// Which space a dump is of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SpaceName {
    pub dialect: String,
    pub key: String,
}

impl std::fmt::Display for SpaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dialect, self.key)
    }
}

/// Everything one space holds: entities in creation order (an owner before what it owns),
/// aliases by (namespace, alias), edges in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceDump {
    pub space: SpaceName,
    pub limits: BTreeMap<String, i64>,
    pub entities: Vec<DumpedEntity>,
    pub aliases: Vec<DumpedAlias>,
    pub edges: Vec<DumpedEdge>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} refers to an entity that is not part of the space")]
pub struct DanglingReference(pub String);

/// Builds a dump from a store's rows, naming each entity id it meets by (kind, key).
pub struct DumpBuilder {
    names: HashMap<EntityId, EntityRef>,
    dump: SpaceDump,
}

impl DumpBuilder {
    /// `entities` in id order, the space's only ones.
    pub fn new(space: SpaceName, limits: BTreeMap<String, i64>, entities: Vec<Entity>) -> Self {
        let names: HashMap<EntityId, EntityRef> = entities
            .iter()
            .map(|e| {
                let name = EntityRef {
                    kind: e.kind.clone(),
                    key: e.key.clone(),
                };
                (e.id, name)
            })
            .collect();
        let entities = entities
            .into_iter()
            .map(|e| DumpedEntity {
                owner: e.owner.and_then(|owner| names.get(&owner).cloned()),
                kind: e.kind,
                key: e.key,
                attrs: e.attrs,
                created_at: e.created_at,
                updated_at: e.updated_at,
            })
            .collect();
        Self {
            names,
            dump: SpaceDump {
                space,
                limits,
                entities,
                aliases: Vec::new(),
                edges: Vec::new(),
            },
        }
    }

    fn name(&self, id: EntityId, what: &str) -> Result<EntityRef, DanglingReference> {
        self.names
            .get(&id)
            .cloned()
            .ok_or_else(|| DanglingReference(format!("{what} (entity {id})")))
    }

    pub fn alias(
        &mut self,
        namespace: String,
        alias: String,
        entity: EntityId,
    ) -> Result<(), DanglingReference> {
        let entity = self.name(entity, &format!("alias {namespace}/{alias}"))?;
        self.dump.aliases.push(DumpedAlias {
            namespace,
            alias,
            entity,
        });
        Ok(())
    }

    pub fn edge(
        &mut self,
        subject: EntityId,
        relation: String,
        member: EntityId,
        created_at: i64,
    ) -> Result<(), DanglingReference> {
        let what = format!("a {relation} edge");
        let (subject, member) = (self.name(subject, &what)?, self.name(member, &what)?);
        self.dump.edges.push(DumpedEdge {
            subject,
            relation,
            member,
            created_at,
        });
        Ok(())
    }

    pub fn finish(self) -> SpaceDump {
        self.dump
    }
}
