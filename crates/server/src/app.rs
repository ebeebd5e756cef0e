//! The router: every route of every API family, and the middleware around them.
//!
//! One router answers on every host name: the MetaApi families' paths do not collide, so
//! `mt-provisioning-api-v1.<domain>`, `mt-client-api-v1.<region>.<domain>`, … and plain
//! `127.0.0.1:8080` all reach the same handlers by path.

use crate::error::{ApiError, ErrorCause, Kind};
use crate::limits::{self, Cost, CostTable};
use crate::messages;
use crate::openapi::{self, Auth, Doc, Operation, Tag};
use crate::state::Shared;
use crate::{client, market_data, metrics, provisioning, risk, sim, tokens, user_messages};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on};
use drawbridge_model::wire as w;
use serde_json::{Value, json};

/// The header carrying each request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn object_schema() -> Value {
    json!({"type": "object"})
}

fn array_schema() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

/// `PUT …/trackers/:trackerId`
const TRACKER_UPDATE_FIELDS: &[crate::openapi::Field] = &[crate::openapi::Field {
    name: "name",
    kind: crate::openapi::Kind::String,
    required: true,
    about: "The tracker's new name, unique on the account",
}];

fn health_schema() -> Value {
    json!({"type": "object", "required": ["status", "time"],
        "properties": {"status": {"type": "string"}, "time": {"type": "string", "format": "date-time"}}})
}

/// The router, built from one table that also builds the OpenAPI document.
pub fn app(state: Shared) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let acc = "/users/current/accounts/{id}";
    let sym = "/users/current/accounts/{id}/symbols/{symbol}";
    use Tag::{Client, HistoricalMarketData, Operations, Provisioning, Sim, Tokens};
    let routes = Routes::default()
        .get(
            "/health",
            health,
            Doc::new("health", Operations, "Liveness and the server's time")
                .auth(Auth::Public)
                .reply_inline(200, health_schema),
        )
        .get(
            "/metrics",
            metrics::render,
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
        // provisioning
        .post(
            "/users/current/accounts",
            provisioning::create,
            Doc::new(
                "createAccount",
                Provisioning,
                "Adds a trading account; `transaction-id` makes it idempotent",
            )
            .auth(Auth::ApiToken)
            .fields(provisioning::ACCOUNT_FIELDS)
            .reply_inline(201, provisioning::created_schema)
            .conflict(),
        )
        .get(
            "/users/current/accounts",
            provisioning::list,
            Doc::new(
                "getAccounts",
                Provisioning,
                "The caller's trading accounts, filtered and paginated",
            )
            .query(provisioning::ACCOUNT_LIST_QUERY)
            .reply_inline(200, provisioning::account_page_schema),
        )
        .get(
            acc,
            provisioning::get,
            Doc::new("getAccount", Provisioning, "One trading account")
                .reply::<provisioning::AccountDoc>(),
        )
        .put(
            acc,
            provisioning::update,
            Doc::new("updateAccount", Provisioning, "Changes a trading account")
                .fields(provisioning::ACCOUNT_UPDATE_FIELDS),
        )
        .delete(
            acc,
            provisioning::delete,
            Doc::new("deleteAccount", Provisioning, "Removes a trading account"),
        )
        .post(
            &format!("{acc}/deploy"),
            provisioning::deploy,
            Doc::new(
                "deployAccount",
                Provisioning,
                "Connects the account to its broker",
            ),
        )
        .post(
            &format!("{acc}/undeploy"),
            provisioning::undeploy,
            Doc::new("undeployAccount", Provisioning, "Disconnects the account"),
        )
        .post(
            &format!("{acc}/redeploy"),
            provisioning::redeploy,
            Doc::new("redeployAccount", Provisioning, "Reconnects the account"),
        )
        .post(
            &format!("{acc}/enable-risk-management-api"),
            provisioning::enable_risk_management,
            Doc::new(
                "enableRiskManagementApi",
                Provisioning,
                "Turns the risk management API on for the account",
            )
            .auth(Auth::ApiToken),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt5-demo-accounts",
            provisioning::demo_account,
            Doc::new(
                "createMT5DemoAccount",
                Provisioning,
                "Opens an MT5 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(provisioning::DEMO_FIELDS)
            .reply_inline(200, provisioning::demo_account_schema),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt4-demo-accounts",
            provisioning::demo_account,
            Doc::new(
                "createMT4DemoAccount",
                Provisioning,
                "Opens an MT4 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(provisioning::DEMO_FIELDS)
            .reply_inline(200, provisioning::demo_account_schema),
        )
        // client API
        .get(
            &format!("{acc}/account-information"),
            client::account_information,
            Doc::new(
                "getAccountInformation",
                Client,
                "Balance, equity, margin and the account's properties",
            )
            .cost(Cost::cpu(50.0))
            .reply::<w::AccountInformation>(),
        )
        .get(
            &format!("{acc}/positions"),
            client::positions,
            Doc::new("getPositions", Client, "Open positions")
            .cost(Cost::cpu(50.0)).reply::<Vec<w::Position>>(),
        )
        .get(
            &format!("{acc}/positions/{{position_id}}"),
            client::position,
            Doc::new("getPosition", Client, "One open position")
            .cost(Cost::cpu(50.0)).reply::<w::Position>(),
        )
        .get(
            &format!("{acc}/orders"),
            client::orders,
            Doc::new("getOrders", Client, "Pending orders")
            .cost(Cost::cpu(50.0)).reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/orders/{{order_id}}"),
            client::order,
            Doc::new("getOrder", Client, "One pending order")
            .cost(Cost::cpu(50.0)).reply::<w::Order>(),
        )
        .get(
            &format!("{acc}/history-deals/time/{{start}}/{{end}}"),
            client::deals_by_time,
            Doc::new("getDealsByTimeRange", Client, "Deals in a time range")
            .cost(Cost::cpu_per_item(75.0, 0.65))
                .query(client::HISTORY_QUERY)
                .reply::<Vec<w::Deal>>(),
        )
        .get(
            &format!("{acc}/history-orders/time/{{start}}/{{end}}"),
            client::history_orders_by_time,
            Doc::new(
                "getHistoryOrdersByTimeRange",
                Client,
                "History orders in a time range",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .query(client::HISTORY_QUERY)
            .reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/history-deals/{{kind}}/{{value}}"),
            client::deals_by_key,
            Doc::new(
                "getDealsByTicketOrPosition",
                Client,
                "Deals of an order ticket or a position",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .reply::<Vec<w::Deal>>(),
        )
        .get(
            &format!("{acc}/history-orders/{{kind}}/{{value}}"),
            client::history_orders_by_key,
            Doc::new(
                "getHistoryOrdersByTicketOrPosition",
                Client,
                "History orders of a ticket or a position",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .reply::<Vec<w::Order>>(),
        )
        .post(
            &format!("{acc}/trade"),
            client::trade,
            Doc::new("trade", Client, "Executes a trade; every actionType")
            .cost(Cost::cpu(10.0))
                .body::<w::TradeRequest>()
                .reply::<w::TradeResponse>(),
        )
        .post(
            &format!("{acc}/calculate-margin"),
            client::calculate_margin,
            Doc::new(
                "calculateMargin",
                Client,
                "The margin an order (symbol, type, volume, openPrice) would need on its own",
            )
            .cost(Cost::cpu(50.0)),
        )
        .post(
            &format!("{acc}/unsubscribe"),
            client::unsubscribe,
            Doc::new(
                "unsubscribe",
                Client,
                "Ends the account's market data subscriptions",
            ),
        )
        .get(
            &format!("{acc}/symbols"),
            client::symbols,
            Doc::new("getSymbols", Client, "Symbols the trade server lists")
            .cost(Cost::cpu(500.0)).reply::<Vec<String>>(),
        )
        .get(
            &format!("{sym}/specification"),
            client::specification,
            Doc::new("getSymbolSpecification", Client, "A symbol's specification")
            .cost(Cost::cpu(50.0))
                .reply::<w::SymbolSpecification>(),
        )
        .get(
            &format!("{sym}/current-price"),
            client::current_price,
            Doc::new("getSymbolPrice", Client, "A symbol's current price")
            .cost(Cost::cpu(50.0))
                .reply::<w::SymbolPrice>(),
        )
        .get(
            &format!("{sym}/current-candles/{{timeframe}}"),
            client::current_candle,
            Doc::new("getCandle", Client, "A symbol's current candle")
            .cost(Cost::cpu(50.0)).reply::<w::Candle>(),
        )
        .get(
            &format!("{sym}/current-tick"),
            client::current_tick,
            Doc::new("getTick", Client, "A symbol's latest tick")
            .cost(Cost::cpu(50.0)).reply::<w::Tick>(),
        )
        .get(
            &format!("{sym}/current-book"),
            client::current_book,
            Doc::new("getBook", Client, "A symbol's order book")
            .cost(Cost::cpu_per_item(50.0, 0.1)).reply::<w::Book>(),
        )
        .get(
            &format!("{acc}/credits"),
            limits::credit_usage,
            Doc::new(
                "getCpuCreditUsage",
                Client,
                "CPU credits per account, per application and per front-end server: period, total, available",
            )
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/user-messages",
            user_messages::list,
            Doc::new(
                "getUserMessages",
                Client,
                "Notices queued for the caller (CQG types: 1 critical error, 2 warning, 3 info, 4 log), oldest first",
            )
            .query(user_messages::LIST_QUERY)
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/api-limits",
            limits::api_limits,
            Doc::new(
                "getApiLimits",
                Client,
                "The limits in force: `limits=1,3,390` (none: all), each `{limit, status_code, value, period_sec, description}`",
            )
            .query(limits::API_LIMITS_QUERY)
            .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/server-time"),
            client::server_time,
            Doc::new("getServerTime", Client, "The trade server's time")
            .cost(Cost::cpu(50.0)).reply::<w::ServerTime>(),
        )
        // historical market data
        .get(
            &format!(
                "{acc}/historical-market-data/symbols/{{symbol}}/timeframes/{{timeframe}}/candles"
            ),
            market_data::candles,
            Doc::new(
                "getHistoricalCandles",
                HistoricalMarketData,
                "Candles before startTime, oldest first",
            )
            .cost(Cost::history(0.1, 0.0004))
            .query(market_data::CANDLES_QUERY)
            .reply::<Vec<w::Candle>>(),
        )
        .get(
            &format!("{acc}/historical-market-data/symbols/{{symbol}}/ticks"),
            market_data::ticks,
            Doc::new(
                "getHistoricalTicks",
                HistoricalMarketData,
                "Ticks before startTime, oldest first",
            )
            .cost(Cost::history(0.1, 0.0002))
            .query(market_data::TICKS_QUERY)
            .reply::<Vec<w::Tick>>(),
        )
        // risk management (risk-management-api-v1)
        .post(
            &format!("{acc}/trackers"),
            risk::api::create_tracker,
            Doc::new(
                "createTracker",
                Client,
                "Adds a profit/drawdown tracker (`breachAction`: notify | halt | close-and-halt)",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema)
            .conflict(),
        )
        .get(
            &format!("{acc}/trackers"),
            risk::api::trackers,
            Doc::new("getTrackers", Client, "The account's trackers")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/trackers/name/{{name}}"),
            risk::api::tracker_by_name,
            Doc::new("getTrackerByName", Client, "One tracker, by name")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}"),
            risk::api::tracker,
            Doc::new("getTracker", Client, "One tracker")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .put(
            &format!("{acc}/trackers/{{tracker_id}}"),
            risk::api::update_tracker,
            Doc::new("updateTracker", Client, "Renames a tracker")
                .cost(Cost::cpu(10.0))
                .fields(TRACKER_UPDATE_FIELDS)
                .conflict(),
        )
        .delete(
            &format!("{acc}/trackers/{{tracker_id}}"),
            risk::api::delete_tracker,
            Doc::new("removeTracker", Client, "Removes a tracker (its events stay)")
                .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}/statistics"),
            risk::api::statistics,
            Doc::new(
                "getTrackingStatistics",
                Client,
                "Period statistics, newest first, loaded backwards from startTime",
            )
            .cost(Cost::cpu(50.0))
            .query(risk::api::STATISTICS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/equity-chart"),
            risk::api::equity_chart,
            Doc::new(
                "getEquityChart",
                Client,
                "Hourly balance and equity: start / min / max / average / last",
            )
            .cost(Cost::cpu(50.0))
            .query(risk::api::CHART_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/tracker-events/by-broker-time",
            risk::events::events_by_broker_time,
            Doc::new(
                "getTrackerEvents",
                Client,
                "Tracker events by broker time range, by sequence number",
            )
            .cost(Cost::cpu(50.0))
            .query(risk::events::EVENTS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/tracker-events/stream",
            risk::events::events_stream,
            Doc::new(
                "getTrackerEventsStream",
                Client,
                "Long poll: events after previousSequenceNumber at once, else the next ones (held up to a minute)",
            )
            .cost(Cost::cpu(50.0))
            .query(risk::events::STREAM_QUERY)
            .reply_inline(200, array_schema),
        )
        // risk rules and halts (drawbridge's own)
        .get(
            "/users/current/risk-rule-presets",
            risk::rules::presets,
            Doc::new(
                "getRiskRulePresets",
                Client,
                "The built-in prop-firm rule sets: name, description, TOML and JSON",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, array_schema),
        )
        .put(
            &format!("{acc}/risk-rules"),
            risk::rules::set_rules,
            Doc::new(
                "setRiskRules",
                Client,
                "Attaches a preset or a full rule set (replacing any), with the action on a loss breach",
            )
            .cost(Cost::cpu(10.0))
            .fields(risk::rules::RULES_FIELDS)
            .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/risk-rules"),
            risk::rules::get_rules,
            Doc::new(
                "getRiskRules",
                Client,
                "The attached rule set, its progress and whether the account is halted",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema),
        )
        .delete(
            &format!("{acc}/risk-rules"),
            risk::rules::delete_rules,
            Doc::new(
                "removeRiskRules",
                Client,
                "Detaches the rule set (a halt it ordered stays)",
            )
            .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/risk-halt"),
            risk::rules::halt,
            Doc::new(
                "getRiskHalt",
                Client,
                "Whether a tracker or rule breach halted the account",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema),
        )
        .post(
            &format!("{acc}/risk-halt/lift"),
            risk::rules::lift_halt,
            Doc::new(
                "liftRiskHalt",
                Client,
                "Lifts the account's halt; recorded as a haltLifted event",
            )
            .cost(Cost::cpu(10.0)),
        )
        // tokens
        .post(
            "/users/current/narrow-down-auth-token",
            tokens::narrow_down,
            Doc::new(
                "narrowDownAuthToken",
                Tokens,
                "A new token with fewer rights than the caller's",
            )
            .auth(Auth::ApiToken)
            .fields(tokens::NARROW_FIELDS)
            .reply_inline(200, tokens::token_schema),
        )
        .delete(
            "/users/current/auth-tokens/{token_id}",
            tokens::revoke,
            Doc::new(
                "revokeAuthToken",
                Tokens,
                "Revokes one of the caller's tokens",
            )
            .auth(Auth::ApiToken),
        )
        // sim control
        .post(
            "/sim/ticks",
            sim::tick,
            Doc::new("simTick", Sim, "Applies a tick now")
                .auth(Auth::Admin)
                .fields(sim::TICK_FIELDS)
                .reply_inline(200, object_schema),
        )
        .post(
            "/sim/feed",
            sim::feed,
            Doc::new("simFeed", Sim, "Pauses or resumes the generated feed")
                .auth(Auth::Admin)
                .fields(sim::FEED_FIELDS)
                .reply_inline(200, object_schema),
        )
        .post(
            "/sim/clock/advance",
            sim::advance,
            Doc::new(
                "simAdvanceClock",
                Sim,
                "Moves the virtual clock forward (`--clock virtual`)",
            )
            .auth(Auth::Admin)
            .fields(sim::ADVANCE_FIELDS)
            .reply_inline(200, object_schema),
        )
        .post(
            "/sim/balance",
            sim::balance,
            Doc::new(
                "simBalance",
                Sim,
                "Deposits or withdraws as a balance (or credit) deal",
            )
            .auth(Auth::Admin)
            .fields(sim::BALANCE_FIELDS)
            .reply_inline(200, object_schema),
        );
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

/// Routes registered together with their documentation.
#[derive(Default)]
struct Routes {
    router: Router<Shared>,
    operations: Vec<Operation>,
}

impl Routes {
    fn add<H, T>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &str,
        handler: H,
        doc: Doc,
    ) -> Self
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.router = self.router.route(path, on(filter, handler));
        self.operations.push(Operation {
            method,
            path: path.to_owned(),
            doc,
        });
        self
    }

    fn get<H: Handler<T, Shared>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.add(Method::GET, MethodFilter::GET, path, handler, doc)
    }

    fn post<H: Handler<T, Shared>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.add(Method::POST, MethodFilter::POST, path, handler, doc)
    }

    fn put<H: Handler<T, Shared>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.add(Method::PUT, MethodFilter::PUT, path, handler, doc)
    }

    fn delete<H: Handler<T, Shared>, T: 'static>(self, path: &str, handler: H, doc: Doc) -> Self {
        self.add(Method::DELETE, MethodFilter::DELETE, path, handler, doc)
    }

    /// The router, with `GET /openapi.json` serving the document of every route (itself
    /// included), and the cost of every costed route for the rate limiter.
    fn finish(mut self) -> (Router<Shared>, CostTable) {
        let mut costs = CostTable::new();
        for op in &self.operations {
            if let Some(cost) = op.doc.costs() {
                costs
                    .entry(op.path.clone())
                    .or_default()
                    .push((op.method.clone(), (op.doc.operation_id(), cost)));
            }
        }
        self.operations.push(Operation {
            method: Method::GET,
            path: OPENAPI_PATH.into(),
            doc: Doc::new("openApi", Tag::Operations, "This document")
                .auth(Auth::Public)
                .reply_inline(200, object_schema),
        });
        // Serialized once: every request gets the same bytes.
        let document = Bytes::from(openapi::document(&self.operations).to_string());
        let router = self.router.route(
            OPENAPI_PATH,
            get(move || {
                let document = document.clone();
                async move { ([(CONTENT_TYPE, "application/json")], document) }
            }),
        );
        (router, costs)
    }
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

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
