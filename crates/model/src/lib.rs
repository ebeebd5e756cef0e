//! The vocabulary every drawbridge crate shares.
//!
//! # Layout
//! - [`num`]: exact numbers — [`num::Price`] and [`num::Volume`] as eight-decimal fixed point,
//!   [`num::Money`] in cents. Balances are sums of integers and never drift.
//! - [`time`]: [`time::Timestamp`] (ms since epoch, ISO-8601 on the wire) and
//!   [`time::ServerZone`], a trade server's IANA zone that spells `brokerTime`.
//! - [`timeframe`]: the 21 MT5 chart timeframes and their wire strings.
//! - [`id`]: the identifiers [`AccountId`], [`UserId`] and [`TokenId`], each its own type.
//! - [`clock`]: the [`clock::Clock`] trait, the system clock and the virtual clock.
//! - [`rng`]: the seeded, portable random generator.
//! - [`wire`]: the MetaApi JSON shapes (accounts, positions, orders, deals, symbols, prices,
//!   candles, ticks, books, trade requests and responses), learned from the official SDK.

pub mod clock;
pub mod id;
pub mod num;
pub mod rng;
pub mod time;
pub mod timeframe;
pub mod wire;

pub use clock::{Clock, SharedClock, SystemClock, VirtualClock};
pub use id::{AccountId, TokenId, UserId};
pub use num::{Money, Price, Volume};
pub use rng::Rng;
pub use time::{ServerZone, Timestamp};
pub use timeframe::Timeframe;
