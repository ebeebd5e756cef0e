//! The OpenAPI 3.0 document served at `GET /openapi.json`.
//!
//! It is built from the route table in [`crate::app`]: each route is registered together
//! with its [`Doc`], so the router and the document cannot disagree on which paths and
//! methods exist. Schemas of the wire types (account information, positions, orders, deals,
//! trade requests and responses, the error shape, …) are generated from the Rust types by
//! schemars, which follows their serde attributes; the few bodies the server reads field by
//! field declare their [`Field`]s next to the route.

use crate::extract::body;
use crate::limits::Cost;
use axum::http::Method;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Builds a type's schema (a `$ref` into `components/schemas` for named types).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// The API family an operation belongs to (its OpenAPI tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Provisioning,
    Client,
    HistoricalMarketData,
    Tokens,
    Sim,
    Operations,
}

impl Tag {
    const ALL: [Tag; 6] = [
        Tag::Provisioning,
        Tag::Client,
        Tag::HistoricalMarketData,
        Tag::Tokens,
        Tag::Sim,
        Tag::Operations,
    ];

    fn name(self) -> &'static str {
        match self {
            Tag::Provisioning => "provisioning",
            Tag::Client => "client",
            Tag::HistoricalMarketData => "historical-market-data",
            Tag::Tokens => "tokens",
            Tag::Sim => "sim",
            Tag::Operations => "operations",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Tag::Provisioning => {
                "MetaApi account management: trading accounts, deployment, demo-account generator"
            }
            Tag::Client => {
                "MetaApi client API of a deployed account: terminal state, trading, history, market data"
            }
            Tag::HistoricalMarketData => "Candles and ticks from the stored feed",
            Tag::Tokens => "Narrowing and revoking auth tokens",
            Tag::Sim => {
                "Control of the simulated broker (admin token): ticks, feed, virtual clock, balance"
            }
            Tag::Operations => "Health, metrics and this document",
        }
    }
}

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No token.
    Public,
    /// An API token, or an account token for the account named in the path.
    Token,
    /// An API token (JWT); account tokens are refused.
    ApiToken,
    /// An admin API token.
    Admin,
}

/// The JSON type of a query parameter or a body field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    /// An ISO-8601 time.
    Time,
    Integer,
    Number,
    Boolean,
    /// A list of strings (repeated query keys, or a JSON array).
    Strings,
    /// Any JSON object.
    Object,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
}

impl Kind {
    fn schema(self) -> Value {
        match self {
            Kind::String => json!({ "type": "string" }),
            Kind::Time => json!({ "type": "string", "format": "date-time" }),
            Kind::Integer => json!({ "type": "integer" }),
            Kind::Number => json!({ "type": "number" }),
            Kind::Boolean => json!({ "type": "boolean" }),
            Kind::Strings => json!({ "type": "array", "items": { "type": "string" } }),
            Kind::Object => json!({ "type": "object" }),
            Kind::OneOf(options) => json!({ "type": "string", "enum": options }),
        }
    }
}

/// A query parameter, or a field of a body read field by field.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub about: &'static str,
}

/// An optional field or query parameter.
pub const fn opt(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        about,
    }
}

/// A required field or query parameter.
pub const fn req(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        about,
    }
}

/// A request body.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// A wire type.
    Schema(SchemaFn),
    /// An object read field by field.
    Fields(&'static [Field]),
    /// An object read against its field table.
    Table(&'static [body::Field]),
}

/// A successful answer.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Json(u16, SchemaFn),
    /// JSON described inline (small ad-hoc answers).
    Inline(u16, fn() -> Value),
    /// No body.
    Empty(u16),
    /// Plain text (the metrics).
    Text,
}

/// What the document says about one route: built next to the route in [`crate::app`].
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    id: &'static str,
    tag: Tag,
    summary: &'static str,
    auth: Auth,
    query: &'static [Field],
    body: Option<Body>,
    reply: Reply,
    conflict: bool,
    cost: Option<Cost>,
}

impl Doc {
    /// An operation called with a token, answering 204 unless told otherwise.
    pub const fn new(id: &'static str, tag: Tag, summary: &'static str) -> Self {
        Self {
            id,
            tag,
            summary,
            auth: Auth::Token,
            query: &[],
            body: None,
            reply: Reply::Empty(204),
            conflict: false,
            cost: None,
        }
    }

    pub const fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    pub const fn query(mut self, query: &'static [Field]) -> Self {
        self.query = query;
        self
    }

    /// The body is the wire type `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(Body::Schema(schema_of::<T>));
        self
    }

    /// The body is an object with these fields.
    pub const fn fields(mut self, fields: &'static [Field]) -> Self {
        self.body = Some(Body::Fields(fields));
        self
    }

    /// The body is an object read against this field table.
    pub const fn table(mut self, fields: &'static [body::Field]) -> Self {
        self.body = Some(Body::Table(fields));
        self
    }

    /// Answers 200 with a `T`.
    /// What each request costs (charged by the rate limiter, shown as `x-cpu-credits`).
    pub const fn cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }

    pub fn costs(&self) -> Option<Cost> {
        self.cost
    }

    pub fn operation_id(&self) -> &'static str {
        self.id
    }

    pub fn reply<T: JsonSchema>(mut self) -> Self {
        self.reply = Reply::Json(200, schema_of::<T>);
        self
    }

    /// Answers `status` with a `T`.
    pub fn reply_status<T: JsonSchema>(mut self, status: u16) -> Self {
        self.reply = Reply::Json(status, schema_of::<T>);
        self
    }

    /// Answers `status` with JSON described by `schema`.
    pub const fn reply_inline(mut self, status: u16, schema: fn() -> Value) -> Self {
        self.reply = Reply::Inline(status, schema);
        self
    }

    /// Answers `status` with no body.
    pub const fn empty(mut self, status: u16) -> Self {
        self.reply = Reply::Empty(status);
        self
    }

    pub const fn text(mut self) -> Self {
        self.reply = Reply::Text;
        self
    }

    /// May answer 409 ConflictError.
    pub const fn conflict(mut self) -> Self {
        self.conflict = true;
        self
    }
}

/// One documented route and method.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: Method,
    /// The route template, `{name}` for path parameters (the same syntax in axum and OpenAPI).
    pub path: String,
    pub doc: Doc,
}

/// What a path parameter is, by its name in the route templates.
fn path_param(name: &str) -> (Value, &'static str) {
    match name {
        "id" => (json!({"type": "string"}), "Trading account id"),
        "position_id" => (json!({"type": "string"}), "Position id"),
        "order_id" => (json!({"type": "string"}), "Order id"),
        "start" => (
            json!({"type": "string", "format": "date-time"}),
            "Start of the time range (ISO-8601), inclusive",
        ),
        "end" => (
            json!({"type": "string", "format": "date-time"}),
            "End of the time range (ISO-8601), exclusive",
        ),
        "kind" => (
            json!({"type": "string", "enum": ["ticket", "position"]}),
            "Look records up by order ticket or by position id",
        ),
        "value" => (json!({"type": "string"}), "The ticket or position id"),
        "symbol" => (json!({"type": "string"}), "Symbol name, e.g. EURUSD"),
        "timeframe" => (
            json!({"type": "string", "enum": drawbridge_model::Timeframe::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()}),
            "Candle timeframe",
        ),
        "profile" => (
            json!({"type": "string"}),
            "Provisioning profile id (`default`)",
        ),
        "token_id" => (json!({"type": "string"}), "Id of the token to revoke"),
        _ => (json!({"type": "string"}), ""),
    }
}

/// The names inside `{…}` of a route template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn error_response(g: &mut SchemaGenerator, description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_of::<crate::error::ErrorBody>(g) } }
    })
}

fn operation(g: &mut SchemaGenerator, op: &Operation) -> Value {
    let doc = &op.doc;
    let mut parameters = Vec::new();
    let path_names = path_params(&op.path);
    for name in &path_names {
        let (schema, about) = path_param(name);
        parameters.push(json!({
            "name": name, "in": "path", "required": true, "schema": schema, "description": about
        }));
    }
    for q in doc.query {
        parameters.push(json!({
            "name": q.name, "in": "query", "required": q.required,
            "schema": q.kind.schema(), "description": q.about
        }));
    }
    let mut out = Map::new();
    out.insert("operationId".into(), json!(doc.id));
    out.insert("tags".into(), json!([doc.tag.name()]));
    out.insert("summary".into(), json!(doc.summary));
    if let Some(cost) = doc.cost {
        out.insert("x-cpu-credits".into(), json!(cost.describe()));
    }
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = doc.body {
        let schema = match body {
            Body::Schema(f) => f(g).to_value(),
            Body::Fields(fields) => object_schema(
                (fields.iter()).map(|f| (f.name, f.required, described(f.kind.schema(), f.about))),
            ),
            Body::Table(fields) => {
                object_schema(fields.iter().map(|f| (f.name, f.required, f.schema())))
            }
        };
        out.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
    }
    let mut responses = Map::new();
    match doc.reply {
        Reply::Json(status, f) => {
            let schema = f(g).to_value();
            responses.insert(
                status.to_string(),
                json!({ "description": "Success", "content": { "application/json": { "schema": schema } } }),
            );
        }
        Reply::Inline(status, f) => {
            responses.insert(
                status.to_string(),
                json!({ "description": "Success", "content": { "application/json": { "schema": f() } } }),
            );
        }
        Reply::Empty(status) => {
            responses.insert(status.to_string(), json!({ "description": "Success" }));
        }
        Reply::Text => {
            responses.insert(
                "200".into(),
                json!({ "description": "Success", "content": { "text/plain": { "schema": { "type": "string" } } } }),
            );
        }
    }
    if !path_names.is_empty() || !doc.query.is_empty() || doc.body.is_some() {
        responses.insert(
            "400".into(),
            error_response(g, "ValidationError: `details` lists every bad field"),
        );
    }
    if doc.auth != Auth::Public {
        responses.insert(
            "401".into(),
            error_response(g, "UnauthorizedError: missing, invalid or revoked token"),
        );
        responses.insert(
            "403".into(),
            error_response(g, "ForbiddenError: the token does not grant this"),
        );
        out.insert("security".into(), json!([{ "authToken": [] }]));
    } else {
        out.insert("security".into(), json!([]));
    }
    if !path_names.is_empty() {
        responses.insert(
            "404".into(),
            error_response(
                g,
                "NotFoundError: the account or record does not exist for this user",
            ),
        );
    }
    if doc.conflict {
        responses.insert("409".into(), error_response(g, "ConflictError"));
    }
    if doc.body.is_some() {
        responses.insert(
            "413".into(),
            error_response(g, "PayloadTooLargeError: the body is over the size limit"),
        );
    }
    responses.insert(
        "500".into(),
        error_response(
            g,
            "InternalError: logged with the request id; nothing else is disclosed",
        ),
    );
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// `schema` with `about` as its description, if there is one.
fn described(mut schema: Value, about: &str) -> Value {
    if !about.is_empty()
        && let Some(o) = schema.as_object_mut()
    {
        o.insert("description".into(), json!(about));
    }
    schema
}

/// An object of these fields: (name, required, schema).
fn object_schema<'f>(fields: impl Iterator<Item = (&'f str, bool, Value)>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, must, schema) in fields {
        properties.insert(name.to_owned(), schema);
        if must {
            required.push(name);
        }
    }
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The whole document for these operations.
pub fn document(ops: &[Operation]) -> Value {
    let mut settings = SchemaSettings::openapi3();
    settings.contract = Contract::Serialize;
    let mut g = settings.into_generator();
    let mut paths: Map<String, Value> = Map::new();
    for op in ops {
        let entry = paths
            .entry(op.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let method = op.method.as_str().to_ascii_lowercase();
        let value = operation(&mut g, op);
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(method, value);
        }
    }
    let schemas = g.take_definitions(true);
    let tags: Vec<Value> = Tag::ALL
        .iter()
        .map(|t| json!({ "name": t.name(), "description": t.about() }))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "drawbridge",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A self-hosted, MetaApi-compatible trading-account server. Every path answers on every host name; the MetaApi host names (mt-provisioning-api-v1.<domain>, mt-client-api-v1.<region>.<domain>, …) reach the same routes. Every error carries `text: {key, param, text}` from the message catalogue (docs/messages.md)."
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "authToken": {
                    "type": "apiKey", "in": "header", "name": "auth-token",
                    "description": "An API token (JWT, from `drawbridge token create`) or an account token"
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_the_braced_segments() {
        assert_eq!(
            path_params("/users/current/accounts/{id}/history-deals/time/{start}/{end}"),
            ["id", "start", "end"]
        );
        assert!(path_params("/health").is_empty());
    }

    #[test]
    fn every_path_param_name_is_described() {
        for name in [
            "id",
            "position_id",
            "order_id",
            "start",
            "end",
            "kind",
            "value",
            "symbol",
            "timeframe",
            "profile",
            "token_id",
        ] {
            assert!(!path_param(name).1.is_empty(), "{name} has no description");
        }
    }
}
