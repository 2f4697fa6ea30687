//! The words WeCom's `/cgi-bin/` and do1's `/qwcgi/` tables (native and qwif) describe their
//! routes in. Both answer HTTP 200 whatever happens: WeCom `{errcode, errmsg, ...}`, do1
//! `{code, desc, data}` with `code` a string.

use roster_http::openapi::{
    any_of, array, integer, object, one_of_values, operation, string, string_matching,
    string_of_media, HttpMethod, Object, Operation, Schema, JSON,
};

/// WeCom's refusal: exactly `errcode` and `errmsg`.
pub(crate) fn native_fail() -> Schema {
    object()
        .field("errcode", integer())
        .field("errmsg", string())
        .closed()
        .into()
}

/// A `/cgi-bin/` API: `access_token` in the query, `fields` next to `errcode: 0` on success.
pub(crate) fn native(method: HttpMethod, name: &str, summary: &str, fields: Object) -> Operation {
    let ok = fields
        .field("errcode", one_of_values([0]))
        .field("errmsg", string());
    operation(method, &format!("/cgi-bin/{name}"), summary)
        .query("access_token", string(), true)
        .answer(
            "200",
            "the answer, or WeCom's error",
            any_of([ok.into(), native_fail()]),
        )
}

pub(crate) fn native_json(name: &str, summary: &str, body: Object, fields: Object) -> Operation {
    native(HttpMethod::Post, name, summary, fields).body(JSON, body.into(), true)
}

pub(crate) fn invalid() -> Object {
    object()
        .optional("invalidlist", string())
        .optional("invalidparty", array(integer()))
}

pub(crate) fn tag_members() -> Object {
    object()
        .field("tagid", integer())
        .optional("userlist", array(string()))
        .optional("partylist", array(integer()))
}

/// do1's answer: `code` "0" and `data` on success, another code and `desc` otherwise.
pub(crate) fn qwif_answer(data: Schema) -> Schema {
    let ok = object()
        .field("code", one_of_values(["0"]))
        .field("desc", string())
        .field("data", data);
    let fail = object()
        .field("code", string_matching("^-?[1-9][0-9]*$"))
        .field("desc", string())
        .field("data", object().into());
    any_of([ok.into(), fail.into()])
}

/// A `/qwcgi/api/` call: `token` and `corpId` in the query; its JSON text in form part `part`.
pub(crate) fn qwif(name: &str, summary: &str, part: Option<&str>, data: Object) -> Operation {
    let op = operation(HttpMethod::Post, &format!("/qwcgi/api/{name}"), summary)
        .query("token", string(), true)
        .query("corpId", string(), true)
        .answer(
            "200",
            "the answer, or do1's error",
            qwif_answer(data.into()),
        );
    match part {
        None => op,
        Some(part) => {
            let form = object().field(part, json_text());
            op.body("multipart/form-data", form.into(), true)
        }
    }
}

/// A form part: JSON text.
fn json_text() -> Schema {
    string_of_media(JSON)
}

pub(crate) fn tag_info() -> Schema {
    object()
        .strings(&[
            "id",
            "wxTagId",
            "tagName",
            "showNum",
            "rang",
            "status",
            "userCount",
            "deptCount",
        ])
        .into()
}

pub(crate) fn dept_info() -> Schema {
    object()
        .field("id", string())
        .field("departmentName", string())
        .field("wxId", string())
        .field("wxParentid", string())
        .field("showOrder", integer())
        .into()
}
