//! The `Broker` trait: what drawbridge needs from anything that keeps trading accounts.
//!
//! The embedded [`crate::sim::SimBroker`] implements it; real connectors follow. A broker is a
//! state machine owned by one task (the server shards accounts across such tasks): methods
//! take `&mut self` for changes and return owned snapshots, and time enters only through
//! [`Broker::advance`], so a virtual clock drives the simulator and a connector alike.

use crate::account::Access;
use crate::engine::book::{Deal, Order, Position};
use crate::engine::{Event, Retcode, TradeCommand, TradeOutcome};
use crate::symbol::{SymbolIdx, SymbolSpec};
use drawbridge_model::{Money, Timestamp};

/// Which trade server and account a session is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountRef {
    pub server: u16,
    pub login: u64,
}

/// An authenticated session on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub account: AccountRef,
    pub access: Access,
}

/// A trade server as listed to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    pub name: String,
    pub zone: String,
    pub hedging: bool,
}

/// The account summary MetaApi's `accountInformation` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountSummary {
    pub login: u64,
    pub name: String,
    pub server: String,
    pub currency: String,
    pub leverage: u32,
    pub balance: Money,
    pub credit: Money,
    pub equity: Money,
    pub margin: Money,
    /// `None` for group members, whose purchasing power lives at group level.
    pub free_margin: Option<Money>,
    pub margin_level: Option<f64>,
    pub trade_allowed: bool,
    pub investor_mode: bool,
    pub hedging: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    #[error("trade server {0:?} not found")]
    ServerNotFound(String),
    #[error("invalid account credentials")]
    Auth,
    #[error("account not found")]
    AccountNotFound,
    #[error("symbol {0:?} not found")]
    SymbolNotFound(String),
    #[error("trade rejected: {0}")]
    Trade(Retcode),
    #[error("{0}")]
    Invalid(String),
}

/// A change on one trade server.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerEvent {
    pub server: u16,
    pub event: Event,
}

pub trait Broker: Send {
    /// The trade servers this broker offers.
    fn servers(&self) -> Vec<ServerInfo>;
    /// Opens a session: the master password trades, the investor password only reads.
    fn connect(&self, server: &str, login: u64, password: &str) -> Result<Session, BrokerError>;
    /// The account summary; `Ok(None)` for accounts whose summary is not reported.
    fn account_summary(&self, s: &Session) -> Result<Option<AccountSummary>, BrokerError>;
    /// Open positions; empty for accounts whose positions are not reported.
    fn positions(&self, s: &Session) -> Result<Vec<Position>, BrokerError>;
    /// Pending orders.
    fn orders(&self, s: &Session) -> Result<Vec<Order>, BrokerError>;
    /// Deals in `[from, to)`.
    fn deals(&self, s: &Session, from: Timestamp, to: Timestamp) -> Result<Vec<Deal>, BrokerError>;
    /// Finished orders done in `[from, to)`.
    fn history_orders(
        &self,
        s: &Session,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Order>, BrokerError>;
    /// The symbol catalogue of a server.
    fn symbols(&self, server: u16) -> &[SymbolSpec];
    /// The current bid/ask/time of a symbol.
    fn quote(&self, server: u16, symbol: SymbolIdx) -> Option<crate::engine::calc::Quote>;
    /// Executes a trade request.
    fn trade(
        &mut self,
        s: &Session,
        cmd: TradeCommand,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<TradeOutcome, BrokerError>;
    /// Moves the broker's time to `now` and collects what happened on the way.
    fn advance(&mut self, now: Timestamp, events: &mut Vec<BrokerEvent>);
}
