//! What each scenario sends, and what it needs in place before the clock starts.

use clap::ValueEnum;
use futures_util::{stream, StreamExt};
use reqwest::RequestBuilder;
use serde_json::{json, Value};

use crate::api::{self, Target, TimApp, NEAR_CAP};

#[derive(Clone, Copy, ValueEnum)]
pub enum Scenario {
    /// GET /healthz: the server's own empty request.
    Healthz,
    /// UserSig check, follow_add of `--batch` random targets, with caps and mutual upkeep.
    TimFollow,
    /// follow_add of `--batch` new targets by an account 10 below its following cap, a new
    /// account each call (`--accounts` of them): 10 targets are added, the rest refused (32100).
    TimFollowNearCaps,
    /// follow_get pages of any type.
    TimGet,
    /// follow_get: the first page (100) of accounts following 100 each.
    TimPage,
    /// follow_get_info of one account.
    TimGetInfo,
    /// Tenant token check, id translation, one read.
    FeishuUser,
    /// Add two followers to a task, then remove them (a task per worker, as Feishu allows one
    /// write at a time per task).
    FeishuFollowers,
    /// Add `--batch` new followers to a task per call (tasks per worker).
    FeishuFollowerAdds,
    /// The first page (50) of tasks with 50 followers each.
    FeishuPage,
    /// Add ten users to a tag, then remove them (a tag per worker).
    WecomTag,
    /// Add `--batch` new users to a tag per call (tags per worker).
    WecomTagAdds,
}

impl Scenario {
    /// Targets, followers or users per call when `--batch` is not given.
    pub fn default_batch(self) -> u64 {
        match self {
            Scenario::TimFollowNearCaps => 20,
            Scenario::FeishuFollowerAdds => 50,
            Scenario::WecomTagAdds => 1000,
            _ => 1,
        }
    }

    /// Calls one subject (a task or tag) of an adding scenario takes before it is full.
    fn calls_per_subject(self, plan: &Plan) -> u64 {
        match self {
            Scenario::FeishuFollowerAdds | Scenario::WecomTagAdds => plan.accounts / plan.batch,
            _ => u64::MAX,
        }
    }
}

/// TIM accounts whose follow_get pages the `tim-page` scenario reads.
const PAGE_READERS: u64 = 90;
/// Follows of each of them, and the page size of `tim-page`.
const TIM_PAGE: u64 = 100;
/// Tasks the `feishu-page` scenario reads, and their followers.
const PAGE_TASKS: usize = 20;
const FEISHU_PAGE: u64 = 50;
/// Follows each `tim-follow-near-caps` account has before its call.
const NEAR_CAP_FILL: u64 = NEAR_CAP - 10;

pub struct Plan {
    pub scenario: Scenario,
    /// TIM accounts, Feishu users or WeCom users the scenario draws on.
    pub accounts: u64,
    pub batch: u64,
    pub requests: u64,
    pub workers: usize,
    /// Tells this run's tags from earlier runs' (tag names are unique per corp).
    pub run: u128,
}

pub struct Worker {
    rng: u64,
    round: u64,
    /// Its own Feishu tasks or WeCom tags, or the tasks all workers read.
    subjects: Vec<String>,
}

/// What one call did.
pub enum Step {
    /// Succeeded, carrying this many items (edges, targets or pages).
    Done(u64),
    Failed,
    /// Nothing is left for the worker to add to: it stops.
    Exhausted,
}

impl Worker {
    pub fn new(index: usize, subjects: Vec<String>) -> Self {
        Self {
            rng: 0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1),
            round: 0,
            subjects,
        }
    }

    /// A cheap deterministic pseudo-random number below `n` (xorshift).
    fn below(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }

    /// A random one of `n` accounts other than `not`.
    fn other(&mut self, n: u64, not: u64) -> u64 {
        (not + 1 + self.below(n - 1)) % n
    }

    /// Its subject for this round and the first member to add, or `None` when all are full.
    fn next_slice(&self, plan: &Plan) -> Option<(&str, u64)> {
        let per_subject = plan.scenario.calls_per_subject(plan);
        let subject = self.subjects.get((self.round / per_subject) as usize)?;
        Some((subject, self.round % per_subject * plan.batch))
    }
}

fn tim_account(i: u64) -> String {
    format!("load_{i}")
}

fn near_caps_account(i: u64) -> String {
    format!("near_{i}")
}

/// Feishu users share the TIM accounts' names; WeCom's keep the names they always had.
fn wecom_user(i: u64) -> String {
    format!("load{i}")
}

fn follow_items(targets: impl Iterator<Item = String>) -> Vec<Value> {
    targets.map(|to| json!({ "To_Account": to })).collect()
}

/// Call number `call` of the run, by `worker`; adding and removing alternate by round where a
/// scenario does both.
pub async fn one_request(target: &Target, plan: &Plan, worker: &mut Worker, call: u64) -> Step {
    let (accounts, batch) = (plan.accounts, plan.batch);
    let adding = worker.round.is_multiple_of(2);
    let mut items = 1;
    let request = match plan.scenario {
        Scenario::Healthz => target.get("/healthz"),
        Scenario::TimFollow => {
            let from = worker.below(accounts);
            let targets = (0..batch).map(|_| tim_account(worker.other(accounts, from)));
            items = batch;
            let body = json!({ "From_Account": tim_account(from),
                               "FollowItem": follow_items(targets) });
            target.tim(TimApp::Main, "follow/follow_add", &body)
        }
        Scenario::TimFollowNearCaps => {
            if call >= accounts {
                return Step::Exhausted;
            }
            let first = call + NEAR_CAP_FILL + 1;
            let targets = (first..first + batch).map(|i| near_caps_account(i % accounts));
            items = batch;
            let body = json!({ "From_Account": near_caps_account(call),
                               "FollowItem": follow_items(targets) });
            target.tim(TimApp::NearCaps, "follow/follow_add", &body)
        }
        Scenario::TimGet => {
            let body = json!({ "From_Account": tim_account(worker.below(accounts)),
                               "FollowType": 1 + worker.below(3), "StartCursor": "", "WantNum": 100 });
            target.tim(TimApp::Main, "follow/follow_get", &body)
        }
        Scenario::TimPage => {
            let body = json!({ "From_Account": tim_account(worker.below(PAGE_READERS)),
                               "FollowType": 2, "StartCursor": "", "WantNum": TIM_PAGE });
            target.tim(TimApp::Main, "follow/follow_get", &body)
        }
        Scenario::TimGetInfo => {
            let from = worker.below(accounts);
            let to = worker.other(accounts, from);
            let body =
                json!({ "From_Account": tim_account(from), "To_Account": [tim_account(to)] });
            target.tim(TimApp::Main, "follow/follow_get_info", &body)
        }
        Scenario::FeishuUser => {
            target.feishu_get("/open-apis/contact/v3/users/alice?user_id_type=user_id")
        }
        Scenario::FeishuFollowers => {
            let task = &worker.subjects[0];
            let command = if adding {
                "followers"
            } else {
                "batch_delete_follower"
            };
            let path = format!("/open-apis/task/v1/tasks/{task}/{command}?user_id_type=user_id");
            items = 2;
            target.feishu(&path, &json!({ "id_list": ["alice", "bob"] }))
        }
        Scenario::FeishuFollowerAdds => {
            let Some((task, first)) = worker.next_slice(plan) else {
                return Step::Exhausted;
            };
            let users: Vec<String> = (first..first + batch).map(tim_account).collect();
            let path = format!("/open-apis/task/v1/tasks/{task}/followers?user_id_type=user_id");
            items = batch;
            target.feishu(&path, &json!({ "id_list": users }))
        }
        Scenario::FeishuPage => {
            let index = worker.below(PAGE_TASKS as u64) as usize;
            let task = &worker.subjects[index];
            target.feishu_get(&format!(
                "/open-apis/task/v1/tasks/{task}/followers?page_size={FEISHU_PAGE}&user_id_type=user_id"
            ))
        }
        Scenario::WecomTag => {
            let tag: i64 = worker.subjects[0].parse().expect("tag id");
            let first = worker.below(accounts - 10);
            let users: Vec<String> = (first..first + 10).map(wecom_user).collect();
            let command = if adding { "addtagusers" } else { "deltagusers" };
            items = 10;
            let body = json!({ "tagid": tag, "userlist": users });
            target.wecom(&format!("tag/{command}"), &body)
        }
        Scenario::WecomTagAdds => {
            let Some((tag, first)) = worker.next_slice(plan) else {
                return Step::Exhausted;
            };
            let tag: i64 = tag.parse().expect("tag id");
            let users: Vec<String> = (first..first + batch).map(wecom_user).collect();
            items = batch;
            let body = json!({ "tagid": tag, "userlist": users });
            target.wecom("tag/addtagusers", &body)
        }
    };
    worker.round += 1;
    if api::ok(request).await {
        Step::Done(items)
    } else {
        Step::Failed
    }
}

/// The result code of a dialect's answer.
fn code(reply: &Value) -> i64 {
    ["code", "ErrorCode", "errcode"]
        .iter()
        .find_map(|name| reply[name].as_i64())
        .unwrap_or(-1)
}

/// Send every request, `width` at a time; the answers in order. A request that gets no JSON
/// answer, or a code outside `accepted`, stops the run.
async fn all(requests: Vec<RequestBuilder>, width: usize, accepted: &[i64]) -> Vec<Value> {
    let replies: Vec<_> = stream::iter(requests)
        .map(api::json)
        .buffered(width)
        .collect()
        .await;
    replies
        .into_iter()
        .map(|reply| {
            let reply = reply.unwrap_or_else(|e| panic!("preparing: {e}"));
            assert!(accepted.contains(&code(&reply)), "preparing: {reply}");
            reply
        })
        .collect()
}

/// Import TIM accounts, 100 a call.
async fn import(target: &Target, app: TimApp, names: Vec<String>, width: usize) {
    let requests = names
        .chunks(100)
        .map(|chunk| {
            let body = json!({ "Accounts": chunk });
            target.tim(app, "im_open_login_svc/multiaccount_import", &body)
        })
        .collect();
    all(requests, width, &[0]).await;
}

/// `subject` follows `targets`, 20 a call.
fn follow(target: &Target, app: TimApp, subject: &str, targets: &[String]) -> Vec<RequestBuilder> {
    targets
        .chunks(20)
        .map(|chunk| {
            let body = json!({ "From_Account": subject,
                               "FollowItem": follow_items(chunk.iter().cloned()) });
            target.tim(app, "follow/follow_add", &body)
        })
        .collect()
}

/// Feishu users `load_0`.. (41012: already there).
async fn feishu_users(target: &Target, n: u64, width: usize) {
    let requests = (0..n)
        .map(|i| {
            let user = json!({ "user_id": tim_account(i), "name": format!("load {i}") });
            target.feishu("/open-apis/contact/v3/users?user_id_type=user_id", &user)
        })
        .collect();
    all(requests, width, &[0, 41012]).await;
}

/// `n` new Feishu tasks; their ids.
async fn feishu_tasks(target: &Target, n: usize, width: usize) -> Vec<String> {
    let requests = (0..n)
        .map(|i| {
            let task = json!({ "summary": format!("load {i}"),
                               "origin": { "platform_i18n_name": "{\"en_us\":\"load\"}" } });
            target.feishu("/open-apis/task/v1/tasks", &task)
        })
        .collect();
    let replies = all(requests, width, &[0]).await;
    let id = |reply: &Value| reply["data"]["task"]["id"].as_str().map(String::from);
    replies.iter().map(|r| id(r).expect("task id")).collect()
}

/// WeCom users `load0`.. (60102: already there) and `n` new tags; the tags' ids.
async fn wecom_tags(target: &Target, plan: &Plan, n: usize, width: usize) -> Vec<String> {
    let users = (0..plan.accounts)
        .map(|i| {
            let user = json!({ "userid": wecom_user(i), "name": format!("load {i}"),
                               "department": [1], "email": format!("load{i}@bench.example") });
            target.wecom("user/create", &user)
        })
        .collect();
    all(users, width, &[0, 60102]).await;
    let run = plan.run;
    let tags = (0..n)
        .map(|i| {
            target.wecom(
                "tag/create",
                &json!({ "tagname": format!("load-{run}-{i}") }),
            )
        })
        .collect();
    // One at a time: concurrent creates can run out of retries picking a free tagid (40068).
    let replies = all(tags, 1, &[0]).await;
    let id = |reply: &Value| reply["tagid"].as_i64().map(|id| id.to_string());
    replies.iter().map(|r| id(r).expect("tag id")).collect()
}

/// Accounts, users, tasks and tags as the scenario needs; each worker's subjects.
pub async fn prepare(target: &Target, plan: &Plan) -> Vec<Vec<String>> {
    let (accounts, workers) = (plan.accounts, plan.workers);
    let adding = matches!(
        plan.scenario,
        Scenario::FeishuFollowerAdds | Scenario::WecomTagAdds
    );
    assert!(
        !adding || accounts >= plan.batch,
        "--accounts must be at least --batch"
    );
    // Adding scenarios: subjects for twice a worker's share of the calls; one that runs out stops.
    let subjects_each = if adding {
        let per_subject = plan.scenario.calls_per_subject(plan);
        (2 * plan.requests).div_ceil(per_subject * workers as u64) as usize
    } else {
        1
    }
    .max(1);
    let deal = |ids: Vec<String>| -> Vec<Vec<String>> {
        ids.chunks(subjects_each).map(<[String]>::to_vec).collect()
    };
    match plan.scenario {
        Scenario::Healthz | Scenario::FeishuUser => vec![Vec::new(); workers],
        Scenario::TimFollow | Scenario::TimGet | Scenario::TimGetInfo | Scenario::TimPage => {
            import(
                target,
                TimApp::Main,
                (0..accounts).map(tim_account).collect(),
                workers,
            )
            .await;
            if let Scenario::TimPage = plan.scenario {
                assert!(accounts >= PAGE_READERS + TIM_PAGE, "--accounts too small");
                let followed: Vec<String> = (PAGE_READERS..PAGE_READERS + TIM_PAGE)
                    .map(tim_account)
                    .collect();
                let requests = (0..PAGE_READERS)
                    .flat_map(|r| follow(target, TimApp::Main, &tim_account(r), &followed))
                    .collect();
                all(requests, workers, &[0]).await;
            }
            vec![Vec::new(); workers]
        }
        Scenario::TimFollowNearCaps => {
            assert!(accounts > NEAR_CAP + plan.batch, "--accounts too small");
            let names: Vec<String> = (0..accounts).map(near_caps_account).collect();
            import(target, TimApp::NearCaps, names.clone(), workers).await;
            let requests = (0..accounts)
                .flat_map(|i| {
                    let followed: Vec<String> = (1..=NEAR_CAP_FILL)
                        .map(|k| names[((i + k) % accounts) as usize].clone())
                        .collect();
                    follow(target, TimApp::NearCaps, &names[i as usize], &followed)
                })
                .collect();
            all(requests, workers, &[0]).await;
            vec![Vec::new(); workers]
        }
        Scenario::FeishuFollowers => deal(feishu_tasks(target, workers, workers).await),
        Scenario::FeishuFollowerAdds => {
            feishu_users(target, accounts, workers).await;
            deal(feishu_tasks(target, subjects_each * workers, workers).await)
        }
        Scenario::FeishuPage => {
            feishu_users(target, FEISHU_PAGE, workers).await;
            let tasks = feishu_tasks(target, PAGE_TASKS, workers).await;
            let users: Vec<String> = (0..FEISHU_PAGE).map(tim_account).collect();
            let requests = tasks
                .iter()
                .map(|task| {
                    let path =
                        format!("/open-apis/task/v1/tasks/{task}/followers?user_id_type=user_id");
                    target.feishu(&path, &json!({ "id_list": users }))
                })
                .collect();
            all(requests, workers, &[0]).await;
            vec![tasks; workers]
        }
        Scenario::WecomTag => deal(wecom_tags(target, plan, workers, workers).await),
        Scenario::WecomTagAdds => {
            deal(wecom_tags(target, plan, subjects_each * workers, workers).await)
        }
    }
}
