//! MetaApi wire types: serde shapes with camelCase names and MetaApi enum strings.
//!
//! The shapes follow the official SDK (`metaapi-cloud-sdk` 29.1.1, `metaapi/models.py`) and the
//! MetaApi model docs. Numbers are `f64` here, at the JSON edge; engines convert to the exact
//! [`crate::Price`] / [`crate::Volume`] / [`crate::Money`]. ISO instants are [`crate::Timestamp`];
//! `brokerTime` fields stay the SDK's `YYYY-MM-DD HH:mm:ss.SSS` string (see
//! [`crate::ServerZone::broker_time`]). Ticket ids are strings on the wire but are accepted as
//! numbers too, since SDK users pass either.
//!
//! # Layout
//! - [`account`]: [`AccountInformation`], [`Platform`], [`MarginMode`], [`AccountTradeMode`].
//! - [`account_doc`]: [`AccountDoc`], the trading account document of the account
//!   management API, with its [`AccountState`], [`ConnectionStatus`], [`Reliability`] and
//!   [`AccountKind`].
//! - [`position`]: [`Position`], [`PositionType`], [`PositionReason`].
//! - [`order`]: [`Order`] (open and history orders), [`OrderType`], [`OrderState`],
//!   [`OrderReason`], [`FillingMode`], [`ExpirationType`], [`HistoryOrders`].
//! - [`deal`]: [`Deal`], [`DealType`], [`DealEntryType`], [`DealReason`], [`Deals`].
//! - [`symbol`]: [`SymbolSpecification`] with its sessions and modes, [`SymbolPrice`].
//! - [`market`]: [`Candle`], [`Tick`], [`Book`], [`BookEntry`], [`ServerTime`],
//!   [`MarketDataSubscription`].
//! - [`trade`]: [`TradeRequest`] and its [`ActionType`], stop units, expiration and trailing stop
//!   loss; [`TradeResponse`]; [`MarginOrder`] / [`Margin`].
//! - [`retcode`]: [`TradeRetcode`], every MT5 trade return code plus MetaApi's own.

/// A string enum with its MetaApi spellings: serde renames, `ALL` and `as_str`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every wire spelling, in declaration order.
            pub const WIRE: &'static [&'static str] = &[$($wire),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// The variant spelled `s` on the wire.
            pub fn from_wire(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod account;
pub mod account_doc;
pub mod deal;
mod ids;
pub mod market;
pub mod order;
pub mod position;
pub mod retcode;
pub mod symbol;
pub mod trade;

#[cfg(test)]
mod testing;

pub use account::{AccountInformation, AccountTradeMode, MarginMode, Platform};
pub use account_doc::{AccountDoc, AccountKind, AccountState, ConnectionStatus, Reliability};
pub use deal::{Deal, DealEntryType, DealReason, DealType, Deals};
pub use market::{
    Book, BookEntry, BookType, Candle, MarketDataSubscription, MarketDataType, ServerTime, Tick,
    TickSide,
};
pub use order::{
    ExpirationType, FillingMode, HistoryOrders, Order, OrderReason, OrderState, OrderType,
};
pub use position::{Position, PositionReason, PositionType};
pub use retcode::{TRADE_RETCODE, TradeRetcode};
pub use symbol::{
    CalcMode, ExecutionMode, ExpirationMode, GtcMode, Session, Sessions, SwapMode, SwapRolloverDay,
    SymbolFillingMode, SymbolOrderType, SymbolPrice, SymbolSpecification, SymbolTradeMode,
};
pub use trade::{
    ActionType, DistanceTrailingStopLoss, Expiration, Margin, MarginOrder, PriceBase, PriceUnits,
    StopLossThreshold, ThresholdTrailingStopLoss, TradeRequest, TradeResponse, TrailingStopLoss,
};
