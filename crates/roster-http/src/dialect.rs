//! A vendor dialect as the binary sees it. roster serves, seeds, observes and documents one
//! list of dialects, each through this trait, so adding one is adding it to that list.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use roster_core::{Callbacks, Engine, StoreError};
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::openapi::OpenApi;
use crate::DialectWire;

/// An error of a dialect's seed (its part of the seed file, or applying it), keeping its cause.
pub type SeedError = Box<dyn std::error::Error + Send + Sync>;

/// How every dialect is mounted.
#[derive(Debug, Clone, Copy)]
pub struct MountOptions {
    /// Multiplies the waits between callback re-sends (tests shorten them).
    pub retry_scale: f64,
}

/// A dialect mounted on an engine.
pub struct Mounted {
    /// The vendor's routes, served at the origin root.
    pub router: Router,
    /// Its own routes under `/_roster/`, behind the admin token.
    pub admin: Router,
    /// How the control plane sees its requests: one wire per path prefix it serves.
    pub wires: Vec<DialectWire>,
    /// The callbacks it renders from the change log.
    pub callbacks: Arc<dyn Callbacks>,
}

#[async_trait]
pub trait Dialect: Sync {
    /// Its name: the table of the seed file and the `dialect` of its spaces.
    fn name(&self) -> &'static str;

    /// The names of its wires (one per path prefix it serves), as the request journal and
    /// fault rules name its requests.
    fn wire_names(&self) -> &'static [&'static str];

    /// Its part of a seed file, read from the file's whole `text` (so errors point at lines
    /// of it); an empty part when the file has none.
    fn seed(&self, text: &str) -> Result<Box<dyn DialectSeed>, SeedError>;

    /// Its routes and what the rest of roster needs of it, on `engine`; call after the seed
    /// is applied (dialects load their spaces here).
    async fn mount(&self, engine: Engine, options: MountOptions) -> Result<Mounted, StoreError>;

    /// Its routes in roster's OpenAPI document.
    fn openapi(&self) -> OpenApi;
}

/// A dialect's part of a seed file.
#[async_trait]
pub trait DialectSeed: Send + Sync + std::fmt::Debug {
    /// Apply it, idempotently: a space whose part is unchanged since it was applied is skipped.
    async fn apply(&self, engine: &Engine) -> Result<(), SeedError>;

    /// Its first credentials, as environment variables for `roster exec`.
    fn env(&self) -> Vec<(&'static str, String)>;

    /// Lines telling a newcomer how to call it, printed at start.
    fn describe(&self, base_url: &str) -> Vec<String>;
}

/// The table `name` of a seed file's `text` as `T` (its default when the file has none); the
/// other tables are left to their dialects. Errors name the line they are on.
pub fn seed_table<T: DeserializeOwned + Default>(
    text: &str,
    name: &'static str,
) -> Result<T, SeedError> {
    struct Table<T>(&'static str, PhantomData<T>);

    impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Table<T> {
        type Value = T;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a seed file with an optional [{}] table", self.0)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut table = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == self.0 {
                    table = Some(map.next_value()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(table.unwrap_or_default())
        }
    }

    toml::Deserializer::new(text)
        .deserialize_map(Table(name, PhantomData))
        .map_err(|e| Box::new(e) as SeedError)
}

#[cfg(test)]
mod tests {
    use super::seed_table;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Part {
        key: String,
    }

    #[test]
    fn a_table_is_read_alone_and_errors_name_their_line() {
        let text = "[other]\nanything = 1\n\n[mine]\nkey = \"k\"\n";
        let part: Part = seed_table(text, "mine").unwrap();
        assert_eq!(part.key, "k");
        assert_eq!(
            seed_table::<Part>("[other]\n", "mine").unwrap(),
            Part::default()
        );
        let error = seed_table::<Part>("[mine]\nkey = \"k\"\nextra = 1\n", "mine").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("line 3") && message.contains("extra"),
            "{message}"
        );
    }
}
