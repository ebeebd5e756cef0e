//! Engine and feed records as MetaApi wire shapes: the one place where drawbridge's exact
//! numbers and dense indices become the SDK's JSON ([`drawbridge_model::wire`]).
//!
//! - here: account information, trade responses, server time and the shared conversions;
//! - [`trading`]: positions, orders (pending and history) and deals;
//! - [`market`]: symbol specifications, symbol prices, candles, ticks and books;
//! - [`request`]: trade requests (`actionType` + fields) into engine commands, with
//!   field-level problems.
//!
//! Numbers: prices and volumes are eight-decimal integers and money is cents, so one division
//! (`to_f64`, correctly rounded) already gives the float nearest the decimal, and JSON shows
//! `1.1`, never `1.1000000000000001`. Prices are not cut to the symbol's digits: a netting
//! position's averaged open price keeps its extra decimals, as in MT5. Derived floats (tick
//! values, margin level) are rounded to [`DERIVED_DECIMALS`].
//!
//! Times: `time` fields are ISO UTC instants; `brokerTime` fields are the trade server zone's
//! wall clock (`YYYY-MM-DD HH:mm:ss.SSS`).

mod market;
mod request;
mod trading;

pub use market::{book, candle, symbol_price, symbol_specification, tick};
pub use request::{FieldProblem, trade_command};
pub use trading::{deal, order, position, positions};

use crate::account::{Access, AccountIdx, MarginMode};
use crate::engine::{Engine, Retcode, TradeOutcome};
use crate::symbol::{Currency, SymbolSpec};
use drawbridge_model::wire as w;
use drawbridge_model::{Money, ServerZone, Timestamp};

/// Decimal places kept in floats the wire derives from exact values (tick values, margin
/// level): enough for any account currency, short enough to print cleanly.
pub const DERIVED_DECIMALS: i32 = 8;

/// `accountInformation` of an account as seen through a session with `access`.
///
/// - `freeMargin`: the free margin available to the account's new trades. For group masters
///   and members that is the group's pooled free margin (the wire has no "empty" value, so a
///   member reports the group's purchasing power rather than its own).
/// - `marginLevel`: the account's own equity / margin, absent while no margin is used.
/// - `tradeAllowed`: false for investor sessions and for halted accounts.
/// - `accountCurrencyExchangeRate`: the account currency in USD at the current bid.
///
/// `None` when the account does not exist.
pub fn account_information(
    engine: &Engine,
    a: AccountIdx,
    access: Access,
    broker: &str,
) -> Option<w::AccountInformation> {
    let acc = engine.account(a)?;
    Some(w::AccountInformation {
        platform: w::Platform::Mt5,
        broker: broker.to_owned(),
        currency: acc.currency.to_string(),
        server: engine.config().name.clone(),
        balance: money(acc.balance),
        equity: money(engine.equity(a)),
        margin: money(engine.margin(a)),
        free_margin: money(engine.free_margin(a)),
        leverage: f64::from(acc.leverage),
        margin_level: engine.margin_level(a).map(derived),
        trade_allowed: acc.trade_allowed && access == Access::Master,
        investor_mode: Some(access == Access::Investor),
        margin_mode: margin_mode(acc.margin_mode),
        name: acc.name.to_string(),
        login: acc.login,
        credit: money(acc.credit),
        account_currency_exchange_rate: usd_rate(engine, acc.currency),
        trade_mode: w::AccountTradeMode::Demo,
    })
}

/// The `response` of a `trade` request: the success code with the order and position ids, or
/// the refusal's code and description.
pub fn trade_response(result: Result<TradeOutcome, Retcode>) -> w::TradeResponse {
    match result {
        Ok(o) => w::TradeResponse {
            order_id: o.order_id.map(|id| id.to_string()),
            position_id: o.position_id.map(|id| id.to_string()),
            ..w::TradeResponse::new(o.retcode)
        },
        Err(code) => w::TradeResponse::new(code),
    }
}

/// The reply of `getServerTime`: `now` and, once a quote has arrived, its time.
pub fn server_time(
    zone: ServerZone,
    now: Timestamp,
    last_quote: Option<Timestamp>,
) -> w::ServerTime {
    w::ServerTime {
        time: now,
        broker_time: zone.broker_time(now),
        last_quote_time: last_quote,
        last_quote_broker_time: last_quote.map(|t| zone.broker_time(t)),
    }
}

pub(crate) fn margin_mode(m: MarginMode) -> w::MarginMode {
    match m {
        MarginMode::Hedging => w::MarginMode::RetailHedging,
        MarginMode::Netting => w::MarginMode::RetailNetting,
    }
}

/// Cents as a float of the account currency.
fn money(m: Money) -> f64 {
    m.to_f64()
}

/// A derived float rounded to [`DERIVED_DECIMALS`].
fn derived(x: f64) -> f64 {
    let scale = 10f64.powi(DERIVED_DECIMALS);
    (x * scale).round() / scale
}

/// One currency unit of `c` in USD (the bid side), the MetaApi `accountCurrencyExchangeRate`
/// with the default base currency. `None` while no route has live quotes.
fn usd_rate(engine: &Engine, c: Currency) -> Option<f64> {
    engine.conv.rate(c, Currency::USD, &engine.quotes, true)
}

/// The value of one tick for one lot in `currency` (the profit currency when `None`), for a
/// gain and for a loss: `tick size × contract size × conversion factor`. A symbol whose
/// profit currency cannot be converted yet is valued at a factor of 1, as the engine does.
fn tick_values(engine: &Engine, spec: &SymbolSpec, currency: Option<Currency>) -> (f64, f64) {
    let per_lot = spec.tick_size.raw() as f64 * spec.contract_size
        / drawbridge_model::num::FIXED_SCALE as f64;
    let (gain, loss) = currency
        .and_then(|c| engine.conv.profit_factors(spec, c, &engine.quotes))
        .unwrap_or((1.0, 1.0));
    (derived(per_lot * gain), derived(per_lot * loss))
}
