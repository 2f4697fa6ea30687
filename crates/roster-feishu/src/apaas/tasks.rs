//! User tasks and their workflow instances, as declared in the seed file or through
//! `POST /_roster/feishu/apaas_user_tasks`.
//!
//! A workflow instance is an entity (label, initiator, status); its tasks are entities it owns
//! (activity label, status, start time, summaries). Assignees and cc'd users are edges from the
//! task, so "the tasks of a user" is a list of the user's memberships.

use std::collections::BTreeMap;

use roster_core::{
    all_pages, AddEdges, AddPolicy, Engine, Entity, EntityFilter, EntityId, Space, SpaceId,
    StoreError, Target, WritePlan,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::kunlun_users;
use crate::model::derived_number;

pub const USER_TASK: &str = "feishu.apaas.user_task";
pub const WORKFLOW_INSTANCE: &str = "feishu.apaas.workflow_instance";
pub const ASSIGNEE: &str = "apaas.assignee";
pub const CC: &str = "apaas.cc";

/// Task and workflow instance states, as stored and as `workflow_instance.status` shows them.
pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
pub const IN_PROCESS: &str = "in_process";
pub const CANCELED: &str = "canceled";

/// Text in one language (Chinese, aPaaS language code 2052), or by aPaaS language code
/// (`{ "2052" = "报销", "1033" = "Expense" }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    ByLanguage(BTreeMap<String, String>),
}

impl Text {
    /// `[{language_code, text}]`, aPaaS's multilingual text.
    fn i18n(&self) -> Value {
        match self {
            Text::Plain(text) => json!([{ "language_code": "2052", "text": text }]),
            Text::ByLanguage(texts) => texts
                .iter()
                .map(|(code, text)| json!({ "language_code": code, "text": text }))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarySeed {
    pub key: Text,
    pub value: Text,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Pending,
    Done,
}

/// One `[[feishu.tenants.apaas_user_tasks]]` entry (or admin request). People are kunlun ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserTaskSeed {
    pub task_id: String,
    /// The workflow's name (`workflow_instance.label`).
    pub label: Text,
    pub initiator: String,
    pub assignees: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    /// The name of the task's step (rollback points show it); the label when absent.
    pub activity_label: Option<Text>,
    /// Tasks of one workflow instance share it; a task alone gets a derived one.
    pub workflow_instance_id: Option<String>,
    /// The workflow's api id, matched by `api_ids` in queries.
    pub api_id: Option<String>,
    /// Milliseconds since the epoch; when first declared if absent.
    pub start_time: Option<i64>,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub summaries: Vec<SummarySeed>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    #[error("user task {task_id:?}: {why}")]
    Invalid { task_id: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UserTaskSeed {
    fn invalid(&self, why: impl Into<String>) -> DeclareError {
        DeclareError::Invalid {
            task_id: self.task_id.clone(),
            why: why.into(),
        }
    }

    pub fn instance_id(&self, tenant_key: &str) -> String {
        match self
            .workflow_instance_id
            .as_deref()
            .filter(|id| !id.is_empty())
        {
            Some(id) => id.to_string(),
            None => derived_number(&["workflow_instance", tenant_key, &self.task_id]),
        }
    }
}

/// The stored `summarys` of a task.
fn summaries(seeds: &[SummarySeed]) -> Value {
    seeds
        .iter()
        .map(|s| {
            let key = s.key.i18n();
            json!({ "file_key": key[0], "file_value": s.value.i18n() })
        })
        .collect()
}

/// Create the task, or update an existing one's description. What the API changed since (its
/// status, cc'd users) stays; assignees and cc'd users are only ever added.
pub async fn declare(
    engine: &Engine,
    space: &Space,
    seed: &UserTaskSeed,
) -> Result<Entity, DeclareError> {
    if seed.task_id.is_empty() {
        return Err(seed.invalid("task_id is empty"));
    }
    if seed.assignees.is_empty() {
        return Err(seed.invalid("a task needs at least one assignee"));
    }
    let texts = [Some(&seed.label), seed.activity_label.as_ref()];
    let empty_text = |t: &Text| match t {
        Text::Plain(s) => s.is_empty(),
        Text::ByLanguage(texts) => texts.is_empty(),
    };
    if texts.into_iter().flatten().any(empty_text) {
        return Err(seed.invalid("label and activity_label need a text"));
    }
    let people: Vec<String> = [&seed.initiator]
        .into_iter()
        .chain(&seed.assignees)
        .chain(&seed.cc)
        .cloned()
        .collect();
    let found = kunlun_users(engine, space.id, &people).await?;
    let unknown: Vec<&String> = people.iter().filter(|p| !found.contains_key(*p)).collect();
    if !unknown.is_empty() {
        return Err(seed.invalid(format!("unknown kunlun ids {unknown:?}")));
    }
    let store = &engine.store;
    let now_ms = engine.clock.now_ms();
    let mut plan = WritePlan::new(space.id, now_ms / 1000);
    let instance_key = seed.instance_id(&space.key);
    let instance_before = store
        .find_entity(space.id, WORKFLOW_INSTANCE, &instance_key)
        .await?;
    let status = instance_before
        .as_ref()
        .and_then(|i| i.attrs["status"].as_str())
        .unwrap_or(IN_PROCESS);
    let attrs = json!({
        "label": seed.label.i18n(),
        "initiator": seed.initiator,
        "api_id": seed.api_id.clone().unwrap_or_default(),
        "status": status,
    });
    let instance = plan.upsert(WORKFLOW_INSTANCE, instance_key, attrs, None);

    let existing = store
        .find_entity(space.id, USER_TASK, &seed.task_id)
        .await?;
    if let Some(task) = &existing {
        if task.owner != instance_before.as_ref().map(|i| i.id) {
            return Err(seed.invalid("it already belongs to another workflow instance"));
        }
    }
    let kept = |field: &str| existing.as_ref().map(|t| t.attrs[field].clone());
    let status = match seed.status {
        Status::Pending => PENDING,
        Status::Done => DONE,
    };
    let attrs = json!({
        "activity_label": seed.activity_label.as_ref().unwrap_or(&seed.label).i18n(),
        "status": kept("status").unwrap_or(json!(status)),
        "start_time": seed.start_time.map(Value::from).or(kept("start_time")).unwrap_or(json!(now_ms)),
        "summaries": summaries(&seed.summaries),
    });
    let task = plan.upsert(
        USER_TASK,
        seed.task_id.clone(),
        attrs,
        Some(instance.into()),
    );
    for (relation, people) in [(ASSIGNEE, &seed.assignees), (CC, &seed.cc)] {
        let members = people.iter().map(|p| found[p]).collect();
        add_people(&mut plan, task.into(), relation, members);
    }
    Ok(store.apply(plan).await?.into_entity(task))
}

/// Add assignees or cc'd users to a task (all of them known users of the space).
pub fn add_people(plan: &mut WritePlan, task: Target, relation: &str, members: Vec<EntityId>) {
    if members.is_empty() {
        return;
    }
    let mut add = AddEdges::new(
        task,
        relation,
        members.into_iter().map(Target::from).collect(),
    );
    add.policy = AddPolicy {
        abort_on_unknown: true,
        abort_on_full: true,
    };
    plan.add_edges(add);
}

/// The tasks of a workflow instance, in the order they started.
pub async fn instance_tasks(
    engine: &Engine,
    space: SpaceId,
    instance: EntityId,
) -> Result<Vec<Entity>, StoreError> {
    let filter = EntityFilter {
        space_id: space,
        kind: USER_TASK.into(),
        owner: Some(instance),
    };
    let mut tasks = all_pages(|page| engine.store.list_entities(&filter, page)).await?;
    tasks.sort_by_key(|t| (start_time(t), t.id));
    Ok(tasks)
}

pub fn start_time(task: &Entity) -> i64 {
    task.attrs["start_time"].as_i64().unwrap_or(0)
}

pub fn is_pending(task: &Entity) -> bool {
    task.attrs["status"] == PENDING
}
