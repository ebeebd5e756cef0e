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
//! no route matched count as `unmatched`. Recording takes a read lock and a few atomic adds.

use crate::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// The methods the API uses; any other counts as `OTHER`.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OTHER"];

fn method_index(m: &Method) -> usize {
    match *m {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        _ => 5,
    }
}

/// Counts for one route and method.
#[derive(Debug)]
struct Series {
    /// By status code 100..=599 (index `status - 100`).
    statuses: Box<[AtomicU64]>,
    /// Cumulative per bucket, then `+Inf` last.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies, in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Series {
    fn new() -> Self {
        Self {
            statuses: (100..600).map(|_| AtomicU64::new(0)).collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn record(&self, status: u16, seconds: f64, nanos: u64) {
        if let Some(slot) = self.statuses.get(usize::from(status).wrapping_sub(100)) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        let first = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        // Stored non-cumulative; rendering accumulates.
        self.buckets[first].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Every series of one route: one per method, created on first use.
type RouteSeries = [std::sync::OnceLock<Series>; METHODS.len()];

/// The registry the middleware records into and `/metrics` renders.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, Box<RouteSeries>>>,
    /// By `(error type, message key)`.
    errors: RwLock<HashMap<(&'static str, &'static str), AtomicU64>>,
    in_flight: AtomicU64,
}

/// What an error response tells the metrics: its MetaApi error type and message key.
#[derive(Debug, Clone, Copy)]
pub struct ErrorLabel {
    pub error: &'static str,
    pub key: &'static str,
}

impl Metrics {
    fn record(&self, route: &str, method: &Method, status: u16, elapsed: std::time::Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let seconds = elapsed.as_secs_f64();
        let m = method_index(method);
        if let Ok(routes) = self.routes.read()
            && let Some(series) = routes.get(route)
        {
            series[m]
                .get_or_init(Series::new)
                .record(status, seconds, nanos);
            return;
        }
        if let Ok(mut routes) = self.routes.write() {
            let series = routes
                .entry(route.to_owned())
                .or_insert_with(|| Box::new(std::array::from_fn(|_| std::sync::OnceLock::new())));
            series[m]
                .get_or_init(Series::new)
                .record(status, seconds, nanos);
        }
    }

    fn record_error(&self, label: ErrorLabel) {
        let key = (label.error, label.key);
        if let Ok(errors) = self.errors.read()
            && let Some(n) = errors.get(&key)
        {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut errors) = self.errors.write() {
            errors
                .entry(key)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The request metrics in the text exposition format, sorted for stable output.
    fn render_requests(&self, out: &mut String) {
        let Ok(routes) = self.routes.read() else {
            return;
        };
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        out.push_str("# HELP drawbridge_http_requests_total Requests answered, by method, route template and status.\n");
        out.push_str("# TYPE drawbridge_http_requests_total counter\n");
        for name in &names {
            for (m, series) in routes[*name].iter().enumerate() {
                let Some(s) = series.get() else { continue };
                for (i, n) in s.statuses.iter().enumerate() {
                    let n = n.load(Ordering::Relaxed);
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "drawbridge_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {n}",
                            METHODS[m],
                            escape(name),
                            i + 100
                        );
                    }
                }
            }
        }
        out.push_str("# HELP drawbridge_http_request_duration_seconds Time from request to response head, by method and route template.\n");
        out.push_str("# TYPE drawbridge_http_request_duration_seconds histogram\n");
        for name in &names {
            for (m, series) in routes[*name].iter().enumerate() {
                let Some(s) = series.get() else { continue };
                let labels = format!("method=\"{}\",route=\"{}\"", METHODS[m], escape(name));
                let mut cumulative = 0;
                for (i, b) in s.buckets.iter().enumerate() {
                    cumulative += b.load(Ordering::Relaxed);
                    let le = BUCKETS
                        .get(i)
                        .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                    let _ = writeln!(
                        out,
                        "drawbridge_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                    );
                }
                let sum = s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
                let _ = writeln!(
                    out,
                    "drawbridge_http_request_duration_seconds_sum{{{labels}}} {sum}"
                );
                let _ = writeln!(
                    out,
                    "drawbridge_http_request_duration_seconds_count{{{labels}}} {cumulative}"
                );
            }
        }
    }

    fn render_errors(&self, out: &mut String) {
        let Ok(errors) = self.errors.read() else {
            return;
        };
        let mut rows: Vec<_> = errors
            .iter()
            .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
            .collect();
        rows.sort_unstable();
        out.push_str("# HELP drawbridge_errors_total Error answers, by MetaApi error type and message key.\n");
        out.push_str("# TYPE drawbridge_errors_total counter\n");
        for ((error, key), n) in rows {
            let _ = writeln!(
                out,
                "drawbridge_errors_total{{error=\"{error}\",key=\"{key}\"}} {n}"
            );
        }
    }
}

/// Label values are route templates and catalogue keys; escape what the format requires.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Decrements the in-flight gauge however the request ends (including a dropped future).
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Middleware: times each request and counts it under its route template and status.
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&metrics.in_flight);
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    // Latency is real elapsed time, whatever the domain clock says (a virtual clock stands
    // still between advances): the one place the server reads the monotonic clock.
    #[expect(
        clippy::disallowed_methods,
        reason = "request latency is wall time, not domain time"
    )]
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    metrics.record(route, &method, response.status().as_u16(), elapsed);
    if let Some(label) = response.extensions().get::<ErrorLabel>() {
        metrics.record_error(*label);
    }
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<Shared>) -> Response {
    let metrics = &state.metrics;
    let mut out = String::with_capacity(16 * 1024);
    metrics.render_requests(&mut out);
    out.push_str(
        "# HELP drawbridge_http_requests_in_flight Requests being handled now.\n\
         # TYPE drawbridge_http_requests_in_flight gauge\n",
    );
    let _ = writeln!(
        out,
        "drawbridge_http_requests_in_flight {}",
        metrics.in_flight.load(Ordering::Relaxed)
    );
    metrics.render_errors(&mut out);
    match state.store.account_count().await {
        Ok(n) => {
            out.push_str("# HELP drawbridge_accounts Provisioned trading accounts.\n# TYPE drawbridge_accounts gauge\n");
            let _ = writeln!(out, "drawbridge_accounts {n}");
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count accounts"),
    }
    out.push_str("# HELP drawbridge_accounts_connected Accounts with a broker session.\n# TYPE drawbridge_accounts_connected gauge\n");
    let _ = writeln!(
        out,
        "drawbridge_accounts_connected {}",
        state.session_count()
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
