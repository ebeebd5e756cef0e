//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! - `drawbridge_http_requests_total{method,route,status}`: answered requests.
//! - `drawbridge_http_request_duration_seconds{method,route}`: latency histogram.
//! - `drawbridge_http_requests_in_flight`: requests being handled now.
//! - `drawbridge_errors_total{error,key}`: error answers by MetaApi error type and message key.
//! - `drawbridge_accounts`, `drawbridge_accounts_connected`: provisioned accounts, and those
//!   with a broker session.
//!
//! `route` is the route template (`/users/current/accounts/{id}/positions`), never the raw
//! path, so the label set stays bounded however many accounts and tickets there are; paths
//! no route matched count as `unmatched`.
//!
//! The registry, the metric types and the exposition are `prometheus-client`'s (the Prometheus
//! project's Rust client). It writes the Prometheus text format 0.0.4 rather than OpenMetrics,
//! so the content type and every sample name and label stay what scrapers already read.
//!
//! What recording a request costs, and why it takes no global write lock: each family (name
//! and label names) is a map behind a reader-writer lock, taken for writing only the first
//! time a label set appears, which the route table, the methods, the status codes and the
//! message catalogue bound. After that, a request takes the read side of two families (three
//! for an error answer), adds one to an atomic counter, and holds the mutex of its own
//! histogram series (one route and method) for a bucket search and three additions; the
//! in-flight gauge is one atomic add and one subtract. Requests to different routes never
//! wait for each other, and requests to the same route only for that short section. Route
//! labels are the router's shared template strings, so a request allocates nothing to name
//! its series.

use crate::error::ApiError;
use crate::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// Every metric name starts with `drawbridge_`.
const PREFIX: &str = "drawbridge";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// The methods the API uses; any other counts as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// A route template as a label value. The router hands every request of a route the same
/// shared string, so cloning one into a label set counts a reference instead of copying.
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The labels of a latency series, in the order they are written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SeriesLabels {
    method: &'static str,
    route: Route,
}

/// The labels of a request count, in the order they are written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

/// A latency histogram with [`BUCKETS`].
type Latency = Family<SeriesLabels, Histogram, fn() -> Histogram>;

/// The registry the middleware records into and `/metrics` renders.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    in_flight: Gauge,
    errors: Family<ErrorLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Latency::new_with_constructor(|| Histogram::new(BUCKETS));
        let in_flight = Gauge::default();
        let errors = Family::<ErrorLabel, Counter>::default();
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "http_requests",
            "Requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response head, by method and route template",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        registry.register(
            "errors",
            "Error answers, by MetaApi error type and message key",
            errors.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            in_flight,
            errors,
        }
    }
}

/// What an error response tells the metrics: its MetaApi error type and message key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabel {
    pub error: &'static str,
    pub key: &'static str,
}

impl Metrics {
    fn record(&self, series: SeriesLabels, status: u16, elapsed: std::time::Duration) {
        self.latency
            .get_or_create(&series)
            .observe(elapsed.as_secs_f64());
        let request = RequestLabels {
            method: series.method,
            route: series.route,
            status,
        };
        self.requests.get_or_create(&request).inc();
    }
}

/// Decrements the in-flight gauge however the request ends (including a dropped future).
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: times each request and counts it under its route template and status.
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    metrics.in_flight.inc();
    let _in_flight = InFlight(&metrics.in_flight);
    let series = SeriesLabels {
        method: method_label(req.method()),
        route: Route(req.extensions().get::<MatchedPath>().cloned()),
    };
    // Latency is real elapsed time, whatever the domain clock says (a virtual clock stands
    // still between advances): the one place the server reads the monotonic clock.
    #[expect(
        clippy::disallowed_methods,
        reason = "request latency is wall time, not domain time"
    )]
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.record(series, response.status().as_u16(), started.elapsed());
    if let Some(label) = response.extensions().get::<ErrorLabel>() {
        metrics.errors.get_or_create(label).inc();
    }
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<Shared>) -> Response {
    // Read at scrape time into a registry of their own; a count the store cannot give is
    // left out rather than shown stale.
    let mut scrape = Registry::with_prefix(PREFIX);
    match state.store.account_count().await {
        Ok(n) => scrape.register(
            "accounts",
            "Provisioned trading accounts",
            ConstGauge::new(n),
        ),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count accounts"),
    }
    scrape.register(
        "accounts_connected",
        "Accounts with a broker session",
        ConstGauge::new(state.session_count()),
    );
    let mut out = String::with_capacity(16 * 1024);
    if let Err(e) =
        encode(&mut out, &state.metrics.registry).and_then(|()| encode(&mut out, &scrape))
    {
        return ApiError::internal(e).into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        out,
    )
        .into_response()
}
