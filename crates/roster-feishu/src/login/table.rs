//! The token endpoints' tables (tenant and app tokens, user tokens by login v1, v2 and v3):
//! each route's OpenAPI operation and handler.

use super::v1::{self, Grant};
use crate::openapi::{code_error, error, json, success, Table, PREFIX, TOKEN};
use crate::{auth, login};
use roster_http::openapi::{
    any_of, integer, integer_from, object, one_of_values, operation, string, HttpMethod, Object,
    Operation,
};

/// Tokens: the app's and tenant's, and the user's after a login (v1, v2 and v3 of OAuth).
pub fn tokens() -> Table {
    use HttpMethod::Post;
    let credentials = || {
        object()
            .field("app_id", string())
            .field("app_secret", string())
    };
    let token = |path: &str, summary: &str, fields: &[&str]| {
        let issued = object()
            .strings(fields)
            .field("code", one_of_values([0]))
            .field("msg", string())
            .field("expire", integer());
        json(
            operation(Post, path, summary).answer(
                "200",
                "a token, or an error",
                any_of([issued.into(), code_error()]),
            ),
            credentials(),
        )
    };
    let v1 = |path: &str, summary: &str, body: Object| {
        json(
            operation(Post, path, summary)
                .secured(TOKEN)
                .answer(
                    "200",
                    "the user's tokens, or an error",
                    any_of([success(object().into()), code_error()]),
                )
                .answer("default", "refused", error()),
            body,
        )
    };
    let code_grant = || {
        object()
            .field("grant_type", string())
            .field("code", string())
    };
    let refresh_grant = || {
        object()
            .field("grant_type", string())
            .field("refresh_token", string())
    };
    let grant = |grant: &'static Grant| {
        move |state, credentials, body| v1::token(grant, state, credentials, body)
    };
    Table::new(PREFIX)
        .at(
            token(
                "/auth/v3/tenant_access_token/internal",
                "a tenant access token",
                &["tenant_access_token"],
            ),
            auth::tenant_access_token,
        )
        .at(
            token(
                "/auth/v3/app_access_token/internal",
                "an app access token",
                &["app_access_token", "tenant_access_token"],
            ),
            auth::app_access_token,
        )
        .at(
            v1(
                "/authen/v1/oidc/access_token",
                "a user access token for a login code (OIDC)",
                code_grant(),
            ),
            grant(&v1::OIDC_CODE),
        )
        .at(
            v1(
                "/authen/v1/oidc/refresh_access_token",
                "refresh a user access token (OIDC)",
                refresh_grant(),
            ),
            grant(&v1::OIDC_REFRESH),
        )
        .at(
            v1(
                "/authen/v1/access_token",
                "a user access token for a login code (legacy)",
                code_grant(),
            ),
            grant(&v1::LEGACY_CODE),
        )
        .at(
            v1(
                "/authen/v1/refresh_access_token",
                "refresh a user access token (legacy)",
                refresh_grant(),
            ),
            grant(&v1::LEGACY_REFRESH),
        )
        .at(
            oauth_token("/authen/v2/oauth/token", "OAuth 2 token endpoint (v2)"),
            login::oauth_token,
        )
}

/// OAuth v3, at the origin root as on `accounts.feishu.cn`.
pub fn oauth() -> Table {
    Table::new("").at(
        oauth_token("/oauth/v3/token", "OAuth 2 token endpoint (v3)"),
        login::oauth_token,
    )
}

/// An OAuth 2 token endpoint (RFC 6749).
fn oauth_token(path: &str, summary: &str) -> Operation {
    let issued = object()
        .field("code", one_of_values([0]))
        .field("access_token", string())
        .field("expires_in", integer())
        .field("refresh_token", string())
        .field("refresh_token_expires_in", integer())
        .field("token_type", string())
        .field("scope", string());
    let refused = object()
        .field("code", integer_from(1))
        .field("error", string())
        .field("error_description", string());
    json(
        operation(HttpMethod::Post, path, summary)
            .answer("200", "the user's tokens", issued.into())
            .answer("default", "refused (RFC 6749)", refused.into()),
        object()
            .field("grant_type", string())
            .optional("client_id", string())
            .optional("client_secret", string())
            .optional("code", string())
            .optional("redirect_uri", string())
            .optional("code_verifier", string())
            .optional("refresh_token", string())
            .optional("scope", string()),
    )
}
