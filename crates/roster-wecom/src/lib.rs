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

use axum::Router;
use roster_core::{Callbacks, CursorKey, Engine, Reload, StoreError};
use roster_http::DialectWire;

pub use openapi::openapi;
pub use seed::{Seed, SeedError};

/// What every handler of both dialects is handed.
#[derive(Clone)]
pub(crate) struct App {
    engine: Engine,
    /// The corps, held in memory: authenticating a call needs no database.
    corps: Arc<corp::LiveCorps>,
    /// Seals access tokens, under the engine's token key.
    tokens: CursorKey,
}

/// What [`router`] serves and how the rest of roster sees it.
pub struct Dialect {
    /// Routes served at the origin root.
    pub router: Router,
    /// The two dialects as roster's control plane sees them.
    pub wires: [DialectWire; 2],
    /// The contact-change callbacks of the corps.
    pub callbacks: Arc<dyn Callbacks>,
}

/// The WeCom dialects. Call after the seed is applied: the corps it declares are loaded here.
/// `retry_scale` multiplies the waits between callback re-sends.
pub async fn router(engine: Engine, retry_scale: f64) -> Result<Dialect, StoreError> {
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
    let wires = [
        wire(corp::DIALECT, "/cgi-bin/", token::Audience::Native),
        wire("qwif", "/qwcgi/", token::Audience::Qwif),
    ];
    let callbacks = Arc::new(callback::WecomCallbacks {
        corps: app.corps.clone(),
        clock: app.engine.clock.clone(),
        retry_scale,
    });
    let router = Router::new()
        .merge(native::routes())
        .merge(qwif::routes())
        .with_state(app);
    Ok(Dialect {
        router,
        wires,
        callbacks,
    })
}
