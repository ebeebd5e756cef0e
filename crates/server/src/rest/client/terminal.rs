//! The client REST API of a deployed account: terminal state, trading, history and market
//! data, under `/users/current/accounts/:id/…`.
//!
//! Every call resolves the caller's account to its broker session, then reads the broker's
//! state through the desk (one consistent snapshot per call) or applies a trade as a
//! journaled op. An undeployed account answers as the cloud does: `ValidationError`
//! (not deployed); a deployed one without a broker session: `ValidationError` (not connected).

use crate::auth::Caller;
use crate::directory::Entry;
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::JsonObject;
use crate::limits::Cost;
use crate::limits::{Listed, ResultSize};
use crate::messages;
use crate::openapi::{Doc, Tag};
use crate::openapi::{Field, Kind as K, opt};
use crate::rest::provisioning::{owned, owned_entry};
use crate::routes::{ACCOUNT, Routes, SYMBOL};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use drawbridge_broker::account::Access;
use drawbridge_broker::broker::Session;
use drawbridge_broker::feed::synthetic_book;
use drawbridge_broker::sim::SimBroker;
use drawbridge_broker::wire as bw;
use drawbridge_desk::{DeskError, Op, Outcome};
use drawbridge_model::wire as w;
use drawbridge_model::{Timeframe, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest page of history queries.
const HISTORY_LIMIT_MAX: usize = 1_000;
/// Levels each side of the synthetic order book.
pub(crate) const BOOK_DEPTH: usize = 10;

/// The account's broker session, after the ownership and deployment checks.
pub(crate) async fn session(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Session, ApiError> {
    deployed(state, caller, id)
        .await
        .map(|(_, session)| session)
}

/// The account's directory entry and broker session, after the ownership and deployment
/// checks.
pub(crate) async fn deployed(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(Arc<Entry>, Session), ApiError> {
    let entry = owned_entry(state, caller, id).await?;
    if entry.doc.state != "DEPLOYED" {
        return Err(ApiError::of(
            Kind::Validation,
            &messages::ACCOUNT_NOT_DEPLOYED,
            &[&id],
        ));
    }
    let session = (state.session(id))
        .ok_or_else(|| ApiError::of(Kind::Validation, &messages::ACCOUNT_NOT_CONNECTED, &[&id]))?;
    Ok((entry, session))
}

pub(crate) fn desk_error(e: DeskError) -> ApiError {
    match e {
        DeskError::Request(problems) => ApiError::fields(
            problems
                .into_iter()
                .map(|p| FieldError::invalid(p.field, None, &p.reason))
                .collect(),
        ),
        other => ApiError::internal(other),
    }
}

/// Runs `f` on the account's server engine and account index.
async fn on_account<R: Send + 'static>(
    state: &Shared,
    s: Session,
    f: impl FnOnce(
        &SimBroker,
        &drawbridge_broker::engine::Engine,
        drawbridge_broker::account::AccountIdx,
    ) -> R
    + Send
    + 'static,
) -> Result<Option<R>, ApiError> {
    state
        .desk
        .read(move |b| {
            let engine = &b.server(s.account.server).engine;
            engine.find_login(s.account.login).map(|a| f(b, engine, a))
        })
        .await
        .map_err(desk_error)
}

fn gone(id: &str) -> ApiError {
    ApiError::of(Kind::Validation, &messages::ACCOUNT_NOT_CONNECTED, &[&id])
}

/// The account's information; `None` for an account not cleared by statements (the
/// request succeeds with no data). The one read behind REST and the streaming RPC.
pub(crate) async fn read_account_information(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Option<w::AccountInformation>, ApiError> {
    let s = session(state, caller, id).await?;
    on_account(state, s, move |_, e, a| information(e, a, s.access))
        .await?
        .ok_or_else(|| gone(id))
}

/// The account's information; `None` for an account whose summary is not reported.
pub(crate) fn information(
    e: &drawbridge_broker::engine::Engine,
    a: drawbridge_broker::account::AccountIdx,
    access: Access,
) -> Option<w::AccountInformation> {
    let reported = e.account(a).is_some_and(|acc| acc.kind.is_reported());
    reported
        .then(|| bw::account_information(e, a, access, "Drawbridge"))
        .flatten()
}

/// `GET …/account-information`
pub async fn account_information(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(
        match read_account_information(&state, &caller, &id).await? {
            Some(i) => Json(i).into_response(),
            None => Json(json!({})).into_response(),
        },
    )
}

/// The account's open positions (REST and streaming RPC).
pub(crate) async fn read_positions(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Vec<w::Position>, ApiError> {
    let s = session(state, caller, id).await?;
    on_account(state, s, move |b, e, _| {
        b.positions(&s)
            .map(|ps| bw::positions(e, &ps))
            .unwrap_or_default()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/positions`
pub async fn positions(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<w::Position>>, ApiError> {
    Ok(Json(read_positions(&state, &caller, &id).await?))
}

/// `GET …/positions/:positionId`
pub async fn position(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, position_id)): Path<(String, String)>,
) -> Result<Json<w::Position>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let pid = position_id.parse::<u64>().ok();
    on_account(&state, s, move |b, e, _| {
        let ps = b.positions(&s).unwrap_or_default();
        ps.iter()
            .find(|p| Some(p.id) == pid)
            .map(|p| bw::position(e, p))
    })
    .await?
    .flatten()
    .map(Json)
    .ok_or_else(|| ApiError::not_found(&messages::NOT_FOUND_POSITION, &[&position_id]))
}

/// `GET …/orders`
pub async fn orders(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<w::Order>>, ApiError> {
    Ok(Json(read_orders(&state, &caller, &id).await?))
}

/// The account's pending orders (REST and streaming).
pub(crate) async fn read_orders(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Vec<w::Order>, ApiError> {
    let s = session(state, caller, id).await?;
    on_account(state, s, move |b, e, _| {
        b.orders(&s)
            .map(|os| os.iter().map(|o| bw::order(e, o)).collect::<Vec<_>>())
            .unwrap_or_default()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// An account's terminal state, read in one step of the desk (so no change falls between
/// its parts): what a streaming synchronization sends, and an update compares.
#[derive(Debug)]
pub(crate) struct Terminal {
    pub specifications: Vec<w::SymbolSpecification>,
    pub information: Option<w::AccountInformation>,
    pub positions: Vec<w::Position>,
    pub orders: Vec<w::Order>,
    pub deals: Vec<w::Deal>,
    pub history_orders: Vec<w::Order>,
}

impl Terminal {
    /// With the trade server's symbol specifications (a synchronization sends them).
    pub(crate) const WITH_SPECIFICATIONS: bool = true;
    /// Without them (an update never changes them).
    pub(crate) const WITHOUT_SPECIFICATIONS: bool = false;
}

/// The account's terminal state, with deals and history orders from the given times on.
pub(crate) async fn read_terminal(
    state: &Shared,
    caller: &Caller,
    id: &str,
    specifications: bool,
    deals_from: Timestamp,
    orders_from: Timestamp,
) -> Result<Terminal, ApiError> {
    let s = session(state, caller, id).await?;
    let end = Timestamp(i64::MAX);
    on_account(state, s, move |b, e, a| Terminal {
        specifications: if specifications {
            (b.symbols(s.account.server).iter())
                .map(bw::symbol_specification)
                .collect()
        } else {
            Vec::new()
        },
        information: information(e, a, s.access),
        positions: bw::positions(e, &b.positions(&s).unwrap_or_default()),
        orders: (b.orders(&s).unwrap_or_default().iter())
            .map(|o| bw::order(e, o))
            .collect(),
        deals: (b.deals(&s, deals_from, end).unwrap_or_default().iter())
            .map(|d| bw::deal(e, d))
            .collect(),
        history_orders: (b
            .history_orders(&s, orders_from, end)
            .unwrap_or_default()
            .iter())
        .map(|o| bw::order(e, o))
        .collect(),
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/orders/:orderId`
pub async fn order(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, order_id)): Path<(String, String)>,
) -> Result<Json<w::Order>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let oid = order_id.parse::<u64>().ok();
    on_account(&state, s, move |b, e, _| {
        let os = b.orders(&s).unwrap_or_default();
        os.iter()
            .find(|o| Some(o.id) == oid)
            .map(|o| bw::order(e, o))
    })
    .await?
    .flatten()
    .map(Json)
    .ok_or_else(|| ApiError::not_found(&messages::NOT_FOUND_ORDER, &[&order_id]))
}

/// Offset and limit of a history query.
fn page(raw: Option<&str>) -> Result<(usize, usize), ApiError> {
    let q = crate::extract::query_map(raw);
    let mut problems = Vec::new();
    let mut count = |key: &str, max: usize| {
        crate::extract::count_param(key, q.get(key).map(String::as_str), max, &mut problems)
    };
    let offset = count("offset", usize::MAX).unwrap_or(0);
    let limit = count("limit", HISTORY_LIMIT_MAX).unwrap_or(HISTORY_LIMIT_MAX);
    if problems.is_empty() {
        Ok((offset, limit))
    } else {
        Err(ApiError::fields(problems))
    }
}

/// A time path parameter; `None` (and a problem noted) when it is not ISO-8601.
fn time_param(name: &str, raw: &str, problems: &mut Vec<FieldError>) -> Option<Timestamp> {
    let decoded = raw.replace("%3A", ":").replace("%3a", ":");
    let t = Timestamp::parse_iso(&decoded).ok();
    if t.is_none() {
        problems.push(FieldError::invalid(
            name,
            Some(json!(raw)),
            "must be an ISO-8601 time",
        ));
    }
    t
}

fn time_range(start: &str, end: &str) -> Result<(Timestamp, Timestamp), ApiError> {
    let mut problems = Vec::new();
    let from = time_param("startTime", start, &mut problems);
    let to = time_param("endTime", end, &mut problems);
    match (from, to) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(ApiError::fields(problems)),
    }
}

/// The header an answer carries when its range was cut at `historical_orders_days`: the
/// earliest time served.
pub const HISTORY_TRUNCATED_HEADER: &str = "x-history-truncated-before";

/// A history range, cut at the `historical_orders_days` limit (CQG 261): a start further
/// back than that many days before now becomes that instant, returned as the cut.
fn history_range(
    state: &Shared,
    start: &str,
    end: &str,
) -> Result<(Timestamp, Timestamp, Option<Timestamp>), ApiError> {
    let (from, to) = time_range(start, end)?;
    let days = state
        .limits
        .catalogue
        .value(drawbridge_limits::catalog::id::HISTORICAL_ORDERS_DAYS);
    let span_ms = i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(86_400_000);
    let earliest = state.now().plus_millis(-span_ms.min(i64::MAX / 2));
    Ok(if from < earliest {
        (earliest, to, Some(earliest))
    } else {
        (from, to, None)
    })
}

/// A history list, saying where its range was cut.
fn history_answer<T: serde::Serialize>(list: Vec<T>, cut: Option<Timestamp>) -> Response {
    let mut response = Listed(list).into_response();
    if let Some(t) = cut
        && let Ok(v) = axum::http::HeaderValue::from_str(&t.to_iso())
    {
        response.headers_mut().insert(HISTORY_TRUNCATED_HEADER, v);
    }
    response
}

/// `GET …/history-deals/time/:startTime/:endTime`
pub async fn deals_by_time(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, start, end)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to, cut) = history_range(&state, &start, &end)?;
    let (offset, limit) = page(raw.as_deref())?;
    let s = session(&state, &caller, &id).await?;
    let list = on_account(&state, s, move |b, e, _| {
        b.deals(&s, from, to)
            .unwrap_or_default()
            .iter()
            .skip(offset)
            .take(limit)
            .map(|d| bw::deal(e, d))
            .collect::<Vec<_>>()
    })
    .await?
    .ok_or_else(|| gone(&id))?;
    Ok(history_answer(list, cut))
}

/// `GET …/history-orders/time/:startTime/:endTime`
pub async fn history_orders_by_time(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, start, end)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to, cut) = history_range(&state, &start, &end)?;
    let (offset, limit) = page(raw.as_deref())?;
    let s = session(&state, &caller, &id).await?;
    let list = on_account(&state, s, move |b, e, _| {
        b.history_orders(&s, from, to)
            .unwrap_or_default()
            .iter()
            .skip(offset)
            .take(limit)
            .map(|o| bw::order(e, o))
            .collect::<Vec<_>>()
    })
    .await?
    .ok_or_else(|| gone(&id))?;
    Ok(history_answer(list, cut))
}

/// `POST …/trade`
pub async fn trade(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<w::TradeResponse>, ApiError> {
    caller.require_write()?;
    let s = session(&state, &caller, &id).await?;
    let request: w::TradeRequest = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::field(FieldError::invalid("trade", None, &e.to_string())))?;
    state.risk.check_trade(&id, &request)?;
    let op = Op::Trade {
        server: s.account.server,
        login: s.account.login,
        investor: s.access == Access::Investor,
        request: Box::new(request),
    };
    match state.desk.apply(op).await.map_err(desk_error)? {
        Outcome::Trade(r) => Ok(Json(r)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `GET …/symbols`
pub async fn symbols(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let names = state
        .desk
        .read(move |b| {
            b.symbols(s.account.server)
                .iter()
                .map(|spec| spec.name.clone())
                .collect()
        })
        .await
        .map_err(desk_error)?;
    Ok(Json(names))
}

/// Whether the account's trade server lists `symbol`.
pub(crate) async fn symbol_exists(
    state: &Shared,
    caller: &Caller,
    id: &str,
    symbol: &str,
) -> Result<bool, ApiError> {
    let s = session(state, caller, id).await?;
    let name = symbol.to_owned();
    state
        .desk
        .read(move |b| {
            b.symbols(s.account.server)
                .iter()
                .any(|spec| spec.name == name)
        })
        .await
        .map_err(desk_error)
}

pub(crate) fn unknown_symbol(symbol: &str) -> ApiError {
    ApiError::field(FieldError::new(
        "symbol",
        Some(json!(symbol)),
        messages::FIELD_UNKNOWN_SYMBOL.with(&[&symbol]),
    ))
}

/// `GET …/symbols/:symbol/specification`
pub async fn specification(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<w::SymbolSpecification>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    state
        .desk
        .read(move |b| {
            b.symbols(s.account.server)
                .iter()
                .find(|spec| spec.name == name)
                .map(bw::symbol_specification)
        })
        .await
        .map_err(desk_error)?
        .map(Json)
        .ok_or_else(|| unknown_symbol(&symbol))
}

/// `GET …/symbols/:symbol/current-price`
pub async fn current_price(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<w::SymbolPrice>, ApiError> {
    Ok(Json(
        read_symbol_price(&state, &caller, &id, &symbol).await?,
    ))
}

/// A symbol's current price on the account (REST and streaming RPC).
pub(crate) async fn read_symbol_price(
    state: &Shared,
    caller: &Caller,
    id: &str,
    symbol: &str,
) -> Result<w::SymbolPrice, ApiError> {
    let (mut prices, _) = read_quotes(state, caller, id, vec![symbol.to_owned()]).await?;
    match prices.pop().flatten() {
        Some(Some(price)) => Ok(price),
        Some(None) => Err(ApiError::not_found(&messages::NO_QUOTE, &[&symbol])),
        None => Err(unknown_symbol(symbol)),
    }
}

/// Each symbol's current price on the account (`None`: no such symbol; `Some(None)`: no
/// quote yet) and the account's information, in one step of the desk: a `prices` packet.
pub(crate) async fn read_quotes(
    state: &Shared,
    caller: &Caller,
    id: &str,
    symbols: Vec<String>,
) -> Result<
    (
        Vec<Option<Option<w::SymbolPrice>>>,
        Option<w::AccountInformation>,
    ),
    ApiError,
> {
    let s = session(state, caller, id).await?;
    on_account(state, s, move |_, e, a| {
        let currency = e.account(a).map(|acc| acc.currency);
        let prices = (symbols.iter())
            .map(|name| Some(bw::symbol_price(e, e.symbol(name)?, currency)))
            .collect();
        (prices, information(e, a, s.access))
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/symbols/:symbol/current-candles/:timeframe`
pub async fn current_candle(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol, timeframe)): Path<(String, String, String)>,
) -> Result<Json<w::Candle>, ApiError> {
    let tf = timeframe_param(&timeframe)?;
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    state
        .desk
        .read(move |b| {
            let srv = b.server(s.account.server);
            let sym = srv.engine.symbol(&name)?;
            let c = srv.candles.get(sym.index())?.current(tf)?;
            Some(bw::candle(srv.engine.config().zone, &name, tf, &c))
        })
        .await
        .map_err(desk_error)?
        .map(Json)
        .ok_or_else(|| unknown_symbol(&symbol))
}

/// A timeframe path parameter (`1m` … `1mn`).
pub(crate) fn timeframe_param(timeframe: &str) -> Result<Timeframe, ApiError> {
    timeframe.parse().map_err(|_| {
        ApiError::field(FieldError::new(
            "timeframe",
            Some(json!(timeframe)),
            messages::FIELD_ONE_OF.with(&[&Timeframe::ALL.map(Timeframe::as_str).join(" ")]),
        ))
    })
}

/// `GET …/symbols/:symbol/current-tick`
pub async fn current_tick(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<w::Tick>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let tick = state
        .desk
        .read(move |b| {
            let srv = b.server(s.account.server);
            let sym = srv.engine.symbol(&name)?;
            let zone = srv.engine.config().zone;
            Some(srv.last_tick(sym).map(|t| bw::tick(zone, &name, &t)))
        })
        .await
        .map_err(desk_error)?
        .ok_or_else(|| unknown_symbol(&symbol))?;
    tick.map(Json)
        .ok_or_else(|| ApiError::not_found(&messages::NO_QUOTE, &[&symbol]))
}

/// `GET …/symbols/:symbol/current-book`: the synthetic depth of market around the quote.
pub async fn current_book(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<(ResultSize, Json<w::Book>), ApiError> {
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let book = state
        .desk
        .read(move |b| {
            let srv = b.server(s.account.server);
            let sym = srv.engine.symbol(&name)?;
            let zone = srv.engine.config().zone;
            let spec = srv.engine.specs().get(sym.index())?;
            Some(srv.last_tick(sym).map(|t| {
                let book = synthetic_book(spec, t.bid, t.ask, BOOK_DEPTH, t.time);
                bw::book(zone, &name, &book)
            }))
        })
        .await
        .map_err(desk_error)?
        .ok_or_else(|| unknown_symbol(&symbol))?;
    let book = book.ok_or_else(|| ApiError::not_found(&messages::NO_QUOTE, &[&symbol]))?;
    Ok((ResultSize(book.book.len()), Json(book)))
}

/// `POST …/calculate-margin`: the margin a `MarginOrder` (`symbol`, `type` buy or sell,
/// `volume`, `openPrice`) would need on its own, in the account's currency: `{margin}`.
pub async fn calculate_margin(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let order = MarginOrder::parse(&body)?;
    Ok(Json(
        json!({ "margin": read_margin(&state, &caller, &id, order).await? }),
    ))
}

/// A validated `MarginOrder`.
#[derive(Debug, Clone)]
pub(crate) struct MarginOrder {
    symbol: String,
    side: drawbridge_broker::engine::book::Side,
    volume: drawbridge_model::Volume,
    open_price: drawbridge_model::Price,
}

impl MarginOrder {
    /// Every bad field at once, as a `ValidationError`.
    pub(crate) fn parse(body: &serde_json::Map<String, Value>) -> Result<Self, ApiError> {
        use drawbridge_broker::engine::book::Side;
        let mut problems = Vec::new();
        let symbol = match body.get("symbol") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(v) => {
                problems.push(FieldError::invalid(
                    "symbol",
                    Some(v.clone()),
                    "not a symbol name",
                ));
                String::new()
            }
            None => {
                problems.push(FieldError::required("symbol"));
                String::new()
            }
        };
        let side = match body.get("type").and_then(Value::as_str) {
            Some("ORDER_TYPE_BUY") => Some(Side::Buy),
            Some("ORDER_TYPE_SELL") => Some(Side::Sell),
            None if !body.contains_key("type") => {
                problems.push(FieldError::required("type"));
                None
            }
            _ => {
                problems.push(FieldError::new(
                    "type",
                    body.get("type").cloned(),
                    messages::FIELD_ONE_OF.with(&[&"ORDER_TYPE_BUY, ORDER_TYPE_SELL"]),
                ));
                None
            }
        };
        // Eight-decimal fixed point, above zero.
        let mut positive = |name: &str| match body.get(name) {
            Some(v) => {
                let fixed = v
                    .as_f64()
                    .filter(|x| *x > 0.0)
                    .and_then(drawbridge_model::Price::from_f64);
                if fixed.is_none_or(|p| p.0 <= 0) {
                    problems.push(FieldError::invalid(
                        name,
                        Some(v.clone()),
                        "must be a number above 0",
                    ));
                }
                fixed
            }
            None => {
                problems.push(FieldError::required(name));
                None
            }
        };
        let (volume, open_price) = (positive("volume"), positive("openPrice"));
        match (side, volume, open_price) {
            (Some(side), Some(volume), Some(open_price)) if problems.is_empty() => Ok(Self {
                symbol,
                side,
                volume: drawbridge_model::Volume(volume.0),
                open_price,
            }),
            _ => Err(ApiError::fields(problems)),
        }
    }
}

/// The margin `order` would need on the account (REST and streaming RPC).
pub(crate) async fn read_margin(
    state: &Shared,
    caller: &Caller,
    id: &str,
    order: MarginOrder,
) -> Result<f64, ApiError> {
    let s = session(state, caller, id).await?;
    let name = order.symbol.clone();
    let margin = on_account(state, s, move |_, engine, a| {
        let sym = engine.symbol(&name)?;
        Some(engine.order_margin(a, sym, order.side, order.volume, order.open_price))
    })
    .await?
    .ok_or_else(|| gone(id))?;
    margin
        .map(|m| m.to_f64())
        .ok_or_else(|| unknown_symbol(&order.symbol))
}

/// A ticket or position id path parameter.
fn id_param(name: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::field(FieldError::invalid(
            name,
            Some(json!(raw)),
            "must be a positive integer",
        ))
    })
}

/// Which history items a by-ticket or by-position query wants.
#[derive(Clone, Copy)]
enum HistoryKey {
    Ticket(u64),
    Position(u64),
}

/// `GET …/history-deals/ticket/:ticket` and `…/history-deals/position/:positionId`.
async fn deals_by(
    state: Shared,
    caller: Caller,
    id: String,
    key: HistoryKey,
    raw: Option<String>,
) -> Result<Listed<w::Deal>, ApiError> {
    let (offset, limit) = page(raw.as_deref())?;
    let s = session(&state, &caller, &id).await?;
    let list = on_account(&state, s, move |b, e, _| {
        b.deals(&s, Timestamp(i64::MIN), Timestamp(i64::MAX))
            .unwrap_or_default()
            .iter()
            .filter(|d| match key {
                HistoryKey::Ticket(t) => d.id == t,
                HistoryKey::Position(p) => d.position_id == Some(p),
            })
            .skip(offset)
            .take(limit)
            .map(|d| bw::deal(e, d))
            .collect::<Vec<_>>()
    })
    .await?
    .ok_or_else(|| gone(&id))?;
    Ok(Listed(list))
}

/// `GET …/history-orders/ticket/:ticket` and `…/history-orders/position/:positionId`.
async fn history_orders_by(
    state: Shared,
    caller: Caller,
    id: String,
    key: HistoryKey,
    raw: Option<String>,
) -> Result<Listed<w::Order>, ApiError> {
    let (offset, limit) = page(raw.as_deref())?;
    let s = session(&state, &caller, &id).await?;
    let list = on_account(&state, s, move |b, e, _| {
        b.history_orders(&s, Timestamp(i64::MIN), Timestamp(i64::MAX))
            .unwrap_or_default()
            .iter()
            .filter(|o| match key {
                HistoryKey::Ticket(t) => o.id == t,
                HistoryKey::Position(p) => o.position_id == Some(p),
            })
            .skip(offset)
            .take(limit)
            .map(|o| bw::order(e, o))
            .collect::<Vec<_>>()
    })
    .await?
    .ok_or_else(|| gone(&id))?;
    Ok(Listed(list))
}

impl HistoryKey {
    /// `ticket/:ticket` or `position/:positionId`; any other first segment is no route.
    fn parse(kind: &str, value: &str, path: &str) -> Result<Self, ApiError> {
        match kind {
            "ticket" => Ok(Self::Ticket(id_param("ticket", value)?)),
            "position" => Ok(Self::Position(id_param("positionId", value)?)),
            _ => Err(ApiError::not_found(
                &messages::NOT_FOUND_ROUTE,
                &[&"GET", &path],
            )),
        }
    }
}

/// `GET …/history-deals/ticket/:ticket` and `…/history-deals/position/:positionId`
pub async fn deals_by_key(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, kind, value)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Deal>, ApiError> {
    let key = HistoryKey::parse(&kind, &value, &format!("history-deals/{kind}/{value}"))?;
    deals_by(state, caller, id, key, raw).await
}

/// `GET …/history-orders/ticket/:ticket` and `…/history-orders/position/:positionId`
pub async fn history_orders_by_key(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, kind, value)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Order>, ApiError> {
    let key = HistoryKey::parse(&kind, &value, &format!("history-orders/{kind}/{value}"))?;
    history_orders_by(state, caller, id, key, raw).await
}

/// `POST …/unsubscribe`: the cloud releases the terminal subscription a REST call keeps
/// open. REST calls here hold no subscription, so there is nothing to release; the account
/// checks still apply.
pub async fn unsubscribe(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    owned(&state, &caller, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET …/server-time`
pub async fn server_time(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<w::ServerTime>, ApiError> {
    let s = session(&state, &caller, &id).await?;
    let t = state
        .desk
        .read(move |b| {
            let e = &b.server(s.account.server).engine;
            let last = (0..e.specs().len())
                .map(|i| e.quote(drawbridge_broker::symbol::SymbolIdx(i as u32)))
                .filter(|q| q.is_live())
                .map(|q| q.time)
                .max();
            bw::server_time(e.config().zone, b.now(), last)
        })
        .await
        .map_err(desk_error)?;
    Ok(Json(t))
}

// What the OpenAPI document says about this module's query parameters and bodies;
// the parsers above are the truth, so these stay next to them.

pub const HISTORY_QUERY: &[Field] = &[
    opt("offset", K::Integer, "Records to skip"),
    opt("limit", K::Integer, "Records to answer, at most 1000"),
];

/// The client API of a deployed account: terminal state, trading, history, symbols.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    let sym = SYMBOL;
    use Tag::Client;
    routes
        .get(
            &format!("{acc}/account-information"),
            account_information,
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
            positions,
            Doc::new("getPositions", Client, "Open positions")
                .cost(Cost::cpu(50.0))
                .reply::<Vec<w::Position>>(),
        )
        .get(
            &format!("{acc}/positions/{{position_id}}"),
            position,
            Doc::new("getPosition", Client, "One open position")
                .cost(Cost::cpu(50.0))
                .reply::<w::Position>(),
        )
        .get(
            &format!("{acc}/orders"),
            orders,
            Doc::new("getOrders", Client, "Pending orders")
                .cost(Cost::cpu(50.0))
                .reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/orders/{{order_id}}"),
            order,
            Doc::new("getOrder", Client, "One pending order")
                .cost(Cost::cpu(50.0))
                .reply::<w::Order>(),
        )
        .get(
            &format!("{acc}/history-deals/time/{{start}}/{{end}}"),
            deals_by_time,
            Doc::new("getDealsByTimeRange", Client, "Deals in a time range")
                .cost(Cost::cpu_per_item(75.0, 0.65))
                .query(HISTORY_QUERY)
                .reply::<Vec<w::Deal>>(),
        )
        .get(
            &format!("{acc}/history-orders/time/{{start}}/{{end}}"),
            history_orders_by_time,
            Doc::new(
                "getHistoryOrdersByTimeRange",
                Client,
                "History orders in a time range",
            )
            .cost(Cost::cpu_per_item(75.0, 0.65))
            .query(HISTORY_QUERY)
            .reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/history-deals/{{kind}}/{{value}}"),
            deals_by_key,
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
            history_orders_by_key,
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
            trade,
            Doc::new("trade", Client, "Executes a trade; every actionType")
                .cost(Cost::cpu(10.0))
                .body::<w::TradeRequest>()
                .reply::<w::TradeResponse>(),
        )
        .post(
            &format!("{acc}/calculate-margin"),
            calculate_margin,
            Doc::new(
                "calculateMargin",
                Client,
                "The margin an order (symbol, type, volume, openPrice) would need on its own",
            )
            .cost(Cost::cpu(50.0)),
        )
        .post(
            &format!("{acc}/unsubscribe"),
            unsubscribe,
            Doc::new(
                "unsubscribe",
                Client,
                "Ends the account's market data subscriptions",
            ),
        )
        .get(
            &format!("{acc}/symbols"),
            symbols,
            Doc::new("getSymbols", Client, "Symbols the trade server lists")
                .cost(Cost::cpu(500.0))
                .reply::<Vec<String>>(),
        )
        .get(
            &format!("{sym}/specification"),
            specification,
            Doc::new("getSymbolSpecification", Client, "A symbol's specification")
                .cost(Cost::cpu(50.0))
                .reply::<w::SymbolSpecification>(),
        )
        .get(
            &format!("{sym}/current-price"),
            current_price,
            Doc::new("getSymbolPrice", Client, "A symbol's current price")
                .cost(Cost::cpu(50.0))
                .reply::<w::SymbolPrice>(),
        )
        .get(
            &format!("{sym}/current-candles/{{timeframe}}"),
            current_candle,
            Doc::new("getCandle", Client, "A symbol's current candle")
                .cost(Cost::cpu(50.0))
                .reply::<w::Candle>(),
        )
        .get(
            &format!("{sym}/current-tick"),
            current_tick,
            Doc::new("getTick", Client, "A symbol's latest tick")
                .cost(Cost::cpu(50.0))
                .reply::<w::Tick>(),
        )
        .get(
            &format!("{sym}/current-book"),
            current_book,
            Doc::new("getBook", Client, "A symbol's order book")
                .cost(Cost::cpu_per_item(50.0, 0.1))
                .reply::<w::Book>(),
        )
        .get(
            &format!("{acc}/server-time"),
            server_time,
            Doc::new("getServerTime", Client, "The trade server's time")
                .cost(Cost::cpu(50.0))
                .reply::<w::ServerTime>(),
        )
}
