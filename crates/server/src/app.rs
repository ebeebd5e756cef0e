//! The router: every route of every API family, and the middleware around them.
//!
//! One router answers on every host name: the MetaApi families' paths do not collide, so
//! `mt-provisioning-api-v1.<domain>`, `mt-client-api-v1.<region>.<domain>`, … and plain
//! `127.0.0.1:8080` all reach the same handlers by path.

use crate::error::{ApiError, ErrorCause, Kind};
use crate::messages;
use crate::state::Shared;
use crate::{client, market_data, provisioning, sim, tokens};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

/// The header carrying each request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn app(state: Shared) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let accounts = "/users/current/accounts/{id}";
    Router::new()
        .route("/health", get(health))
        .route("/users/current/regions", get(regions))
        .route(
            "/users/current/servers/mt-client-api",
            get(client_api_settings),
        )
        .route("/hashing-ignored-field-lists", get(hashing_ignored_fields))
        // provisioning
        .route(
            "/users/current/accounts",
            post(provisioning::create).get(provisioning::list),
        )
        .route(
            accounts,
            get(provisioning::get)
                .put(provisioning::update)
                .delete(provisioning::delete),
        )
        .route(&format!("{accounts}/deploy"), post(provisioning::deploy))
        .route(
            &format!("{accounts}/undeploy"),
            post(provisioning::undeploy),
        )
        .route(
            &format!("{accounts}/redeploy"),
            post(provisioning::redeploy),
        )
        .route(
            &format!("{accounts}/enable-risk-management-api"),
            post(provisioning::enable_risk_management),
        )
        .route(
            "/users/current/provisioning-profiles/{profile}/mt5-demo-accounts",
            post(provisioning::demo_account),
        )
        .route(
            "/users/current/provisioning-profiles/{profile}/mt4-demo-accounts",
            post(provisioning::demo_account),
        )
        // client API
        .route(
            &format!("{accounts}/account-information"),
            get(client::account_information),
        )
        .route(&format!("{accounts}/positions"), get(client::positions))
        .route(
            &format!("{accounts}/positions/{{position_id}}"),
            get(client::position),
        )
        .route(&format!("{accounts}/orders"), get(client::orders))
        .route(
            &format!("{accounts}/orders/{{order_id}}"),
            get(client::order),
        )
        .route(
            &format!("{accounts}/history-deals/time/{{start}}/{{end}}"),
            get(client::deals_by_time),
        )
        .route(
            &format!("{accounts}/history-orders/time/{{start}}/{{end}}"),
            get(client::history_orders_by_time),
        )
        .route(
            &format!("{accounts}/history-deals/{{kind}}/{{value}}"),
            get(client::deals_by_key),
        )
        .route(
            &format!("{accounts}/history-orders/{{kind}}/{{value}}"),
            get(client::history_orders_by_key),
        )
        .route(&format!("{accounts}/trade"), post(client::trade))
        .route(&format!("{accounts}/unsubscribe"), post(client::unsubscribe))
        .route(&format!("{accounts}/symbols"), get(client::symbols))
        .route(
            &format!("{accounts}/symbols/{{symbol}}/specification"),
            get(client::specification),
        )
        .route(
            &format!("{accounts}/symbols/{{symbol}}/current-price"),
            get(client::current_price),
        )
        .route(
            &format!("{accounts}/symbols/{{symbol}}/current-candles/{{timeframe}}"),
            get(client::current_candle),
        )
        .route(
            &format!("{accounts}/symbols/{{symbol}}/current-tick"),
            get(client::current_tick),
        )
        .route(
            &format!("{accounts}/symbols/{{symbol}}/current-book"),
            get(client::current_book),
        )
        .route(&format!("{accounts}/server-time"), get(client::server_time))
        // historical market data
        .route(
            &format!(
                "{accounts}/historical-market-data/symbols/{{symbol}}/timeframes/{{timeframe}}/candles"
            ),
            get(market_data::candles),
        )
        .route(
            &format!("{accounts}/historical-market-data/symbols/{{symbol}}/ticks"),
            get(market_data::ticks),
        )
        // tokens
        .route(
            "/users/current/narrow-down-auth-token",
            post(tokens::narrow_down),
        )
        .route(
            "/users/current/auth-tokens/{token_id}",
            delete(tokens::revoke),
        )
        // sim control
        .route("/sim/ticks", post(sim::tick))
        .route("/sim/feed", post(sim::feed))
        .route("/sim/clock/advance", post(sim::advance))
        .route("/sim/balance", post(sim::balance))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
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

/// Fields the SDK leaves out of its state hashes; drawbridge hashes everything it sends.
async fn hashing_ignored_fields() -> Json<Value> {
    let lists = json!({ "specification": [], "position": [], "order": [] });
    Json(json!({ "g1": lists, "g2": lists }))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(&messages::NOT_FOUND_ROUTE, &[&method, &uri.path()])
}

/// A known path asked with a method it does not take: still the MetaApi error shape.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::of(
        Kind::MethodNotAllowed,
        &messages::METHOD_NOT_ALLOWED,
        &[&method, &uri.path()],
    )
}

/// Gives every request an id (the client's `x-request-id` if sane, else a fresh one), echoes
/// it, and logs each response; internal errors are logged with their cause here, and only
/// here.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| crate::auth::random_hex(8), str::to_owned);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let mut response = next.run(req).await;
    let status = response.status().as_u16();
    if let Some(ErrorCause(cause)) = response.extensions_mut().remove::<ErrorCause>() {
        tracing::error!(request_id = %id, %method, %path, status, %cause, "request failed");
    } else {
        tracing::debug!(request_id = %id, %method, %path, status, "request");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}
