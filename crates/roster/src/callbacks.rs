//! Delivers the vendors' callbacks from the change log: per dialect, a worker reads each
//! space's changes after its delivery cursor, has the dialect render them, sends each callback
//! once (the vendor's timeout), records every attempt, then moves the cursor; a callback the
//! receiver did not accept is re-sent on the vendor's schedule in the background. The cursor
//! is durable and moves only after the first attempt of every callback of the changes it
//! passes, so a crash re-sends rather than loses: each callback is sent at least once, first
//! attempts in commit order (pending re-sends are held in memory). Writers never wait for it. Of several processes on one database, one
//! delivers each dialect's callbacks at a time.

use std::sync::Arc;
use std::time::Duration;

use roster_core::{Callback, Callbacks, Change, DeliveryAttempt, Engine, Space, StoreError};

/// How often a worker looks for new changes.
const POLL: Duration = Duration::from_millis(100);
/// How often a process that does not deliver a dialect's callbacks looks whether to.
const TAKE_OVER: Duration = Duration::from_secs(1);
/// Changes read at once.
const BATCH: u32 = 500;
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
    /// recorded.
    async fn deliver(
        self: &Arc<Self>,
        space: &Space,
        callback: &Callback,
    ) -> Result<(), StoreError> {
        if self.attempt(space, callback, 1).await? || callback.retries.is_empty() {
            return Ok(());
        }
        let (worker, space, callback) = (self.clone(), space.clone(), callback.clone());
        tokio::spawn(async move {
            for (attempt, wait) in (2..).zip(callback.retries.iter().copied()) {
                tokio::time::sleep(wait).await;
                match worker.attempt(&space, &callback, attempt).await {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(dialect = worker.dialect.dialect(), "callbacks: {e}");
                        return;
                    }
                }
            }
        });
        Ok(())
    }

    /// Try `callback` once and record it: whether the receiver accepted it.
    async fn attempt(
        &self,
        space: &Space,
        callback: &Callback,
        attempt: u32,
    ) -> Result<bool, StoreError> {
        let (status, response, error) = send(
            &self.client,
            &callback.url,
            &callback.headers,
            &callback.body,
            callback.timeout,
        )
        .await;
        let record = DeliveryAttempt {
            id: 0,
            space: space.id,
            change_seq: callback.change_seq,
            event: callback.event.clone(),
            url: callback.url.clone(),
            headers: callback.headers.clone(),
            request: callback.body.clone(),
            attempt,
            at: self.engine.clock.now(),
            status,
            response: response.clone(),
            error: error.clone(),
        };
        self.engine.store.record_attempt(&record).await?;
        let accepted = status.is_some_and(|s| (callback.accepted)(s, &response));
        tracing::info!(
            dialect = self.dialect.dialect(),
            space = space.key,
            event = callback.event,
            attempt,
            status,
            error,
            accepted,
            "callback"
        );
        Ok(accepted)
    }
}

/// One POST: the status and (first bytes of the) body of the answer, or why there was none.
pub(crate) async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    timeout: Duration,
) -> (Option<u16>, String, Option<String>) {
    let mut request = client.post(url).timeout(timeout).body(body.to_owned());
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
