//! The words each dialect describes its routes in, for roster's OpenAPI 3.1 document
//! (`GET /_roster/openapi.json`): schemas, operations and a dialect's [`OpenApi`], in utoipa's
//! model. Every dialect builds its part next to its router; the binary merges them.

use serde_json::Value;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, RefOr, Required,
    ResponseBuilder,
};

pub use utoipa::openapi::path::HttpMethod;
pub use utoipa::openapi::{OpenApi, Schema};

pub const JSON: &str = "application/json";

fn typed(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(kind)
}

pub fn string() -> Schema {
    typed(Type::String).into()
}

/// A 64-bit integer: the widest any vendor or roster takes (a fuzzer probes its ends).
pub fn integer() -> Schema {
    typed(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .into()
}

pub fn number() -> Schema {
    typed(Type::Number).into()
}

pub fn boolean() -> Schema {
    typed(Type::Boolean).into()
}

/// Any JSON value.
pub fn any() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

/// Exactly one of `values` (one value: a constant).
pub fn one_of_values<V: Into<Value>>(values: impl IntoIterator<Item = V>) -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .enum_values(Some(values))
        .into()
}

/// An integer of at least `min`.
pub fn integer_from(min: i64) -> Schema {
    typed(Type::Integer).minimum(Some(min)).into()
}

/// A string matching `pattern`.
pub fn string_matching(pattern: &str) -> Schema {
    typed(Type::String).pattern(Some(pattern)).into()
}

/// A string holding a document of `media_type` (JSON text in a form part).
pub fn string_of_media(media_type: &str) -> Schema {
    typed(Type::String).content_media_type(media_type).into()
}

/// `item` or `null`.
pub fn nullable(item: Schema) -> Schema {
    AnyOfBuilder::new()
        .item(item)
        .item(typed(Type::Null))
        .into()
}

pub fn array(item: Schema) -> Schema {
    ArrayBuilder::new().items(RefOr::T(item)).into()
}

/// A value matching at least one of `schemas` (a vendor's success or its error, say).
pub fn any_of(schemas: impl IntoIterator<Item = Schema>) -> Schema {
    schemas
        .into_iter()
        .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
        .into()
}

/// A JSON object, built field by field.
pub struct Object(ObjectBuilder);

pub fn object() -> Object {
    Object(typed(Type::Object))
}

impl Object {
    /// A field always present.
    pub fn field(self, name: &str, schema: Schema) -> Self {
        Object(self.0.property(name, schema).required(name))
    }

    /// Fields always present, each a string.
    pub fn strings(self, names: &[&str]) -> Self {
        names
            .iter()
            .fold(self, |object, name| object.field(name, string()))
    }

    /// A field that may be absent.
    pub fn optional(self, name: &str, schema: Schema) -> Self {
        Object(self.0.property(name, schema))
    }

    /// No fields besides those named.
    pub fn closed(self) -> Self {
        Object(
            self.0
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
    }

    /// Values of any key (a map).
    pub fn values(self, schema: Schema) -> Self {
        Object(self.0.additional_properties(Some(schema)))
    }
}

impl From<Object> for Schema {
    fn from(object: Object) -> Schema {
        object.0.into()
    }
}

/// One operation: a method on a path, its parameters, body and answers.
pub struct Operation {
    pub(crate) method: HttpMethod,
    pub(crate) path: String,
    operation: OperationBuilder,
}

pub fn operation(method: HttpMethod, path: &str, summary: &str) -> Operation {
    Operation {
        method,
        path: path.to_string(),
        operation: OperationBuilder::new().summary(Some(summary)),
    }
}

impl Operation {
    fn parameter(self, place: ParameterIn, name: &str, schema: Schema, required: bool) -> Self {
        let required = if required {
            Required::True
        } else {
            Required::False
        };
        let parameter = ParameterBuilder::new()
            .name(name)
            .parameter_in(place)
            .required(required)
            .schema(Some(schema));
        Operation {
            operation: self.operation.parameter(parameter),
            ..self
        }
    }

    /// A `{name}` segment of the path, any text.
    pub fn path(self, name: &str) -> Self {
        self.path_of(name, string())
    }

    /// A `{name}` segment of the path that is `schema` (an integer id).
    pub fn path_of(self, name: &str, schema: Schema) -> Self {
        self.parameter(ParameterIn::Path, name, schema, true)
    }

    pub fn query(self, name: &str, schema: Schema, required: bool) -> Self {
        self.parameter(ParameterIn::Query, name, schema, required)
    }

    pub fn header(self, name: &str, schema: Schema, required: bool) -> Self {
        self.parameter(ParameterIn::Header, name, schema, required)
    }

    /// A request body of `media_type`.
    pub fn body(self, media_type: &str, schema: Schema, required: bool) -> Self {
        let required = if required {
            Required::True
        } else {
            Required::False
        };
        let body = RequestBodyBuilder::new().required(Some(required)).content(
            media_type,
            ContentBuilder::new().schema(Some(schema)).build(),
        );
        Operation {
            operation: self.operation.request_body(Some(body.build())),
            ..self
        }
    }

    /// A JSON answer with `status` (a code, or `default` for every other status).
    pub fn answer(self, status: &str, description: &str, schema: Schema) -> Self {
        let response = ResponseBuilder::new()
            .description(description)
            .content(JSON, ContentBuilder::new().schema(Some(schema)).build());
        Operation {
            operation: self.operation.response(status, response),
            ..self
        }
    }

    /// An answer that is not JSON (a Prometheus text, a snapshot file).
    pub fn answer_as(self, status: &str, description: &str, media_type: &str) -> Self {
        let response = ResponseBuilder::new()
            .description(description)
            .content(media_type, ContentBuilder::new().build());
        Operation {
            operation: self.operation.response(status, response),
            ..self
        }
    }

    /// Needs the credentials of security scheme `scheme`.
    pub fn secured(self, scheme: &str) -> Self {
        let requirement = SecurityRequirement::new(scheme, Vec::<String>::new());
        Operation {
            operation: self.operation.security(requirement),
            ..self
        }
    }
}

/// A document of `operations`, tagged `tag` (a dialect's name), declaring the HTTP bearer
/// security schemes named in `bearer`, for merging into roster's.
pub fn document(
    tag: &str,
    bearer: &[&str],
    operations: impl IntoIterator<Item = Operation>,
) -> OpenApi {
    let mut paths = PathsBuilder::new().build();
    for op in operations {
        paths.add_path_operation(&op.path, vec![op.method], op.operation.tag(tag).build());
    }
    let mut components = ComponentsBuilder::new();
    for name in bearer {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components = components.security_scheme(*name, SecurityScheme::Http(scheme));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("roster")
                .version(env!("CARGO_PKG_VERSION")),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// One document of `parts`.
pub fn merged(parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut parts = parts.into_iter();
    let mut doc = parts.next().unwrap_or_else(|| document("roster", &[], []));
    for part in parts {
        doc.merge(part);
    }
    doc
}

/// The security scheme of roster's own `/_roster/` routes: `Authorization: Bearer <token>`.
pub const ADMIN: &str = "admin_token";

/// roster's own envelope of a refusal, `{"error": message}`.
pub fn own_error() -> Schema {
    object().field("error", string()).closed().into()
}

/// One of roster's own routes: the admin token, and refusals in roster's envelope.
pub fn own(method: HttpMethod, path: &str, summary: &str) -> Operation {
    operation(method, path, summary).secured(ADMIN).answer(
        "default",
        "refused (roster's envelope)",
        own_error(),
    )
}
