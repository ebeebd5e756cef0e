//! The broker's vocabulary: sessions on accounts, account summaries, errors and events.
//!
//! [`crate::sim::SimBroker`] is the one broker and the seam the server talks to: a state
//! machine owned by one task (the desk), whose methods take `&mut self` for changes and
//! return owned snapshots; time enters only through `SimBroker::advance`, so a virtual clock
//! drives it. There is no broker trait: a second implementation (a connector to a real
//! broker) would bring one, shaped by what both need.

use crate::account::Access;
use crate::engine::{Event, Retcode};
use drawbridge_model::Money;

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
