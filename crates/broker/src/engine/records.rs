//! The engine's records: open positions, pending orders, deals and finished orders.

use crate::account::AccountIdx;
use crate::symbol::SymbolIdx;
use drawbridge_model::{Money, Price, Timestamp, Volume};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// +1 for buy, −1 for sell.
    pub fn sign(self) -> f64 {
        match self {
            Self::Buy => 1.0,
            Self::Sell => -1.0,
        }
    }
}

/// Who or what caused a position, order or deal (MT5 `*_REASON_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Client,
    Expert,
    Sl,
    Tp,
    StopOut,
    Rollover,
}

/// Free-text fields MetaApi carries on positions, orders and deals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    pub comment: Option<Box<str>>,
    pub client_id: Option<Box<str>>,
    pub magic: i64,
}

/// An open position. `profit` is not stored: it is a function of the current quote, so a
/// revaluation never writes here.
#[derive(Clone, Debug)]
pub struct Position {
    pub id: u64,
    pub account: AccountIdx,
    pub symbol: SymbolIdx,
    pub side: Side,
    pub reason: Reason,
    pub volume: Volume,
    pub open_price: Price,
    pub stop_loss: Option<Price>,
    pub take_profit: Option<Price>,
    /// Trailing-stop distance in points.
    pub trailing_points: Option<u32>,
    pub open_time: Timestamp,
    pub update_time: Timestamp,
    pub swap: Money,
    /// Commission charged on the deals of this position so far.
    pub commission: Money,
    /// Profit already realized by partial closes.
    pub realized_profit: Money,
    pub tags: Tags,
    pub(crate) next_in_account: u32,
    pub(crate) symbol_slot: u32,
    /// The currency slot of the account (`Valuation::currency_slot`), so valuing a position
    /// needs no read of its account.
    pub(crate) currency_slot: u16,
}

/// MT5 order types a pending order can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    BuyLimit,
    SellLimit,
    BuyStop,
    SellStop,
    BuyStopLimit,
    SellStopLimit,
}

impl PendingKind {
    pub fn side(self) -> Side {
        match self {
            Self::BuyLimit | Self::BuyStop | Self::BuyStopLimit => Side::Buy,
            Self::SellLimit | Self::SellStop | Self::SellStopLimit => Side::Sell,
        }
    }
}

/// An order's kind as history records it: a market deal or a pending kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    Market(Side),
    Pending(PendingKind),
    /// MT5 `ORDER_TYPE_CLOSE_BY`.
    CloseBy,
}

/// MT5 `ORDER_TIME_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiration {
    Gtc,
    /// Until the end of the broker day the order was placed in.
    Day,
    /// Until the given instant.
    Specified(Timestamp),
    /// Until the end of the broker day containing the given instant.
    SpecifiedDay(Timestamp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderState {
    Placed,
    Filled,
    Canceled,
    Expired,
    Rejected,
}

/// A pending order while it waits, and afterwards (with a final state) a history order.
#[derive(Clone, Debug)]
pub struct Order {
    pub id: u64,
    pub account: AccountIdx,
    pub symbol: SymbolIdx,
    pub kind: OrderKind,
    pub state: OrderState,
    pub reason: Reason,
    pub volume: Volume,
    pub volume_current: Volume,
    /// The limit/stop price; for market orders the fill price.
    pub open_price: Price,
    /// Limit price a stop-limit order becomes once triggered.
    pub stop_limit_price: Option<Price>,
    pub stop_loss: Option<Price>,
    pub take_profit: Option<Price>,
    pub trailing_points: Option<u32>,
    pub expiration: Expiration,
    /// When a DAY/SPECIFIED order expires, resolved at placement.
    pub expires_at: Option<Timestamp>,
    pub position_id: Option<u64>,
    pub close_by_position_id: Option<u64>,
    pub time: Timestamp,
    pub done_time: Option<Timestamp>,
    pub tags: Tags,
    pub(crate) next_in_account: u32,
}

/// MT5 `DEAL_TYPE_*` the simulator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DealKind {
    Buy,
    Sell,
    Balance,
    Credit,
}

/// MT5 `DEAL_ENTRY_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DealEntry {
    In,
    Out,
    InOut,
    OutBy,
}

/// A deal: the unit of account history. Balance changes by `profit + commission + swap` of
/// every deal, and by nothing else.
#[derive(Clone, Debug, PartialEq)]
pub struct Deal {
    pub id: u64,
    pub account: AccountIdx,
    pub kind: DealKind,
    pub entry: Option<DealEntry>,
    pub symbol: Option<SymbolIdx>,
    pub volume: Volume,
    pub price: Price,
    pub profit: Money,
    pub commission: Money,
    pub swap: Money,
    pub order_id: Option<u64>,
    pub position_id: Option<u64>,
    pub reason: Reason,
    pub time: Timestamp,
    pub tags: Tags,
}

impl Deal {
    /// What this deal did to the balance.
    pub fn balance_effect(&self) -> Money {
        match self.kind {
            DealKind::Credit => Money::ZERO,
            _ => self.profit + self.commission + self.swap,
        }
    }
}

/// One account's history: deals and finished orders, in time order.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub deals: Vec<Deal>,
    pub orders: Vec<Order>,
}

impl History {
    /// Whether the account has no deal and no finished order yet.
    pub fn is_empty(&self) -> bool {
        self.deals.is_empty() && self.orders.is_empty()
    }
}
