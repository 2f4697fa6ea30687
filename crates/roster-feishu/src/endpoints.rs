//! Every Feishu route: the tables of each surface (`/open-apis`, OAuth v3 at the origin root,
//! roster's admin routes), each beside its handlers, merged; the router and roster's OpenAPI
//! document are both built from them.

use std::sync::Arc;

use axum::{middleware, Router};
use roster_http::openapi::{document, OpenApi};

use crate::openapi::{Table, TOKEN};
use crate::tenants::Feishu;
use crate::{admin, apaas, bot, directory, im, login, task, wire};

/// The vendor API, below `/open-apis`.
fn open_apis() -> Table {
    login::table::tokens()
        .merge(directory::table::users())
        .merge(bot::table())
        .merge(im::table::chats())
        .merge(apaas::table::user_tasks())
        .merge(task::table::tasks())
        .merge(task::v2::table::tasks())
        .merge(task::v2::table::tasklists())
}

/// Every Feishu route roster serves (each below `/open-apis` also answers with a trailing
/// slash).
pub fn openapi() -> OpenApi {
    let ops = open_apis()
        .operations()
        .chain(login::table::oauth().operations())
        .chain(admin::table().operations());
    document("feishu", &[TOKEN], ops)
}

/// The vendor's routes on `feishu`; refusals of the HTTP layer (a wrong method) are Feishu's
/// JSON on every one.
pub fn router(feishu: Arc<Feishu>) -> Router {
    let api = open_apis().router(feishu.clone(), |api| {
        wire::slash_tolerant(api).layer(middleware::from_fn(wire::log_id))
    });
    let oauth = login::table::oauth().router(feishu, |oauth| {
        oauth.layer(middleware::from_fn(wire::log_id))
    });
    api.merge(oauth)
}

/// roster's own Feishu routes on `feishu`, for the admin router.
pub fn admin_router(feishu: Arc<Feishu>) -> Router {
    admin::table().router(feishu, std::convert::identity)
}
