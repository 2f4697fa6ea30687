//! Tencent Cloud Chat (TIM) REST dialect: `/v4/<service>/<command>` with UserSig v2
//! authentication, the account commands of `im_open_login_svc` and the five `follow` commands.

mod accounts;
mod app;
mod callback;
mod follow;
mod gateway;
mod limits;
mod openapi;
mod seed;
mod state;
pub mod usersig;
mod wire;

pub use limits::Limits;
pub use seed::{AppSeed, Seed, SeedError};

use async_trait::async_trait;
use roster_core::{Engine, StoreError};
use roster_http::openapi::OpenApi;
use roster_http::{seed_table, DialectSeed, MountOptions, Mounted};

/// The Tencent Cloud Chat dialect, as the binary mounts it.
pub struct TimDialect;

#[async_trait]
impl roster_http::Dialect for TimDialect {
    fn name(&self) -> &'static str {
        app::DIALECT
    }

    fn wire_names(&self) -> &'static [&'static str] {
        &[app::DIALECT]
    }

    fn seed(&self, text: &str) -> Result<Box<dyn DialectSeed>, roster_http::SeedError> {
        Ok(Box::new(seed_table::<Seed>(text, app::DIALECT)?))
    }

    /// Its webhooks are re-sent on the vendor's schedule, which tests do not shorten.
    async fn mount(&self, engine: Engine, _: MountOptions) -> Result<Mounted, StoreError> {
        gateway::mount(engine).await
    }

    fn openapi(&self) -> OpenApi {
        openapi::openapi()
    }
}
