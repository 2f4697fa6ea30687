//! SQLite's connections: one writer thread that applies whole plans and commits the plans that
//! arrive together under one COMMIT (one fsync), each in its own SAVEPOINT; and reader
//! connections that a read takes from a small pool and runs on its caller's thread (a page's
//! statements take microseconds: a hand-off to another thread and back cost more than the
//! read). Callers hear of a write only after the COMMIT that holds it has returned.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use roster_core::StoreError;

/// Plans per COMMIT at most.
const MAX_BATCH: usize = 64;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
                       PRAGMA synchronous = FULL;
                       PRAGMA foreign_keys = ON;
                       PRAGMA busy_timeout = 10000;";

pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(StoreError::backend)?;
    conn.execute_batch(PRAGMAS).map_err(StoreError::backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn closed() -> StoreError {
    StoreError::backend("the store is closed")
}

/// Tells one caller how the batch holding its write ended.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a write did inside its savepoint, and how to tell its caller once the batch ends.
struct Done {
    keep: bool,
    complete: Completion,
}

type WriteJob = Box<dyn FnOnce(&Connection) -> Done + Send>;

/// A pool of threads, each with its own connection, taking jobs from one queue.
struct Pool<J> {
    jobs: Mutex<Option<Sender<J>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<J: Send + 'static> Pool<J> {
    fn start(
        connections: Vec<Connection>,
        name: &str,
        serve: fn(Connection, Arc<Mutex<Receiver<J>>>),
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = Vec::new();
        for conn in connections {
            let queue = queue.clone();
            let thread = std::thread::Builder::new()
                .name(format!("roster-sqlite-{name}"))
                .spawn(move || serve(conn, queue))
                .map_err(StoreError::backend)?;
            threads.push(thread);
        }
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            threads: Mutex::new(threads),
        })
    }

    fn send(&self, job: J) -> Result<(), StoreError> {
        let jobs = self.jobs.lock().expect("job queue lock");
        jobs.as_ref()
            .ok_or_else(closed)?
            .send(job)
            .map_err(|_| closed())
    }

    /// Stop taking jobs, let the queued ones finish, and close the connections.
    async fn close(&self) {
        self.jobs.lock().expect("job queue lock").take();
        let threads = std::mem::take(&mut *self.threads.lock().expect("threads lock"));
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

fn next<J>(queue: &Mutex<Receiver<J>>) -> Option<J> {
    queue.lock().expect("job queue lock").recv().ok()
}

/// Reader connections not in use; `None` once the store is closed. A read takes one (or opens
/// one when all are busy) and puts it back, and at most `keep` wait here.
struct Readers {
    path: PathBuf,
    idle: Mutex<Option<Vec<Connection>>>,
    keep: usize,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self
            .idle
            .lock()
            .expect("readers lock")
            .as_mut()
            .ok_or_else(closed)?
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path),
        }
    }

    fn put_back(&self, conn: Connection) {
        if let Some(idle) = self.idle.lock().expect("readers lock").as_mut() {
            if idle.len() < self.keep {
                idle.push(conn);
            }
        }
    }

    /// Run `body` on a reader connection, on this thread.
    fn run<T>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.take()?;
        // A panicking read is its caller's error; its connection is closed, not reused.
        let read = catch_unwind(AssertUnwindSafe(|| body(&conn)))
            .map_err(|_| StoreError::backend("a read panicked"))?;
        self.put_back(conn);
        read
    }
}

pub(crate) struct Threads {
    writer: Pool<WriteJob>,
    readers: Arc<Readers>,
}

impl Threads {
    pub(crate) fn start(path: &Path, readers: usize) -> Result<Self, StoreError> {
        let idle = (0..readers)
            .map(|_| connect(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            writer: Pool::start(vec![connect(path)?], "writer", write_batches)?,
            readers: Arc::new(Readers {
                path: path.to_path_buf(),
                idle: Mutex::new(Some(idle)),
                keep: readers,
            }),
        })
    }

    /// Run `body` in the next write batch, inside its own savepoint. It returns its value and
    /// whether to keep what it wrote; the value comes back once the batch is committed.
    pub(crate) async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: WriteJob = Box::new(move |conn| match body(conn) {
            Ok((value, keep)) => Done {
                keep,
                complete: Box::new(move |batch| {
                    let _ = reply.send(batch.map(|()| value).map_err(StoreError::backend));
                }),
            },
            // Rolled back to its savepoint: its own error, whatever the batch does.
            Err(e) => Done {
                keep: false,
                complete: Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }),
            },
        });
        self.writer.send(job)?;
        answer.await.map_err(|_| closed())?
    }

    /// [`Threads::write`] of a body that keeps whatever it wrote.
    pub(crate) async fn write_kept<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.write(move |conn| {
            body(conn)
                .map(|value| (value, true))
                .map_err(StoreError::backend)
        })
        .await
    }

    /// Run `body` on a reader connection, on the caller's thread: for reads bounded by a page
    /// or a list of ids, which take microseconds.
    pub(crate) async fn read<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        self.readers.run(body)
    }

    /// Run `body` on a reader connection on a blocking thread: for reads whose cost grows with
    /// a space (dumps, counts of all its rows, searches), which must not hold up the runtime.
    pub(crate) async fn read_long<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.run(body))
            .await
            .map_err(|_| closed())?
    }

    pub(crate) async fn close(&self) {
        self.readers.idle.lock().expect("readers lock").take();
        self.writer.close().await;
    }
}

fn write_batches(conn: Connection, queue: Arc<Mutex<Receiver<WriteJob>>>) {
    while let Some(first) = next(&queue) {
        let mut batch = vec![first];
        {
            let queue = queue.lock().expect("job queue lock");
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        if let Err(e) = commit_batch(&conn, batch) {
            tracing::error!("SQLite write batch failed: {e}");
        }
    }
}

fn commit_batch(conn: &Connection, batch: Vec<WriteJob>) -> Result<(), rusqlite::Error> {
    let fail = |completions: Vec<Completion>, e: &dyn std::fmt::Display| {
        for complete in completions {
            complete(Err(format!("write batch failed: {e}")));
        }
    };
    // A batch whose COMMIT and ROLLBACK both failed left its transaction open.
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    // On failure the jobs are dropped unrun: their callers hear "closed".
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        let ran = conn.execute_batch("SAVEPOINT job").and_then(|()| {
            let done = catch_unwind(AssertUnwindSafe(|| job(conn)));
            let keep = done.as_ref().is_ok_and(|done| done.keep);
            if !keep {
                conn.execute_batch("ROLLBACK TO job")?;
            }
            conn.execute_batch("RELEASE job")?;
            Ok(done.ok())
        });
        match ran {
            Ok(Some(done)) => completions.push(done.complete),
            // It panicked and was rolled back; its reply is gone (its caller hears "closed").
            Ok(None) => {}
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                fail(completions, &e);
                return Err(e);
            }
        }
    }
    metrics::histogram!("roster_sqlite_commit_batch_size").record(completions.len() as f64);
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for complete in completions {
                complete(Ok(()));
            }
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            fail(completions, &e);
            Err(e)
        }
    }
}
