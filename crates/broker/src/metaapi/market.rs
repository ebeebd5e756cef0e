//! Symbol specifications, prices, candles, ticks and books as MetaApi shapes.

use super::{tick_values, usd_rate};
use crate::engine::Engine;
use crate::feed;
use crate::symbol::{
    AssetClass, CalcMode, Currency, SessionWindow, SymbolIdx, SymbolSpec, TradeMode, WeeklySessions,
};
use chrono::Weekday;
use drawbridge_model::wire as w;
use drawbridge_model::{Price, ServerZone, Timeframe};

/// Seconds in a day: a session reaching midnight ends at `24:00:00.000`.
const SECONDS_PER_DAY: u32 = 86_400;

/// A symbol's specification, every field the simulator can state truthfully.
///
/// - Sessions are broker time, `HH:mm:ss.SSS` from midnight; a window that runs to midnight
///   ends at `24:00:00.000` (as MT5 shows it), and days without a session are left out.
/// - `fillingModes` lists FOK and IOC: the engine fills market orders whole or not at all,
///   which satisfies both. Execution is `SYMBOL_TRADE_EXECUTION_MARKET`.
/// - Margin comes from the calculation mode (`initialMargin` / `maintenanceMargin` 0);
///   `hedgedMargin` is the contract size charged on hedged volume.
/// - `swapRates` are the engine's rollover multipliers, Sunday first: 0 on days without
///   trading, 3 on the triple-swap day unless the symbol trades on Saturday.
///   `swapRollover3Days` names the day with a rate of 3, or `NONE`.
/// - `pipSize` is given for forex only: ten points on 3- and 5-digit quotes, one point
///   otherwise. Other symbols have no agreed pip (`RELATIVE_PIPS` is refused for them).
/// - `path` is the catalogue group and the symbol name, e.g. `Forex\Majors\EURUSD`.
pub fn symbol_specification(spec: &SymbolSpec) -> w::SymbolSpecification {
    let rates = swap_rates(spec);
    let triple = rates.iter().position(|&r| r == 3.0);
    w::SymbolSpecification {
        symbol: spec.name.clone(),
        tick_size: spec.tick_size.to_f64(),
        min_volume: spec.volume_min.to_f64(),
        max_volume: spec.volume_max.to_f64(),
        volume_step: spec.volume_step.to_f64(),
        filling_modes: vec![w::SymbolFillingMode::Fok, w::SymbolFillingMode::Ioc],
        execution_mode: w::ExecutionMode::Market,
        contract_size: spec.contract_size,
        quote_sessions: sessions(&spec.quote_sessions),
        trade_sessions: sessions(&spec.trade_sessions),
        trade_mode: Some(match spec.trade_mode {
            TradeMode::Full => w::SymbolTradeMode::Full,
            TradeMode::LongOnly => w::SymbolTradeMode::LongOnly,
            TradeMode::ShortOnly => w::SymbolTradeMode::ShortOnly,
            TradeMode::CloseOnly => w::SymbolTradeMode::CloseOnly,
            TradeMode::Disabled => w::SymbolTradeMode::Disabled,
        }),
        bond_accrued_interest: None,
        bond_face_value: None,
        option_strike: None,
        option_price_sensivity: None,
        liquidity_rate: None,
        initial_margin: 0.0,
        maintenance_margin: 0.0,
        hedged_margin: Some(spec.margin_hedged),
        hedged_margin_uses_larger_leg: Some(false),
        margin_currency: spec.margin_currency.to_string(),
        price_calculation_mode: match spec.calc_mode {
            CalcMode::Forex => w::CalcMode::Forex,
            CalcMode::ForexNoLeverage => w::CalcMode::ForexNoLeverage,
            CalcMode::Cfd => w::CalcMode::Cfd,
            CalcMode::CfdLeverage => w::CalcMode::CfdLeverage,
            CalcMode::CfdIndex => w::CalcMode::CfdIndex,
        },
        base_currency: spec.base_currency.to_string(),
        profit_currency: Some(spec.profit_currency.to_string()),
        swap_mode: w::SwapMode::Points,
        swap_long: Some(spec.swap_long_points),
        swap_short: Some(spec.swap_short_points),
        swap_rates: Some(rates.to_vec()),
        swap_rollover_3_days: match triple {
            Some(i) => rollover_day(SUNDAY_FIRST[i]),
            None => w::SwapRolloverDay::None,
        },
        allowed_expiration_modes: w::ExpirationMode::ALL.to_vec(),
        allowed_order_types: w::SymbolOrderType::ALL.to_vec(),
        order_gtc_mode: Some(w::GtcMode::Gtc),
        digits: u32::from(spec.digits),
        point: spec.point.to_f64(),
        path: Some(format!("{}\\{}", spec.class.path(), spec.name)),
        description: spec.description.clone(),
        start_time: None,
        expiration_time: None,
        pip_size: pip_size(spec).map(Price::to_f64),
        stops_level: f64::from(spec.stops_level),
        freeze_level: 0.0,
    }
}

/// The current quote of a symbol with its tick values in `account_currency` (in the profit
/// currency, and without an exchange rate, when `None`). `None` before the first quote.
pub fn symbol_price(
    engine: &Engine,
    s: SymbolIdx,
    account_currency: Option<Currency>,
) -> Option<w::SymbolPrice> {
    let spec = engine.specs().get(s.index())?;
    let q = engine.quote(s);
    if !q.is_live() {
        return None;
    }
    let (profit_tick_value, loss_tick_value) = tick_values(engine, spec, account_currency);
    Some(w::SymbolPrice {
        symbol: spec.name.clone(),
        bid: q.bid.to_f64(),
        ask: q.ask.to_f64(),
        profit_tick_value,
        loss_tick_value,
        account_currency_exchange_rate: account_currency.and_then(|c| usd_rate(engine, c)),
        time: q.time,
        broker_time: engine.config().zone.broker_time(q.time),
        equity: None,
    })
}

/// A bar of `symbol` (bid prices; `volume`, the real volume, is 0 for simulated symbols).
pub fn candle(zone: ServerZone, symbol: &str, tf: Timeframe, c: &feed::Candle) -> w::Candle {
    w::Candle {
        symbol: symbol.to_owned(),
        timeframe: tf,
        time: c.time,
        broker_time: zone.broker_time(c.time),
        open: c.open.to_f64(),
        high: c.high.to_f64(),
        low: c.low.to_f64(),
        close: c.close.to_f64(),
        tick_volume: c.tick_volume as f64,
        spread: f64::from(c.spread),
        volume: 0.0,
    }
}

/// A quote tick of `symbol` (no last price, deal volume or side: the feed quotes, it does not
/// trade).
pub fn tick(zone: ServerZone, symbol: &str, t: &feed::Tick) -> w::Tick {
    w::Tick {
        symbol: symbol.to_owned(),
        time: t.time,
        broker_time: zone.broker_time(t.time),
        bid: Some(t.bid.to_f64()),
        ask: Some(t.ask.to_f64()),
        last: None,
        volume: None,
        side: None,
    }
}

/// An order book of `symbol`, levels in the book's order (offers from the highest, then bids).
pub fn book(zone: ServerZone, symbol: &str, b: &feed::Book) -> w::Book {
    let entry = |e: &feed::BookEntry| w::BookEntry {
        entry_type: match e.side {
            feed::BookSide::Sell => w::BookType::Sell,
            feed::BookSide::Buy => w::BookType::Buy,
        },
        price: e.price.to_f64(),
        volume: e.volume.to_f64(),
    };
    w::Book {
        symbol: symbol.to_owned(),
        time: b.time,
        broker_time: zone.broker_time(b.time),
        book: b.entries.iter().map(entry).collect(),
    }
}

/// Weekdays in the wire's order for `swapRates`.
const SUNDAY_FIRST: [Weekday; 7] = [
    Weekday::Sun,
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
];

/// The swap multiplier of the night after each weekday, Sunday first, as the engine's
/// rollover charges it.
fn swap_rates(spec: &SymbolSpec) -> [f64; 7] {
    let trades =
        |d: Weekday| !spec.trade_sessions.days[d.num_days_from_monday() as usize].is_empty();
    let weekend = trades(Weekday::Sat);
    SUNDAY_FIRST.map(
        |d| match (trades(d), d == spec.swap_rollover3days && !weekend) {
            (false, _) => 0.0,
            (true, true) => 3.0,
            (true, false) => 1.0,
        },
    )
}

fn rollover_day(d: Weekday) -> w::SwapRolloverDay {
    match d {
        Weekday::Sun => w::SwapRolloverDay::Sunday,
        Weekday::Mon => w::SwapRolloverDay::Monday,
        Weekday::Tue => w::SwapRolloverDay::Tuesday,
        Weekday::Wed => w::SwapRolloverDay::Wednesday,
        Weekday::Thu => w::SwapRolloverDay::Thursday,
        Weekday::Fri => w::SwapRolloverDay::Friday,
        Weekday::Sat => w::SwapRolloverDay::Saturday,
    }
}

fn pip_size(spec: &SymbolSpec) -> Option<Price> {
    let forex = matches!(spec.class, AssetClass::ForexMajor | AssetClass::ForexCross);
    let tenfold = spec.digits % 2 == 1;
    forex.then(|| {
        if tenfold {
            Price(spec.point.0 * 10)
        } else {
            spec.point
        }
    })
}

fn sessions(s: &WeeklySessions) -> w::Sessions {
    // `WeeklySessions::days` is Monday first.
    let day = |d: Weekday| {
        let windows = &s.days[d.num_days_from_monday() as usize];
        (!windows.is_empty()).then(|| windows.iter().map(session).collect())
    };
    w::Sessions {
        sunday: day(Weekday::Sun),
        monday: day(Weekday::Mon),
        tuesday: day(Weekday::Tue),
        wednesday: day(Weekday::Wed),
        thursday: day(Weekday::Thu),
        friday: day(Weekday::Fri),
        saturday: day(Weekday::Sat),
    }
}

fn session(win: &SessionWindow) -> w::Session {
    w::Session {
        from: clock(win.from_s),
        to: clock(win.to_s),
    }
}

/// Seconds from midnight as `HH:mm:ss.SSS`; the end of the day is `24:00:00.000`.
fn clock(seconds: u32) -> String {
    debug_assert!(
        seconds <= SECONDS_PER_DAY,
        "invariant: a session lies within its day"
    );
    let s = seconds.min(SECONDS_PER_DAY);
    format!("{:02}:{:02}:{:02}.000", s / 3_600, s / 60 % 60, s % 60)
}
