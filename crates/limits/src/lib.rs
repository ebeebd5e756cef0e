//! The limits drawbridge enforces, as synchronous state: no I/O, time passed in.
//!
//! # Layout
//! - [`catalog`]: every limit with its stable id, name, kind, value and period; the defaults
//!   of the MetaApi rate-limiting docs and the CQG WebAPI, overridable by name.
//! - [`credits`]: [`Credits`], CPU credits exact to a thousandth.
//! - [`window`]: one key's consumption in one window, a ring of bucket sums, and the proof
//!   that it never admits more than the quota within any window of the stated length.
//! - [`tally`]: one key's windows together ([`tally::Windows`]): rings for the many account
//!   keys, and [`tally::Tally`] for the few shared keys, whose every charge touches two cache
//!   lines.
//! - [`ledger`]: the [`Ledger`] trait and [`MemoryLedger`]: per-user, per-server and
//!   per-account windows charged all-or-nothing in one atomic step, idle keys evicted.
//! - [`sync`]: terminal-synchronization limits — subscribe rate, account subscriptions per
//!   user, per user on a server and per server, concurrent synchronizations.
//! - [`connections`]: new connections per period and open connections per address.
//! - [`streaming`]: per-account streaming credits (10 s / 1 min / 5 min) and the planner that
//!   downgrades market-data subscriptions over budget (longer intervals first, removal last).
//! - [`gate`]: at most N requests in processing per key.

pub mod catalog;
pub mod connections;
pub mod credits;
pub mod gate;
pub mod ledger;
pub mod streaming;
pub mod sync;
pub mod tally;
pub mod window;

pub use catalog::{Catalogue, Kind, Limit};
pub use credits::Credits;
pub use gate::{Busy, Gate, Permit};
pub use ledger::{Exceeded, Keys, Ledger, LedgerQuotas, MemoryLedger, Quota, Refusal, Scope};
pub use streaming::{Downgrade, Plan, StreamingBudget, StreamingQuotas, SymbolLoad};
