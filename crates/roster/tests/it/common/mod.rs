//! Start roster in-process for API tests, on SQLite or a scratch PostgreSQL database.

pub mod api;
pub mod process;

use roster::server::{start, Config, Running};
pub use roster_store::test_support::{postgres_database, ScratchDatabase};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A roster started from seed text in its own temporary directory, restartable on the same data.
pub struct TestServer {
    running: Option<Running>,
    config: Config,
    _dir: tempfile::TempDir,
    /// Dropped after the server: a scratch PostgreSQL database lives as long as its server.
    _database: Option<ScratchDatabase>,
}

impl TestServer {
    /// On SQLite when `database` is `None`, else on that scratch PostgreSQL database.
    pub async fn start(database: Option<ScratchDatabase>, seed: &str) -> Self {
        Self::start_with(database, seed, |_| {}).await
    }

    /// [`TestServer::start`] with its configuration changed by `configure`.
    pub async fn start_with(
        database: Option<ScratchDatabase>,
        seed: &str,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seed_path = dir.path().join("seed.toml");
        std::fs::write(&seed_path, seed).unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data: dir.path().join("data"),
            database: database.as_ref().map(|d| d.url().to_owned()),
            postgres_pool: None,
            seed: Some(seed_path),
            snapshot: None,
            journal: Default::default(),
            admin_token: ADMIN_TOKEN.into(),
            tls: None,
            callback_retry_scale: 1.0,
            changes_retention: roster_core::Retention::DEFAULT,
        };
        configure(&mut config);
        let running = start(config.clone()).await.expect("roster starts");
        Self {
            running: Some(running),
            config,
            _dir: dir,
            _database: database,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("the server is running")
    }

    pub fn base_url(&self) -> String {
        self.running().base_url()
    }

    /// The bytes the database holds: the SQLite file after a checkpoint, or the PostgreSQL
    /// database's size.
    pub async fn database_bytes(&self) -> i64 {
        let mut raw = self.raw_database().await;
        match &mut raw {
            RawDatabase::Sqlite(conn) => {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .unwrap();
                let file = std::fs::metadata(self.config.data.join("roster.db")).unwrap();
                file.len() as i64
            }
            RawDatabase::Postgres(_) => {
                raw.number("SELECT pg_database_size(current_database())")
                    .await
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        if self.config.database.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// A raw connection to the server's database, for tests that get in roster's way.
    pub async fn raw_database(&self) -> RawDatabase {
        use sqlx::Connection;
        match &self.config.database {
            Some(url) => RawDatabase::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
            None => RawDatabase::Sqlite(
                rusqlite::Connection::open(self.config.data.join("roster.db")).unwrap(),
            ),
        }
    }

    /// A second view of the server's database (to check what requests did or did not write).
    pub async fn store(&self) -> std::sync::Arc<dyn roster_store::Store> {
        match &self.config.database {
            Some(url) => roster_store::open_postgres(url).await,
            None => roster_store::open_sqlite_dir(&self.config.data).await,
        }
        .expect("open the server's database")
    }

    /// Stop gracefully and start again on the same data.
    pub async fn restart(&mut self) {
        self.restart_with_seed(None).await.expect("roster restarts");
    }

    /// Stop gracefully, replace the seed file when `seed` is given, and start again.
    pub async fn restart_with_seed(&mut self, seed: Option<&str>) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        if let (Some(seed), Some(path)) = (seed, &self.config.seed) {
            std::fs::write(path, seed)?;
        }
        self.running = Some(start(self.config.clone()).await?);
        Ok(())
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// An HTTP client of one test server; each suite adds the vendor calls it makes.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn of(server: &TestServer) -> Self {
        Self::at(server.base_url())
    }

    /// A client of the server at `base`.
    pub fn at(base: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
        }
    }

    /// Send and read the JSON answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> serde_json::Value {
        request.send().await.unwrap().json().await.unwrap()
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.base);
        let response = self.http.get(url).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// A WeCom access token of the corp.
    pub async fn wecom_token(&self, corp_id: &str, secret: &str) -> String {
        let url = format!(
            "{}/cgi-bin/gettoken?corpid={corp_id}&corpsecret={secret}",
            self.base
        );
        let answer = self.send(self.http.get(url)).await;
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// POST a JSON body to a WeCom `/cgi-bin/` API.
    pub async fn wecom(
        &self,
        token: &str,
        api: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let url = format!("{}/cgi-bin/{api}?access_token={token}", self.base);
        self.send(self.http.post(url).json(&body)).await
    }
}

/// The databases a suite runs on: SQLite (`None`), then a scratch PostgreSQL database when
/// ROSTER_TEST_DATABASE_URL is set (its absence is said on stderr).
pub async fn databases(suite: &str) -> Vec<Option<ScratchDatabase>> {
    let mut databases = vec![None];
    databases.extend(postgres_database(suite).await.map(Some));
    databases
}

/// A connection to a test server's database from outside roster.
pub enum RawDatabase {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl RawDatabase {
    pub async fn execute(&mut self, sql: &str) {
        match self {
            RawDatabase::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
            RawDatabase::Postgres(conn) => {
                sqlx::Executor::execute(conn, sql).await.unwrap();
            }
        }
    }

    /// The one number `sql` selects.
    pub async fn number(&mut self, sql: &str) -> i64 {
        match self {
            RawDatabase::Sqlite(conn) => conn.query_row(sql, [], |row| row.get(0)).unwrap(),
            RawDatabase::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await.unwrap(),
        }
    }

    /// How many counters disagree with the edges they count (a missing counter counts 0).
    pub async fn wrong_counters(&mut self) -> i64 {
        // PostgreSQL's counters are keyed by space too, and a distributed PostgreSQL (Citus)
        // joins a space's tables only on it.
        let (space, e, g) = match self {
            RawDatabase::Sqlite(_) => ("", "", ""),
            RawDatabase::Postgres(_) => (
                "space_id, ",
                "e.space_id = c.space_id AND",
                "c.space_id = g.space_id AND",
            ),
        };
        self.number(&format!(
            "SELECT (SELECT count(*) FROM counters c WHERE c.n <> (
                         SELECT count(*) FROM edges e WHERE {e} e.relation_id = c.relation_id
                           AND ((c.direction = 0 AND e.subject_id = c.entity_id)
                             OR (c.direction = 1 AND e.member_id = c.entity_id))))
                  + (SELECT count(*) FROM (
                         SELECT {space}subject_id AS entity_id, relation_id, 0 AS direction
                         FROM edges UNION SELECT {space}member_id, relation_id, 1 FROM edges) g
                     WHERE NOT EXISTS (SELECT 1 FROM counters c WHERE {g} c.entity_id = g.entity_id
                         AND c.relation_id = g.relation_id AND c.direction = g.direction))",
        ))
        .await
    }
}
