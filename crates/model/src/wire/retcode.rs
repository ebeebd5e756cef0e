//! Trade return codes: MT5's `TRADE_RETCODE_*` (10004..10046) and the few MetaApi adds
//! (negative codes, `ERR_TRADE_*_NOT_FOUND`). A [`crate::wire::TradeResponse`] carries the
//! numeric code, the string code and a message.
//!
//! Success per MT5 is `PLACED`, `DONE` and `DONE_PARTIAL` ([`TradeRetcode::is_success`]). The SDK
//! additionally resolves (does not raise `TradeException` for) `TRADE_RETCODE_NO_CHANGES` and
//! MT4's `ERR_NO_ERROR` ([`TradeRetcode::sdk_resolves`]).

macro_rules! retcodes {
    ($($(#[$meta:meta])* $variant:ident = $num:literal, $code:literal, $desc:literal;)+) => {
        /// A trade server return code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum TradeRetcode {
            $($(#[$meta])* $variant,)+
        }

        /// Every known return code, in numeric order.
        pub const TRADE_RETCODE: &[TradeRetcode] = &[$(TradeRetcode::$variant),+];

        impl TradeRetcode {
            /// The `numericCode` (MT5's `retcode`).
            pub fn numeric(self) -> i32 {
                match self {
                    $(Self::$variant => $num,)+
                }
            }

            /// The `stringCode` (the MQL5 constant name).
            pub fn string_code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// A short English description, used as the response `message`.
            pub fn description(self) -> &'static str {
                match self {
                    $(Self::$variant => $desc,)+
                }
            }
        }
    };
}

retcodes! {
    /// MetaApi: the symbol has no pip size (relative pips cannot be used).
    PipSizeNotDefined = -9, "ERR_PIP_SIZE_NOT_DEFINED", "Pip size is not defined";
    /// MetaApi: logged in with the investor password.
    Investor = -8, "ERR_INVESTOR", "Trading is not allowed with investor password";
    TradeTimedOut = -7, "ERR_TRADE_TIMED_OUT", "Trade timed out";
    NoQuotes = -6, "ERR_NO_QUOTES", "Failed to retrieve quotes for trading";
    NotSynchronized = -5, "ERR_NOT_SYNCHRONIZED", "Server-side synchronization required";
    OrderTypeNotSupported = -4, "TRADE_RETCODE_ORDER_TYPE_NOT_SUPPORTED",
        "Order type not supported";
    Unknown = -1, "TRADE_RETCODE_UNKNOWN", "Unknown trade return code";
    /// MQL5 runtime error: no position with that ticket.
    PositionNotFound = 4753, "ERR_TRADE_POSITION_NOT_FOUND", "Position not found";
    /// MQL5 runtime error: no order with that ticket.
    OrderNotFound = 4754, "ERR_TRADE_ORDER_NOT_FOUND", "Order not found";
    Requote = 10004, "TRADE_RETCODE_REQUOTE", "Requote";
    Reject = 10006, "TRADE_RETCODE_REJECT", "Request rejected";
    Cancel = 10007, "TRADE_RETCODE_CANCEL", "Request canceled by trader";
    Placed = 10008, "TRADE_RETCODE_PLACED", "Order placed";
    Done = 10009, "TRADE_RETCODE_DONE", "Request completed";
    DonePartial = 10010, "TRADE_RETCODE_DONE_PARTIAL", "Only part of the request was completed";
    Error = 10011, "TRADE_RETCODE_ERROR", "Request processing error";
    Timeout = 10012, "TRADE_RETCODE_TIMEOUT", "Request canceled by timeout";
    Invalid = 10013, "TRADE_RETCODE_INVALID", "Invalid request";
    InvalidVolume = 10014, "TRADE_RETCODE_INVALID_VOLUME", "Invalid volume in the request";
    InvalidPrice = 10015, "TRADE_RETCODE_INVALID_PRICE", "Invalid price in the request";
    InvalidStops = 10016, "TRADE_RETCODE_INVALID_STOPS", "Invalid stops in the request";
    TradeDisabled = 10017, "TRADE_RETCODE_TRADE_DISABLED", "Trade is disabled";
    MarketClosed = 10018, "TRADE_RETCODE_MARKET_CLOSED", "Market is closed";
    NoMoney = 10019, "TRADE_RETCODE_NO_MONEY", "There is not enough money to complete the request";
    PriceChanged = 10020, "TRADE_RETCODE_PRICE_CHANGED", "Prices changed";
    PriceOff = 10021, "TRADE_RETCODE_PRICE_OFF", "There are no quotes to process the request";
    InvalidExpiration = 10022, "TRADE_RETCODE_INVALID_EXPIRATION",
        "Invalid order expiration date in the request";
    OrderChanged = 10023, "TRADE_RETCODE_ORDER_CHANGED", "Order state changed";
    TooManyRequests = 10024, "TRADE_RETCODE_TOO_MANY_REQUESTS", "Too frequent requests";
    NoChanges = 10025, "TRADE_RETCODE_NO_CHANGES", "No changes in request";
    ServerDisablesAt = 10026, "TRADE_RETCODE_SERVER_DISABLES_AT", "Autotrading disabled by server";
    ClientDisablesAt = 10027, "TRADE_RETCODE_CLIENT_DISABLES_AT",
        "Autotrading disabled by client terminal";
    Locked = 10028, "TRADE_RETCODE_LOCKED", "Request locked for processing";
    Frozen = 10029, "TRADE_RETCODE_FROZEN", "Order or position frozen";
    InvalidFill = 10030, "TRADE_RETCODE_INVALID_FILL", "Invalid order filling type";
    Connection = 10031, "TRADE_RETCODE_CONNECTION", "No connection with the trade server";
    OnlyReal = 10032, "TRADE_RETCODE_ONLY_REAL", "Operation is allowed only for live accounts";
    LimitOrders = 10033, "TRADE_RETCODE_LIMIT_ORDERS",
        "The number of pending orders has reached the limit";
    LimitVolume = 10034, "TRADE_RETCODE_LIMIT_VOLUME",
        "The volume of orders and positions for the symbol has reached the limit";
    InvalidOrder = 10035, "TRADE_RETCODE_INVALID_ORDER", "Incorrect or prohibited order type";
    PositionClosed = 10036, "TRADE_RETCODE_POSITION_CLOSED",
        "Position with the specified identifier has already been closed";
    InvalidCloseVolume = 10038, "TRADE_RETCODE_INVALID_CLOSE_VOLUME",
        "A close volume exceeds the current position volume";
    CloseOrderExist = 10039, "TRADE_RETCODE_CLOSE_ORDER_EXIST",
        "A close order already exists for the specified position";
    LimitPositions = 10040, "TRADE_RETCODE_LIMIT_POSITIONS",
        "The number of open positions has reached the limit";
    RejectCancel = 10041, "TRADE_RETCODE_REJECT_CANCEL",
        "The pending order activation request is rejected, the order is canceled";
    LongOnly = 10042, "TRADE_RETCODE_LONG_ONLY", "Only long positions are allowed for the symbol";
    ShortOnly = 10043, "TRADE_RETCODE_SHORT_ONLY",
        "Only short positions are allowed for the symbol";
    CloseOnly = 10044, "TRADE_RETCODE_CLOSE_ONLY",
        "Only position closing is allowed for the symbol";
    FifoClose = 10045, "TRADE_RETCODE_FIFO_CLOSE",
        "Position closing is allowed only by FIFO rule";
    HedgeProhibited = 10046, "TRADE_RETCODE_HEDGE_PROHIBITED",
        "Opposite positions on a single symbol are disabled";
}

impl TradeRetcode {
    /// The code numbered `n`, if known.
    pub fn from_numeric(n: i32) -> Option<Self> {
        TRADE_RETCODE.iter().copied().find(|c| c.numeric() == n)
    }

    /// The code spelled `s` (e.g. `TRADE_RETCODE_DONE`), if known.
    pub fn from_string_code(s: &str) -> Option<Self> {
        TRADE_RETCODE.iter().copied().find(|c| c.string_code() == s)
    }

    /// MT5 success: the order was placed or the request (partly) done.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Placed | Self::Done | Self::DonePartial)
    }

    /// The SDK resolves the trade call instead of raising: the MT5 successes plus
    /// `TRADE_RETCODE_NO_CHANGES` (and MT4's `ERR_NO_ERROR`, not an MT5 code).
    pub fn sdk_resolves(self) -> bool {
        self.is_success() || self == Self::NoChanges
    }
}

impl std::fmt::Display for TradeRetcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.string_code(), self.numeric())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut numbers = HashSet::new();
        let mut strings = HashSet::new();
        for &c in TRADE_RETCODE {
            assert!(numbers.insert(c.numeric()), "duplicate numeric code {c}");
            assert!(strings.insert(c.string_code()), "duplicate string code {c}");
            assert_eq!(TradeRetcode::from_numeric(c.numeric()), Some(c));
            assert_eq!(TradeRetcode::from_string_code(c.string_code()), Some(c));
            assert!(!c.description().is_empty());
        }
        assert!(
            TRADE_RETCODE
                .windows(2)
                .all(|w| w[0].numeric() < w[1].numeric()),
            "sorted"
        );
        assert_eq!(TradeRetcode::from_numeric(10005), None);
        assert_eq!(TradeRetcode::from_numeric(10037), None);
        assert_eq!(TradeRetcode::from_string_code("TRADE_RETCODE_NOPE"), None);
    }

    #[test]
    fn mt5_range_is_complete() {
        // 10005 and 10037 are unassigned in MT5; every other code in 10004..=10046 exists.
        for n in (10004..=10046).filter(|n| ![10005, 10037].contains(n)) {
            let c = TradeRetcode::from_numeric(n).unwrap_or_else(|| panic!("missing {n}"));
            assert!(c.string_code().starts_with("TRADE_RETCODE_"));
        }
    }

    #[test]
    fn success_codes() {
        let ok: Vec<i32> = TRADE_RETCODE
            .iter()
            .filter(|c| c.is_success())
            .map(|c| c.numeric())
            .collect();
        assert_eq!(ok, [10008, 10009, 10010]);
        let resolved: Vec<i32> = TRADE_RETCODE
            .iter()
            .filter(|c| c.sdk_resolves())
            .map(|c| c.numeric())
            .collect();
        assert_eq!(resolved, [10008, 10009, 10010, 10025]);
        assert_eq!(TradeRetcode::Done.to_string(), "TRADE_RETCODE_DONE (10009)");
    }
}
