//! Group commit for SQLite: write transactions that arrive together share one COMMIT, so one
//! fsync makes a whole batch durable. Each runs inside its own SAVEPOINT, so one that fails or
//! decides not to commit (an aborted batch of members) leaves the others untouched; no caller
//! hears of its write before the COMMIT that holds it has returned.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use roster_core::StoreError;

use crate::writes::TxFuture;
use crate::{backend, is_conflict};

/// Transactions per COMMIT at most.
const MAX_BATCH: usize = 64;
/// Writes waiting for the writer at most; further writers wait to enqueue.
const QUEUE: usize = 1024;

/// Tells one caller how its write ended, once the batch's COMMIT has.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What a job did inside its savepoint.
struct Step {
    keep: bool,
    completion: Completion,
}

type Job = Box<
    dyn for<'c> FnOnce(&'c mut AnyConnection) -> Pin<Box<dyn Future<Output = Step> + Send + 'c>>
        + Send,
>;

pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Start the writer task; it takes the writer connection per batch.
    pub(crate) fn start(writer: AnyPool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run_batches(writer, queue));
        Self { jobs }
    }

    /// Run `body` in the next batch; its value once the batch is committed.
    pub(crate) async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> TxFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                match body(conn).await {
                    Ok((value, keep)) => Step {
                        keep,
                        completion: Box::new(move |batch: Result<(), StoreError>| {
                            let _ = reply.send(batch.map(|()| value));
                        }),
                    },
                    // Rolled back to its savepoint: its own error, whatever the batch does.
                    Err(e) => {
                        let error = backend(e);
                        Step {
                            keep: false,
                            completion: Box::new(move |_| {
                                let _ = reply.send(Err(error));
                            }),
                        }
                    }
                }
            })
        });
        let closed = || StoreError::backend("the store is closed");
        self.jobs.send(job).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run_batches(writer: AnyPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Jobs not run when a batch fails are dropped: their callers hear "closed".
        if let Err(e) = commit_batch(&writer, batch).await {
            tracing::error!("group commit failed: {e}");
        }
    }
}

async fn commit_batch(writer: &AnyPool, batch: Vec<Job>) -> Result<(), sqlx::Error> {
    let mut conn = writer.acquire().await?;
    begin_immediate(&mut conn).await?;
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        let savepoint = async {
            conn.execute("SAVEPOINT job").await?;
            let step = job(&mut conn).await;
            if !step.keep {
                conn.execute("ROLLBACK TO job").await?;
            }
            conn.execute("RELEASE job").await?;
            Ok::<_, sqlx::Error>(step.completion)
        };
        match savepoint.await {
            Ok(completion) => completions.push(completion),
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                for completion in completions {
                    completion(Err(StoreError::backend(format!("write batch failed: {e}"))));
                }
                return Err(e);
            }
        }
    }
    let committed = conn.execute("COMMIT").await;
    if committed.is_err() {
        let _ = conn.execute("ROLLBACK").await;
    }
    for completion in completions {
        completion(match &committed {
            Ok(_) => Ok(()),
            Err(e) => Err(StoreError::backend(format!("commit failed: {e}"))),
        });
    }
    committed.map(|_| ())
}

/// Take the database's write lock, waiting out other processes that hold it.
async fn begin_immediate(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let mut attempt = 0u64;
    loop {
        match conn.execute("BEGIN IMMEDIATE").await {
            Err(e) if is_conflict(&e) && attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(attempt.min(20))).await;
            }
            other => return other.map(|_| ()),
        }
    }
}
