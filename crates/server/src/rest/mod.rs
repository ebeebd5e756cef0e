//! The REST API, one module per API family. Each family holds its handlers and registers its
//! own routes ([`crate::routes::Routes`]); [`crate::app`] lists the families.
//!
//! # Layout
//! - [`operations`]: health, metrics, regions, where the client API lives.
//! - [`provisioning`]: trading accounts (`/users/current/accounts`) and demo accounts.
//! - [`client`]: a deployed account's terminal state, trading, history and symbols.
//! - [`limits`]: CPU-credit usage, the limit catalogue, user messages.
//! - [`market_data`]: the historical market data API (candles and ticks from the feed).
//! - [`risk`]: the risk management API and drawbridge's rule sets and halts.
//! - [`tokens`]: token narrowing and revocation.
//! - [`sim`]: the sim control API (ticks, feed, virtual clock, balance operations).

pub mod client;
pub mod limits;
pub mod market_data;
pub mod operations;
pub mod provisioning;
pub mod risk;
pub mod sim;
pub mod tokens;
