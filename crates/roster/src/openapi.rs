//! roster's OpenAPI 3.1 document, `GET /_roster/openapi.json`: every dialect's part merged with
//! roster's own routes, built once at start from the code that describes each route.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use roster_http::openapi::{
    any, any_of, array, boolean, document, integer, merged, nullable, number, object,
    one_of_values, operation, own, string, HttpMethod, Object, OpenApi, Operation, Schema, ADMIN,
    JSON,
};

use crate::dialects;

/// The whole document: roster's own routes and the dialects' parts.
pub fn document_of(dialects: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    merged(std::iter::once(own_routes()).chain(dialects))
}

/// The document as served: JSON, rendered once.
pub fn serve(doc: &OpenApi) -> impl Fn() -> std::future::Ready<Response> + Clone {
    let json: std::sync::Arc<str> = doc.to_json().expect("the document renders").into();
    move || std::future::ready(([(header::CONTENT_TYPE, JSON)], json.to_string()).into_response())
}

fn space_name() -> Schema {
    string()
}

fn entity_ref() -> Schema {
    object()
        .field("kind", string())
        .field("key", string())
        .into()
}

fn change() -> Schema {
    let ops = [
        "edge_added",
        "edge_removed",
        "entity_created",
        "entity_deleted",
    ];
    object()
        .field("seq", integer())
        .field("plan", integer())
        .field("at", integer())
        .field("op", one_of_values(ops))
        .field("subject", entity_ref())
        .optional("relation", string())
        .optional("member", entity_ref())
        .optional("context", any())
        .into()
}

fn header_pairs() -> Schema {
    array(array(string()))
}

fn delivery() -> Schema {
    object()
        .field("id", integer())
        .field("change_seq", integer())
        .field("event", string())
        .field("url", string())
        .field("headers", header_pairs())
        .field("request", string())
        .field("attempt", integer())
        .field("at", integer())
        .field("status", nullable(integer()))
        .field("response", string())
        .optional("error", string())
        .into()
}

fn kept_body() -> Schema {
    object()
        .field("text", string())
        .optional("truncated_from", integer())
        .into()
}

fn journal_entry() -> Schema {
    object()
        .field("id", integer())
        .field("time_ms", integer())
        .field("dialect", string())
        .field("space", nullable(string()))
        .field("method", string())
        .field("path", string())
        .field("query", string())
        .field("request_headers", header_pairs())
        .field("request_body", kept_body())
        .field("status", integer())
        .field("vendor_code", any())
        .field("log_id", nullable(string()))
        .field("response_body", kept_body())
        .field("latency_ms", number())
        .field("fault", nullable(integer()))
        .into()
}

/// A fault rule as written (see README, Faults).
fn rule_spec() -> Object {
    object()
        .field("dialect", one_of_values(dialects::wire_names()))
        .optional("route", string())
        .optional("method", string())
        .optional("space", space_name())
        .optional("body", object().into())
        .optional("delay_ms", any())
        .optional("error", object().into())
        .optional("status", integer())
        .optional("drop", boolean())
        .optional("probability", number())
        .optional("count", integer())
}

fn rule() -> Schema {
    rule_spec()
        .field("id", integer())
        .field("remaining", nullable(integer()))
        .field("fired", integer())
        .into()
}

/// An entity as roster's browse routes render it.
fn entity() -> Schema {
    object()
        .strings(&["kind", "key"])
        .field("attrs", any())
        .field("owner", nullable(entity_ref()))
        .field("created_at", integer())
        .field("updated_at", integer())
        .into()
}

fn direction() -> Schema {
    one_of_values(["members", "memberships"])
}

/// A space's callback receivers, as the seed file's keys.
fn receivers() -> Schema {
    object()
        .field("space", space_name())
        .field("receivers", array(object().into()))
        .into()
}

/// A route of one space (`{dialect}/{key}` in its path).
fn in_space(op: Operation) -> Operation {
    op.path("dialect").path("key")
}

/// A route of one entity of a space, named by `kind` and `key` in the query.
fn named_entity(op: Operation) -> Operation {
    in_space(op)
        .query("kind", string(), true)
        .query("key", string(), true)
}

fn paged(op: Operation) -> Operation {
    op.query("page", string(), false)
        .query("limit", integer(), false)
}

fn feed_query(op: Operation) -> Operation {
    op.query("space", space_name(), false)
        .query("after", integer(), false)
        .query("limit", integer(), false)
}

fn own_routes() -> OpenApi {
    use HttpMethod::{Delete, Get, Post, Put};
    let status = |value: &str| object().field("status", one_of_values([value])).into();
    let names = || array(string());
    let cleared = || object().field("cleared", one_of_values([true])).into();
    let clock = || {
        object()
            .field("now", integer())
            .field("offset_seconds", integer())
            .into()
    };
    let ops = [
        operation(Get, "/healthz", "the server accepts requests").answer("200", "up", status("ok")),
        operation(Get, "/readyz", "the database answers too")
            .answer("200", "ready", status("ready"))
            .answer(
                "503",
                "the database does not answer",
                object()
                    .field("status", one_of_values(["unavailable"]))
                    .field("error", string())
                    .into(),
            ),
        operation(Get, "/metrics", "Prometheus metrics").answer_as(
            "200",
            "the metrics",
            "text/plain",
        ),
        operation(
            Get,
            "/_roster/console",
            "the web console's page (no token needed)",
        )
        .answer_as("200", "the page", "text/html"),
        operation(
            Get,
            "/_roster/console/console.js",
            "the web console's script",
        )
        .answer_as("200", "the script", "text/javascript"),
        operation(
            Get,
            "/_roster/console/console.css",
            "the web console's style",
        )
        .answer_as("200", "the stylesheet", "text/css"),
        operation(
            Get,
            "/_roster/openapi.json",
            "this document (no token needed)",
        )
        .answer(
            "200",
            "the OpenAPI 3.1 document",
            object().field("openapi", string()).into(),
        ),
        own(Get, "/_roster/clock", "roster's clock").answer("200", "the clock", clock()),
        own(Post, "/_roster/clock", "move roster's clock")
            .body(
                JSON,
                object().field("offset_seconds", integer()).into(),
                true,
            )
            .answer("200", "the clock", clock()),
        own(Get, "/_roster/spaces", "every space").answer(
            "200",
            "the spaces",
            object()
                .field(
                    "spaces",
                    array(
                        object()
                            .field("space", space_name())
                            .field("dialect", string())
                            .field("key", string())
                            .field("limits", object().into())
                            .into(),
                    ),
                )
                .into(),
        ),
        in_space(own(Get, "/_roster/spaces/{dialect}/{key}", "one space")).answer(
            "200",
            "the space and its counts",
            object()
                .field("space", space_name())
                .field("dialect", string())
                .field("key", string())
                .field("limits", object().into())
                .field(
                    "counts",
                    object()
                        .field("kinds", object().values(integer()).into())
                        .field("edges", integer())
                        .into(),
                )
                .field("last_change", integer())
                .field("oldest_change", nullable(integer()))
                .into(),
        ),
        paged(in_space(own(
            Get,
            "/_roster/spaces/{dialect}/{key}/entities",
            "search a space's entities",
        )))
        .query("kind", string(), false)
        .query("q", string(), false)
        .answer(
            "200",
            "a page of entities",
            object()
                .field("entities", array(entity()))
                .field("next_page", nullable(string()))
                .into(),
        ),
        named_entity(own(
            Get,
            "/_roster/spaces/{dialect}/{key}/entity",
            "one entity, its aliases and relations",
        ))
        .answer(
            "200",
            "the entity",
            object()
                .field("entity", entity())
                .field(
                    "aliases",
                    array(object().strings(&["namespace", "alias"]).into()),
                )
                .field(
                    "relations",
                    array(
                        object()
                            .field("relation", string())
                            .field("direction", direction())
                            .field("count", integer())
                            .into(),
                    ),
                )
                .into(),
        ),
        paged(named_entity(own(
            Get,
            "/_roster/spaces/{dialect}/{key}/edges",
            "an entity's members or memberships",
        )))
        .query("relation", string(), true)
        .query("direction", direction(), true)
        .answer(
            "200",
            "a page of edges",
            object()
                .field(
                    "edges",
                    array(
                        object()
                            .field("entity", entity())
                            .field("created_at", integer())
                            .into(),
                    ),
                )
                .field("next_page", nullable(string()))
                .into(),
        ),
        named_entity(own(
            Get,
            "/_roster/spaces/{dialect}/{key}/graph",
            "an entity's neighbourhood",
        ))
        .query("hops", one_of_values([1, 2]), false)
        .answer(
            "200",
            "the neighbourhood",
            object()
                .field(
                    "nodes",
                    array(
                        object()
                            .strings(&["kind", "key"])
                            .field("attrs", any())
                            .field("hop", integer())
                            .into(),
                    ),
                )
                .field(
                    "edges",
                    array(
                        object()
                            .field("from", integer())
                            .field("to", integer())
                            .field("relation", string())
                            .into(),
                    ),
                )
                .field("truncated", boolean())
                .into(),
        ),
        in_space(own(
            Delete,
            "/_roster/spaces/{dialect}/{key}",
            "empty a space",
        ))
        .answer("200", "emptied", object().field("emptied", names()).into()),
        own(
            Get,
            "/_roster/callbacks",
            "every space's callback receivers",
        )
        .answer(
            "200",
            "the receivers, as the seed file's keys",
            object()
                .field(
                    "receivers",
                    array(
                        object()
                            .field("space", space_name())
                            .field("receiver", object().into())
                            .into(),
                    ),
                )
                .into(),
        ),
        in_space(own(
            Get,
            "/_roster/callbacks/{dialect}/{key}",
            "a space's receivers",
        ))
        .answer("200", "the receivers", receivers()),
        in_space(own(
            Put,
            "/_roster/callbacks/{dialect}/{key}",
            "set a receiver (after the vendor's check of a new URL)",
        ))
        .body(JSON, object().into(), true)
        .answer("200", "the receivers", receivers()),
        in_space(own(
            Delete,
            "/_roster/callbacks/{dialect}/{key}",
            "remove a receiver",
        ))
        .query("app_id", string(), false)
        .answer("200", "the receivers", receivers()),
        own(Post, "/_roster/reset", "back to the seed's state")
            .body(JSON, object().optional("space", space_name()).into(), false)
            .answer("200", "reset", object().field("reset", names()).into()),
        own(Get, "/_roster/snapshot", "export a snapshot file")
            .query("space", array(space_name()), false)
            .answer_as(
                "200",
                "the snapshot file (JSON lines)",
                "application/x-ndjson",
            ),
        own(Post, "/_roster/snapshot", "import a snapshot file")
            .body("application/x-ndjson", string(), true)
            .answer("200", "loaded", object().field("loaded", names()).into()),
        feed_query(own(Get, "/_roster/changes", "a space's change feed"))
            .answer(
                "200",
                "a page of changes",
                object()
                    .field("changes", array(change()))
                    .field("next", integer())
                    .into(),
            )
            .answer(
                "410",
                "changes after `after` were removed past the retention horizon",
                object()
                    .field("error", string())
                    .field("oldest", integer())
                    .into(),
            ),
        own(
            Post,
            "/_roster/housekeeping",
            "sweep the histories past the retention horizon now",
        )
        .answer(
            "200",
            "what the sweep removed",
            object()
                .field(
                    "swept",
                    object()
                        .field("changes", integer())
                        .field("attempts", integer())
                        .field("pages", integer())
                        .into(),
                )
                .into(),
        ),
        feed_query(own(Get, "/_roster/deliveries", "callback attempts")).answer(
            "200",
            "a page of attempts",
            object()
                .field("deliveries", array(delivery()))
                .field("next", integer())
                .into(),
        ),
        own(
            Post,
            "/_roster/deliveries/{id}/redeliver",
            "send a callback attempt again",
        )
        .path_of("id", integer())
        .answer(
            "200",
            "the new attempt",
            object().field("delivery", delivery()).into(),
        ),
        own(Get, "/_roster/requests", "the request journal")
            .query("dialect", string(), false)
            .query("space", space_name(), false)
            .query("path", string(), false)
            .query("code", string(), false)
            .query("since_ms", integer(), false)
            .query("until_ms", integer(), false)
            .query("after", integer(), false)
            .query("before", integer(), false)
            .query("limit", integer(), false)
            .answer(
                "200",
                "a page of requests, newest first",
                object()
                    .field("requests", array(journal_entry()))
                    .field("next", nullable(integer()))
                    .into(),
            ),
        own(Delete, "/_roster/requests", "empty the journal").answer("200", "emptied", cleared()),
        own(Get, "/_roster/faults", "the fault rules").answer(
            "200",
            "the rules",
            object().field("faults", array(rule())).into(),
        ),
        own(Post, "/_roster/faults", "add fault rules (all or none)")
            .body(
                JSON,
                any_of([rule_spec().into(), array(rule_spec().into())]),
                true,
            )
            .answer(
                "201",
                "the rules added",
                object().field("faults", array(rule())).into(),
            ),
        own(Delete, "/_roster/faults", "remove every fault rule").answer(
            "200",
            "removed",
            cleared(),
        ),
        own(Delete, "/_roster/faults/{id}", "remove one fault rule")
            .path_of("id", integer())
            .answer("200", "removed", object().field("removed", string()).into()),
    ];
    document("roster", &[ADMIN], ops)
}
