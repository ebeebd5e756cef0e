//! The embedded simulated MetaTrader 5 broker.
//!
//! # Layout
//! - [`broker`]: the broker's vocabulary — sessions, account summaries, errors, events.
//! - [`sim`]: [`sim::SimBroker`], the broker and the seam the server talks to: the
//!   `Drawbridge-Demo` (hedging) and `Drawbridge-Netting` trade servers, each an engine fed
//!   by a market generator, plus the control surface (push a tick, pause the feed, deposit,
//!   open a demo account).
//! - [`engine`]: one trade server's synchronous state machine — accounts, positions, orders,
//!   deals, margin, swaps, stop-out. No clock, no I/O: commands in, events out.
//! - [`account`]: accounts, their kinds (group, omnibus, not cleared), credentials.
//! - [`symbol`]: symbol specifications, sessions, currencies.
//! - [`catalog`]: the default catalogue of instruments.
//! - [`feed`]: where prices come from — the seeded generator, tick-file replay, candles of
//!   every timeframe, the synthetic order book.
//! - [`wire`]: engine and feed records rendered as MetaApi wire shapes (account information,
//!   positions, orders, deals, symbol specifications, prices, candles, ticks, books).

pub mod account;
pub mod broker;
pub mod catalog;
pub mod engine;
pub mod feed;
pub mod sim;
pub mod symbol;
pub mod wire;
