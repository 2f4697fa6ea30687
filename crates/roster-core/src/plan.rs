//! A write is a plan: a dialect describes a whole vendor operation (create a user and all its
//! aliases; create a tag, name it and count it against its corp; add 20 follows) as steps that
//! the store applies in one transaction, whole or not at all.
//!
//! Steps run in order. A later step names an entity an earlier one creates by that step's
//! [`StepId`]. The first step the store refuses ([`Refusal`]) rolls the whole plan back, so a
//! dialect never writes undo code: uniqueness (entity keys, aliases) is a key checked by the
//! insert itself, and a race has exactly one winner.

use serde_json::Value;

use crate::model::*;

/// The position of a step in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepId(pub usize);

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}", self.0)
    }
}

/// The entity a step acts on: one that exists, or the one an earlier step creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Existing(EntityId),
    Created(StepId),
}

impl From<EntityId> for Target {
    fn from(id: EntityId) -> Self {
        Target::Existing(id)
    }
}

impl From<StepId> for Target {
    fn from(step: StepId) -> Self {
        Target::Created(step)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Insert; refused with [`Refusal::KeyTaken`] if (space, kind, key) exists.
    Create {
        kind: String,
        key: String,
        attrs: Value,
        owner: Option<Target>,
    },
    /// Insert (with `owner`), or replace the attrs of the entity with the same key when they
    /// differ.
    Upsert {
        kind: String,
        key: String,
        attrs: Value,
        owner: Option<Target>,
    },
    /// Replace the attrs; with `expect`, only if the stored attrs are exactly those
    /// ([`Refusal::Changed`] otherwise), so a read-modify-write cannot lose a concurrent one.
    Update {
        entity: Target,
        attrs: Value,
        expect: Option<Value>,
    },
    /// Delete the entity with its aliases and every edge it is on, adjusting the counters of
    /// the entities on the other ends.
    Delete { entity: Target },
    /// [`Step::Delete`] every entity of `kind` created before `created_before` (housekeeping
    /// of expiring things: login codes, refresh tokens).
    Prune { kind: String, created_before: i64 },
    /// Another name for an entity in a namespace (an open_id per app, a tag's name), unique
    /// per (space, namespace): [`Refusal::KeyTaken`] if another entity has it.
    SetAlias {
        namespace: String,
        alias: String,
        entity: Target,
    },
    /// Drop `alias` if it names `entity` (a renamed entity gives up its old name).
    RemoveAlias {
        namespace: String,
        alias: String,
        entity: Target,
    },
    /// Add members under a relation, with one [`Outcome`] per distinct member; when its
    /// policy aborts, the plan is refused with [`Refusal::Aborted`].
    AddEdges(AddEdges),
    /// Remove members; one outcome per distinct member.
    RemoveEdges(RemoveEdges),
}

/// Members to add to a subject, checked against caps inside the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddEdges {
    pub subject: Target,
    pub relation: String,
    /// De-duplicated by the engine; outcomes come back once per distinct member, in order.
    pub members: Vec<Target>,
    pub caps: Caps,
    pub reciprocal: Option<Reciprocal>,
    pub allow_self: bool,
    pub policy: AddPolicy,
}

impl AddEdges {
    /// A batch with no caps, no reciprocal relation and no abort policy.
    pub fn new(subject: impl Into<Target>, relation: &str, members: Vec<Target>) -> Self {
        Self {
            subject: subject.into(),
            relation: relation.into(),
            members,
            caps: Caps::default(),
            reciprocal: None,
            allow_self: false,
            policy: AddPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveEdges {
    pub subject: Target,
    pub relation: String,
    pub members: Vec<EntityId>,
    /// Reciprocal relation to dissolve when the edge goes.
    pub reciprocal: Option<String>,
}

impl Step {
    /// Whether the step stores an entity a later step may name.
    fn stores_entity(&self) -> bool {
        matches!(
            self,
            Step::Create { .. } | Step::Upsert { .. } | Step::Update { .. }
        )
    }

    /// The entities the step names.
    fn targets(&self) -> Vec<Target> {
        match self {
            Step::Create { owner, .. } | Step::Upsert { owner, .. } => {
                owner.iter().copied().collect()
            }
            Step::Update { entity, .. }
            | Step::Delete { entity }
            | Step::SetAlias { entity, .. }
            | Step::RemoveAlias { entity, .. } => vec![*entity],
            Step::Prune { .. } => Vec::new(),
            Step::AddEdges(add) => std::iter::once(add.subject)
                .chain(add.members.iter().copied())
                .collect(),
            Step::RemoveEdges(remove) => vec![remove.subject],
        }
    }
}

/// Steps applied in one transaction of one space.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    pub space: SpaceId,
    /// The time every row the plan writes is stamped with.
    pub now: i64,
    pub steps: Vec<Step>,
    /// Recorded with each change the plan makes (see [`crate::Change::context`]).
    pub context: Option<Value>,
}

impl WritePlan {
    pub fn new(space: SpaceId, now: i64) -> Self {
        Self {
            space,
            now,
            steps: Vec::new(),
            context: None,
        }
    }

    /// Whether every `Target::Created` names an earlier step that stores an entity; a store
    /// refuses to run a plan that is not.
    pub fn check(&self) -> Result<(), String> {
        for (index, step) in self.steps.iter().enumerate() {
            for target in step.targets() {
                if let Target::Created(named) = target {
                    let valid = named.0 < index && self.steps[named.0].stores_entity();
                    if !valid {
                        return Err(format!(
                            "step {index} names {named}, which stores no entity before it"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn push(&mut self, step: Step) -> StepId {
        self.steps.push(step);
        StepId(self.steps.len() - 1)
    }

    pub fn create(
        &mut self,
        kind: &str,
        key: impl Into<String>,
        attrs: Value,
        owner: Option<Target>,
    ) -> StepId {
        self.push(Step::Create {
            kind: kind.into(),
            key: key.into(),
            attrs,
            owner,
        })
    }

    pub fn upsert(
        &mut self,
        kind: &str,
        key: impl Into<String>,
        attrs: Value,
        owner: Option<Target>,
    ) -> StepId {
        self.push(Step::Upsert {
            kind: kind.into(),
            key: key.into(),
            attrs,
            owner,
        })
    }

    pub fn update(&mut self, entity: impl Into<Target>, attrs: Value) -> StepId {
        self.push(Step::Update {
            entity: entity.into(),
            attrs,
            expect: None,
        })
    }

    /// [`Step::Update`] only if the entity still has the attrs it was read with.
    pub fn update_from(&mut self, entity: &Entity, attrs: Value) -> StepId {
        self.push(Step::Update {
            entity: entity.id.into(),
            attrs,
            expect: Some(entity.attrs.clone()),
        })
    }

    pub fn delete(&mut self, entity: impl Into<Target>) -> StepId {
        self.push(Step::Delete {
            entity: entity.into(),
        })
    }

    pub fn prune(&mut self, kind: &str, created_before: i64) -> StepId {
        self.push(Step::Prune {
            kind: kind.into(),
            created_before,
        })
    }

    pub fn set_alias(
        &mut self,
        namespace: impl Into<String>,
        alias: impl Into<String>,
        entity: impl Into<Target>,
    ) -> StepId {
        self.push(Step::SetAlias {
            namespace: namespace.into(),
            alias: alias.into(),
            entity: entity.into(),
        })
    }

    pub fn remove_alias(
        &mut self,
        namespace: impl Into<String>,
        alias: impl Into<String>,
        entity: impl Into<Target>,
    ) -> StepId {
        self.push(Step::RemoveAlias {
            namespace: namespace.into(),
            alias: alias.into(),
            entity: entity.into(),
        })
    }

    pub fn add_edges(&mut self, add: AddEdges) -> StepId {
        self.push(Step::AddEdges(add))
    }

    pub fn remove_edges(&mut self, remove: RemoveEdges) -> StepId {
        self.push(Step::RemoveEdges(remove))
    }
}

/// What one applied step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    /// Create, Upsert, Update: the entity as stored.
    Entity(Entity),
    /// AddEdges, RemoveEdges: one outcome per distinct member.
    Outcomes(Vec<(EntityId, Outcome)>),
    /// Delete, Prune, SetAlias, RemoveAlias.
    Done,
}

/// A committed plan's results, one per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub results: Vec<StepResult>,
}

impl Applied {
    /// The entity a Create, Upsert or Update step stored.
    pub fn entity(&self, step: StepId) -> &Entity {
        match &self.results[step.0] {
            StepResult::Entity(entity) => entity,
            other => panic!("{step} produced {other:?}, not an entity"),
        }
    }

    pub fn into_entity(mut self, step: StepId) -> Entity {
        match self.results.swap_remove(step.0) {
            StepResult::Entity(entity) => entity,
            other => panic!("{step} produced {other:?}, not an entity"),
        }
    }

    /// The outcomes of an AddEdges or RemoveEdges step.
    pub fn outcomes(&self, step: StepId) -> &[(EntityId, Outcome)] {
        match &self.results[step.0] {
            StepResult::Outcomes(outcomes) => outcomes,
            other => panic!("{step} produced {other:?}, not outcomes"),
        }
    }
}

/// Why the store refused a step (and so rolled back its whole plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The entity key or alias belongs to another entity.
    #[error("the key is taken")]
    KeyTaken,
    /// The entity the step acts on is not in the plan's space.
    #[error("no such entity")]
    NotFound,
    /// The entity's attrs are no longer those the step expected.
    #[error("changed by a concurrent write")]
    Changed,
    /// An AddEdges policy aborted the plan; the outcomes say why, per member.
    #[error("the batch was aborted")]
    Aborted(Vec<(EntityId, Outcome)>),
}

/// The outcomes of the AddEdges step `step`, whether its plan committed or its policy aborted
/// the plan; any other failure passes through.
pub fn batch_outcomes(
    result: Result<Applied, crate::StoreError>,
    step: StepId,
) -> Result<Vec<(EntityId, Outcome)>, crate::StoreError> {
    match result {
        Ok(applied) => Ok(applied.outcomes(step).to_vec()),
        Err(crate::StoreError::Refused {
            step: refused,
            refusal: Refusal::Aborted(outcomes),
        }) if refused == step => Ok(outcomes),
        Err(e) => Err(e),
    }
}
