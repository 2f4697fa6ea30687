//! Delivers the vendors' callbacks from the change log: per dialect, a worker reads each
//! space's changes after its delivery cursor, has the dialect render them, sends each callback
//! once (the vendor's timeout), records every attempt, then moves the cursor; a callback the
//! receiver did not accept is re-sent on the vendor's schedule in the background. The cursor
//! is durable and moves only after the first attempt of every callback of the changes it
//! passes, so a crash re-sends rather than loses: each callback is sent at least once, first
//! attempts in commit order. A re-send still to come is recorded with the attempt it follows,
//! and taken up again by whichever process delivers the dialect's callbacks after a restart.
//! Writers never wait for it. Of several processes on one database, one delivers each
//! dialect's callbacks at a time.

use std::sync::Arc;
use std::time::Duration;

use roster_core::{
    wall_ms, Acceptance, Callback, CallbackMethod, Callbacks, Change, DeliveryAttempt, Engine,
    Resend, Space, StoreError,
};

/// How often a worker looks for new changes.
const POLL: Duration = Duration::from_millis(100);
/// How often a process that does not deliver a dialect's callbacks looks whether to.
const TAKE_OVER: Duration = Duration::from_secs(1);
/// Changes read at once.
const BATCH: u32 = 500;
/// How much longer than one try's timeout a claimed re-send stays claimed.
const CLAIM_MARGIN_MS: i64 = 5_000;
/// A receiver's answer is recorded up to this many bytes.
const RESPONSE_BYTES: usize = 4096;

/// Start one worker per dialect, once every space's cursor is set (before roster serves a
/// request, so no change made through the APIs is skipped); they run until aborted.
pub async fn start(
    engine: Engine,
    dialects: Vec<Arc<dyn Callbacks>>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for dialect in dialects {
        let worker = Worker {
            engine: engine.clone(),
            client: client.clone(),
            dialect,
        };
        for space in engine.store.spaces(worker.dialect.dialect()).await? {
            worker.cursor(&space).await?;
        }
        workers.push(tokio::spawn(Arc::new(worker).run()));
    }
    Ok(workers)
}

struct Worker {
    engine: Engine,
    client: reqwest::Client,
    dialect: Arc<dyn Callbacks>,
}

impl Worker {
    async fn run(self: Arc<Self>) {
        // One process on a database delivers a dialect's callbacks; the others look now and
        // then whether to take over (the hold ends with its holder's connection).
        let key = format!("callbacks/{}", self.dialect.dialect());
        let _hold = loop {
            match self.engine.coordinator.try_hold_long(&key).await {
                Ok(Some(hold)) => break hold,
                Ok(None) => {}
                Err(e) => tracing::warn!(dialect = self.dialect.dialect(), "callbacks: {e}"),
            }
            tokio::time::sleep(TAKE_OVER).await;
        };
        if let Err(e) = self.handshakes().await {
            tracing::warn!(dialect = self.dialect.dialect(), "callbacks: {e}");
        }
        if let Err(e) = self.resume().await {
            tracing::warn!(dialect = self.dialect.dialect(), "callbacks: {e}");
        }
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!(dialect = self.dialect.dialect(), "callbacks: {e}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Send each configured URL the vendor's verification challenge.
    async fn handshakes(self: &Arc<Self>) -> Result<(), StoreError> {
        let spaces = self.engine.store.spaces(self.dialect.dialect()).await?;
        for (space, callback) in self.dialect.handshakes() {
            if let Some(space) = spaces.iter().find(|s| s.id == space) {
                self.deliver(space, &callback).await?;
            }
        }
        Ok(())
    }

    /// Deliver what every space of the dialect has pending.
    async fn pass(self: &Arc<Self>) -> Result<(), StoreError> {
        for space in self.engine.store.spaces(self.dialect.dialect()).await? {
            while self.space(&space).await? {}
        }
        Ok(())
    }

    /// Deliver one batch of the space's changes; whether there may be more.
    async fn space(self: &Arc<Self>, space: &Space) -> Result<bool, StoreError> {
        let store = &self.engine.store;
        let cursor = self.cursor(space).await?;
        let mut changes = store.changes(space.id, cursor, BATCH).await?;
        let Some(last) = changes.last() else {
            return Ok(false);
        };
        let full = changes.len() == BATCH as usize;
        // A plan's changes are rendered together: a full batch leaves its last plan for the
        // next, unless that plan is all the batch holds.
        if full && changes.first().map(|c| c.plan) != Some(last.plan) {
            let plan = last.plan;
            while changes.last().is_some_and(|c| c.plan == plan) {
                changes.pop();
            }
        }
        let through = changes.last().map_or(cursor, |c| c.seq);
        for callback in self.dialect.render(space.id, &changes) {
            self.deliver(space, &callback).await?;
        }
        let moved = store
            .advance_delivery_cursor(space.id, cursor, through)
            .await?;
        Ok(moved && full)
    }

    /// The space's delivery cursor. Set, when it is not, at the end of the change log:
    /// callbacks start with the first change after the space is first served (what its seed
    /// made is no vendor event).
    async fn cursor(&self, space: &Space) -> Result<i64, StoreError> {
        let store = &self.engine.store;
        if let Some(cursor) = store.delivery_cursor(space.id).await? {
            return Ok(cursor);
        }
        let mut end = 0;
        loop {
            let changes: Vec<Change> = store.changes(space.id, end, BATCH).await?;
            match changes.last() {
                Some(last) => end = last.seq,
                None => break,
            }
        }
        store.advance_delivery_cursor(space.id, 0, end).await?;
        Ok(store.delivery_cursor(space.id).await?.unwrap_or(end))
    }

    /// Send once; when the receiver does not accept, re-send on the vendor's schedule in the
    /// background, so that one failing receiver holds up no other callback. Each try is
    /// recorded with the re-send to come, if any.
    async fn deliver(
        self: &Arc<Self>,
        space: &Space,
        callback: &Callback,
    ) -> Result<(), StoreError> {
        let delivery = Arc::new(Delivery::from(callback));
        let waits: Vec<u64> = callback.retries.iter().map(millis).collect();
        if let Some((id, resend)) = self.try_once(space, &delivery, 1, None, &waits).await? {
            self.resend_later(space.clone(), delivery, 2, id, resend);
        }
        Ok(())
    }

    /// Take up the re-sends that an earlier holder of the dialect's deliveries (this process
    /// before a restart, or another process) left to come.
    async fn resume(self: &Arc<Self>) -> Result<(), StoreError> {
        for space in self.engine.store.spaces(self.dialect.dialect()).await? {
            for earlier in self.engine.store.pending_resends(space.id).await? {
                let Some(resend) = earlier.resend.clone() else {
                    continue;
                };
                let delivery = Arc::new(Delivery {
                    method: earlier.method,
                    change_seq: earlier.change_seq,
                    event: earlier.event,
                    url: earlier.url,
                    headers: earlier.headers,
                    body: earlier.request,
                    timeout: Duration::from_millis(resend.timeout_ms),
                    acceptance: resend.acceptance.clone(),
                });
                self.resend_later(
                    space.clone(),
                    delivery,
                    earlier.attempt + 1,
                    earlier.id,
                    resend,
                );
            }
        }
        Ok(())
    }

    /// Re-send when due, and again on the rest of the schedule until the receiver accepts.
    fn resend_later(
        self: &Arc<Self>,
        space: Space,
        delivery: Arc<Delivery>,
        mut attempt: u32,
        mut follows: i64,
        mut resend: Resend,
    ) {
        let worker = self.clone();
        tokio::spawn(async move {
            loop {
                let wait = resend.due_ms.saturating_sub(wall_ms()).max(0) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
                // Claimed for the length of one try: another process taking it up meanwhile
                // (or a receiver change, which drops it) ends this chain; a crash before the
                // try is recorded leaves it due again once the claim lapses.
                let claimed = Resend {
                    due_ms: wall_ms()
                        .saturating_add(millis(&delivery.timeout) as i64)
                        .saturating_add(CLAIM_MARGIN_MS),
                    ..resend.clone()
                };
                let store = &worker.engine.store;
                match store
                    .claim_resend((space.id, follows), &resend, &claimed)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(dialect = worker.dialect.dialect(), "callbacks: {e}");
                        return;
                    }
                }
                let tried = worker
                    .try_once(&space, &delivery, attempt, Some(follows), &resend.then_ms)
                    .await;
                match tried {
                    Ok(Some((id, next))) => (attempt, follows, resend) = (attempt + 1, id, next),
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(dialect = worker.dialect.dialect(), "callbacks: {e}");
                        return;
                    }
                }
            }
        });
    }

    /// Try `delivery` once (see [`try_once`]); the recorded attempt's id and the re-send to
    /// come, if any.
    async fn try_once(
        &self,
        space: &Space,
        delivery: &Delivery,
        attempt: u32,
        follows: Option<i64>,
        waits: &[u64],
    ) -> Result<Option<(i64, Resend)>, StoreError> {
        let (record, _) = try_once(
            &self.engine,
            &self.client,
            space,
            delivery,
            (attempt, follows),
            waits,
        )
        .await?;
        Ok(record.resend.map(|resend| (record.id, resend)))
    }
}

/// Try `delivery` once and record it as attempt `attempt`, in one write with ending the
/// re-send of the attempt it `follows`; when the receiver does not accept and `waits` (ms)
/// remain, the record holds the re-send to come. The record (with its id) and whether the
/// receiver accepted.
pub(crate) async fn try_once(
    engine: &Engine,
    client: &reqwest::Client,
    space: &Space,
    delivery: &Delivery,
    (attempt, follows): (u32, Option<i64>),
    waits: &[u64],
) -> Result<(DeliveryAttempt, bool), StoreError> {
    let (status, response, error) = send(
        client,
        delivery.method,
        &delivery.url,
        &delivery.headers,
        &delivery.body,
        delivery.timeout,
    )
    .await;
    let accepted = status.is_some_and(|s| delivery.acceptance.accepts(s, &response));
    let resend = match waits.split_first() {
        Some((wait, then)) if !accepted => Some(Resend {
            due_ms: wall_ms().saturating_add(*wait as i64),
            then_ms: then.to_vec(),
            timeout_ms: millis(&delivery.timeout),
            acceptance: delivery.acceptance.clone(),
        }),
        _ => None,
    };
    tracing::info!(
        dialect = space.dialect,
        space = space.key,
        event = delivery.event,
        attempt,
        status,
        error,
        accepted,
        "callback"
    );
    let mut record = DeliveryAttempt {
        id: 0,
        space: space.id,
        change_seq: delivery.change_seq,
        event: delivery.event.clone(),
        method: delivery.method,
        url: delivery.url.clone(),
        headers: delivery.headers.clone(),
        request: delivery.body.clone(),
        attempt,
        at: engine.clock.now(),
        status,
        response,
        error,
        resend,
    };
    record.id = engine.store.record_attempt(&record, follows).await?;
    Ok((record, accepted))
}

/// What is sent and how the answer is judged: from a fresh [`Callback`], or from the attempt
/// whose re-send is taken up after a restart.
pub(crate) struct Delivery {
    method: CallbackMethod,
    change_seq: i64,
    event: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    timeout: Duration,
    acceptance: Acceptance,
}

impl From<&Callback> for Delivery {
    fn from(callback: &Callback) -> Self {
        Delivery {
            method: callback.method,
            change_seq: callback.change_seq,
            event: callback.event.clone(),
            url: callback.url.clone(),
            headers: callback.headers.clone(),
            body: callback.body.clone(),
            timeout: callback.timeout,
            acceptance: callback.acceptance.clone(),
        }
    }
}

fn millis(duration: &Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// One POST: the status and (first bytes of the) body of the answer, or why there was none.
pub(crate) async fn send(
    client: &reqwest::Client,
    method: CallbackMethod,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    timeout: Duration,
) -> (Option<u16>, String, Option<String>) {
    let mut request = match method {
        CallbackMethod::Post => client.post(url).body(body.to_owned()),
        CallbackMethod::Get => client.get(url),
    }
    .timeout(timeout);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return (None, String::new(), Some(e.to_string())),
    };
    let status = answer.status().as_u16();
    match answer.bytes().await {
        Ok(body) => {
            let body = &body[..body.len().min(RESPONSE_BYTES)];
            (
                Some(status),
                String::from_utf8_lossy(body).into_owned(),
                None,
            )
        }
        Err(e) => (Some(status), String::new(), Some(e.to_string())),
    }
}
