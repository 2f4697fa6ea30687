//! WeCom's `/cgi-bin/` and do1's `/qwcgi/` routes in roster's OpenAPI document. Both answer
//! HTTP 200 whatever happens: WeCom `{errcode, errmsg, ...}`, do1 `{code, desc, data}` with
//! `code` a string.

use roster_http::openapi::{
    any_of, array, document, integer, object, one_of_values, operation, string, string_matching,
    string_of_media, HttpMethod, Object, OpenApi, Operation, Schema, JSON,
};

/// WeCom's refusal: exactly `errcode` and `errmsg`.
fn native_fail() -> Schema {
    object()
        .field("errcode", integer())
        .field("errmsg", string())
        .closed()
        .into()
}

/// A `/cgi-bin/` API: `access_token` in the query, `fields` next to `errcode: 0` on success.
fn native(method: HttpMethod, name: &str, summary: &str, fields: Object) -> Operation {
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

fn native_json(name: &str, summary: &str, body: Object, fields: Object) -> Operation {
    native(HttpMethod::Post, name, summary, fields).body(JSON, body.into(), true)
}

fn invalid() -> Object {
    object()
        .optional("invalidlist", string())
        .optional("invalidparty", array(integer()))
}

fn tag_members() -> Object {
    object()
        .field("tagid", integer())
        .optional("userlist", array(string()))
        .optional("partylist", array(integer()))
}

fn native_routes() -> Vec<Operation> {
    use HttpMethod::Get;
    let tag_get = object()
        .field("tagname", string())
        .field(
            "userlist",
            array(
                object()
                    .field("userid", string())
                    .field("name", string())
                    .into(),
            ),
        )
        .field("partylist", array(integer()));
    let department = object()
        .field("id", integer())
        .field("name", string())
        .optional("name_en", string())
        .field("department_leader", array(string()))
        .field("parentid", integer())
        .field("order", integer());
    let user = object()
        .field("userid", string())
        .field("name", string())
        .field("department", array(integer()))
        .field("order", array(integer()))
        .field("position", string())
        .field("mobile", string())
        .field("gender", string())
        .field("email", string())
        .field("is_leader_in_dept", array(integer()))
        .field("direct_leader", array(string()))
        .field("status", integer())
        .field("main_department", integer());
    let token = operation(Get, "/cgi-bin/gettoken", "an access token")
        .query("corpid", string(), true)
        .query("corpsecret", string(), true)
        .answer(
            "200",
            "the token, or WeCom's error",
            any_of([
                object()
                    .field("errcode", one_of_values([0]))
                    .field("errmsg", string())
                    .field("access_token", string())
                    .field("expires_in", integer())
                    .into(),
                native_fail(),
            ]),
        );
    vec![
        token,
        native_json(
            "tag/create",
            "create a tag",
            object()
                .field("tagname", string())
                .optional("tagid", integer()),
            object().field("tagid", integer()),
        ),
        native_json(
            "tag/update",
            "rename a tag",
            object()
                .field("tagid", integer())
                .field("tagname", string()),
            object(),
        ),
        native(Get, "tag/delete", "delete a tag", object()).query("tagid", integer(), true),
        native(Get, "tag/get", "a tag's members", tag_get).query("tagid", integer(), true),
        native_json(
            "tag/addtagusers",
            "add tag members",
            tag_members(),
            invalid(),
        ),
        native_json(
            "tag/deltagusers",
            "remove tag members",
            tag_members(),
            invalid(),
        ),
        native(
            Get,
            "tag/list",
            "every tag",
            object().field(
                "taglist",
                array(
                    object()
                        .field("tagid", integer())
                        .field("tagname", string())
                        .into(),
                ),
            ),
        ),
        native_json(
            "user/create",
            "create a member",
            object()
                .field("userid", string())
                .field("name", string())
                .optional("department", array(integer()))
                .optional("position", string())
                .optional("mobile", string())
                .optional("email", string())
                .optional("gender", string()),
            object(),
        ),
        native(Get, "user/get", "a member", user).query("userid", string(), true),
        native_json(
            "department/create",
            "create a department",
            object()
                .field("name", string())
                .field("parentid", integer())
                .optional("name_en", string())
                .optional("order", integer())
                .optional("id", integer()),
            object().field("id", integer()),
        ),
        native(
            Get,
            "department/list",
            "a department and everything under it",
            object().field("department", array(department.into())),
        )
        .query("id", integer(), false),
    ]
}

/// do1's answer: `code` "0" and `data` on success, another code and `desc` otherwise.
fn qwif_answer(data: Schema) -> Schema {
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
fn qwif(name: &str, summary: &str, part: Option<&str>, data: Object) -> Operation {
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

/// The form part most writes carry their JSON in.
const DATA: Option<&str> = Some("data");

/// A form part: JSON text.
fn json_text() -> Schema {
    string_of_media(JSON)
}

fn tag_info() -> Schema {
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

fn dept_info() -> Schema {
    object()
        .field("id", string())
        .field("departmentName", string())
        .field("wxId", string())
        .field("wxParentid", string())
        .field("showOrder", integer())
        .into()
}

fn qwif_routes() -> Vec<Operation> {
    let invalid = || {
        object()
            .optional("invalidUserIdList", array(string()))
            .optional("invalidDeptIdList", array(string()))
    };
    let token = operation(
        HttpMethod::Get,
        "/qwcgi/portal/api/qwsecurity!getToken.action",
        "a do1 token",
    )
    .query("developerId", string(), true)
    .query("developerKey", string(), true)
    .answer(
        "200",
        "the token, or do1's error",
        qwif_answer(
            object()
                .field("token", string())
                .field("expiresIn", integer())
                .into(),
        ),
    );
    vec![
        token,
        qwif("tag/addTagRef.do", "add tag members", DATA, invalid()),
        qwif("tag/delTagRef.do", "remove tag members", DATA, invalid()),
        qwif(
            "tag/searchTagRef.do",
            "a tag's members",
            None,
            object()
                .field("wxUserIdList", array(string()))
                .field("wxDeptIdList", array(string())),
        )
        .query("wxTagId", string(), false)
        .query("id", string(), false),
        qwif(
            "tag/addTag.do",
            "create a tag",
            DATA,
            object().field("tagInfo", tag_info()),
        ),
        qwif("tag/updateTag.do", "change a tag", DATA, object()),
        qwif("tag/delTag.do", "delete a tag", DATA, object()),
        qwif(
            "tag/searchTag.do",
            "every tag",
            None,
            object().field("tagList", array(tag_info())),
        ),
        qwif(
            "deptAPI/getAllDept.do",
            "every department, a page at a time",
            DATA,
            object()
                .field("currPage", integer())
                .field("maxPage", integer())
                .field("pageSize", integer())
                .field("totalRows", integer())
                .field("pageData", array(dept_info())),
        ),
        qwif(
            "deptAPI/getDeptByDeptId.do",
            "departments by id",
            None,
            object().field("departmentList", array(dept_info())),
        )
        .query("depaId", string(), true),
        qwif(
            "deptAPI/addDepart.do",
            "create a department",
            Some("deptInfo"),
            object().field("depart", dept_info()),
        ),
        qwif(
            "userAPI/getUserByDepartId.do",
            "a department's members",
            None,
            object().field(
                "list",
                array(
                    object()
                        .field("userId", string())
                        .field("name", string())
                        .field("wxUserId", string())
                        .into(),
                ),
            ),
        )
        .query("departId", string(), true),
    ]
}

/// Every WeCom and do1 route roster serves.
pub fn openapi() -> OpenApi {
    let native = document("wecom", &[], native_routes());
    let mut doc = document("qwif", &[], qwif_routes());
    doc.merge(native);
    doc
}
