//! Task v1 (`/open-apis/task/v1`): tasks are entities, their followers and collaborators are
//! engine edges (`task --follower--> user`, `task --collaborator--> user`).
//!
//! Who may do what (the vendor documents the codes, not the rules; see docs/compat.md): a
//! tenant token acts as its app and may read and change the tasks that app created; a user
//! token acts as its user, who may read a task they created, follow or collaborate on, and
//! change it unless they only follow it.

mod endpoint;
mod fields;
pub mod members;
pub mod table;
pub mod tasks;
mod throttle;
pub mod v2;

pub use endpoint::Role;
pub use tasks::DELETED_TASK;
pub use v2::{prune_markers as prune_client_tokens, TASKLIST_MEMBERS};

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use roster_core::{
    AddEdges, AddPolicy, Entity, EntityId, Hold, Page, Refusal, StepId, StoreError, Target,
    WritePlan,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::auth::{Caller, Credentials};
use crate::directory::{self, IdType};
use crate::model::{DIALECT, TASK, TASK_CREATOR_APP, TASK_SUBSCRIBERS};
use crate::tenants::Feishu;
use crate::tokens::TokenKind;
use crate::wire::{parse_json, read_body, ApiError, ApiResult, Gateway, QueryParams};
use endpoint::{Code, Endpoint};
use throttle::Rates;

const DEFAULT_PAGE_SIZE: u32 = 50;

/// How much of a task a caller may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Access {
    None,
    Read,
    Edit,
}

/// One authenticated, admitted request to a Task v1 or v2 endpoint.
pub struct Call {
    feishu: Arc<Feishu>,
    caller: Caller,
    endpoint: Endpoint,
    id_type: IdType,
    query: QueryParams,
    /// The write sections the handler took: let go once its answer is ready, before it is
    /// sent, so the client's next write finds them free.
    sections: Arc<Mutex<Vec<Hold>>>,
}

/// Authenticate, admit and run one request; the handler's internal failures come out as the
/// endpoint's documented internal-failure code.
async fn serve<F, Fut>(
    feishu: Arc<Feishu>,
    endpoint: Endpoint,
    credentials: Credentials,
    query: QueryParams,
    handler: F,
) -> Response
where
    F: FnOnce(Call) -> Fut,
    Fut: Future<Output = ApiResult>,
{
    let caller = match credentials.caller() {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if caller.kind == TokenKind::App {
        return endpoint.wrong_token().into_response();
    }
    if let Some(refusal) = throttle(&feishu, endpoint, &caller).await {
        return refusal;
    }
    let id_type = match IdType::from_query(&query, "user_id_type") {
        Ok(id_type) => id_type,
        Err(error) => return error.into_response(),
    };
    let sections = Arc::default();
    let call = Call {
        feishu,
        caller,
        endpoint,
        id_type,
        query,
        sections: Arc::clone(&sections),
    };
    let answer = handler(call).await;
    let held = std::mem::take(&mut *sections.lock().unwrap_or_else(PoisonError::into_inner));
    for hold in held {
        hold.release().await;
    }
    match answer {
        Ok(response) => response,
        Err(error) => endpoint.settle(error).into_response(),
    }
}

/// Count the request against its app's rates; the refusal if a window is full.
async fn throttle(feishu: &Feishu, endpoint: Endpoint, caller: &Caller) -> Option<Response> {
    let rates = Rates::of(&caller.tenant().space, endpoint.tier())?;
    let engine = &feishu.engine;
    let key = format!(
        "{DIALECT}/{}/rate/{}/{endpoint:?}",
        caller.tenant().key,
        caller.app.app_id
    );
    let admitted = engine
        .coordinator
        .admit(&key, &rates.windows(), engine.clock.now_ms())
        .await;
    let full = match admitted {
        Ok(admitted) => admitted.err()?,
        Err(e) => return Some(ApiError::from(e).into_response()),
    };
    Some(if endpoint.documents_too_fast() {
        endpoint.error(Code::TooFast).into_response()
    } else {
        gateway_throttled(full.limit, full.reset_ms)
    })
}

/// The gateway's own answer on endpoints that document no `1470450`.
fn gateway_throttled(limit: i64, reset_ms: i64) -> Response {
    let mut response = ApiError::from(Gateway::RateLimited).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ogw-ratelimit-limit", HeaderValue::from(limit));
    // Whole seconds, rounded up.
    headers.insert(
        "x-ogw-ratelimit-reset",
        HeaderValue::from((reset_ms + 999) / 1000),
    );
    response
}

impl Call {
    fn feishu(&self) -> &Feishu {
        &self.feishu
    }

    fn space(&self) -> roster_core::SpaceId {
        self.caller.tenant().space.id
    }

    /// Who acts: the app for a tenant token, the user for a user token.
    fn actor(&self) -> EntityId {
        self.caller.user.unwrap_or(self.caller.app.entity)
    }

    /// The endpoint's business error `code`.
    fn error(&self, code: Code) -> ApiError {
        self.endpoint.error(code)
    }

    async fn body<T: DeserializeOwned>(&self, body: Body) -> Result<T, ApiError> {
        parse_json(&read_body(body).await?)
    }

    /// The task `task_id` of the caller's tenant: the endpoint's no-task code for anything else
    /// (unknown, deleted, another tenant's, malformed).
    async fn task(&self, task_id: &str) -> Result<Entity, ApiError> {
        self.feishu()
            .engine
            .store
            .find_entity(self.space(), TASK, task_id)
            .await?
            .ok_or_else(|| self.endpoint.no_task())
    }

    /// A store error of a write on a task: the task vanishing meanwhile is the no-task code.
    fn write_failed(&self, error: StoreError) -> ApiError {
        match error {
            StoreError::Refused {
                refusal: Refusal::NotFound,
                ..
            } => self.endpoint.no_task(),
            other => other.into(),
        }
    }

    /// The creator and assignees (collaborators) edit, followers read, and so do the tasklists'
    /// editors and viewers of the tasklists it is in; an app is a member like a user (Task v2
    /// adds apps as members).
    async fn access(&self, task: &Entity) -> Result<Access, ApiError> {
        let actor = self.actor();
        if task.owner == Some(actor) {
            return Ok(Access::Edit);
        }
        let store = &self.feishu().engine.store;
        if !store
            .edges_among(
                task.space_id,
                task.id,
                Role::Collaborator.relation(),
                &[actor],
            )
            .await?
            .is_empty()
        {
            return Ok(Access::Edit);
        }
        let follows = !store
            .edges_among(task.space_id, task.id, Role::Follower.relation(), &[actor])
            .await?
            .is_empty();
        let through_lists = v2::access_through_tasklists(self, task).await?;
        Ok(through_lists.max(if follows { Access::Read } else { Access::None }))
    }

    /// Refuse a caller without `needed` access with the endpoint's code for it.
    async fn require(&self, task: &Entity, needed: Access) -> Result<(), ApiError> {
        let access = self.access(task).await?;
        if access >= needed {
            Ok(())
        } else {
            Err(self.endpoint.no_access(access != Access::None))
        }
    }

    /// The task `task_id`, if the caller has `needed` access to it.
    async fn task_for(&self, task_id: &str, needed: Access) -> Result<Entity, ApiError> {
        let task = self.task(task_id).await?;
        self.require(&task, needed).await?;
        Ok(task)
    }

    /// Which exclusive section guards writes on the task.
    fn write_section(&self, task: &Entity) -> String {
        format!("{DIALECT}/{}/task/{}", self.caller.tenant().key, task.key)
    }

    /// Take the task's write section until the answer is ready, or `1470451` while another
    /// write on it runs (in any roster process on the database).
    async fn try_lock(&self, task: &Entity) -> Result<(), ApiError> {
        let coordinator = &self.feishu().engine.coordinator;
        let hold = coordinator
            .try_hold(&self.write_section(task))
            .await?
            .ok_or_else(|| self.error(Code::Busy))?;
        self.keep(hold);
        Ok(())
    }

    /// Take the task's write section until the answer is ready, once the write holding it is
    /// done.
    async fn lock(&self, task: &Entity) -> Result<(), ApiError> {
        let coordinator = &self.feishu().engine.coordinator;
        let hold = coordinator.hold(&self.write_section(task)).await?;
        self.keep(hold);
        Ok(())
    }

    fn keep(&self, hold: Hold) {
        let mut sections = self.sections.lock().unwrap_or_else(PoisonError::into_inner);
        sections.push(hold);
    }

    /// The most members of `role` a task of the caller's tenant may have.
    fn cap(&self, role: Role) -> i64 {
        let (name, vendor_default) = role.cap();
        self.caller.tenant().space.limit(name, vendor_default)
    }

    /// The step adding `users` to a task's `role`, all or nothing: the plan is refused if one
    /// is unknown or the task would exceed its cap (see [`batch_outcomes`]).
    fn add_members(
        &self,
        plan: &mut WritePlan,
        task: Target,
        role: Role,
        users: Vec<EntityId>,
    ) -> StepId {
        let mut add = AddEdges::new(
            task,
            role.relation(),
            users.into_iter().map(Target::from).collect(),
        );
        add.caps.members_per_subject = Some(self.cap(role));
        add.policy = AddPolicy {
            abort_on_unknown: true,
            abort_on_full: true,
        };
        plan.add_edges(add)
    }

    fn plan(&self) -> WritePlan {
        WritePlan::new(self.space(), self.feishu().now())
    }

    /// A plan that changes `task` (and the members `touched`), with what its events need.
    async fn task_plan(&self, task: &Entity, touched: &[EntityId]) -> Result<WritePlan, ApiError> {
        let subscribers = self.subscribers(Some(task), touched.to_vec()).await?;
        Ok(self.events_plan(task.owner, subscribers))
    }

    /// A plan deleting `task`: the apps subscribed for its creator or members hear of it.
    async fn delete_plan(&self, task: &Entity) -> Result<WritePlan, ApiError> {
        let subscribers = self.subscribers(Some(task), Vec::new()).await?;
        Ok(self.events_plan(None, subscribers))
    }

    /// A plan creating a task with `people` (its creator and members): the apps subscribed for
    /// one of them hear of it.
    async fn create_plan(&self, people: Vec<EntityId>) -> Result<WritePlan, ApiError> {
        let subscribers = self.subscribers(None, people).await?;
        Ok(self.events_plan(None, subscribers))
    }

    /// The apps subscribed to Task v2's events for `task`'s creator or members, or any of
    /// `people`; no further read while the space has no subscription.
    async fn subscribers(
        &self,
        task: Option<&Entity>,
        mut people: Vec<EntityId>,
    ) -> Result<Vec<String>, ApiError> {
        if !v2::subscription::any(self).await? {
            return Ok(Vec::new());
        }
        if let Some(task) = task {
            people.extend(task.owner);
            for role in [Role::Collaborator, Role::Follower] {
                let mut members = self.members_of(&[task.id], role).await?;
                people.extend(members.remove(&task.id).unwrap_or_default());
            }
        }
        people.sort_unstable();
        people.dedup();
        v2::subscription::subscribers(self, &people).await
    }

    /// A plan naming, for the events it sends, the app that created its task (`creator`, if an
    /// app did) and the apps subscribed to Task v2's events for it.
    fn events_plan(&self, creator: Option<EntityId>, subscribers: Vec<String>) -> WritePlan {
        let mut plan = self.plan();
        let mut context = serde_json::Map::new();
        if let Some(app) = creator.and_then(|owner| self.feishu().app_by_entity(owner)) {
            context.insert(TASK_CREATOR_APP.into(), app.app_id.clone().into());
        }
        if !subscribers.is_empty() {
            context.insert(TASK_SUBSCRIBERS.into(), json!(subscribers));
        }
        if !context.is_empty() {
            plan.context = Some(Value::Object(context));
        }
        plan
    }

    /// Users named by `ids` (of the request's `user_id_type`), as the gateway translates them:
    /// its unknown-id error if one names no user of the tenant. Empty ids are left out for the
    /// endpoint to refuse with its own code.
    async fn users(&self, ids: &[String]) -> Result<HashMap<String, EntityId>, ApiError> {
        let mut wanted: Vec<String> = ids.iter().filter(|id| !id.is_empty()).cloned().collect();
        wanted.sort();
        wanted.dedup();
        let found =
            directory::resolve(self.feishu(), &self.caller.app, self.id_type, &wanted).await?;
        let unknown: Vec<&str> = wanted
            .iter()
            .filter(|id| !found.contains_key(*id))
            .map(String::as_str)
            .collect();
        if unknown.is_empty() {
            Ok(found)
        } else {
            Err(
                directory::refuse_unknown(self.feishu(), &self.caller.app, self.id_type, &unknown)
                    .await,
            )
        }
    }

    /// Users' wire ids of the request's `user_id_type`.
    async fn user_ids(&self, users: &[EntityId]) -> Result<HashMap<EntityId, String>, ApiError> {
        directory::render(self.feishu(), &self.caller.app, self.id_type, users).await
    }

    /// The members of `role` of each task, in the order they were added.
    async fn members_of(
        &self,
        tasks: &[EntityId],
        role: Role,
    ) -> Result<HashMap<EntityId, Vec<EntityId>>, ApiError> {
        let store = &self.feishu().engine.store;
        Ok(store
            .members_of(self.space(), tasks, role.relation())
            .await?)
    }

    /// `page_size`: 50 when absent or 0, `over_max` above `max`.
    fn page_size(&self, max: i64, over_max: ApiError) -> Result<u32, ApiError> {
        match self.query.int("page_size")? {
            None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
            Some(size) if size < 0 => Err(ApiError::field_validation(
                "page_size",
                "page_size must be positive",
            )),
            Some(size) if size > max => Err(over_max),
            Some(size) => Ok(size as u32),
        }
    }

    /// A page position from `page_token`, sealed for the list `scope`; the endpoint's refusal if
    /// the token is malformed, edited or from another list.
    fn page_position(&self, scope: &str) -> Result<Option<i64>, ApiError> {
        self.query
            .get("page_token")
            .map(|token| {
                self.feishu()
                    .engine
                    .cursors
                    .open(scope, token)
                    .ok_or_else(|| self.endpoint.bad_page_token())
            })
            .transpose()
    }

    fn page_token(&self, scope: &str, position: i64) -> String {
        self.feishu().engine.cursors.seal(scope, position)
    }

    /// Up to `limit` tasks of the list `scope` that pass `keep`, read page by page by `read`
    /// (from a position, at most so many, each task with its position) from the request's
    /// `page_token` on; and the token of the next page while there is one.
    async fn filtered_tasks<R, Fut>(
        &self,
        scope: &str,
        limit: u32,
        read: R,
        keep: impl Fn(&Entity) -> Result<bool, ApiError>,
    ) -> Result<(Vec<Entity>, Option<String>), ApiError>
    where
        R: Fn(Option<i64>, u32) -> Fut,
        Fut: Future<Output = Result<Page<(i64, Entity)>, ApiError>>,
    {
        let mut after = self.page_position(scope)?;
        let mut items = Vec::new();
        loop {
            let page = read(after, limit + 1).await?;
            for (position, task) in page.items {
                if items.len() == limit as usize {
                    return Ok((items, after.map(|p| self.page_token(scope, p))));
                }
                after = Some(position);
                if keep(&task)? {
                    items.push(task);
                }
            }
            if page.next.is_none() {
                return Ok((items, None));
            }
        }
    }
}

/// A page of entities listed in id order, each with its id as its position.
fn by_id(page: Page<Entity>) -> Page<(i64, Entity)> {
    Page {
        items: page.items.into_iter().map(|e| (e.id, e)).collect(),
        next: page.next,
    }
}

/// A page's `data`: `items`, `has_more`, and `page_token` while there is more.
fn page_data(items: Vec<Value>, next: Option<String>) -> Value {
    let mut data = json!({ "items": items, "has_more": next.is_some() });
    if let Some(token) = next {
        data["page_token"] = json!(token);
    }
    data
}
