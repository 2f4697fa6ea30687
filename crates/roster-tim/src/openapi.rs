//! The TIM REST commands in roster's OpenAPI document: one path per command under
//! `/v4/<service>/<command>`, the gateway's query, and every answer an HTTP 200 with
//! `ActionStatus`, `ErrorCode`, `ErrorInfo` and the command's fields on success.

use roster_http::openapi::{
    any_of, array, document, integer, object, one_of_values, operation, string, HttpMethod, Object,
    OpenApi, Operation, Schema, JSON,
};

use crate::gateway::Command;

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

/// Per-target results: `To_Account`, `ResultCode`, `ResultInfo` and `detail`'s fields.
fn per_target(detail: Object) -> Schema {
    detail
        .field("To_Account", string())
        .field("ResultCode", integer())
        .field("ResultInfo", string())
        .into()
}

fn accounts(list: &str) -> Object {
    object().field(list, array(object().field("UserID", string()).into()))
}

fn from_to(to: Schema) -> Object {
    object()
        .field("From_Account", string())
        .field("To_Account", to)
}

/// The command's request body and its fields on success.
fn shape(command: Command) -> (Object, Object) {
    let results = |item: Schema| object().field("ResultItem", array(item));
    let user_result = |extra: Object| {
        extra
            .field("UserID", string())
            .field("ResultCode", integer())
            .field("ResultInfo", string())
            .into()
    };
    match command {
        Command::AccountImport => (
            object()
                .optional("UserID", string())
                .optional("Identifier", string())
                .optional("Nick", string())
                .optional("FaceUrl", string()),
            object(),
        ),
        Command::MultiaccountImport => (
            object().optional("Accounts", array(string())).optional(
                "AccountList",
                array(
                    object()
                        .field("UserID", string())
                        .optional("Nick", string())
                        .optional("FaceUrl", string())
                        .into(),
                ),
            ),
            object().field("FailAccounts", array(string())),
        ),
        Command::AccountDelete => (accounts("DeleteItem"), results(user_result(object()))),
        Command::AccountCheck => (
            accounts("CheckItem"),
            results(user_result(object().field(
                "AccountStatus",
                one_of_values(["Imported", "NotImported"]),
            ))),
        ),
        Command::FollowAdd => (
            object().field("From_Account", string()).field(
                "FollowItem",
                array(
                    object()
                        .field("To_Account", string())
                        .optional("AddSource", string())
                        .optional("AddWording", string())
                        .into(),
                ),
            ),
            results(per_target(object())),
        ),
        Command::FollowDelete => (from_to(array(string())), results(per_target(object()))),
        Command::FollowCheck => (
            from_to(array(string())),
            results(per_target(
                object().field("FollowType", one_of_values([0, 1, 2, 3])),
            )),
        ),
        Command::FollowGet => (
            object()
                .field("From_Account", string())
                .field("FollowType", one_of_values([1, 2, 3]))
                .optional("StartCursor", string())
                .optional("WantNum", integer()),
            object()
                .field(
                    "FollowItem",
                    array(
                        object()
                            .field("To_Account", string())
                            .field("FollowTime", integer())
                            .field("ProfileItem", array(object().into()))
                            .into(),
                    ),
                )
                .field("NextCursor", string()),
        ),
        Command::FollowGetInfo => (
            from_to(array(string())),
            object().field(
                "FollowInfo",
                array(per_target(
                    object()
                        .field("FollowerCount", integer())
                        .field("FollowingCount", integer())
                        .field("MutualFollowingCount", integer()),
                )),
            ),
        ),
    }
}

/// The gateway's query: the app, the admin, its UserSig, a random number and `json`.
fn gateway(op: Operation) -> Operation {
    op.query("sdkappid", integer(), true)
        .query("identifier", string(), true)
        .query("usersig", string(), true)
        .query("random", integer(), true)
        .query("contenttype", one_of_values(["json"]), true)
}

/// Every command roster serves.
pub fn openapi() -> OpenApi {
    let ops = Command::ALL.into_iter().map(|command| {
        let (body, payload) = shape(command);
        let path = format!("/v4/{}", command.path());
        gateway(operation(HttpMethod::Post, &path, command.path()))
            .body(JSON, body.into(), true)
            .answer(
                "200",
                "the command's result, or the vendor's error",
                any_of([ok(payload), fail()]),
            )
    });
    document("tim", &[], ops)
}
