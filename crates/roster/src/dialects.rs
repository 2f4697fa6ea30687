//! The dialects roster serves. Every list of dialects in roster (served routes, seed tables,
//! spaces, wires of the journal and fault rules, the OpenAPI document) is this one.

use roster_http::Dialect;

pub const DIALECTS: [&dyn Dialect; 3] = [
    &roster_feishu::FeishuDialect,
    &roster_tim::TimDialect,
    &roster_wecom::WecomDialect,
];

/// The dialects of spaces, by name (as the seed file's tables name them).
pub fn names() -> impl Iterator<Item = &'static str> {
    DIALECTS.iter().map(|dialect| dialect.name())
}

/// Every wire's name (as the request journal and fault rules name requests).
pub fn wire_names() -> impl Iterator<Item = &'static str> {
    DIALECTS
        .iter()
        .flat_map(|dialect| dialect.wire_names().iter().copied())
}
