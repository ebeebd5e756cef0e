//! The default symbol catalogue: 36 instruments as a typical MT5 retail broker on `EET` server
//! time lists them (late 2025 prices, spreads and swaps).
//!
//! - FX: 7 majors and 18 crosses, 100 000 units a lot, 5 digits (3 for JPY quotes), hedged
//!   margin on half a contract, 3.50 commission per lot per side, swaps tripled on Wednesday.
//! - Metals (XAUUSD 100 oz, XAGUSD 5 000 oz), energies (XTIUSD, XBRUSD, 1 000 barrels), index
//!   CFDs (US30, US500, NAS100, GER40, UK100, JP225, one unit of the index a lot) and BTCUSD:
//!   CFD margin at the account's leverage, no commission.
//! - Sessions are broker time: FX Monday 00:05 to Friday 23:55, CME products with the daily
//!   00:00–01:00 halt, European cash indices in their exchange hours, crypto around the clock.
//!   Quotes start five minutes before trading opens and stop two minutes after it closes.

use crate::symbol::{
    AssetClass, CalcMode, Currency, FeedProfile, SessionWindow, SymbolIdx, SymbolSpec, TradeMode,
    WeeklySessions,
};
use chrono::Weekday;
use drawbridge_model::{Price, Volume};

/// FX commission per lot per side, in the account currency.
const FX_COMMISSION_PER_LOT: f64 = 3.5;
/// Quotes begin this long before a trade session opens.
const QUOTES_EARLY_S: u32 = 300;
/// Quotes continue this long after a trade session closes.
const QUOTES_LATE_S: u32 = 120;

/// `(name, description, start bid, typical spread in points, swap long, swap short)`.
type FxRow = (&'static str, &'static str, f64, u32, f64, f64);

#[rustfmt::skip]
const FX_MAJORS: &[FxRow] = &[
    ("EURUSD", "Euro vs US Dollar", 1.16500, 2, -7.2, 2.5),
    ("GBPUSD", "Great Britain Pound vs US Dollar", 1.33500, 4, -2.5, -1.0),
    ("USDJPY", "US Dollar vs Japanese Yen", 155.500, 3, 14.5, -26.0),
    ("USDCHF", "US Dollar vs Swiss Franc", 0.80000, 5, 6.0, -12.5),
    ("USDCAD", "US Dollar vs Canadian Dollar", 1.38000, 5, 3.0, -9.0),
    ("AUDUSD", "Australian Dollar vs US Dollar", 0.66200, 3, -2.8, -0.8),
    ("NZDUSD", "New Zealand Dollar vs US Dollar", 0.57800, 6, -4.0, 0.5),
];

#[rustfmt::skip]
const FX_CROSSES: &[FxRow] = &[
    ("EURGBP", "Euro vs Great Britain Pound", 0.87300, 6, -6.5, 2.0),
    ("EURJPY", "Euro vs Japanese Yen", 181.200, 8, 5.0, -13.0),
    ("GBPJPY", "Great Britain Pound vs Japanese Yen", 207.600, 12, 15.0, -30.0),
    ("EURCHF", "Euro vs Swiss Franc", 0.93200, 8, 2.5, -8.5),
    ("AUDJPY", "Australian Dollar vs Japanese Yen", 102.900, 10, 6.0, -12.0),
    ("EURAUD", "Euro vs Australian Dollar", 1.76000, 12, -10.0, 4.0),
    ("GBPCHF", "Great Britain Pound vs Swiss Franc", 1.06800, 14, 8.0, -16.0),
    ("CADJPY", "Canadian Dollar vs Japanese Yen", 112.700, 12, 3.5, -10.0),
    ("CHFJPY", "Swiss Franc vs Japanese Yen", 194.400, 15, -4.5, -1.0),
    ("EURCAD", "Euro vs Canadian Dollar", 1.60800, 12, -3.5, -1.5),
    ("AUDNZD", "Australian Dollar vs New Zealand Dollar", 1.14500, 15, 1.5, -6.5),
    ("GBPAUD", "Great Britain Pound vs Australian Dollar", 2.01600, 18, -1.5, -4.5),
    ("NZDJPY", "New Zealand Dollar vs Japanese Yen", 89.900, 14, 2.5, -8.0),
    ("EURNZD", "Euro vs New Zealand Dollar", 2.01500, 22, -4.5, -1.5),
    ("GBPCAD", "Great Britain Pound vs Canadian Dollar", 1.84200, 20, 3.0, -9.5),
    ("GBPNZD", "Great Britain Pound vs New Zealand Dollar", 2.31000, 28, 3.0, -11.0),
    ("AUDCAD", "Australian Dollar vs Canadian Dollar", 0.91400, 14, 1.0, -5.5),
    ("AUDCHF", "Australian Dollar vs Swiss Franc", 0.53000, 14, 2.5, -7.5),
];

/// The symbols every simulated trade server lists, in catalogue (index) order.
pub fn default_catalog() -> Vec<SymbolSpec> {
    let fx_rows = FX_MAJORS
        .iter()
        .map(|r| (r, AssetClass::ForexMajor))
        .chain(FX_CROSSES.iter().map(|r| (r, AssetClass::ForexCross)));
    let mut specs: Vec<SymbolSpec> = fx_rows.map(|(r, class)| fx(r, class)).collect();
    specs.extend(cfds().iter().map(cfd));
    specs
}

/// The index of the symbol called exactly `name`.
pub fn find(catalog: &[SymbolSpec], name: &str) -> Option<SymbolIdx> {
    catalog
        .iter()
        .position(|s| s.name == name)
        .map(|i| SymbolIdx(i as u32))
}

fn currency(code: &str) -> Currency {
    Currency::new(code).expect("catalogue currency codes are three uppercase letters")
}

fn price(v: f64) -> Price {
    Price::from_f64(v).expect("catalogue prices are finite")
}

fn lots(v: f64) -> Volume {
    Volume::from_f64(v).expect("catalogue volumes are finite")
}

/// 10^-digits as a price.
fn point(digits: u8) -> Price {
    Price(drawbridge_model::num::FIXED_SCALE / 10_i64.pow(u32::from(digits)))
}

fn hm(h: u32, m: u32) -> u32 {
    h * 3_600 + m * 60
}

fn window(from_s: u32, to_s: u32) -> Vec<SessionWindow> {
    vec![SessionWindow { from_s, to_s }]
}

/// Monday..Friday from `open`, with Monday opening at `monday_open` and Friday closing at
/// `friday_close`; every other day closes at `close`.
fn weekly(monday_open: u32, open: u32, close: u32, friday_close: u32) -> WeeklySessions {
    let mut s = WeeklySessions::weekdays(&[SessionWindow {
        from_s: open,
        to_s: close,
    }]);
    s.days[0] = window(monday_open, close);
    s.days[4] = window(open, friday_close);
    s
}

/// FX: Monday 00:05 to Friday 23:55 without a daily break.
fn fx_sessions() -> WeeklySessions {
    weekly(hm(0, 5), 0, hm(24, 0), hm(23, 55))
}

/// CME Globex products (metals, energies, US indices, Nikkei): the 00:00–01:00 daily halt.
fn cme_sessions() -> WeeklySessions {
    weekly(hm(1, 5), hm(1, 0), hm(24, 0), hm(23, 55))
}

/// The trade sessions widened by [`QUOTES_EARLY_S`] and [`QUOTES_LATE_S`] within each day.
fn quote_sessions(trade: &WeeklySessions) -> WeeklySessions {
    let mut q = trade.clone();
    for w in q.days.iter_mut().flatten() {
        w.from_s = w.from_s.saturating_sub(QUOTES_EARLY_S);
        w.to_s = (w.to_s + QUOTES_LATE_S).min(86_400);
    }
    q
}

fn fx(row: &FxRow, class: AssetClass) -> SymbolSpec {
    let &(name, description, start, spread_points, swap_long, swap_short) = row;
    let (base, quote) = (currency(&name[..3]), currency(&name[3..]));
    let digits = if quote == Currency::JPY { 3 } else { 5 };
    let trade_sessions = fx_sessions();
    SymbolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        class,
        digits,
        point: point(digits),
        tick_size: point(digits),
        contract_size: 100_000.0,
        base_currency: base,
        profit_currency: quote,
        margin_currency: base,
        calc_mode: CalcMode::Forex,
        trade_mode: TradeMode::Full,
        volume_min: lots(0.01),
        volume_max: lots(100.0),
        volume_step: lots(0.01),
        margin_hedged: 50_000.0,
        margin_rate: 1.0,
        stops_level: 10,
        swap_long_points: swap_long,
        swap_short_points: swap_short,
        swap_rollover3days: Weekday::Wed,
        commission_per_lot: FX_COMMISSION_PER_LOT,
        quote_sessions: quote_sessions(&trade_sessions),
        trade_sessions,
        feed: FeedProfile {
            start_bid: price(start),
            spread_points,
            daily_volatility: if class == AssetClass::ForexMajor {
                0.005
            } else {
                0.006
            },
        },
    }
}

/// A CFD row: everything that differs between metals, energies, indices and crypto.
struct Cfd {
    name: &'static str,
    description: &'static str,
    class: AssetClass,
    /// Base and profit currency; equal for indices, whose base is not a currency pair's.
    currencies: (&'static str, &'static str),
    digits: u8,
    /// Tick size in points.
    tick_points: i64,
    contract_size: f64,
    /// Volume min, max and step in lots.
    volume: (f64, f64, f64),
    stops_level: u32,
    /// Swap long and short in points per lot per night.
    swap: (f64, f64),
    rollover3days: Weekday,
    sessions: WeeklySessions,
    start: f64,
    spread_points: u32,
    daily_volatility: f64,
}

fn cfd(c: &Cfd) -> SymbolSpec {
    let (base, profit) = (currency(c.currencies.0), currency(c.currencies.1));
    let point = point(c.digits);
    let (volume_min, volume_max, volume_step) = c.volume;
    SymbolSpec {
        name: c.name.to_owned(),
        description: c.description.to_owned(),
        class: c.class,
        digits: c.digits,
        point,
        tick_size: Price(point.0 * c.tick_points),
        contract_size: c.contract_size,
        base_currency: base,
        profit_currency: profit,
        margin_currency: profit,
        calc_mode: CalcMode::CfdLeverage,
        trade_mode: TradeMode::Full,
        volume_min: lots(volume_min),
        volume_max: lots(volume_max),
        volume_step: lots(volume_step),
        margin_hedged: c.contract_size / 2.0,
        margin_rate: 1.0,
        stops_level: c.stops_level,
        swap_long_points: c.swap.0,
        swap_short_points: c.swap.1,
        swap_rollover3days: c.rollover3days,
        commission_per_lot: 0.0,
        quote_sessions: quote_sessions(&c.sessions),
        trade_sessions: c.sessions.clone(),
        feed: FeedProfile {
            start_bid: price(c.start),
            spread_points: c.spread_points,
            daily_volatility: c.daily_volatility,
        },
    }
}

#[rustfmt::skip]
fn cfds() -> Vec<Cfd> {
    use AssetClass::{Crypto, Energy, Index, Metal};
    let (cme, wed, fri) = (cme_sessions(), Weekday::Wed, Weekday::Fri);
    let eu = |open| weekly(open, open, hm(23, 0), hm(23, 0));
    let row = |name, description, class, currencies, digits, contract_size, volume| Cfd {
        name, description, class, currencies, digits, tick_points: 1, contract_size, volume,
        stops_level: 0, swap: (0.0, 0.0), rollover3days: wed, sessions: cme.clone(),
        start: 0.0, spread_points: 0, daily_volatility: 0.0,
    };
    let lot = (0.01, 100.0, 0.01);
    let index_lot = (0.1, 500.0, 0.1);
    vec![
        Cfd { stops_level: 20, swap: (-55.0, 25.0), start: 4_250.0, spread_points: 20, daily_volatility: 0.012,
            ..row("XAUUSD", "Gold vs US Dollar", Metal, ("XAU", "USD"), 2, 100.0, lot) },
        Cfd { stops_level: 20, swap: (-7.0, 2.0), start: 52.0, spread_points: 30, daily_volatility: 0.02,
            ..row("XAGUSD", "Silver vs US Dollar", Metal, ("XAG", "USD"), 3, 5_000.0, lot) },
        Cfd { stops_level: 100, swap: (-650.0, 200.0), start: 47_500.0, spread_points: 150, daily_volatility: 0.009,
            rollover3days: fri,
            ..row("US30", "Dow Jones Industrial Average Cash CFD", Index, ("USD", "USD"), 2, 1.0, index_lot) },
        Cfd { stops_level: 50, swap: (-95.0, 25.0), start: 6_800.0, spread_points: 50, daily_volatility: 0.01,
            rollover3days: fri,
            ..row("US500", "S&P 500 Cash CFD", Index, ("USD", "USD"), 2, 1.0, index_lot) },
        Cfd { stops_level: 100, swap: (-350.0, 100.0), start: 25_200.0, spread_points: 150, daily_volatility: 0.013,
            rollover3days: fri,
            ..row("NAS100", "Nasdaq 100 Cash CFD", Index, ("USD", "USD"), 2, 1.0, index_lot) },
        Cfd { stops_level: 100, swap: (-300.0, -50.0), start: 24_100.0, spread_points: 120, daily_volatility: 0.01,
            rollover3days: fri, sessions: eu(hm(2, 15)),
            ..row("GER40", "Germany 40 Cash CFD", Index, ("EUR", "EUR"), 2, 1.0, index_lot) },
        Cfd { stops_level: 100, swap: (-175.0, 40.0), start: 9_700.0, spread_points: 100, daily_volatility: 0.008,
            rollover3days: fri, sessions: eu(hm(3, 0)),
            ..row("UK100", "UK 100 Cash CFD", Index, ("GBP", "GBP"), 2, 1.0, index_lot) },
        // Quoted to 0.1 yen but moving in whole yen, as Nikkei CFDs often do.
        Cfd { tick_points: 10, stops_level: 100, swap: (-45.0, -15.0), start: 50_300.0, spread_points: 70,
            daily_volatility: 0.012, rollover3days: fri,
            ..row("JP225", "Japan 225 Cash CFD", Index, ("JPY", "JPY"), 1, 1.0, index_lot) },
        Cfd { stops_level: 20, swap: (-1.0, -0.5), start: 59.50, spread_points: 3, daily_volatility: 0.02,
            ..row("XTIUSD", "WTI Crude Oil Cash CFD", Energy, ("USD", "USD"), 2, 1_000.0, lot) },
        Cfd { stops_level: 20, swap: (-1.1, -0.4), start: 63.40, spread_points: 4, daily_volatility: 0.02,
            ..row("XBRUSD", "Brent Crude Oil Cash CFD", Energy, ("USD", "USD"), 2, 1_000.0, lot) },
        Cfd { stops_level: 500, swap: (-5_000.0, -2_000.0), start: 92_000.0, spread_points: 2_000, daily_volatility: 0.03,
            rollover3days: fri, sessions: WeeklySessions::always(),
            ..row("BTCUSD", "Bitcoin vs US Dollar", Crypto, ("BTC", "USD"), 2, 1.0, (0.01, 20.0, 0.01)) },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_follow_their_class() {
        let c = default_catalog();
        // (name, digits, tick size, contract, calc mode, margin currency, commission)
        let cases = [
            ("EURUSD", 5, 0.00001, 100_000.0, CalcMode::Forex, "EUR", 3.5),
            ("USDJPY", 3, 0.001, 100_000.0, CalcMode::Forex, "USD", 3.5),
            ("GBPJPY", 3, 0.001, 100_000.0, CalcMode::Forex, "GBP", 3.5),
            ("XAUUSD", 2, 0.01, 100.0, CalcMode::CfdLeverage, "USD", 0.0),
            (
                "XAGUSD",
                3,
                0.001,
                5_000.0,
                CalcMode::CfdLeverage,
                "USD",
                0.0,
            ),
            ("GER40", 2, 0.01, 1.0, CalcMode::CfdLeverage, "EUR", 0.0),
            ("JP225", 1, 1.0, 1.0, CalcMode::CfdLeverage, "JPY", 0.0),
            ("BTCUSD", 2, 0.01, 1.0, CalcMode::CfdLeverage, "USD", 0.0),
        ];
        for (name, digits, tick, contract, mode, margin, commission) in cases {
            let s = &c[find(&c, name).unwrap().index()];
            assert_eq!(s.digits, digits, "{name}");
            assert_eq!(s.tick_size, price(tick), "{name}");
            assert_eq!((s.contract_size, s.calc_mode), (contract, mode), "{name}");
            assert_eq!(s.margin_currency.as_str(), margin, "{name}");
            assert_eq!(s.commission_per_lot, commission, "{name}");
        }
        assert_eq!(find(&c, "eurusd"), None);
        assert_eq!(find(&c, "EURUSD"), Some(SymbolIdx(0)));
    }

    #[test]
    fn quote_sessions_wrap_trade_sessions() {
        let q = quote_sessions(&fx_sessions());
        assert_eq!(q.days[0], window(0, 86_400));
        assert_eq!(q.days[4], window(0, hm(23, 57)));
        assert!(q.days[5].is_empty() && q.days[6].is_empty());
    }
}
