//! The market feed: where prices come from and what is built from them.
//!
//! - [`Tick`]: one bid/ask change of one symbol, the unit every other part consumes.
