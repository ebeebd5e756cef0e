//! Symbol specifications: what a trade server says about each instrument it lists.

use chrono::Weekday;
use drawbridge_model::{Price, Volume};
use std::fmt;

/// Dense index of a symbol within its trade server's catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SymbolIdx(pub u32);

impl SymbolIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An ISO 4217-like three-letter code (`USD`, `XAU`, `BTC`), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Self = Self(*b"USD");
    pub const EUR: Self = Self(*b"EUR");
    pub const GBP: Self = Self(*b"GBP");
    pub const JPY: Self = Self(*b"JPY");

    /// `None` unless `code` is exactly three ASCII uppercase letters.
    pub fn new(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase)).then(|| Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// MT5 `SYMBOL_TRADE_CALC_MODE`: how profit and margin are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalcMode {
    /// Margin = lots × contract size / leverage (in margin currency); profit = Δprice × contract × lots.
    Forex,
    /// As Forex but without leverage.
    ForexNoLeverage,
    /// Margin = lots × contract size × price × margin rate (no leverage).
    Cfd,
    /// Margin = lots × contract size × price / leverage.
    CfdLeverage,
    /// Index CFD: margin = lots × contract size × price × tick value / tick size × margin rate.
    CfdIndex,
}

impl CalcMode {
    /// The MetaApi string (`SYMBOL_CALC_MODE_FOREX`, …).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Forex => "SYMBOL_CALC_MODE_FOREX",
            Self::ForexNoLeverage => "SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE",
            Self::Cfd => "SYMBOL_CALC_MODE_CFD",
            Self::CfdLeverage => "SYMBOL_CALC_MODE_CFDLEVERAGE",
            Self::CfdIndex => "SYMBOL_CALC_MODE_CFDINDEX",
        }
    }
}

/// MT5 `SYMBOL_TRADE_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeMode {
    Full,
    LongOnly,
    ShortOnly,
    CloseOnly,
    Disabled,
}

impl TradeMode {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Full => "SYMBOL_TRADE_MODE_FULL",
            Self::LongOnly => "SYMBOL_TRADE_MODE_LONGONLY",
            Self::ShortOnly => "SYMBOL_TRADE_MODE_SHORTONLY",
            Self::CloseOnly => "SYMBOL_TRADE_MODE_CLOSEONLY",
            Self::Disabled => "SYMBOL_TRADE_MODE_DISABLED",
        }
    }
}

/// Asset class, for the catalogue's grouping (`path`) and feed defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetClass {
    ForexMajor,
    ForexCross,
    Metal,
    Index,
    Energy,
    Crypto,
}

impl AssetClass {
    /// MT5-style symbol path, e.g. `Forex\Majors`.
    pub fn path(self) -> &'static str {
        match self {
            Self::ForexMajor => "Forex\\Majors",
            Self::ForexCross => "Forex\\Crosses",
            Self::Metal => "Metals",
            Self::Index => "Indices",
            Self::Energy => "Energies",
            Self::Crypto => "Crypto",
        }
    }
}

/// One session window in broker (trade-server) local time, seconds from midnight,
/// `from` inclusive and `to` exclusive; `to` may be 86_400 (end of day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionWindow {
    pub from_s: u32,
    pub to_s: u32,
}

/// Weekly sessions in broker time: for each weekday (Monday first) the open windows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WeeklySessions {
    pub days: [Vec<SessionWindow>; 7],
}

impl WeeklySessions {
    /// Open around the clock, every day (crypto).
    pub fn always() -> Self {
        let all = vec![SessionWindow {
            from_s: 0,
            to_s: 86_400,
        }];
        Self {
            days: std::array::from_fn(|_| all.clone()),
        }
    }

    /// Monday..Friday with `windows` on each day.
    pub fn weekdays(windows: &[SessionWindow]) -> Self {
        let mut s = Self::default();
        for d in &mut s.days[..5] {
            *d = windows.to_vec();
        }
        s
    }

    pub fn is_open(&self, day: Weekday, seconds_of_day: u32) -> bool {
        self.days[day.num_days_from_monday() as usize]
            .iter()
            .any(|w| w.from_s <= seconds_of_day && seconds_of_day < w.to_s)
    }
}

/// How the simulated feed moves this symbol: start price, typical spread and volatility.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeedProfile {
    pub start_bid: Price,
    /// Typical spread in points.
    pub spread_points: u32,
    /// Daily volatility as a fraction of price (0.006 = 0.6 % a day).
    pub daily_volatility: f64,
}

/// Everything a trade server says about one instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolSpec {
    pub name: String,
    pub description: String,
    pub class: AssetClass,
    pub digits: u8,
    /// 10^-digits.
    pub point: Price,
    pub tick_size: Price,
    pub contract_size: f64,
    pub base_currency: Currency,
    pub profit_currency: Currency,
    pub margin_currency: Currency,
    pub calc_mode: CalcMode,
    pub trade_mode: TradeMode,
    pub volume_min: Volume,
    pub volume_max: Volume,
    pub volume_step: Volume,
    /// Contract size used for a hedged (locked) pair's margin; MT5 `SYMBOL_MARGIN_HEDGED`.
    pub margin_hedged: f64,
    /// Margin rate multiplier (MT5 initial margin rate; 1.0 for most symbols).
    pub margin_rate: f64,
    /// Minimum distance of SL/TP/pending prices from the market, in points.
    pub stops_level: u32,
    /// Swap for a long/short position per lot per night, in points.
    pub swap_long_points: f64,
    pub swap_short_points: f64,
    /// The day swaps are charged three times (for the weekend).
    pub swap_rollover3days: Weekday,
    /// Commission per lot per side, in the account's currency.
    pub commission_per_lot: f64,
    pub trade_sessions: WeeklySessions,
    pub quote_sessions: WeeklySessions,
    pub feed: FeedProfile,
}

impl SymbolSpec {
    /// Value of one point for one lot in the profit currency.
    pub fn point_value(&self) -> f64 {
        self.point.to_f64() * self.contract_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_currency() {
        let s = WeeklySessions::weekdays(&[SessionWindow {
            from_s: 3_600,
            to_s: 86_400,
        }]);
        assert!(s.is_open(Weekday::Mon, 3_600));
        assert!(!s.is_open(Weekday::Mon, 3_599));
        assert!(!s.is_open(Weekday::Sat, 40_000));
        assert!(WeeklySessions::always().is_open(Weekday::Sun, 0));
        assert_eq!(Currency::new("EUR"), Some(Currency::EUR));
        assert_eq!(Currency::new("eur"), None);
        assert_eq!(Currency::new("EURO"), None);
    }
}
