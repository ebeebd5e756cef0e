//! Why a trade request was refused: MT5 `TRADE_RETCODE_*` values.

/// The MT5 return code of a trade request. Numeric values are MetaTrader's; the wire layer maps
/// them to MetaApi's `numericCode` / `stringCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[repr(u32)]
pub enum Retcode {
    #[error("request rejected")]
    Reject = 10006,
    #[error("request canceled")]
    Canceled = 10007,
    #[error("order placed")]
    Placed = 10008,
    #[error("request completed")]
    Done = 10009,
    #[error("only part of the request was completed")]
    DonePartial = 10010,
    #[error("request processing error")]
    Error = 10011,
    #[error("invalid request")]
    Invalid = 10013,
    #[error("invalid volume in the request")]
    InvalidVolume = 10014,
    #[error("invalid price in the request")]
    InvalidPrice = 10015,
    #[error("invalid stops in the request")]
    InvalidStops = 10016,
    #[error("trade is disabled")]
    TradeDisabled = 10017,
    #[error("market is closed")]
    MarketClosed = 10018,
    #[error("there is not enough money to complete the request")]
    NoMoney = 10019,
    #[error("there are no quotes to process the request")]
    PriceOff = 10021,
    #[error("invalid order expiration date in the request")]
    InvalidExpiration = 10022,
    #[error("order state changed")]
    OrderChanged = 10023,
    #[error("no changes in request")]
    NoChanges = 10025,
    #[error("request locked for processing")]
    Locked = 10028,
    #[error("invalid order filling type")]
    InvalidFill = 10030,
    #[error("the number of pending orders has reached the limit")]
    LimitOrders = 10033,
    #[error("the volume of orders and positions for the symbol has reached the limit")]
    LimitVolume = 10034,
    #[error("incorrect or prohibited order type")]
    InvalidOrder = 10035,
    #[error("position with the specified identifier has already been closed")]
    PositionClosed = 10036,
    #[error("a close volume exceeds the current position volume")]
    InvalidCloseVolume = 10038,
    #[error("a close order already exists for the position")]
    CloseOrderExist = 10039,
    #[error("the number of open positions has reached the limit")]
    LimitPositions = 10040,
    #[error("only long positions are allowed")]
    LongOnly = 10042,
    #[error("only short positions are allowed")]
    ShortOnly = 10043,
    #[error("only position closing is allowed")]
    CloseOnly = 10044,
    #[error("position closing is allowed only by fifo rule")]
    FifoClose = 10045,
    #[error("opposite positions on a single symbol are disabled")]
    HedgeProhibited = 10046,
    /// MetaApi's own code for an unknown position or order id.
    #[error("position or order not found")]
    NotFound = 10999,
}

impl Retcode {
    pub fn numeric(self) -> u32 {
        self as u32
    }

    /// MetaApi's `stringCode`.
    pub fn string_code(self) -> &'static str {
        match self {
            Self::Reject => "TRADE_RETCODE_REJECT",
            Self::Canceled => "TRADE_RETCODE_CANCEL",
            Self::Placed => "TRADE_RETCODE_PLACED",
            Self::Done => "TRADE_RETCODE_DONE",
            Self::DonePartial => "TRADE_RETCODE_DONE_PARTIAL",
            Self::Error => "TRADE_RETCODE_ERROR",
            Self::Invalid => "TRADE_RETCODE_INVALID",
            Self::InvalidVolume => "TRADE_RETCODE_INVALID_VOLUME",
            Self::InvalidPrice => "TRADE_RETCODE_INVALID_PRICE",
            Self::InvalidStops => "TRADE_RETCODE_INVALID_STOPS",
            Self::TradeDisabled => "TRADE_RETCODE_TRADE_DISABLED",
            Self::MarketClosed => "TRADE_RETCODE_MARKET_CLOSED",
            Self::NoMoney => "TRADE_RETCODE_NO_MONEY",
            Self::PriceOff => "TRADE_RETCODE_PRICE_OFF",
            Self::InvalidExpiration => "TRADE_RETCODE_INVALID_EXPIRATION",
            Self::OrderChanged => "TRADE_RETCODE_ORDER_CHANGED",
            Self::NoChanges => "TRADE_RETCODE_NO_CHANGES",
            Self::Locked => "TRADE_RETCODE_LOCKED",
            Self::InvalidFill => "TRADE_RETCODE_INVALID_FILL",
            Self::LimitOrders => "TRADE_RETCODE_LIMIT_ORDERS",
            Self::LimitVolume => "TRADE_RETCODE_LIMIT_VOLUME",
            Self::InvalidOrder => "TRADE_RETCODE_INVALID_ORDER",
            Self::PositionClosed => "TRADE_RETCODE_POSITION_CLOSED",
            Self::InvalidCloseVolume => "TRADE_RETCODE_INVALID_CLOSE_VOLUME",
            Self::CloseOrderExist => "TRADE_RETCODE_CLOSE_ORDER_EXIST",
            Self::LimitPositions => "TRADE_RETCODE_LIMIT_POSITIONS",
            Self::LongOnly => "TRADE_RETCODE_LONG_ONLY",
            Self::ShortOnly => "TRADE_RETCODE_SHORT_ONLY",
            Self::CloseOnly => "TRADE_RETCODE_CLOSE_ONLY",
            Self::FifoClose => "TRADE_RETCODE_FIFO_CLOSE",
            Self::HedgeProhibited => "TRADE_RETCODE_HEDGE_PROHIBITED",
            Self::NotFound => "ERR_TRADE_ORDER_NOT_FOUND",
        }
    }
}
