//! roster's WeCom dialect: WeCom's own server API (`/cgi-bin/`, [`native`]) and do1's "qwif"
//! wrapper over it (`/qwcgi/`, [`qwif`]), serving the same corps. Both are thin wire layers
//! over one [`directory`] of departments, users, tags and tag members, so a member added
//! through one dialect is listed by the other, and limits hold across both.

mod callback;
mod control;
mod corp;
mod directory;
mod native;
mod openapi;
mod qwif;
mod request;
mod seed;
mod token;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use roster_core::{CursorKey, Engine, Reload, StoreError};
use roster_http::openapi::{document, OpenApi};
use roster_http::{seed_table, DialectSeed, DialectWire, MountOptions, Mounted};

pub use seed::{Seed, SeedError};

/// The wire of do1's wrapper, beside WeCom's own.
const QWIF: &str = "qwif";

/// WeCom's dialects, native and do1's, as the binary mounts them.
pub struct WecomDialect;

#[async_trait]
impl roster_http::Dialect for WecomDialect {
    fn name(&self) -> &'static str {
        corp::DIALECT
    }

    fn wire_names(&self) -> &'static [&'static str] {
        &[corp::DIALECT, QWIF]
    }

    fn seed(&self, text: &str) -> Result<Box<dyn DialectSeed>, roster_http::SeedError> {
        Ok(Box::new(seed_table::<Seed>(text, corp::DIALECT)?))
    }

    async fn mount(&self, engine: Engine, options: MountOptions) -> Result<Mounted, StoreError> {
        mount(engine, options.retry_scale).await
    }

    /// Every WeCom and do1 route roster serves.
    fn openapi(&self) -> OpenApi {
        let mut doc = document("qwif", &[], qwif::endpoints().operations());
        doc.merge(document("wecom", &[], native::endpoints().operations()));
        doc
    }
}

/// What every handler of both dialects is handed.
#[derive(Clone)]
pub(crate) struct App {
    engine: Engine,
    /// The corps, held in memory: authenticating a call needs no database.
    corps: Arc<corp::LiveCorps>,
    /// Seals access tokens, under the engine's token key.
    tokens: CursorKey,
}

/// Both wire layers' routes, the two dialects as roster's control plane sees them, and the
/// contact-change callbacks of the corps. `retry_scale` multiplies the waits between callback
/// re-sends.
async fn mount(engine: Engine, retry_scale: f64) -> Result<Mounted, StoreError> {
    let corps = Arc::new(corp::LiveCorps::load(engine.clone()).await?);
    let reload: Arc<dyn Reload> = corps.clone();
    engine.reloads.register(Arc::downgrade(&reload));
    let app = App {
        corps,
        tokens: CursorKey::new(&engine.token_key),
        engine,
    };
    let wire = |name, prefix, audience| DialectWire {
        name,
        prefix,
        wire: Arc::new(control::WecomWire {
            app: app.clone(),
            audience,
        }),
    };
    let wires = vec![
        wire(corp::DIALECT, "/cgi-bin/", token::Audience::Native),
        wire(QWIF, "/qwcgi/", token::Audience::Qwif),
    ];
    let callbacks = Arc::new(callback::WecomCallbacks {
        corps: app.corps.clone(),
        clock: app.engine.clock.clone(),
        retry_scale,
    });
    let router = native::endpoints()
        .router(app.clone(), native::unknown)
        .merge(qwif::endpoints().router(app, qwif::unknown));
    Ok(Mounted {
        router,
        admin: Router::new(),
        wires,
        callbacks,
    })
}
