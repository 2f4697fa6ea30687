//! Start roster in-process for API tests, on SQLite or a scratch PostgreSQL database.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::PathBuf;

use roster::server::{start, Config, Running};
use roster_store::test_support::{postgres_url, scratch_postgres};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Where a test server keeps its data; reused across restarts.
pub struct Backend {
    dir: tempfile::TempDir,
    database: Option<String>,
}

impl Backend {
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// `None` (saying so on stderr) when ROSTER_TEST_DATABASE_URL is not set.
    pub async fn postgres(suite: &str) -> Option<Self> {
        let url = scratch_postgres(&postgres_url(suite)?).await;
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            database: Some(url),
        })
    }

    /// Start a server on a free port with `seed` (a TOML text; `None` = the demo seed).
    pub async fn start(&self, seed: Option<&str>) -> Running {
        let seed = seed.map(|text| {
            let path = self.dir.path().join("seed.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        start(Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data: self.dir.path().join("data"),
            database: self.database.clone(),
            seed,
            admin_token: ADMIN_TOKEN.into(),
        })
        .await
        .expect("roster starts")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Run an async test body against SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test] async fn $name() { super::$name(super::common::Backend::sqlite()).await } )*
        }
        mod postgres_backend {
            $( #[tokio::test] async fn $name() {
                if let Some(backend) = super::common::Backend::postgres(stringify!($name)).await {
                    super::$name(backend).await
                }
            } )*
        }
    };
}
