//! `follow`: follow_add, follow_delete, follow_check, follow_get, follow_get_info (spec §3).
//!
//! `From --tim.follows--> To` is one follow: "following" are the members of From, "fans" its
//! memberships. The engine keeps `tim.mutual` on both sides while both directions exist.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use roster_core::{
    AddEdges, Caps, Direction, Entity, EntityId, Outcome, PageRequest, Reciprocal, Refusal,
    RemoveEdges, Step, StoreError, Target, WritePlan,
};
use roster_http::openapi::{array, integer, object, one_of_values, string, Object, Schema};
use roster_http::Endpoints;
use serde::Serialize;

use crate::accounts::{self, ProfileItem};
use crate::app::{FOLLOWS, MUTUAL};
use crate::gateway;
use crate::limits::Limits;
use crate::openapi::{command, results};
use crate::state::{Call, Tim};
use crate::wire::{self, Fail, Nothing, ResultItems, Service};

/// `follow`'s commands, each its OpenAPI operation and handler.
pub(crate) fn endpoints() -> Endpoints<Arc<Tim>> {
    let serve = |handler| gateway::command(Service::Follow, handler);
    let from_to = || {
        object()
            .field("From_Account", string())
            .field("To_Account", array(string()))
    };
    let follow_items = object().field("From_Account", string()).field(
        "FollowItem",
        array(
            object()
                .field("To_Account", string())
                .optional("AddSource", string())
                .optional("AddWording", string())
                .into(),
        ),
    );
    let page = object()
        .field("From_Account", string())
        .field("FollowType", one_of_values([1, 2, 3]))
        .optional("StartCursor", string())
        .optional("WantNum", integer());
    let followed = object()
        .field(
            "FollowItem",
            array(
                object()
                    .field("To_Account", string())
                    .field("FollowTime", integer())
                    .field("ProfileItem", array(object().into()))
                    .into(),
            ),
        )
        .field("NextCursor", string());
    let counts = target_result(
        object()
            .field("FollowerCount", integer())
            .field("FollowingCount", integer())
            .field("MutualFollowingCount", integer()),
    );
    Endpoints::new("")
        .at_route(
            command(
                "/v4/follow/follow_add",
                follow_items,
                results(target_result(object())),
            ),
            serve(|call| Box::pin(follow_add(call))),
        )
        .at_route(
            command(
                "/v4/follow/follow_delete",
                from_to(),
                results(target_result(object())),
            ),
            serve(|call| Box::pin(follow_delete(call))),
        )
        .at_route(
            command(
                "/v4/follow/follow_check",
                from_to(),
                results(target_result(
                    object().field("FollowType", one_of_values([0, 1, 2, 3])),
                )),
            ),
            serve(|call| Box::pin(follow_check(call))),
        )
        .at_route(
            command("/v4/follow/follow_get", page, followed),
            serve(|call| Box::pin(follow_get(call))),
        )
        .at_route(
            command(
                "/v4/follow/follow_get_info",
                from_to(),
                object().field("FollowInfo", array(counts)),
            ),
            serve(|call| Box::pin(follow_get_info(call))),
        )
}

/// Per-target results: `To_Account`, `ResultCode`, `ResultInfo` and `detail`'s fields.
fn target_result(detail: Object) -> Schema {
    detail
        .field("To_Account", string())
        .field("ResultCode", integer())
        .field("ResultInfo", string())
        .into()
}

const USER_NOT_FOUND: u32 = 30003;
const NOT_IMPORTED: &str = "To_Account does not exist; import it first";

fn user_not_found(user_id: &str) -> Fail {
    Fail::AccountNotFound(user_id.to_string())
}

fn internal(e: StoreError) -> Fail {
    Service::Follow.internal(e)
}

/// `From_Account`, which must exist, and whichever of `targets` exist, by UserID.
async fn resolve(
    call: Call<'_>,
    from: &str,
    targets: &[&str],
) -> Result<(Entity, HashMap<String, Entity>), Fail> {
    let mut user_ids = targets.to_vec();
    user_ids.push(from);
    let found = accounts::find(call.engine, call.app.space_id, &user_ids)
        .await
        .map_err(internal)?;
    let from = found
        .get(from)
        .cloned()
        .ok_or_else(|| user_not_found(from))?;
    Ok((from, found))
}

fn ids_of(targets: &[&str], found: &HashMap<String, Entity>) -> Vec<EntityId> {
    targets
        .iter()
        .filter_map(|id| found.get(*id).map(|account| account.id))
        .collect()
}

/// The result for one requested target; `detail` holds the command's own fields.
#[derive(Serialize)]
struct TargetResult<'a, T> {
    #[serde(rename = "To_Account")]
    to_account: &'a str,
    #[serde(rename = "ResultCode")]
    result_code: u32,
    #[serde(rename = "ResultInfo")]
    result_info: String,
    #[serde(flatten)]
    detail: T,
}

/// One result per requested target, in request order (duplicates included); targets that are
/// not imported accounts get 30003 and a default `detail`.
fn per_target<'a, T: Default>(
    targets: &[&'a str],
    found: &HashMap<String, Entity>,
    result: impl Fn(&Entity) -> (u32, String, T),
) -> Vec<TargetResult<'a, T>> {
    targets
        .iter()
        .map(|to| {
            let (result_code, result_info, detail) = match found.get(*to) {
                Some(account) => result(account),
                None => (USER_NOT_FOUND, NOT_IMPORTED.into(), T::default()),
            };
            TargetResult {
                to_account: to,
                result_code,
                result_info,
                detail,
            }
        })
        .collect()
}

fn outcome_result(outcome: Outcome, limits: &Limits) -> (u32, String) {
    // A cap outcome only comes from a cap that is set.
    let limit = |cap: Option<i64>| cap.unwrap_or_default();
    match outcome {
        Outcome::Added | Outcome::AlreadyPresent | Outcome::Removed | Outcome::NotPresent => {
            (0, String::new())
        }
        Outcome::UnknownMember => (USER_NOT_FOUND, NOT_IMPORTED.into()),
        Outcome::SelfEdge => (30001, "an account cannot follow itself".into()),
        Outcome::SubjectFull => (
            32100,
            format!(
                "From_Account's following count reached the limit ({})",
                limits.following
            ),
        ),
        Outcome::MemberFull => (
            32101,
            format!(
                "To_Account's fan count reached the limit ({})",
                limit(limits.fans)
            ),
        ),
        Outcome::SubjectReciprocalFull => (
            32102,
            format!(
                "From_Account's mutual follow count reached the limit ({})",
                limit(limits.mutual)
            ),
        ),
        Outcome::MemberReciprocalFull => (
            32103,
            format!(
                "To_Account's mutual follow count reached the limit ({})",
                limit(limits.mutual)
            ),
        ),
        // Only abort policies produce it, and this dialect uses none.
        Outcome::Aborted => (30006, "internal server error, please retry".into()),
    }
}

/// A write on a `From_Account` deleted since it was looked up.
fn write_error(e: StoreError, from: &str) -> Fail {
    match e {
        StoreError::Refused {
            refusal: Refusal::NotFound,
            ..
        } => user_not_found(from),
        e => internal(e),
    }
}

/// Up to 20 follows; per target: 0, 30003 unknown, 30001 self, 32100-32103 caps. Following
/// someone again succeeds and keeps the original follow time.
pub async fn follow_add(call: Call<'_>) -> Result<Response, Fail> {
    let (body, limits) = (call.body, &call.app.limits);
    let from = body.account("From_Account")?;
    let targets = body
        .list("FollowItem", limits.follow_add_items)?
        .iter()
        .map(|item| {
            body.item(item, "FollowItem")?
                .optional_account("To_Account")?
                .ok_or_else(|| body.bad("every item of FollowItem needs a To_Account"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    follow_batch(call, from, &targets, |subject, members| {
        Step::AddEdges(AddEdges {
            caps: Caps {
                members_per_subject: Some(limits.following),
                subjects_per_member: limits.fans,
            },
            reciprocal: Some(Reciprocal {
                relation: MUTUAL.into(),
                max_per_entity: limits.mutual,
            }),
            ..AddEdges::new(
                subject,
                FOLLOWS,
                members.into_iter().map(Target::from).collect(),
            )
        })
    })
    .await
}

/// Up to 20 unfollows; not following a target is a success.
pub async fn follow_delete(call: Call<'_>) -> Result<Response, Fail> {
    let body = call.body;
    let from = body.account("From_Account")?;
    let targets = body.account_list("To_Account", call.app.limits.follow_delete_items)?;
    follow_batch(call, from, &targets, |subject, members| {
        Step::RemoveEdges(RemoveEdges {
            subject: subject.into(),
            relation: FOLLOWS.into(),
            members,
            reciprocal: Some(MUTUAL.into()),
        })
    })
    .await
}

/// Resolve `from` and `targets`, apply the `write` step from `from` to the targets that exist,
/// and answer one `ResultItem` per target.
async fn follow_batch(
    call: Call<'_>,
    from: &str,
    targets: &[&str],
    write: impl FnOnce(EntityId, Vec<EntityId>) -> Step,
) -> Result<Response, Fail> {
    let (from_account, found) = resolve(call, from, targets).await?;
    let members = ids_of(targets, &found);
    let outcomes = if members.is_empty() {
        HashMap::new()
    } else {
        let mut plan = WritePlan::new(call.app.space_id, call.engine.clock.now());
        let step = plan.push(write(from_account.id, members));
        let applied = call.engine.store.apply(plan).await;
        applied
            .map_err(|e| write_error(e, from))?
            .outcomes(step)
            .iter()
            .copied()
            .collect()
    };
    let items = per_target(targets, &found, |account| {
        // The engine answers for every member it was given.
        let outcome = outcomes.get(&account.id).copied();
        let (code, info) = outcome_result(outcome.unwrap_or(Outcome::Aborted), &call.app.limits);
        (code, info, Nothing {})
    });
    Ok(wire::ok(Service::Follow, ResultItems { items }))
}

#[derive(Default, Serialize)]
struct Relation {
    /// 0 none, 1 To follows From, 2 From follows To, 3 mutual.
    #[serde(rename = "FollowType")]
    follow_type: u8,
}

pub async fn follow_check(call: Call<'_>) -> Result<Response, Fail> {
    let body = call.body;
    let from = body.account("From_Account")?;
    let targets = body.account_list("To_Account", call.app.limits.follow_check_items)?;
    let (from_account, found) = resolve(call, from, &targets).await?;
    let ids = ids_of(&targets, &found);
    let store = &call.engine.store;
    let (following, fans) = tokio::try_join!(
        store.edges_among(call.app.space_id, from_account.id, FOLLOWS, &ids),
        store.memberships_among(call.app.space_id, from_account.id, FOLLOWS, &ids),
    )
    .map_err(internal)?;
    let items = per_target(&targets, &found, |account| {
        let follow_type = 2 * u8::from(following.contains_key(&account.id))
            + u8::from(fans.contains_key(&account.id));
        (0, String::new(), Relation { follow_type })
    });
    Ok(wire::ok(Service::Follow, ResultItems { items }))
}

#[derive(Serialize)]
struct FollowItem<'a> {
    #[serde(rename = "To_Account")]
    to_account: &'a str,
    #[serde(rename = "FollowTime")]
    follow_time: i64,
    #[serde(rename = "ProfileItem")]
    profile_item: Vec<ProfileItem<'a>>,
    profile_sequence: i64,
}

#[derive(Serialize)]
struct FollowPage<'a> {
    #[serde(rename = "FollowItem")]
    follow_item: Vec<FollowItem<'a>>,
    #[serde(rename = "NextCursor")]
    next_cursor: String,
}

/// One page of fans (1), following (2) or mutual follows (3), newest first. The cursor is a
/// sealed keyset position, so pages neither repeat nor skip while the graph changes.
pub async fn follow_get(call: Call<'_>) -> Result<Response, Fail> {
    let (body, limits) = (call.body, &call.app.limits);
    let from = body.account("From_Account")?;
    let follow_type = match body.int("FollowType")? {
        Some(t @ 1..=3) => t,
        Some(_) => return Err(body.bad("FollowType must be 1 (fans), 2 (following) or 3 (mutual)")),
        None => return Err(body.bad("FollowType is required")),
    };
    let (relation, direction) = match follow_type {
        1 => (FOLLOWS, Direction::Memberships),
        2 => (FOLLOWS, Direction::Members),
        _ => (MUTUAL, Direction::Members),
    };
    let want = match body.int("WantNum")? {
        None | Some(0) => limits.follow_get_want_num,
        Some(n) if n < 0 => return Err(body.bad("WantNum must not be negative")),
        Some(n) => n.min(limits.follow_get_want_num_max),
    };
    let (from_account, _) = resolve(call, from, &[]).await?;
    let scope = format!(
        "tim.follow_get/{}/{}/{}",
        call.app.space_id, from_account.id, follow_type
    );
    let cursors = &call.engine.cursors;
    let after = match body.string("StartCursor")? {
        None | Some("") => None,
        Some(token) => Some(
            cursors
                .open(&scope, token)
                .ok_or_else(|| body.bad("StartCursor is not a NextCursor of this list"))?,
        ),
    };
    let page = PageRequest {
        after,
        limit: u32::try_from(want).expect("limits keep WantNum within u32"),
        newest_first: true,
    };
    let page = call
        .engine
        .store
        .list_edges_entities(
            call.app.space_id,
            from_account.id,
            relation,
            direction,
            page,
        )
        .await
        .map_err(internal)?;
    let follow_item = page
        .items
        .iter()
        .map(|(edge, account)| FollowItem {
            to_account: &account.key,
            follow_time: edge.created_at,
            profile_item: accounts::profile_items(account),
            profile_sequence: accounts::profile_sequence(account),
        })
        .collect();
    let next_cursor = page
        .next
        .map(|seq| cursors.seal(&scope, seq))
        .unwrap_or_default();
    Ok(wire::ok(
        Service::Follow,
        FollowPage {
            follow_item,
            next_cursor,
        },
    ))
}

#[derive(Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Counts {
    follower_count: i64,
    following_count: i64,
    mutual_following_count: i64,
}

#[derive(Serialize)]
struct FollowInfo<'a> {
    #[serde(rename = "FollowInfo")]
    follow_info: Vec<TargetResult<'a, Counts>>,
}

/// Fan, following and mutual counts of up to 20 accounts, read from counters (O(1) each).
pub async fn follow_get_info(call: Call<'_>) -> Result<Response, Fail> {
    let body = call.body;
    let from = body.account("From_Account")?;
    let targets = body.account_list("To_Account", call.app.limits.follow_get_info_items)?;
    let (_, found) = resolve(call, from, &targets).await?;
    let ids = ids_of(&targets, &found);
    let counted = [
        (FOLLOWS, Direction::Memberships),
        (FOLLOWS, Direction::Members),
        (MUTUAL, Direction::Members),
    ];
    let counters = call
        .engine
        .store
        .counters(call.app.space_id, &ids, &counted)
        .await
        .map_err(internal)?;
    let [fans, following, mutual] = <[_; 3]>::try_from(counters).map_err(|got| {
        internal(StoreError::backend(format!(
            "{} counter maps for 3",
            got.len()
        )))
    })?;
    let count = |counts: &HashMap<EntityId, i64>, account: &Entity| {
        counts.get(&account.id).copied().unwrap_or(0)
    };
    let follow_info = per_target(&targets, &found, |account| {
        let counts = Counts {
            follower_count: count(&fans, account),
            following_count: count(&following, account),
            mutual_following_count: count(&mutual, account),
        };
        (0, String::new(), counts)
    });
    Ok(wire::ok(Service::Follow, FollowInfo { follow_info }))
}
