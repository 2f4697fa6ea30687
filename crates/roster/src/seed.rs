//! The seed file: spaces, credentials, directory entries and limits, applied idempotently at
//! every start. Each dialect owns the shape of its own table.

use std::path::Path;

use roster_core::Engine;

use crate::control::faults::RuleSpec;
use serde::Deserialize;

/// The demo seed used when no seed file is given, so a newcomer can call roster at once.
pub const DEMO: &str = include_str!("../demo-seed.toml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub feishu: roster_feishu::Seed,
    #[serde(default)]
    pub tim: roster_tim::Seed,
    #[serde(default)]
    pub wecom: roster_wecom::Seed,
    /// Fault rules in force from the start (see the control plane's `/_roster/faults`).
    #[serde(default)]
    pub faults: Vec<RuleSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid seed file {path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid fault rule in seed file {path}: {why}")]
    Fault { path: String, why: String },
}

impl Seed {
    pub fn parse(text: &str, origin: &str) -> Result<Self, SeedError> {
        let seed: Self = toml::from_str(text).map_err(|source| SeedError::Parse {
            path: origin.to_string(),
            source: Box::new(source),
        })?;
        if let Some(why) = seed.faults.iter().find_map(|rule| rule.validate().err()) {
            return Err(SeedError::Fault {
                path: origin.to_string(),
                why,
            });
        }
        Ok(seed)
    }

    /// The file at `path`, or the built-in demo seed.
    pub fn load(path: Option<&Path>) -> Result<Self, SeedError> {
        match path {
            None => Self::parse(DEMO, "<built-in demo seed>"),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::parse(&text, &path.display().to_string())
            }
        }
    }

    pub async fn apply(&self, engine: &Engine) -> anyhow::Result<()> {
        self.feishu.apply(engine).await?;
        self.tim.apply(engine).await?;
        self.wecom.apply(engine).await?;
        Ok(())
    }

    /// Each dialect's first credentials, as environment variables for `roster exec`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.feishu.env();
        env.extend(self.tim.env());
        env.extend(self.wecom.env());
        env
    }

    pub fn describe(&self, base_url: &str) -> Vec<String> {
        let mut lines = self.feishu.describe(base_url);
        lines.extend(self.tim.describe(base_url));
        lines.extend(self.wecom.describe(base_url));
        lines
    }
}
