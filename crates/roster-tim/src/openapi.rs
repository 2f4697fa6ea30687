//! The words TIM's command tables describe their commands in for roster's OpenAPI document:
//! one path per command under `/v4/<service>/<command>`, the gateway's query, and every answer
//! an HTTP 200 with `ActionStatus`, `ErrorCode`, `ErrorInfo` and the command's fields on
//! success.

use roster_http::openapi::{
    any_of, array, integer, object, one_of_values, operation, string, HttpMethod, Object,
    Operation, Schema, JSON,
};

/// `ActionStatus: "FAIL"` with the code and its explanation.
fn fail() -> Schema {
    object()
        .field("ActionStatus", one_of_values(["FAIL"]))
        .field("ErrorCode", integer())
        .field("ErrorInfo", string())
        .optional("ErrorDisplay", string())
        .into()
}

/// `ActionStatus: "OK"`, `ErrorCode: 0` and the command's `fields`.
fn ok(fields: Object) -> Schema {
    fields
        .field("ActionStatus", one_of_values(["OK"]))
        .field("ErrorCode", one_of_values([0]))
        .field("ErrorInfo", string())
        .optional("ErrorDisplay", string())
        .into()
}

/// The gateway's query: the app, the admin, its UserSig, a random number and `json`.
fn gateway(op: Operation) -> Operation {
    op.query("sdkappid", integer(), true)
        .query("identifier", string(), true)
        .query("usersig", string(), true)
        .query("random", integer(), true)
        .query("contenttype", one_of_values(["json"]), true)
}

/// The operation of the command at `path` (`/v4/<service>/<command>`): the gateway's query,
/// `body` as its request, and `payload`'s fields on success.
pub(crate) fn command(path: &str, body: Object, payload: Object) -> Operation {
    let summary = path.strip_prefix("/v4/").unwrap_or(path);
    gateway(operation(HttpMethod::Post, path, summary))
        .body(JSON, body.into(), true)
        .answer(
            "200",
            "the command's result, or the vendor's error",
            any_of([ok(payload), fail()]),
        )
}

/// `ResultItem`: an array of `item`.
pub(crate) fn results(item: Schema) -> Object {
    object().field("ResultItem", array(item))
}
