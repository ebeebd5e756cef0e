//! A synthetic depth of market around a quote.
//!
//! The book is a pure function of the symbol, the quote, the depth and the time: levels step
//! away from the bid and the ask by half the typical spread (at least one tick), volumes grow
//! with the distance and vary by a hash of symbol, time, side and level. No RNG is consumed,
//! so asking for a book never changes the market's path.

use super::{mix, name_hash};
use crate::symbol::SymbolSpec;
use drawbridge_model::{Price, Timestamp, Volume};

/// The volume at the best level is about this many minimum volumes.
const BEST_LEVEL_MIN_VOLUMES: i64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// A bid: someone buying at `price`.
    Buy,
    /// An offer: someone selling at `price`.
    Sell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookEntry {
    pub side: BookSide,
    pub price: Price,
    pub volume: Volume,
}

/// A depth-of-market snapshot in MT5's `MarketBookGet` order: offers from the highest price
/// down to the best ask, then bids from the best bid down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    pub time: Timestamp,
    pub entries: Vec<BookEntry>,
}

impl Book {
    /// Bids, best first.
    pub fn bids(&self) -> impl Iterator<Item = &BookEntry> {
        self.entries.iter().filter(|e| e.side == BookSide::Buy)
    }

    /// Offers, best first.
    pub fn asks(&self) -> impl Iterator<Item = &BookEntry> {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.side == BookSide::Sell)
    }
}

/// `depth` levels each side of `bid`/`ask` (fewer bids when prices would reach zero).
pub fn synthetic_book(
    spec: &SymbolSpec,
    bid: Price,
    ask: Price,
    depth: usize,
    time: Timestamp,
) -> Book {
    let tick = spec.tick_size.0.max(1);
    let half_spread = i64::from(spec.feed.spread_points) * spec.point.0 / 2;
    let step = (half_spread / tick).max(1) * tick;
    let seed = name_hash(&spec.name) ^ mix(time.0 as u64);
    let min = spec.volume_min.0.max(spec.volume_step.0).max(1);
    let volume = |side: BookSide, level: usize| {
        let h = mix(seed ^ mix(((level as u64) << 1) | u64::from(side == BookSide::Sell)));
        // 0.5 ..< 1.5 of the level's nominal volume.
        let jitter = 0.5 + (h >> 11) as f64 / (1u64 << 53) as f64;
        let nominal = (min * BEST_LEVEL_MIN_VOLUMES) as f64 * (level + 1) as f64;
        Volume((nominal * jitter) as i64)
            .round_to(spec.volume_step)
            .max(Volume(min))
    };
    let mut entries = Vec::with_capacity(2 * depth);
    for level in (0..depth).rev() {
        let price = Price(ask.0 + step * level as i64);
        entries.push(BookEntry {
            side: BookSide::Sell,
            price,
            volume: volume(BookSide::Sell, level),
        });
    }
    for level in 0..depth {
        let price = Price(bid.0 - step * level as i64);
        if price.0 <= 0 {
            break;
        }
        entries.push(BookEntry {
            side: BookSide::Buy,
            price,
            volume: volume(BookSide::Buy, level),
        });
    }
    Book { time, entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{default_catalog, find};

    fn spec(name: &str) -> SymbolSpec {
        let c = default_catalog();
        c[find(&c, name).unwrap().index()].clone()
    }

    #[test]
    fn levels_step_away_from_the_quote() {
        // (symbol, bid, ask, expected step): half the typical spread, in whole ticks.
        let cases = [
            ("EURUSD", 1.16500, 1.16502, 0.00001),
            ("GBPJPY", 207.600, 207.612, 0.006),
            ("JP225", 50_300.0, 50_307.0, 3.0),
            ("BTCUSD", 92_000.0, 92_020.0, 10.0),
        ];
        for (name, bid, ask, step) in cases {
            let s = spec(name);
            let (bid, ask, step) = (
                Price::from_f64(bid).unwrap(),
                Price::from_f64(ask).unwrap(),
                Price::from_f64(step).unwrap(),
            );
            let b = synthetic_book(&s, bid, ask, 5, Timestamp(1_000));
            assert_eq!(b.entries.len(), 10, "{name}");
            let asks: Vec<Price> = b.asks().map(|e| e.price).collect();
            let bids: Vec<Price> = b.bids().map(|e| e.price).collect();
            assert_eq!(asks[0], ask, "{name}");
            assert_eq!(bids[0], bid, "{name}");
            for w in asks.windows(2).chain(bids.windows(2)) {
                assert_eq!((w[1].0 - w[0].0).abs(), step.0, "{name}");
            }
            for e in &b.entries {
                assert!(e.price.is_multiple_of(s.tick_size), "{name}");
                assert!(
                    e.volume >= s.volume_min && e.volume.is_multiple_of(s.volume_step),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn the_book_is_a_function_of_its_inputs() {
        let s = spec("EURUSD");
        let (bid, ask) = (Price(116_500_000), Price(116_502_000));
        let a = synthetic_book(&s, bid, ask, 10, Timestamp(5_000));
        assert_eq!(a, synthetic_book(&s, bid, ask, 10, Timestamp(5_000)));
        assert_ne!(a, synthetic_book(&s, bid, ask, 10, Timestamp(5_001)));
        // Deeper levels hold more on average.
        let near: i64 = a.bids().take(3).map(|e| e.volume.0).sum();
        let far: i64 = a.bids().skip(7).map(|e| e.volume.0).sum();
        assert!(far > near);
        // Bids stop before reaching zero.
        let tiny = synthetic_book(&s, Price(2_000), Price(4_000), 10, Timestamp(0));
        assert_eq!(tiny.bids().count(), 2);
        assert_eq!(tiny.asks().count(), 10);
    }
}
