//! The seed file: spaces, credentials, directory entries and limits, applied idempotently at
//! every start. Each dialect owns the shape of its own table; roster's own is `[[faults]]`.

use std::path::Path;

use roster_core::Engine;
use roster_http::DialectSeed;
use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::control::faults::RuleSpec;
use crate::dialects::{self, DIALECTS};

/// The demo seed used when no seed file is given, so a newcomer can call roster at once.
pub const DEMO: &str = include_str!("../demo-seed.toml");

#[derive(Debug, Default)]
pub struct Seed {
    /// Each dialect's part, in the order of [`DIALECTS`].
    parts: Vec<Box<dyn DialectSeed>>,
    /// Fault rules in force from the start (see the control plane's `/_roster/faults`).
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
        source: roster_http::SeedError,
    },
    #[error("invalid fault rule in seed file {path}: {why}")]
    Fault { path: String, why: String },
}

/// roster's own table of a seed file, having checked that every other is a dialect's.
struct OwnTables;

impl<'de> Visitor<'de> for OwnTables {
    type Value = Vec<RuleSpec>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a seed file")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<RuleSpec>, A::Error> {
        let mut faults = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "faults" {
                faults = map.next_value()?;
            } else if dialects::names().any(|name| name == key) {
                map.next_value::<IgnoredAny>()?;
            } else {
                let expected: Vec<String> = dialects::names()
                    .chain(["faults"])
                    .map(|name| format!("`{name}`"))
                    .collect();
                return Err(A::Error::custom(format!(
                    "unknown field `{key}`, expected one of {}",
                    expected.join(", ")
                )));
            }
        }
        Ok(faults)
    }
}

impl Seed {
    pub fn parse(text: &str, origin: &str) -> Result<Self, SeedError> {
        let invalid = |source| SeedError::Parse {
            path: origin.to_string(),
            source,
        };
        let faults = toml::Deserializer::new(text)
            .deserialize_map(OwnTables)
            .map_err(|e| invalid(Box::new(e)))?;
        if let Some(why) = faults.iter().find_map(|rule| rule.validate().err()) {
            return Err(SeedError::Fault {
                path: origin.to_string(),
                why,
            });
        }
        let parts = DIALECTS
            .iter()
            .map(|dialect| dialect.seed(text))
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        Ok(Self { parts, faults })
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
        for part in &self.parts {
            part.apply(engine).await.map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(())
    }

    /// Each dialect's first credentials, as environment variables for `roster exec`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.parts.iter().flat_map(|part| part.env()).collect()
    }

    pub fn describe(&self, base_url: &str) -> Vec<String> {
        self.parts
            .iter()
            .flat_map(|part| part.describe(base_url))
            .collect()
    }
}
