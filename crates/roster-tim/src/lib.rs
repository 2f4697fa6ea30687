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

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use roster_core::{Engine, Live, Reload, StoreError};
use roster_http::openapi::{document, OpenApi};
use roster_http::{seed_table, DialectSeed, DialectWire, Endpoints, MountOptions, Mounted};

use crate::app::App;
use crate::callback::TimCallbacks;
use crate::state::Tim;

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
        mount(engine).await
    }

    /// Every command roster serves.
    fn openapi(&self) -> OpenApi {
        document("tim", &[], endpoints().operations())
    }
}

/// Every command: a path of its own under `/v4`.
fn endpoints() -> Endpoints<Arc<Tim>> {
    accounts::endpoints().merge(follow::endpoints())
}

/// Every path under `/v4`, the dialect as roster's control plane sees it, and the apps'
/// webhooks.
async fn mount(engine: Engine) -> Result<Mounted, StoreError> {
    let apps = Live::new(App::load_all(&engine).await?);
    let tim = Arc::new(Tim {
        engine: engine.clone(),
        apps,
    });
    let reload: Arc<dyn Reload> = tim.clone();
    engine.reloads.register(Arc::downgrade(&reload));
    let wire = DialectWire {
        name: app::DIALECT,
        prefix: "/v4",
        wire: tim.clone(),
    };
    let callbacks = Arc::new(TimCallbacks { tim: tim.clone() });
    Ok(Mounted {
        router: endpoints().router(tim, gateway::unknown),
        admin: Router::new(),
        wires: vec![wire],
        callbacks,
    })
}
