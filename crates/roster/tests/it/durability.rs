//! Kill -9 durability of the real `roster` binary: a few cycles of concurrent TIM follows and
//! WeCom tag writes, each cycle ended by SIGKILL at a random moment while requests are in
//! flight. After every restart, no acknowledged write is lost and counters equal edges.
//! SQLite always; PostgreSQL too when ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::process::Server;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use roster_store::test_support::ScratchDatabase;
use serde_json::{json, Value};

const CYCLES: usize = 3;
/// Each cycle is killed this long after its clients start.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 100..=700;
/// Bounds on every client loop, far beyond the kill: they end at the kill in practice.
const CLIENT_MAX_REQUESTS: usize = 5_000;
const CLIENT_MAX_TIME: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

const APP: u64 = 1_400_000_077;
const KEY: &str = "durability-key";
const ACCOUNTS: usize = 20;
const TIM_CLIENTS: usize = 5;
/// Caps low enough that the clients reach them (refusals are part of the traffic).
const FOLLOWING_CAP: usize = 8;
const FANS_CAP: usize = 9;
const MUTUAL_CAP: usize = 4;

const CORP: &str = "wwdurable";
const SECRET: &str = "durable-secret";
const TAG: u32 = 1008;
const WECOM_USERS: usize = 16;
const WECOM_CLIENTS: usize = 4;
const MEMBERS_CAP: usize = 10;

const ADMIN_TOKEN: &str = "durability-admin-token";

fn seed() -> String {
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("\"{}\"", account(i)))
        .collect();
    let users: Vec<String> = (0..WECOM_USERS)
        .map(|i| format!("  {{ id = \"{}\", name = \"User {i}\" }},\n", wecom_user(i)))
        .collect();
    format!(
        "[[tim.apps]]\nsdkappid = {APP}\nsecret_key = \"{KEY}\"\nadmins = [\"admin\"]\n\
         accounts = [{}]\n[tim.apps.limits]\nfollowing = {FOLLOWING_CAP}\nfans = {FANS_CAP}\n\
         mutual = {MUTUAL_CAP}\n\n\
         [[wecom.corps]]\ncorp_id = \"{CORP}\"\ncorp_secret = \"{SECRET}\"\n\
         limits = {{ members_per_tag = {MEMBERS_CAP} }}\n\
         users = [\n{}]\ntags = [{{ id = {TAG}, name = \"durable\" }}]\n",
        accounts.join(", "),
        users.concat()
    )
}

fn account(i: usize) -> String {
    format!("u{i}")
}

fn wecom_user(i: usize) -> String {
    format!("w{i}")
}

/// The index in the name `u7` or `w7`.
fn index(name: &str) -> usize {
    name[1..].parse().unwrap()
}

/// One relation the clients write: a TIM follow `from -> to`, or a WeCom user in the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    Follow(usize, usize),
    Tagged(usize),
}

fn all_edges() -> impl Iterator<Item = Edge> {
    let follows = (0..ACCOUNTS)
        .flat_map(|from| (0..ACCOUNTS).map(move |to| Edge::Follow(from, to)))
        .filter(|edge| !matches!(edge, Edge::Follow(from, to) if from == to));
    follows.chain((0..WECOM_USERS).map(Edge::Tagged))
}

// ---------------------------------------------------------------------------------------------
// Clients of one server, which record what it acknowledged.

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// A POST whose JSON answer was received whole; `Err` when the server went away before that.
async fn post(http: &reqwest::Client, url: String, body: &Value) -> Result<Value, reqwest::Error> {
    let response = http.post(url).json(body).send().await?;
    assert_eq!(response.status(), 200, "business answers are HTTP 200");
    response.json().await
}

#[derive(Clone)]
struct Tim {
    http: reqwest::Client,
    base: String,
}

impl Tim {
    fn of(server: &Server) -> Self {
        Self {
            http: http(),
            base: server.base.clone(),
        }
    }

    async fn call(&self, path: &str, body: &Value) -> Result<Value, reqwest::Error> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let sig =
            roster_tim::usersig::sign(APP, KEY.as_bytes(), "admin", now.as_secs() as i64, 3600);
        let url = format!(
            "{}/v4/{path}?sdkappid={APP}&identifier=admin&usersig={sig}&random=1&contenttype=json",
            self.base
        );
        post(&self.http, url, body).await
    }
}

#[derive(Clone)]
struct Wecom {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Wecom {
    async fn of(server: &Server) -> Self {
        let http = http();
        let url = format!(
            "{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}",
            server.base
        );
        let answer: Value = http.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(answer["errcode"], 0, "{answer}");
        let token = answer["access_token"].as_str().unwrap().to_string();
        Self {
            http,
            base: server.base.clone(),
            token,
        }
    }

    async fn call(&self, api: &str, body: &Value) -> Result<Value, reqwest::Error> {
        let url = format!("{}/cgi-bin/{api}?access_token={}", self.base, self.token);
        post(&self.http, url, body).await
    }
}

/// A write's effect on one edge: present after an add, absent after a delete; `request`
/// numbers the client's requests.
#[derive(Debug, Clone, Copy)]
struct Effect {
    edge: Edge,
    present: bool,
    request: usize,
}

fn state(present: bool) -> &'static str {
    if present {
        "present"
    } else {
        "absent"
    }
}

/// What one client saw, in its order: the effects the server acknowledged, and those of the
/// one request that was in flight when the server died (it may or may not have committed).
#[derive(Debug, Default)]
struct Log {
    client: String,
    acked: Vec<Effect>,
    in_flight: Vec<Effect>,
}

impl Log {
    fn new(client: String) -> Self {
        Self {
            client,
            ..Self::default()
        }
    }
}

/// Random follows and unfollows from the accounts this client owns (it alone writes their
/// outgoing follows, so the last acknowledged write of each edge is known exactly).
async fn tim_client(tim: Tim, own: Vec<usize>, seed: u64, log: String) -> Log {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Log::new(log);
    let deadline = Instant::now() + CLIENT_MAX_TIME;
    for request in 0..CLIENT_MAX_REQUESTS {
        if Instant::now() >= deadline {
            break;
        }
        let from = *own.choose(&mut rng).unwrap();
        let others: Vec<usize> = (0..ACCOUNTS).filter(|&to| to != from).collect();
        let count = rng.gen_range(1..=3);
        let targets: Vec<usize> = others.choose_multiple(&mut rng, count).copied().collect();
        let present = rng.gen_bool(0.6);
        let (path, body) = if present {
            let items: Vec<Value> = targets
                .iter()
                .map(|&to| json!({"To_Account": account(to)}))
                .collect();
            let body = json!({"From_Account": account(from), "FollowItem": items});
            ("follow/follow_add", body)
        } else {
            let to: Vec<String> = targets.iter().map(|&to| account(to)).collect();
            let body = json!({"From_Account": account(from), "To_Account": to});
            ("follow/follow_delete", body)
        };
        let reply = match tim.call(path, &body).await {
            Ok(reply) => reply,
            // No connection: the server is gone and never saw this request.
            Err(e) if e.is_connect() => break,
            Err(_) => {
                log.in_flight = targets
                    .iter()
                    .map(|&to| Effect {
                        edge: Edge::Follow(from, to),
                        present,
                        request,
                    })
                    .collect();
                break;
            }
        };
        assert_eq!(reply["ErrorCode"], 0, "{reply}");
        for item in reply["ResultItem"].as_array().unwrap() {
            let edge = Edge::Follow(from, index(item["To_Account"].as_str().unwrap()));
            match item["ResultCode"].as_u64().unwrap() {
                0 => log.acked.push(Effect {
                    edge,
                    present,
                    request,
                }),
                // A cap refused the follow: nothing changed.
                32100..=32103 if present => {}
                _ => panic!("unexpected result {reply}"),
            }
        }
    }
    log
}

/// Random tag/addtagusers and tag/deltagusers of the users this client owns.
async fn wecom_client(wecom: Wecom, own: Vec<usize>, seed: u64, log: String) -> Log {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Log::new(log);
    let deadline = Instant::now() + CLIENT_MAX_TIME;
    for request in 0..CLIENT_MAX_REQUESTS {
        if Instant::now() >= deadline {
            break;
        }
        let count = rng.gen_range(1..=2);
        let users: Vec<usize> = own.choose_multiple(&mut rng, count).copied().collect();
        let present = rng.gen_bool(0.6);
        let api = if present {
            "tag/addtagusers"
        } else {
            "tag/deltagusers"
        };
        let ids: Vec<String> = users.iter().map(|&u| wecom_user(u)).collect();
        let body = json!({"tagid": TAG, "userlist": ids});
        let effects = users.iter().map(|&u| Effect {
            edge: Edge::Tagged(u),
            present,
            request,
        });
        let reply = match wecom.call(api, &body).await {
            Ok(reply) => reply,
            Err(e) if e.is_connect() => break,
            Err(_) => {
                log.in_flight = effects.collect();
                break;
            }
        };
        match reply["errcode"].as_i64() {
            Some(0) => {
                assert!(reply.get("invalidlist").is_none(), "{reply}");
                log.acked.extend(effects);
            }
            // The tag is full: the whole add was refused.
            Some(45024) if present => {}
            _ => panic!("unexpected reply {reply}"),
        }
    }
    log
}

/// Run all clients against `server`, SIGKILL it after `kill_after`, and return their logs.
async fn write_until_killed(server: Server, kill_after: Duration, seed: u64) -> Vec<Log> {
    let tim = Tim::of(&server);
    let wecom = Wecom::of(&server).await;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..TIM_CLIENTS {
        let own = (0..ACCOUNTS).filter(|i| i % TIM_CLIENTS == c).collect();
        let name = format!("TIM client {c}");
        clients.spawn(tim_client(tim.clone(), own, seed + c as u64, name));
    }
    for c in 0..WECOM_CLIENTS {
        let own = (0..WECOM_USERS)
            .filter(|i| i % WECOM_CLIENTS == c)
            .collect();
        let name = format!("WeCom client {c}");
        clients.spawn(wecom_client(
            wecom.clone(),
            own,
            seed + 100 + c as u64,
            name,
        ));
    }
    tokio::time::sleep(kill_after).await;
    server.kill();
    let mut logs = Vec::new();
    while let Some(log) = clients.join_next().await {
        logs.push(log.unwrap());
    }
    logs
}

// ---------------------------------------------------------------------------------------------
// What the server must show after a restart.

/// Per edge, whether it must be present (`Some`), with the write that says so, or `None` when
/// the write that decides it was in flight at the kill.
struct Expected(BTreeMap<Edge, (Option<bool>, String)>);

impl Expected {
    /// A fresh database: nothing at all.
    fn empty() -> Self {
        Self(
            all_edges()
                .map(|edge| (edge, (Some(false), "the fresh database".into())))
                .collect(),
        )
    }

    /// Each edge belongs to one client, so applying the logs one after another is exact.
    /// Returns how many edges the requests cut by the kill left undecided.
    fn apply(&mut self, cycle: usize, logs: &[Log]) -> usize {
        let mut undecided = 0;
        for log in logs {
            for effect in &log.acked {
                let op = if effect.present { "add" } else { "delete" };
                let why = format!(
                    "the acknowledged {op} (request #{} of {} in cycle {cycle})",
                    effect.request, log.client
                );
                self.0.insert(effect.edge, (Some(effect.present), why));
            }
            for effect in &log.in_flight {
                let expected = self.0.get_mut(&effect.edge).unwrap();
                // Committed or not, the edge ends the same only if the write changed nothing.
                if expected.0 != Some(effect.present) {
                    expected.0 = None;
                    undecided += 1;
                }
            }
        }
        undecided
    }

    /// Assert the `present` edges are what was acknowledged; then they become the expectation.
    fn check(&mut self, present: &BTreeSet<Edge>, after: &str) {
        for (edge, (expected, why)) in &self.0 {
            if let Some(expected) = expected {
                let found = present.contains(edge);
                assert!(
                    found == *expected,
                    "{edge:?} is {} after {after}, but {why} left it {}",
                    state(found),
                    state(*expected)
                );
            }
        }
        for edge in all_edges() {
            let found = format!("the check after {after}");
            self.0.insert(edge, (Some(present.contains(&edge)), found));
        }
    }
}

/// Everyone in one of `user`'s TIM lists (1 fans, 2 following, 3 mutual), paging through it.
async fn tim_list(tim: &Tim, user: usize, follow_type: u8) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let body = json!({"From_Account": account(user), "FollowType": follow_type,
                          "StartCursor": cursor, "WantNum": 7});
        let reply = tim.call("follow/follow_get", &body).await.unwrap();
        assert_eq!(reply["ErrorCode"], 0, "{reply}");
        for item in reply["FollowItem"].as_array().unwrap() {
            let other = index(item["To_Account"].as_str().unwrap());
            assert!(found.insert(other), "listed twice: {reply}");
        }
        cursor = reply["NextCursor"].as_str().unwrap().to_string();
        if cursor.is_empty() {
            return found;
        }
    }
}

/// The TIM follows, after checking that counters equal edges, both ends agree, mutual is
/// exactly both directions, and no cap is exceeded.
async fn tim_follows(server: &Server) -> BTreeSet<Edge> {
    let tim = Tim::of(server);
    let (mut following, mut fans, mut mutual) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..ACCOUNTS {
        fans.push(tim_list(&tim, u, 1).await);
        following.push(tim_list(&tim, u, 2).await);
        mutual.push(tim_list(&tim, u, 3).await);
    }
    let all: Vec<String> = (0..ACCOUNTS).map(account).collect();
    // follow_get_info takes up to 20 accounts at once.
    for chunk in all.chunks(20) {
        let body = json!({"From_Account": "u0", "To_Account": chunk});
        let info = tim.call("follow/follow_get_info", &body).await.unwrap();
        assert_eq!(info["ErrorCode"], 0, "{info}");
        for item in info["FollowInfo"].as_array().unwrap() {
            assert_eq!(item["ResultCode"], 0, "{info}");
            let u = index(item["To_Account"].as_str().unwrap());
            assert_eq!(item["FollowingCount"], following[u].len(), "u{u}: {info}");
            assert_eq!(item["FollowerCount"], fans[u].len(), "u{u}: {info}");
            assert_eq!(
                item["MutualFollowingCount"],
                mutual[u].len(),
                "u{u}: {info}"
            );
        }
    }
    let mut follows = BTreeSet::new();
    for u in 0..ACCOUNTS {
        assert!(
            following[u].len() <= FOLLOWING_CAP,
            "u{u}: {:?}",
            following[u]
        );
        assert!(fans[u].len() <= FANS_CAP, "u{u}: {:?}", fans[u]);
        assert!(mutual[u].len() <= MUTUAL_CAP, "u{u}: {:?}", mutual[u]);
        for v in 0..ACCOUNTS {
            let forward = following[u].contains(&v);
            assert_eq!(
                forward,
                fans[v].contains(&u),
                "u{u} -> u{v}: both ends agree"
            );
            let both = forward && following[v].contains(&u);
            assert_eq!(
                mutual[u].contains(&v),
                both,
                "u{u} <-> u{v}: mutual is both ways"
            );
            if forward {
                follows.insert(Edge::Follow(u, v));
            }
        }
    }
    follows
}

/// The tag's members, after checking the cap.
async fn tag_members(wecom: &Wecom) -> BTreeSet<Edge> {
    let url = format!(
        "{}/cgi-bin/tag/get?access_token={}&tagid={TAG}",
        wecom.base, wecom.token
    );
    let answer: Value = wecom
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
    let users = answer["userlist"].as_array().unwrap();
    assert!(users.len() <= MEMBERS_CAP, "{answer}");
    let members: BTreeSet<Edge> = users
        .iter()
        .map(|u| Edge::Tagged(index(u["userid"].as_str().unwrap())))
        .collect();
    assert_eq!(members.len(), users.len(), "listed twice: {answer}");
    members
}

/// The tag's member counter (which enforces the cap, and is seen nowhere else) equals its
/// members: filling the tag up to the cap succeeds and one more is refused. The probe's
/// members are removed again.
async fn tag_counter_matches(wecom: &Wecom, members: &BTreeSet<Edge>) {
    let outside: Vec<String> = (0..WECOM_USERS)
        .filter(|&u| !members.contains(&Edge::Tagged(u)))
        .map(wecom_user)
        .collect();
    let room = MEMBERS_CAP - members.len();
    let (fill, over) = outside.split_at(room);
    let write = |api: &'static str, users: &[String]| {
        let body = json!({"tagid": TAG, "userlist": users});
        async move { wecom.call(api, &body).await.unwrap()["errcode"].clone() }
    };
    if !fill.is_empty() {
        let errcode = write("tag/addtagusers", fill).await;
        assert_eq!(
            errcode,
            0,
            "{} members, room for {room} more",
            members.len()
        );
    }
    let errcode = write("tag/addtagusers", &over[..1]).await;
    assert_eq!(errcode, 45024, "the tag is full, yet it takes one more");
    if !fill.is_empty() {
        assert_eq!(write("tag/deltagusers", fill).await, 0);
    }
}

/// Every edge present on `server`, after checking its counters and caps.
async fn present_edges(server: &Server) -> BTreeSet<Edge> {
    let wecom = Wecom::of(server).await;
    let members = tag_members(&wecom).await;
    tag_counter_matches(&wecom, &members).await;
    let mut present = tim_follows(server).await;
    present.extend(members);
    present
}

// ---------------------------------------------------------------------------------------------

roster_store::on_both_backends!(sigkill_loses_no_acknowledged_write);

async fn sigkill_loses_no_acknowledged_write(scratch: Option<ScratchDatabase>) {
    let database = scratch.as_ref().map(|d| d.url().to_owned());
    let backend = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.toml"), seed()).unwrap();
    let logs: Vec<PathBuf> = (0..=CYCLES)
        .map(|run| dir.path().join(format!("server-{run}.log")))
        .collect();
    let start = |run: usize| {
        Server::start(
            dir.path(),
            database.as_deref(),
            &logs[run],
            ADMIN_TOKEN,
            &[],
        )
    };
    let seed: u64 = rand::random();
    let mut rng = StdRng::seed_from_u64(seed);
    eprintln!("durability on {backend}: random seed {seed}");

    let mut expected = Expected::empty();
    let mut server = start(0).await;
    let (mut acked, mut cut, mut undecided) = (0, 0, 0);
    for cycle in 1..=CYCLES + 1 {
        // Every start but the first follows a SIGKILL.
        let present = present_edges(&server).await;
        expected.check(&present, &format!("start {cycle} on {backend}"));
        if cycle > CYCLES {
            break;
        }
        let kill_after = Duration::from_millis(rng.gen_range(KILL_AFTER_MS));
        let logs = write_until_killed(server, kill_after, rng.gen()).await;
        undecided += expected.apply(cycle, &logs);
        acked += logs.iter().map(|log| log.acked.len()).sum::<usize>();
        cut += logs.iter().filter(|log| !log.in_flight.is_empty()).count();
        server = start(cycle).await;
    }
    server.kill();
    eprintln!(
        "{backend}: {acked} acknowledged edge writes; {cut} requests cut by a kill, \
         leaving {undecided} edges undecided"
    );
    // Without acknowledged writes the test would prove nothing.
    assert!(acked > 0, "no write was acknowledged");
}
