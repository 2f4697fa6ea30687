//! What "the state the seed file describes" is: the seed applied to an empty scratch database,
//! dumped. Built on the first reset and kept; a reset loads it over the live spaces.

use std::sync::Arc;

use roster_core::{Clock, Engine, SpaceDump};
use tokio::sync::OnceCell;

use super::ControlError;
use crate::dialects;
use crate::seed::Seed;

pub struct Baseline {
    seed: Arc<Seed>,
    dumps: OnceCell<Vec<SpaceDump>>,
}

impl Baseline {
    pub fn new(seed: Arc<Seed>) -> Self {
        Self {
            seed,
            dumps: OnceCell::new(),
        }
    }

    /// Every space of the seed, as seeding an empty database leaves it.
    pub async fn dumps(&self) -> Result<&[SpaceDump], ControlError> {
        let dumps = self.dumps.get_or_try_init(|| build(&self.seed)).await?;
        Ok(dumps)
    }
}

async fn build(seed: &Seed) -> Result<Vec<SpaceDump>, ControlError> {
    let failed = |e: &dyn std::fmt::Display| ControlError::Baseline(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
    let store = roster_store::open_sqlite_dir(dir.path()).await?;
    let engine = Engine::new(store.clone(), Arc::new(Clock::default())).await?;
    let applied = seed.apply(&engine).await;
    let mut dumps = Vec::new();
    if applied.is_ok() {
        for dialect in dialects::names() {
            for space in store.spaces(dialect).await? {
                dumps.push(store.dump_space(space.id).await?);
            }
        }
    }
    store.close().await;
    applied.map_err(|e| failed(&e))?;
    Ok(dumps)
}
