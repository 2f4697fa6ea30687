//! A dialect's routes as one table per API surface: each entry is an OpenAPI [`Operation`]
//! and the handler serving it. The router and the surface's part of roster's OpenAPI document
//! are both built from the table, so a route cannot be served undocumented or documented
//! unserved, and its method is written once.

use axum::handler::Handler;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::openapi::{HttpMethod, Operation};

/// Where roster's own routes are served; a dialect's admin routes go below it.
pub const ADMIN_ROOT: &str = "/_roster";

/// The routes of one API surface, served below one prefix.
pub struct Endpoints<S> {
    /// Where the surface's router is nested by the dialect ("" for the origin root).
    prefix: &'static str,
    /// Where its paths are in the served origin (the admin router is nested once more).
    documented_at: String,
    routes: Vec<(Operation, MethodRouter<S>)>,
}

impl<S: Clone + Send + Sync + 'static> Endpoints<S> {
    /// A surface served at `prefix` of the origin ("" for its root).
    pub fn new(prefix: &'static str) -> Self {
        Endpoints {
            prefix,
            documented_at: prefix.to_string(),
            routes: Vec::new(),
        }
    }

    /// A dialect's own routes, at `prefix` below [`ADMIN_ROOT`] (and behind its admin token).
    pub fn admin(prefix: &'static str) -> Self {
        Endpoints {
            prefix,
            documented_at: format!("{ADMIN_ROOT}{prefix}"),
            routes: Vec::new(),
        }
    }

    /// `operation`, its path relative to the surface's prefix, served by `handler`.
    pub fn at<H, T>(mut self, operation: Operation, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let handler = on(method_filter(&operation.method), handler);
        self.routes.push((operation, handler));
        self
    }

    /// `operation`, served by `route` on the methods it serves: a vendor that keys its APIs
    /// by path alone serves every method, and documents one.
    pub fn at_route(mut self, operation: Operation, route: MethodRouter<S>) -> Self {
        self.routes.push((operation, route));
        self
    }

    /// This surface's entries, then `other`'s (a part declared in its feature's module).
    pub fn merge(mut self, other: Endpoints<S>) -> Self {
        assert_eq!(self.prefix, other.prefix, "one surface, one prefix");
        self.routes.extend(other.routes);
        self
    }

    /// The surface's router on `state`: every entry, `wrap`ped (in a fallback, middleware)
    /// and nested at the prefix.
    pub fn router(self, state: S, wrap: impl FnOnce(Router) -> Router) -> Router {
        let routes = self
            .routes
            .into_iter()
            .fold(Router::new(), |router, (operation, handler)| {
                router.route(&operation.path, handler)
            });
        let routes = wrap(routes.with_state(state));
        if self.prefix.is_empty() {
            routes
        } else {
            Router::new().nest(self.prefix, routes)
        }
    }

    /// The surface's operations, their paths as the origin serves them.
    pub fn operations(self) -> impl Iterator<Item = Operation> {
        let documented_at = self.documented_at;
        self.routes.into_iter().map(move |(mut operation, _)| {
            operation.path.insert_str(0, &documented_at);
            operation
        })
    }
}

fn method_filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}
