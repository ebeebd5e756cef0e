//! A deployed account's symbols and their current market: the symbols its trade server
//! lists, a symbol's specification, and its current price, candle, tick and (synthetic) book.

use super::session::{desk_error, gone, on_account, session, timeframe_param, unknown_symbol};
use super::terminal::information;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::limits::{Cost, ResultSize};
use crate::messages;
use crate::openapi::{Doc, Tag};
use crate::routes::{ACCOUNT, Routes, SYMBOL};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use drawbridge_broker::feed::synthetic_book;
use drawbridge_broker::metaapi as bw;
use drawbridge_model::wire as w;

/// Levels each side of the synthetic order book.
pub(crate) const BOOK_DEPTH: usize = 10;

/// `GET …/symbols`
pub async fn symbols(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let names = state
        .desk
        .read(move |broker| {
            (broker.symbols(session.account.server).iter())
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
    let session = session(state, caller, id).await?;
    let name = symbol.to_owned();
    state
        .desk
        .read(move |broker| {
            (broker.symbols(session.account.server).iter()).any(|spec| spec.name == name)
        })
        .await
        .map_err(desk_error)
}

/// `GET …/symbols/:symbol/specification`
pub async fn specification(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<w::SymbolSpecification>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    state
        .desk
        .read(move |broker| {
            (broker.symbols(session.account.server).iter())
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
    let session = session(state, caller, id).await?;
    on_account(state, session, move |_, engine, account| {
        let currency = engine.account(account).map(|acc| acc.currency);
        let prices = (symbols.iter())
            .map(|name| Some(bw::symbol_price(engine, engine.symbol(name)?, currency)))
            .collect();
        (prices, information(engine, account, session.access))
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
    let session = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    state
        .desk
        .read(move |broker| {
            let server = broker.server(session.account.server);
            let sym = server.engine.symbol(&name)?;
            let candle = server.candles.get(sym.index())?.current(tf)?;
            Some(bw::candle(server.engine.config().zone, &name, tf, &candle))
        })
        .await
        .map_err(desk_error)?
        .map(Json)
        .ok_or_else(|| unknown_symbol(&symbol))
}

/// `GET …/symbols/:symbol/current-tick`
pub async fn current_tick(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, symbol)): Path<(String, String)>,
) -> Result<Json<w::Tick>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let tick = state
        .desk
        .read(move |broker| {
            let server = broker.server(session.account.server);
            let sym = server.engine.symbol(&name)?;
            let zone = server.engine.config().zone;
            Some(server.last_tick(sym).map(|t| bw::tick(zone, &name, &t)))
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
    let session = session(&state, &caller, &id).await?;
    let name = symbol.clone();
    let book = state
        .desk
        .read(move |broker| {
            let server = broker.server(session.account.server);
            let sym = server.engine.symbol(&name)?;
            let zone = server.engine.config().zone;
            let spec = server.engine.specs().get(sym.index())?;
            Some(server.last_tick(sym).map(|tick| {
                let book = synthetic_book(spec, tick.bid, tick.ask, BOOK_DEPTH, tick.time);
                bw::book(zone, &name, &book)
            }))
        })
        .await
        .map_err(desk_error)?
        .ok_or_else(|| unknown_symbol(&symbol))?;
    let book = book.ok_or_else(|| ApiError::not_found(&messages::NO_QUOTE, &[&symbol]))?;
    Ok((ResultSize(book.book.len()), Json(book)))
}

/// Symbols, specifications and the current price, candle, tick and book.
pub(super) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    let sym = SYMBOL;
    use Tag::Client;
    routes
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
}
