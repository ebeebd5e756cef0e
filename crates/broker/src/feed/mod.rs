//! The market feed: where prices come from and what is built from them.
//!
//! - [`Tick`]: one bid/ask change of one symbol, the unit every other part consumes.
//! - [`generator`]: the seeded random walk that quotes every symbol of a trade server, only
//!   while its quote session is open.
//! - [`session`]: when a symbol's weekly session opens and closes, as instants.
//! - [`replay`]: tick files (HistData ASCII ticks, `time,bid,ask` CSV) read into ticks.
//! - [`candles`]: bars of all 21 timeframes built from ticks, aligned in broker time.
//! - [`book`]: a deterministic synthetic depth of market around a quote.

pub mod book;
pub mod candles;
pub mod generator;
pub mod replay;
pub mod session;

use crate::symbol::SymbolIdx;
use drawbridge_model::{Price, Timestamp};

pub use book::{Book, BookEntry, BookSide, synthetic_book};
pub use candles::{CANDLES_PER_TIMEFRAME_MAX, Candle, CandleBuilder};
pub use generator::Generator;
pub use replay::{ReplayError, TickFormat, TickReader, import_file, read_ticks};
pub use session::SessionClock;

/// One quote of one symbol: the unit the engine, the candles and the subscribers consume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    pub symbol: SymbolIdx,
    pub time: Timestamp,
    pub bid: Price,
    pub ask: Price,
}

/// FNV-1a: a stable 64-bit hash of a symbol name, so per-symbol streams and synthetic books do
/// not depend on where the symbol sits in the catalogue.
pub(crate) fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: scrambles `x` into a well-mixed 64-bit value.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
