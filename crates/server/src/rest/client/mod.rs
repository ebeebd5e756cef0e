//! The client REST API of a deployed account: terminal state, trading, history and market
//! data, under `/users/current/accounts/:id/…`.
//!
//! Every call resolves the caller's account to its broker session, then reads the broker's
//! state through the desk (one consistent snapshot per call) or applies a trade as a
//! journaled op. An undeployed account answers as the cloud does: `ValidationError`
//! (not deployed); a deployed one without a broker session: `ValidationError` (not connected).
//!
//! # Layout
//! - [`session`]: the account-session helpers the client API, historical market data and
//!   streaming share: ownership and deployment checks, one read through the desk, the errors.
//! - [`terminal`]: account information, positions, pending orders, the whole terminal state
//!   a streaming synchronization sends, the server time, unsubscribe.
//! - [`history`]: deals and history orders by time range, ticket or position; paging; the
//!   header of a range cut at `historical_orders_days`.
//! - [`trade`]: trades and the margin an order would need.
//! - [`symbols`]: symbols, specifications, current price, candle, tick and book.

pub mod history;
pub mod session;
pub mod symbols;
pub mod terminal;
pub mod trade;

use crate::routes::Routes;

/// The client API of a deployed account: terminal state, history, trading, symbols.
pub(crate) fn routes(routes: Routes) -> Routes {
    [
        terminal::routes,
        history::routes,
        trade::routes,
        symbols::routes,
    ]
    .into_iter()
    .fold(routes, |routes, concern| concern(routes))
}
