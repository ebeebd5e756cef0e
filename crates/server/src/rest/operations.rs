//! Operations and discovery: liveness, metrics, and where the SDK finds each API.

use crate::openapi::{Auth, Doc, Tag};
use crate::routes::{Routes, object_schema};
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

fn health_schema() -> Value {
    json!({
        "type": "object",
        "required": ["status", "time"],
        "properties": {
            "status": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
        },
    })
}

/// Health, metrics, and where the SDK finds each API.
pub(crate) fn routes(routes: Routes) -> Routes {
    use Tag::{Client, Operations, Provisioning};
    routes
        .get(
            "/health",
            health,
            Doc::new("health", Operations, "Liveness and the server's time")
                .auth(Auth::Public)
                .reply_inline(200, health_schema),
        )
        .get(
            "/metrics",
            crate::metrics::render,
            Doc::new("metrics", Operations, "Prometheus metrics")
                .auth(Auth::Public)
                .text(),
        )
        .get(
            "/users/current/regions",
            regions,
            Doc::new("getRegions", Provisioning, "Regions the server serves")
                .reply::<Vec<String>>(),
        )
        .get(
            "/users/current/servers/mt-client-api",
            client_api_settings,
            Doc::new(
                "getClientApiSettings",
                Provisioning,
                "Where the client API lives: `{hostname, domain}`",
            )
            .reply_inline(200, object_schema),
        )
        .get(
            "/hashing-ignored-field-lists",
            hashing_ignored_fields,
            Doc::new(
                "getHashingIgnoredFieldLists",
                Client,
                "Fields left out of state hashes",
            )
            .reply_inline(200, object_schema),
        )
}

async fn health(State(state): State<Shared>) -> Json<Value> {
    Json(json!({ "status": "ok", "time": state.now() }))
}

/// The regions the server serves: one.
async fn regions(State(state): State<Shared>) -> Json<Value> {
    Json(json!([state.config.region]))
}

/// Where the SDK finds the client API: `<hostname>.<region>.<domain>`.
/// Without `--domain` the answer names the host the client used (with its port).
async fn client_api_settings(State(state): State<Shared>, headers: HeaderMap) -> Json<Value> {
    let domain = state
        .config
        .domain
        .clone()
        .or_else(|| {
            let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
            Some(host.to_owned())
        })
        .unwrap_or_else(|| "localhost".into());
    Json(json!({ "hostname": "mt-client-api-v1", "domain": domain }))
}

/// Fields the SDK leaves out of its state hashes: those that move with every quote
/// ([`crate::streaming::hashes`]).
async fn hashing_ignored_fields() -> Json<Value> {
    use crate::streaming::hashes;
    let lists = json!({
        "specification": hashes::SPECIFICATION_IGNORED,
        "position": hashes::POSITION_IGNORED,
        "order": hashes::ORDER_IGNORED,
    });
    Json(json!({ "g1": lists, "g2": lists }))
}
