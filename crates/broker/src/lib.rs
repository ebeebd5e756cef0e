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
//! - [`metaapi`]: the translation to and from MetaApi: engine and feed records as MetaApi
//!   wire shapes (account information, positions, orders, deals, symbol specifications,
//!   prices, candles, ticks, books), and trade requests as engine commands.

pub mod account;
pub mod broker;
pub mod catalog;
pub mod engine;
pub mod feed;
pub mod metaapi;
pub mod sim;
pub mod symbol;
