//! Rate limiting of the REST API with the MetaApi CPU-credit limits.
//!
//! Each client-API route has a [`Cost`] in the route table (`app.rs`). Before the handler
//! runs, [`charge`] charges the fixed part to three scopes at once — the caller's application
//! (quota × its deployed accounts), the application on its virtual front-end server (the
//! `client-id` header hashed onto `front_end_servers` of them) and the account named in the
//! path — or answers 429 `TooManyRequestsError` with the docs' metadata and a `Retry-After`
//! header, consuming nothing. After the handler, the result-size part (per history record,
//! book entry, tick or candle: [`ResultSize`]) is charged on top and may leave debt.
//! Historical market data has its own ledger and at most a few requests in processing per
//! account. The ledgers and the catalogue live in `drawbridge-limits`.

use crate::auth::Caller;
use crate::error::{ApiError, Kind};
use crate::extract::AUTH_HEADER;
use crate::messages::{self, Text};
use crate::openapi::{Field, Kind as K, opt};
use crate::state::{Shared, lock};
use axum::extract::{MatchedPath, Path, RawPathParams, RawQuery, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use axum::{Json, RequestExt};
use drawbridge_limits::catalog::id;
use drawbridge_limits::connections::{ConnectionQuotas, Connections, address_key};
use drawbridge_limits::ledger::{Scope, WindowUsage, key_of};
use drawbridge_limits::streaming::{StreamingBudget, StreamingQuotas};
use drawbridge_limits::sync::{Subscriptions, SyncQuotas, SyncRefusal};
use drawbridge_limits::{
    Busy, Catalogue, Credits, Exceeded, Gate, Keys, Ledger, MemoryLedger, Permit, Refusal,
};
use drawbridge_model::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Which ledger a route charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Book {
    /// REST and RPC CPU credits.
    Cpu,
    /// Historical market data: its own ledger and a concurrency limit per account.
    History,
}

/// What one request of a route costs: `base` before it runs, `per_item` × the items it
/// returned after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub book: Book,
    pub base: f64,
    pub per_item: f64,
}

impl Cost {
    pub const fn cpu(base: f64) -> Self {
        Self {
            book: Book::Cpu,
            base,
            per_item: 0.0,
        }
    }

    pub const fn cpu_per_item(base: f64, per_item: f64) -> Self {
        Self {
            book: Book::Cpu,
            base,
            per_item,
        }
    }

    pub const fn history(base: f64, per_item: f64) -> Self {
        Self {
            book: Book::History,
            base,
            per_item,
        }
    }

    /// As the OpenAPI document shows it.
    pub fn describe(&self) -> String {
        let book = match self.book {
            Book::Cpu => "CPU credits",
            Book::History => "historical-market-data credits",
        };
        if self.per_item > 0.0 {
            format!(
                "{} + {} per item returned ({book})",
                self.base, self.per_item
            )
        } else {
            format!("{} ({book})", self.base)
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

/// The limits of one server: the catalogue, the ledgers and the gates.
#[derive(Debug)]
pub struct Limits {
    pub catalogue: Catalogue,
    /// Account subscriptions of streaming connections and their synchronizations.
    subscriptions: std::sync::Mutex<SubscriptionTable>,
    /// The streaming-credit windows of accounts that received market data.
    pub(crate) streaming_quotas: StreamingQuotas,
    /// By account key ([`streaming_key`]), in [`STREAMING_SHARDS`] shards: every packet of
    /// market data is charged here, from each of the hub's tasks at once.
    streaming: Box<[std::sync::Mutex<StreamingShard>]>,
    cpu: Box<dyn Ledger>,
    history: Box<dyn Ledger>,
    history_in_processing: Arc<Gate>,
    api_limits_in_processing: Arc<Gate>,
    /// Streaming sessions opened per address, on wall time (CQG limit 1).
    sessions: std::sync::Mutex<Connections>,
}

/// Route template → per method, its operation id and cost.
pub type CostTable = HashMap<String, Vec<(Method, (&'static str, Cost))>>;

impl Limits {
    pub fn new(catalogue: Catalogue) -> Self {
        let gate = |i| Gate::new(u32::try_from(catalogue.value(i)).unwrap_or(u32::MAX));
        Self {
            cpu: Box::new(MemoryLedger::new(&catalogue.cpu_quotas())),
            history: Box::new(MemoryLedger::new(&catalogue.history_quotas())),
            history_in_processing: gate(id::HISTORY_CONCURRENT_PER_ACCOUNT),
            api_limits_in_processing: gate(id::API_LIMIT_REQUESTS_IN_PROCESSING),
            subscriptions: std::sync::Mutex::new(SubscriptionTable {
                table: Subscriptions::new(SyncQuotas::from_catalogue(&catalogue)),
                holders: HashMap::new(),
            }),
            streaming_quotas: StreamingQuotas::from_catalogue(&catalogue),
            streaming: (0..STREAMING_SHARDS).map(|_| Default::default()).collect(),
            sessions: std::sync::Mutex::new(Connections::new(ConnectionQuotas {
                // Only the rate: open connections per address are the listener's.
                open_max: u32::MAX,
                ..ConnectionQuotas::from_catalogue(&catalogue)
            })),
            catalogue,
        }
    }

    fn ledger(&self, book: Book) -> &dyn Ledger {
        match book {
            Book::Cpu => self.cpu.as_ref(),
            Book::History => self.history.as_ref(),
        }
    }

    /// The virtual front-end server a `client-id` selects.
    fn server_of(&self, client_id: &str) -> u64 {
        key_of(&[client_id]) % self.catalogue.value(id::FRONT_END_SERVERS).max(1)
    }
}

/// The ledger keys of a request by `user_id` through `client_id`, about `account`.
fn keys(state: &Shared, user_id: &str, client_id: &str, account: Option<&str>) -> Keys {
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
        .map(|(_, c)| c)
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
        Err(e) => return e.into_response(),
    };
    let params = req.extract_parts::<RawPathParams>().await.ok();
    let named = params.as_ref().and_then(|p| {
        p.iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v.to_owned())
    });
    // Only an account the caller owns is charged (and tracked): any other id gets its 404
    // from the handler, charged to the application and its server alone.
    let account = match named {
        Some(id) => owns(&state, &caller, &id).await.then_some(id),
        None => None,
    };
    let keys = keys(&state, &caller.user_id, &client_id, account.as_deref());
    let now = state.now();
    let _permit = match (cost.book, keys.account) {
        (Book::History, Some(a)) => match state.limits.history_in_processing.enter(a) {
            Ok(p) => Some(p),
            Err(busy) => return concurrency_refusal(busy, now).into_response(),
        },
        _ => None,
    };
    let ledger = state.limits.ledger(cost.book);
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
    crate::rest::provisioning::owned_entry(state, caller, id)
        .await
        .is_ok()
}

fn period_text(ms: i64) -> String {
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
    let e: Exceeded = match refusal {
        Refusal::Exhausted(e) => e,
        Refusal::Full(scope) => {
            let (kind, _) = scope_names(scope);
            let retry = now.plus_millis(1_000);
            return ApiError::of(Kind::TooManyRequests, &messages::LIMIT_TRACKING_FULL, &[])
                .with_metadata(json!({"type": kind, "recommendedRetryTime": retry}))
                .retry_after(1);
        }
    };
    let (kind, config) = scope_names(e.scope);
    let period = period_text(e.period_ms);
    let available = e.total.saturating_sub(e.used);
    let mut metadata = json!({
        "type": kind,
        "periodInSeconds": e.period_ms / 1_000,
        "creditsAvailable": available.as_f64(),
        "creditsUsed": e.used.as_f64(),
        "creditsRequired": e.required.as_f64(),
        "total": e.total.as_f64(),
        "available": available.as_f64(),
        "needed": e.required.as_f64(),
        "exceededConfig": config,
        "exceededPeriod": period,
        "method": operation,
        "path": path,
    });
    let Some(retry) = e.retry_at else {
        // Waiting would not help: the request costs more than the window allows at all.
        return ApiError::of(
            Kind::Forbidden,
            &messages::LIMIT_CPU_OVER_QUOTA,
            &[&operation, &e.required, &e.total, &period],
        )
        .with_metadata(metadata);
    };
    metadata["recommendedRetryTime"] = json!(retry);
    ApiError::of(
        Kind::TooManyRequests,
        &messages::LIMIT_CPU_CREDITS,
        &[&operation, &e.total, &period],
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

/// One window of the credit-usage answer.
fn usage_item(w: &WindowUsage) -> Value {
    json!({
        "period": period_text(w.period_ms),
        "total": w.total.as_f64(),
        "available": w.available().as_f64(),
    })
}

/// `GET /users/current/accounts/:id/credits`: the caller's CPU-credit windows as of now,
/// through the front-end server its `client-id` selects.
pub async fn credit_usage(
    State(state): State<Shared>,
    caller: Caller,
    Path(account): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    crate::rest::provisioning::owned_entry(&state, &caller, &account).await?;
    let client_id = headers
        .get("client-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keys = keys(&state, &caller.user_id, client_id, Some(&account));
    let now = state.now();
    let list = |scope| -> Vec<Value> {
        state
            .limits
            .cpu
            .usage(&keys, scope, now)
            .iter()
            .map(usage_item)
            .collect()
    };
    Ok(Json(json!({
        "perAccount": list(Scope::Account),
        "perUser": list(Scope::User),
        "perServer": list(Scope::Server),
    })))
}

/// CQG `status_code`s of an API-limit entry.
const LIMIT_FOUND: u32 = 1;
const LIMIT_UNKNOWN: u32 = 104;

/// A limit's description as a catalogue text.
pub fn limit_text(l: &drawbridge_limits::Limit) -> Text {
    let period = l.period_secs.map(|p| p.to_string()).unwrap_or_default();
    let mut param = vec![l.value.to_string()];
    let mut text = l.description.replace("{0}", &param[0]);
    if l.period_secs.is_some() {
        text = text.replace("{1}", &period);
        param.push(period);
    }
    Text {
        key: l.key,
        param,
        text,
    }
}

/// `GET /users/current/api-limits?limits=1,3,390`: the listed limits (none listed: all), each
/// `{limit, status_code, value, period_sec, description}`; an unknown id has status 104.
pub async fn api_limits(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let _permit: Permit = state
        .limits
        .api_limits_in_processing
        .enter(key_of(&[&caller.user_id]))
        .map_err(|busy| {
            ApiError::of(
                Kind::TooManyRequests,
                &messages::LIMIT_API_LIMITS_BUSY,
                &[&busy.max],
            )
            .with_metadata(json!({
                "type": "LIMIT_API_LIMIT_REQUESTS_IN_PROCESSING",
                "maxRequestsInProcessing": busy.max,
                "recommendedRetryTime": state.now().plus_millis(1_000),
            }))
            .retry_after(1)
        })?;
    let query = crate::extract::query_map(raw.as_deref());
    let catalogue = &state.limits.catalogue;
    let ids: Vec<u32> = match query.get("limits").filter(|s| !s.trim().is_empty()) {
        None => catalogue.all().iter().map(|l| l.id).collect(),
        Some(list) => {
            let mut ids = Vec::new();
            for part in list
                .split(',')
                .map(str::trim)
                .take(catalogue.all().len() * 2)
            {
                let id = part.parse::<u32>().map_err(|_| {
                    ApiError::field(crate::error::FieldError::invalid(
                        "limits",
                        Some(json!(list)),
                        "must be a comma-separated list of limit ids",
                    ))
                })?;
                ids.push(id);
            }
            ids
        }
    };
    let entries: Vec<Value> = ids
        .iter()
        .map(|&i| match catalogue.get(i) {
            Some(l) => json!({
                "limit": l.id,
                "status_code": LIMIT_FOUND,
                "name": l.name,
                "kind": l.kind.as_str(),
                "value": l.value,
                "period_sec": l.period_secs,
                "description": limit_text(l),
            }),
            None => json!({"limit": i, "status_code": LIMIT_UNKNOWN}),
        })
        .collect();
    Ok(Json(json!({ "limit_entries": entries })))
}

/// The query of `GET /users/current/api-limits`.
pub const API_LIMITS_QUERY: &[Field] = &[opt(
    "limits",
    K::String,
    "Comma-separated limit ids; none lists every limit",
)];

/// The terminal-synchronization limits, as the streaming API applies them: a subscribe
/// counts against the subscribe rate and the subscription limits of the caller's application,
/// its front-end server (the socket's `clientId`) and that server's capacity.
impl Limits {
    fn subscriptions(&self) -> std::sync::MutexGuard<'_, SubscriptionTable> {
        lock(&self.subscriptions)
    }
}

/// The subscriptions and, per subscribed account, how many sockets hold it: one lock, so a
/// subscribe and the last socket's unsubscribe cannot interleave.
#[derive(Debug)]
struct SubscriptionTable {
    table: Subscriptions,
    holders: HashMap<u64, u32>,
}

/// The key of `account` in the subscription table.
fn subscription_key(caller: &Caller, account: &str) -> u64 {
    key_of(&[&caller.user_id, account])
}

/// A subscribe request for `account` on a socket whose `clientId` is `client_id`; `new`
/// when the socket did not hold the account yet (sockets holding one account are counted,
/// so the account stays subscribed until the last of them lets go).
pub(crate) fn subscribe(
    state: &Shared,
    caller: &Caller,
    client_id: &str,
    account: &str,
    new: bool,
) -> Result<(), ApiError> {
    let limits = &state.limits;
    let deployed = state.user_session_count(&caller.user_id);
    let now = state.now();
    let key = subscription_key(caller, account);
    let mut subscriptions = limits.subscriptions();
    let refused = subscriptions.table.subscribe(
        key_of(&[&caller.user_id]),
        limits.server_of(client_id),
        key,
        deployed,
        now,
    );
    refused.map_err(|r| sync_refusal(r, now))?;
    if new {
        *subscriptions.holders.entry(key).or_insert(0) += 1;
    }
    Ok(())
}

/// A socket lets go of `account`: the subscription ends with its last holder.
pub(crate) fn unsubscribe(state: &Shared, caller: &Caller, account: &str) {
    let key = subscription_key(caller, account);
    let mut subscriptions = state.limits.subscriptions();
    match subscriptions.holders.get_mut(&key) {
        Some(n) if *n > 1 => *n -= 1,
        _ => {
            subscriptions.holders.remove(&key);
            subscriptions.table.unsubscribe(key);
        }
    }
}

/// Starts a synchronization of `account` if the concurrent-synchronization limit allows;
/// [`finish_synchronization`] ends it.
pub(crate) fn start_synchronization(
    state: &Shared,
    caller: &Caller,
    account: &str,
) -> Result<(), ApiError> {
    let now = state.now();
    let started =
        (state.limits.subscriptions().table).start_sync(subscription_key(caller, account), now);
    match started {
        Ok(true) => Ok(()),
        // Not subscribed in the table: the socket's subscription is checked first, so this
        // is a synchronization the limits cannot account for.
        Ok(false) => Err(ApiError::of(
            Kind::Validation,
            &messages::STREAMING_NOT_SUBSCRIBED,
            &[&account, &"any"],
        )),
        Err(r) => Err(sync_refusal(r, now)),
    }
}

/// Ends a synchronization started by [`start_synchronization`].
pub(crate) fn finish_synchronization(state: &Shared, caller: &Caller, account: &str) {
    (state.limits.subscriptions().table).finish_sync(subscription_key(caller, account));
}

fn sync_refusal(r: SyncRefusal, _now: Timestamp) -> ApiError {
    let mut metadata = json!({
        "type": r.kind(),
        "recommendedRetryTime": r.retry_at(),
    });
    if r.change_client_id() {
        metadata["changeClientIdHeader"] = json!(true);
    }
    ApiError::of(
        Kind::TooManyRequests,
        &messages::LIMIT_SYNCHRONIZATION,
        &[&r],
    )
    .with_metadata(metadata)
}

/// Accounts whose streaming budgets a shard keeps before idle ones are swept.
const STREAMING_SWEEP_AT: usize = 100_000 / STREAMING_SHARDS;
/// Shards of the streaming budgets.
const STREAMING_SHARDS: usize = 16;

/// One shard of the streaming budgets.
type StreamingShard = HashMap<u64, StreamingBudget, foldhash::fast::RandomState>;

/// An account's key among the streaming budgets: what [`charge_streaming`] takes (a streaming
/// instance keeps it rather than hashing the ids again for every packet).
pub(crate) fn streaming_key(caller: &Caller, account: &str) -> u64 {
    subscription_key(caller, account)
}

/// Charges a sent market-data packet's `credits` to the budget of the account whose
/// [`streaming_key`] is `key`; true when a window is now over its quota (the subscriptions
/// must be downgraded).
pub(crate) fn charge_streaming(state: &Shared, key: u64, credits: u64) -> bool {
    let limits = &state.limits;
    let now = state.now();
    let shard = (key as usize) % STREAMING_SHARDS;
    let mut budgets = lock(&limits.streaming[shard]);
    if budgets.len() >= STREAMING_SWEEP_AT && !budgets.contains_key(&key) {
        budgets.retain(|_, b| !b.idle_at(&limits.streaming_quotas, now));
    }
    let budget = budgets.entry(key).or_default();
    budget
        .charge(&limits.streaming_quotas, credits, now)
        .is_some()
}

/// A new streaming session from `peer`: admitted, or past the connection rate from its
/// address (CQG limit 1), when it gets the limit and the period to close it with. Counted on
/// wall time: a virtual clock standing still must not lock a client out for good.
pub(crate) fn open_session(state: &Shared, peer: std::net::IpAddr) -> Result<(), (u64, u32)> {
    let now = drawbridge_model::Clock::now(&drawbridge_model::SystemClock);
    let mut sessions = lock(&state.limits.sessions);
    let key = address_key(peer);
    let opened = sessions.open(key, now);
    // Only the rate counts here: the session is not held open.
    sessions.close(key);
    match opened {
        Ok(()) => Ok(()),
        Err(_) => {
            let period = (state.limits.catalogue.get(id::CONNECTION_RATE))
                .and_then(|l| l.period_secs)
                .unwrap_or(100);
            Err((state.limits.catalogue.value(id::CONNECTION_RATE), period))
        }
    }
}
