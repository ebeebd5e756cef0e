//! The historical market data API (`mt-market-data-client-api-v1.<region>.<domain>`, and by
//! path): candles and ticks of a deployed account's symbol, served from the simulated feed.
//!
//! Both load backwards from `startTime` (the latest time wanted; now when absent) and answer
//! oldest first, at most 1000 items. Candles come from the bars each symbol keeps per
//! timeframe (`CANDLES_PER_TIMEFRAME_MAX`), ticks from the latest ticks it keeps
//! (`TICKS_KEPT_PER_SYMBOL`); older history than that answers an empty list, as the cloud does
//! past a broker's history.

use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::extract::query_map;
use crate::limits::Cost;
use crate::limits::Listed;
use crate::openapi::{Doc, Tag};
use crate::openapi::{Field, Kind as K, opt};
use crate::rest::client::session::{desk_error, session, timeframe_param, unknown_symbol};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use axum::extract::{Path, RawQuery, State};
use drawbridge_broker::metaapi as bw;
use drawbridge_model::Timestamp;
use drawbridge_model::wire as w;
use serde_json::json;

/// Largest `limit` of either query.
const LIMIT_MAX: usize = 1_000;

/// `startTime`, `offset` and `limit` of a query, every bad one reported.
struct Window {
    start: Option<Timestamp>,
    offset: usize,
    limit: usize,
}

fn window(raw: Option<&str>, with_offset: bool) -> Result<Window, ApiError> {
    let q = query_map(raw);
    let mut problems = Vec::new();
    let start = q.get("startTime").and_then(|v| {
        let t = Timestamp::parse_iso(v).ok();
        if t.is_none() {
            problems.push(FieldError::invalid(
                "startTime",
                Some(json!(v)),
                "must be an ISO-8601 time",
            ));
        }
        t
    });
    let mut count = |key: &str, max: usize| {
        crate::extract::count_param(key, q.get(key).map(String::as_str), max, &mut problems)
    };
    let limit = count("limit", LIMIT_MAX).unwrap_or(LIMIT_MAX);
    let offset = if with_offset {
        count("offset", usize::MAX).unwrap_or(0)
    } else {
        0
    };
    if problems.is_empty() {
        Ok(Window {
            start,
            offset,
            limit,
        })
    } else {
        Err(ApiError::fields(problems))
    }
}

/// `GET /users/current/accounts/:id/historical-market-data/symbols/:symbol/timeframes/:tf/candles`
pub async fn candles(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol, timeframe)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Candle>, ApiError> {
    let tf = timeframe_param(&timeframe)?;
    let win = window(raw.as_deref(), false)?;
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let list = state
        .desk
        .read(move |b| {
            let srv = b.server(s.account.server);
            let sym = srv.engine.symbol(&name)?;
            let zone = srv.engine.config().zone;
            let mut bars = srv
                .candles
                .get(sym.index())?
                .candles(tf, win.start, win.limit);
            bars.reverse();
            Some(
                bars.iter()
                    .map(|c| bw::candle(zone, &name, tf, c))
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .map_err(desk_error)?
        .ok_or_else(|| unknown_symbol(&symbol))?;
    Ok(Listed(list))
}

/// `GET /users/current/accounts/:id/historical-market-data/symbols/:symbol/ticks`
pub async fn ticks(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Listed<w::Tick>, ApiError> {
    let win = window(raw.as_deref(), true)?;
    let s = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let list = state
        .desk
        .read(move |b| {
            let srv = b.server(s.account.server);
            let sym = srv.engine.symbol(&name)?;
            let zone = srv.engine.config().zone;
            let ticks = srv.recent_ticks(sym, win.start, win.offset, win.limit);
            Some(
                ticks
                    .iter()
                    .map(|t| bw::tick(zone, &name, t))
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .map_err(desk_error)?
        .ok_or_else(|| unknown_symbol(&symbol))?;
    Ok(Listed(list))
}

// What the OpenAPI document says about this module's query parameters and bodies;
// the parsers above are the truth, so these stay next to them.

pub const CANDLES_QUERY: &[Field] = &[
    opt(
        "startTime",
        K::Time,
        "Latest time wanted; now when absent. Candles load backwards from it",
    ),
    opt("limit", K::Integer, "Candles to answer, at most 1000"),
];

pub const TICKS_QUERY: &[Field] = &[
    opt(
        "startTime",
        K::Time,
        "Latest time wanted; now when absent. Ticks load backwards from it",
    ),
    opt("offset", K::Integer, "Ticks to skip"),
    opt("limit", K::Integer, "Ticks to answer, at most 1000"),
];

/// The historical market data API.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::HistoricalMarketData;
    routes
        .get(
            &format!(
                "{acc}/historical-market-data/symbols/{{symbol}}/timeframes/{{timeframe}}/candles"
            ),
            candles,
            Doc::new(
                "getHistoricalCandles",
                HistoricalMarketData,
                "Candles before startTime, oldest first",
            )
            .cost(Cost::history(0.1, 0.0004))
            .query(CANDLES_QUERY)
            .reply::<Vec<w::Candle>>(),
        )
        .get(
            &format!("{acc}/historical-market-data/symbols/{{symbol}}/ticks"),
            ticks,
            Doc::new(
                "getHistoricalTicks",
                HistoricalMarketData,
                "Ticks before startTime, oldest first",
            )
            .cost(Cost::history(0.1, 0.0002))
            .query(TICKS_QUERY)
            .reply::<Vec<w::Tick>>(),
        )
}
