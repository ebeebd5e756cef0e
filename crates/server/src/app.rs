//! The router: the API families and the middleware around them.
//!
//! One router answers on every host name: the MetaApi families' paths do not collide, so
//! `mt-provisioning-api-v1.<domain>`, `mt-client-api-v1.<region>.<domain>`, … and plain
//! `127.0.0.1:8080` all reach the same handlers by path. A request passes, outermost first:
//! its id ([`request_id`]), metrics, the request-target limit, the body limit, routing, then
//! the CPU-credit charge ([`limits::charge()`]) before its handler.

use crate::error::{ApiError, ErrorCause, Kind};
use crate::limits;
use crate::messages;
use crate::metrics;
use crate::rest;
use crate::routes::Routes;
use crate::state::Shared;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// The header carrying each request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The router: every API family's routes, built from one table that also builds the OpenAPI
/// document and the credit costs.
pub fn app(state: Shared) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let routes = [
        rest::operations::routes,
        rest::provisioning::routes,
        rest::client::routes,
        rest::limits::routes,
        rest::market_data::routes,
        rest::risk::routes,
        rest::tokens::routes,
        rest::sim::routes,
    ]
    .into_iter()
    .fold(Routes::default(), |routes, family| family(routes));
    let (router, costs) = routes.finish();
    let api = router
        .layer(middleware::from_fn_with_state(
            (state.clone(), std::sync::Arc::new(costs)),
            limits::charge,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), url_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn(request_id));
    // The streaming API's RPC requests run through the same routes, in-process.
    let rest = api.clone().with_state(state.clone());
    api.layer(crate::streaming::layer(state.clone(), rest))
        .with_state(state)
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

/// Refuses a request target (path and query) longer than `url-limit-bytes` with 414, before
/// routing or authentication spend anything on it.
async fn url_limit(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let limit = state.config.url_limit_bytes;
    if len > limit {
        return ApiError::of(Kind::UriTooLong, &messages::URI_TOO_LONG, &[&len, &limit])
            .into_response();
    }
    next.run(req).await
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
