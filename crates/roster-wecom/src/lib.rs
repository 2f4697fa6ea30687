//! The wecom dialect (not implemented yet).

use axum::Router;
use roster_core::{Engine, StoreError};
use serde::Deserialize;

/// The `[wecom]` table of the seed file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {}

impl Seed {
    pub async fn apply(&self, _engine: &Engine) -> Result<(), StoreError> {
        Ok(())
    }

    /// Lines telling a newcomer how to call this dialect on `base_url`.
    pub fn describe(&self, _base_url: &str) -> Vec<String> {
        Vec::new()
    }
}

/// Routes served at the origin root.
pub async fn router(_engine: Engine) -> Result<Router, StoreError> {
    Ok(Router::new())
}
