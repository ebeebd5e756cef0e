//! Rate limiting of the REST API with the MetaApi CPU-credit limits.
//!
//! Each client-API route has a [`Cost`] in the route table (each family under
//! [`crate::rest`] registers its rows). Before the handler runs, [`charge`] charges the fixed
//! part to three scopes at once — the caller's application (quota × its deployed accounts),
//! the application on its virtual front-end server (the `client-id` header hashed onto
//! `front_end_servers` of them) and the account named in the path — or answers 429
//! `TooManyRequestsError` with the docs' metadata and a `Retry-After` header, consuming
//! nothing. After the handler, the result-size part (per history record, book entry, tick or
//! candle: [`ResultSize`]) is charged on top and may leave debt. Historical market data has
//! its own ledger ([`CreditLedger::History`]) and at most a few requests in processing per
//! account. The ledgers and the catalogue live in `drawbridge-limits`.

use super::Limits;
use crate::auth::Caller;
use crate::error::{ApiError, Kind};
use crate::extract::AUTH_HEADER;
use crate::messages;
use crate::state::Shared;
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use axum::{Json, RequestExt};
use drawbridge_limits::ledger::{Scope, key_of};
use drawbridge_limits::{Busy, Credits, Exceeded, Keys, Ledger, Refusal};
use drawbridge_model::Timestamp;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Which credit ledger a route charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditLedger {
    /// REST and RPC CPU credits.
    Cpu,
    /// Historical market data: its own ledger and a concurrency limit per account.
    History,
}

/// What one request of a route costs: `base` before it runs, `per_item` × the items it
/// returned after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub ledger: CreditLedger,
    pub base: f64,
    pub per_item: f64,
}

impl Cost {
    pub const fn cpu(base: f64) -> Self {
        Self {
            ledger: CreditLedger::Cpu,
            base,
            per_item: 0.0,
        }
    }

    pub const fn cpu_per_item(base: f64, per_item: f64) -> Self {
        Self {
            ledger: CreditLedger::Cpu,
            base,
            per_item,
        }
    }

    pub const fn history(base: f64, per_item: f64) -> Self {
        Self {
            ledger: CreditLedger::History,
            base,
            per_item,
        }
    }

    /// As the OpenAPI document shows it.
    pub fn describe(&self) -> String {
        let credits = match self.ledger {
            CreditLedger::Cpu => "CPU credits",
            CreditLedger::History => "historical-market-data credits",
        };
        if self.per_item > 0.0 {
            format!(
                "{} + {} per item returned ({credits})",
                self.base, self.per_item
            )
        } else {
            format!("{} ({credits})", self.base)
        }
    }
}

/// The number of items a response returned: set by handlers whose cost grows with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultSize(pub usize);

impl IntoResponseParts for ResultSize {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// A JSON list answered with its length as the [`ResultSize`].
#[derive(Debug)]
pub struct Listed<T>(pub Vec<T>);

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        (ResultSize(self.0.len()), Json(self.0)).into_response()
    }
}

/// Route template → per method, its operation id and cost.
pub type CostTable = HashMap<String, Vec<(Method, (&'static str, Cost))>>;

impl Limits {
    fn ledger(&self, which: CreditLedger) -> &dyn Ledger {
        match which {
            CreditLedger::Cpu => self.cpu.as_ref(),
            CreditLedger::History => self.history.as_ref(),
        }
    }
}

/// The ledger keys of a request by `user_id` through `client_id`, about `account`.
pub(crate) fn keys(state: &Shared, user_id: &str, client_id: &str, account: Option<&str>) -> Keys {
    let server = state.limits.server_of(client_id);
    Keys {
        user: key_of(&[user_id]),
        user_multiplier: u64::from(state.user_session_count(user_id).max(1)),
        server: key_of(&[user_id, &server.to_string()]),
        // Keyed under the user too: naming someone else's account charges only the caller.
        account: account.map(|a| key_of(&[user_id, a])),
    }
}

/// Middleware: charges each costed route before and after its handler.
pub async fn charge(
    State((state, costs)): State<(Shared, Arc<CostTable>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    // axum answers HEAD with the GET handler: it costs what GET costs.
    let method = match req.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    let Some(&(operation, cost)) = costs
        .get(path.as_str())
        .and_then(|by_method| by_method.iter().find(|(m, _)| *m == method))
        .map(|(_, costed)| costed)
    else {
        return next.run(req).await;
    };
    let (token, client_id) = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        (header(AUTH_HEADER), header("client-id").unwrap_or_default())
    };
    // Without a token the handler answers 401: nothing to charge. A token that does not
    // authenticate is answered here, so that nothing runs uncharged.
    let Some(token) = token else {
        return next.run(req).await;
    };
    let caller = match state.tokens.authenticate(&token).await {
        Ok(caller) => caller,
        Err(unauthenticated) => return unauthenticated.into_response(),
    };
    let params = req.extract_parts::<RawPathParams>().await.ok();
    let named = params.as_ref().and_then(|params| {
        params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, value)| value.to_owned())
    });
    // Only an account the caller owns is charged (and tracked): any other id gets its 404
    // from the handler, charged to the application and its server alone.
    let account = match named {
        Some(id) => owns(&state, &caller, &id).await.then_some(id),
        None => None,
    };
    let keys = keys(&state, &caller.user_id, &client_id, account.as_deref());
    let now = state.now();
    let _permit = match (cost.ledger, keys.account) {
        (CreditLedger::History, Some(a)) => match state.limits.history_in_processing.enter(a) {
            Ok(permit) => Some(permit),
            Err(busy) => return concurrency_refusal(busy, now).into_response(),
        },
        _ => None,
    };
    let ledger = state.limits.ledger(cost.ledger);
    if let Err(refusal) = ledger.try_charge(&keys, Credits::from_f64_ceil(cost.base), now) {
        return refused(refusal, operation, &path, now).into_response();
    }
    req.extensions_mut().insert(caller);
    let response = next.run(req).await;
    if let Some(ResultSize(n)) = response.extensions().get::<ResultSize>().copied()
        && cost.per_item > 0.0
    {
        let extra = Credits::from_f64_ceil(cost.per_item * n as f64);
        ledger.post_charge(&keys, extra, state.now());
    }
    response
}

/// Whether `id` is one of the caller's accounts that its token may use.
async fn owns(state: &Shared, caller: &Caller, id: &str) -> bool {
    crate::access::owned_entry(state, caller, id).await.is_ok()
}

/// A window's length as the limits' texts and metadata write it: `10s`, `1m`, `1h`.
pub(crate) fn period_text(ms: i64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

fn scope_names(scope: Scope) -> (&'static str, &'static str) {
    match scope {
        Scope::User => ("LIMIT_REQUEST_RATE_PER_USER", "perUser"),
        Scope::Server => ("LIMIT_REQUEST_RATE_PER_USER_PER_SERVER", "perServer"),
        Scope::Account => ("LIMIT_REQUEST_RATE_PER_ACCOUNT", "perAccount"),
    }
}

/// The 429 of a refused charge.
fn refused(refusal: Refusal, operation: &str, path: &str, now: Timestamp) -> ApiError {
    let exceeded: Exceeded = match refusal {
        Refusal::Exhausted(exceeded) => exceeded,
        Refusal::Full(scope) => {
            let (kind, _) = scope_names(scope);
            let retry = now.plus_millis(1_000);
            return ApiError::of(Kind::TooManyRequests, &messages::LIMIT_TRACKING_FULL, &[])
                .with_metadata(json!({"type": kind, "recommendedRetryTime": retry}))
                .retry_after(1);
        }
    };
    let (kind, config) = scope_names(exceeded.scope);
    let period = period_text(exceeded.period_ms);
    let available = exceeded.total.saturating_sub(exceeded.used);
    let mut metadata = json!({
        "type": kind,
        "periodInSeconds": exceeded.period_ms / 1_000,
        "creditsAvailable": available.as_f64(),
        "creditsUsed": exceeded.used.as_f64(),
        "creditsRequired": exceeded.required.as_f64(),
        "total": exceeded.total.as_f64(),
        "available": available.as_f64(),
        "needed": exceeded.required.as_f64(),
        "exceededConfig": config,
        "exceededPeriod": period,
        "method": operation,
        "path": path,
    });
    let Some(retry) = exceeded.retry_at else {
        // Waiting would not help: the request costs more than the window allows at all.
        return ApiError::of(
            Kind::Forbidden,
            &messages::LIMIT_CPU_OVER_QUOTA,
            &[&operation, &exceeded.required, &exceeded.total, &period],
        )
        .with_metadata(metadata);
    };
    metadata["recommendedRetryTime"] = json!(retry);
    ApiError::of(
        Kind::TooManyRequests,
        &messages::LIMIT_CPU_CREDITS,
        &[&operation, &exceeded.total, &period],
    )
    .with_metadata(metadata)
    .retry_after(seconds_until(now, retry))
}

fn seconds_until(now: Timestamp, at: Timestamp) -> u64 {
    u64::try_from((at.0 - now.0).max(0))
        .unwrap_or(0)
        .div_ceil(1_000)
}

fn concurrency_refusal(busy: Busy, now: Timestamp) -> ApiError {
    ApiError::of(
        Kind::TooManyRequests,
        &messages::LIMIT_CONCURRENT_MARKET_DATA,
        &[&busy.max],
    )
    .with_metadata(json!({
        "type": "LIMIT_CONCURRENT_MARKET_DATA_REQUESTS_PER_ACCOUNT",
        "maxRequestsPerAccount": busy.max,
        "concurrentRequestCount": busy.current,
        "recommendedRetryTime": now.plus_millis(1_000),
    }))
    .retry_after(1)
}
