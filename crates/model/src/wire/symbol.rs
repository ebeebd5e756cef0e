//! Symbol specifications (`MetatraderSymbolSpecification`) and quotes (`MetatraderSymbolPrice`).

use crate::time::Timestamp;
use chrono::Weekday;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Filling modes a symbol allows (`SYMBOL_FILLING_MODE` flags).
    SymbolFillingMode {
        Fok = "SYMBOL_FILLING_FOK",
        Ioc = "SYMBOL_FILLING_IOC",
        /// Book or cancel (exchange symbols).
        Boc = "SYMBOL_FILLING_BOC",
        Return = "SYMBOL_FILLING_RETURN",
    }
}

wire_enum! {
    /// MT5 `ENUM_SYMBOL_TRADE_EXECUTION`.
    ExecutionMode {
        Request = "SYMBOL_TRADE_EXECUTION_REQUEST",
        Instant = "SYMBOL_TRADE_EXECUTION_INSTANT",
        Market = "SYMBOL_TRADE_EXECUTION_MARKET",
        Exchange = "SYMBOL_TRADE_EXECUTION_EXCHANGE",
    }
}

wire_enum! {
    /// MT5 `ENUM_SYMBOL_TRADE_MODE`.
    SymbolTradeMode {
        Disabled = "SYMBOL_TRADE_MODE_DISABLED",
        LongOnly = "SYMBOL_TRADE_MODE_LONGONLY",
        ShortOnly = "SYMBOL_TRADE_MODE_SHORTONLY",
        CloseOnly = "SYMBOL_TRADE_MODE_CLOSEONLY",
        Full = "SYMBOL_TRADE_MODE_FULL",
    }
}

wire_enum! {
    /// MT5 `ENUM_SYMBOL_CALC_MODE`: how profit and margin are computed.
    CalcMode {
        Unknown = "SYMBOL_CALC_MODE_UNKNOWN",
        Forex = "SYMBOL_CALC_MODE_FOREX",
        ForexNoLeverage = "SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE",
        Futures = "SYMBOL_CALC_MODE_FUTURES",
        Cfd = "SYMBOL_CALC_MODE_CFD",
        CfdIndex = "SYMBOL_CALC_MODE_CFDINDEX",
        CfdLeverage = "SYMBOL_CALC_MODE_CFDLEVERAGE",
        ExchStocks = "SYMBOL_CALC_MODE_EXCH_STOCKS",
        ExchFutures = "SYMBOL_CALC_MODE_EXCH_FUTURES",
        ExchFuturesForts = "SYMBOL_CALC_MODE_EXCH_FUTURES_FORTS",
        ExchBonds = "SYMBOL_CALC_MODE_EXCH_BONDS",
        ExchStocksMoex = "SYMBOL_CALC_MODE_EXCH_STOCKS_MOEX",
        ExchBondsMoex = "SYMBOL_CALC_MODE_EXCH_BONDS_MOEX",
        ServCollateral = "SYMBOL_CALC_MODE_SERV_COLLATERAL",
    }
}

wire_enum! {
    /// MT5 `ENUM_SYMBOL_SWAP_MODE`.
    SwapMode {
        Disabled = "SYMBOL_SWAP_MODE_DISABLED",
        Points = "SYMBOL_SWAP_MODE_POINTS",
        CurrencySymbol = "SYMBOL_SWAP_MODE_CURRENCY_SYMBOL",
        CurrencyMargin = "SYMBOL_SWAP_MODE_CURRENCY_MARGIN",
        CurrencyDeposit = "SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT",
        InterestCurrent = "SYMBOL_SWAP_MODE_INTEREST_CURRENT",
        InterestOpen = "SYMBOL_SWAP_MODE_INTEREST_OPEN",
        ReopenCurrent = "SYMBOL_SWAP_MODE_REOPEN_CURRENT",
        ReopenBid = "SYMBOL_SWAP_MODE_REOPEN_BID",
    }
}

wire_enum! {
    /// The weekday a triple swap is charged on (`swapRollover3Days`).
    SwapRolloverDay {
        Sunday = "SUNDAY",
        Monday = "MONDAY",
        Tuesday = "TUESDAY",
        Wednesday = "WEDNESDAY",
        Thursday = "THURSDAY",
        Friday = "FRIDAY",
        Saturday = "SATURDAY",
        None = "NONE",
    }
}

wire_enum! {
    /// Expiration modes a symbol allows (`SYMBOL_EXPIRATION_MODE` flags).
    ExpirationMode {
        Gtc = "SYMBOL_EXPIRATION_GTC",
        Day = "SYMBOL_EXPIRATION_DAY",
        Specified = "SYMBOL_EXPIRATION_SPECIFIED",
        SpecifiedDay = "SYMBOL_EXPIRATION_SPECIFIED_DAY",
    }
}

wire_enum! {
    /// Order kinds a symbol allows (`SYMBOL_ORDER_MODE` flags).
    SymbolOrderType {
        Market = "SYMBOL_ORDER_MARKET",
        Limit = "SYMBOL_ORDER_LIMIT",
        Stop = "SYMBOL_ORDER_STOP",
        StopLimit = "SYMBOL_ORDER_STOP_LIMIT",
        Sl = "SYMBOL_ORDER_SL",
        Tp = "SYMBOL_ORDER_TP",
        CloseBy = "SYMBOL_ORDER_CLOSEBY",
    }
}

wire_enum! {
    /// MT5 `ENUM_SYMBOL_ORDER_GTC_MODE`: how long GTC orders and stops live.
    GtcMode {
        Gtc = "SYMBOL_ORDERS_GTC",
        Daily = "SYMBOL_ORDERS_DAILY",
        DailyExcludingStops = "SYMBOL_ORDERS_DAILY_EXCLUDING_STOPS",
    }
}

/// One quote or trade session, broker-local `HH:mm:ss.SSS` bounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Session {
    pub from: String,
    pub to: String,
}

/// Sessions by weekday (`SUNDAY` … `SATURDAY`); a missing day has no session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub struct Sessions {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sunday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub monday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tuesday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub wednesday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thursday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub friday: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub saturday: Option<Vec<Session>>,
}

impl Sessions {
    /// The sessions of `day` (empty when none).
    pub fn day(&self, day: Weekday) -> &[Session] {
        let d = match day {
            Weekday::Sun => &self.sunday,
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
        };
        d.as_deref().unwrap_or(&[])
    }
}

/// A symbol's contract: sizes, steps, sessions, margin, swaps and allowed modes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SymbolSpecification {
    pub symbol: String,
    pub tick_size: f64,
    pub min_volume: f64,
    pub max_volume: f64,
    pub volume_step: f64,
    pub filling_modes: Vec<SymbolFillingMode>,
    pub execution_mode: ExecutionMode,
    pub contract_size: f64,
    pub quote_sessions: Sessions,
    pub trade_sessions: Sessions,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trade_mode: Option<SymbolTradeMode>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bond_accrued_interest: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bond_face_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub option_strike: Option<f64>,
    /// Spelled `optionPriceSensivity` (sic) on the wire.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub option_price_sensivity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub liquidity_rate: Option<f64>,
    /// Margin currency amount per lot to open; 0 means computed from the calc mode.
    pub initial_margin: f64,
    /// Margin per lot to maintain; 0 means the initial margin is used.
    pub maintenance_margin: f64,
    /// Contract size or margin per lot of hedged (opposite) positions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hedged_margin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hedged_margin_uses_larger_leg: Option<bool>,
    pub margin_currency: String,
    pub price_calculation_mode: CalcMode,
    pub base_currency: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub profit_currency: Option<String>,
    pub swap_mode: SwapMode,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub swap_long: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub swap_short: Option<f64>,
    /// Swap multipliers per weekday starting with Sunday (MT5 only). Whole multipliers are
    /// written as JSON integers, as the cloud sends them: the SDK's date conversion walks
    /// list items and logs an error for every float it meets.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        serialize_with = "whole_as_integers"
    )]
    pub swap_rates: Option<Vec<f64>>,
    pub swap_rollover_3_days: SwapRolloverDay,
    pub allowed_expiration_modes: Vec<ExpirationMode>,
    pub allowed_order_types: Vec<SymbolOrderType>,
    #[serde(
        rename = "orderGTCMode",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub order_gtc_mode: Option<GtcMode>,
    pub digits: u32,
    pub point: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiration_time: Option<Timestamp>,
    /// Defined for spot and CFD symbols only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pip_size: Option<f64>,
    /// Minimal distance in points from the market to SL, TP and pending prices.
    pub stops_level: f64,
    /// Distance in points from the market inside which pending orders cannot be changed.
    pub freeze_level: f64,
}

/// A symbol's current quote with its tick values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SymbolPrice {
    pub symbol: String,
    pub bid: f64,
    pub ask: f64,
    /// Value of one tick per lot for a winning position, in the account currency.
    pub profit_tick_value: f64,
    /// Value of one tick per lot for a losing position.
    pub loss_tick_value: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_currency_exchange_rate: Option<f64>,
    pub time: Timestamp,
    pub broker_time: String,
    /// In the Python SDK's TypedDict, not in the MetaApi docs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub equity: Option<f64>,
}

#[cfg(test)]
mod tests;

/// Writes each whole number of `rates` as an integer, every other one as a float.
fn whole_as_integers<S: serde::Serializer>(
    rates: &Option<Vec<f64>>,
    out: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let Some(rates) = rates else {
        return out.serialize_none();
    };
    let mut seq = out.serialize_seq(Some(rates.len()))?;
    for &r in rates {
        if r.fract() == 0.0 && r.abs() < 1e15 {
            seq.serialize_element(&(r as i64))?;
        } else {
            seq.serialize_element(&r)?;
        }
    }
    seq.end()
}
