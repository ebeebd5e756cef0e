//! One ledger key's consumption in all of its windows at once.
//!
//! [`Windows`] is what a ledger keeps per key: several windows advanced together by one clock
//! reading, checked and charged together. Two layouts implement it:
//! - `[Ring; W]` (see [`crate::window`]): compact, for the million account keys;
//! - [`Tally`]: for the few, hot, shared keys (an application, a user on a server). Every
//!   charge of a key touches only its first two cache lines: the instant before which no
//!   window changes bucket (so the common charge computes no bucket index), each window's live
//!   sum and each window's newest bucket. The rings of older buckets behind them are touched
//!   only when a bucket ends. Two threads charging one key then pass two cache lines between
//!   their cores per charge instead of one or two per window.
//!
//! Both keep the same sums as [`crate::window::Ring`] and so the same window semantics: a
//! charge counts from its bucket for `N + 1` buckets, the live sum never undercounts the last
//! period, and the retry instant is exact.

use crate::window::{Amount, Ring, Span};
use std::fmt;

/// The `W` windows of one key.
pub trait Windows<const W: usize>: Copy + fmt::Debug + Send + 'static {
    /// The largest amount a window counts (a quota above it is counted in coarser units).
    const MAX: u64;
    /// Nothing charged yet.
    fn empty() -> Self;
    /// Moves every window to the bucket of `now_ms` (clearing the buckets that left).
    fn advance(&mut self, spans: &[Span; W], now_ms: i64);
    /// Window `w`'s live sum (after [`Windows::advance`]).
    fn live(&self, w: usize) -> u64;
    /// Adds `amount` to the newest bucket of every window.
    fn add(&mut self, amount: u64);
    /// The first instant at which `live + cost ≤ quota` holds again in window `w`, advanced
    /// to `now_ms`; `None` when `cost` alone exceeds `quota`.
    fn retry_at(&self, w: usize, span: Span, now_ms: i64, cost: u64, quota: u64) -> Option<i64>;
    /// True when nothing is live in any window at `now_ms` or later.
    fn idle_at(&self, spans: &[Span; W], now_ms: i64) -> bool;
}

impl<T: Amount, const S: usize, const W: usize> Windows<W> for [Ring<T, S>; W] {
    const MAX: u64 = T::MAX;

    fn empty() -> Self {
        [Ring::default(); W]
    }

    fn advance(&mut self, spans: &[Span; W], now_ms: i64) {
        for (r, s) in self.iter_mut().zip(spans) {
            r.advance(s.bucket(now_ms));
        }
    }

    fn live(&self, w: usize) -> u64 {
        self[w].live()
    }

    fn add(&mut self, amount: u64) {
        self.iter_mut().for_each(|r| r.add(amount));
    }

    fn retry_at(&self, w: usize, span: Span, now_ms: i64, cost: u64, quota: u64) -> Option<i64> {
        self[w].retry_at(span, now_ms, cost, quota)
    }

    fn idle_at(&self, spans: &[Span; W], now_ms: i64) -> bool {
        self.iter()
            .zip(spans)
            .all(|(r, s)| r.idle_at(s.bucket(now_ms)))
    }
}

/// `W` windows of `S = N + 1` bucket sums each, hot fields first.
///
/// Window `w`'s newest bucket (`heads[w]`) is summed in `newest[w]`; its slot in `sums[w]` is
/// zero until the bucket ends and the sum moves there. `live[w]` is `min(u64::MAX, newest[w] +
/// Σ sums[w])`, kept as buckets fill and clear (recomputed only where it saturated).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Tally<const W: usize, const S: usize> {
    /// No window changes bucket before this instant: the first bucket start after a head.
    edge_ms: i64,
    live: [u64; W],
    newest: [u64; W],
    heads: [i64; W],
    sums: [[u64; S]; W],
}

impl<const W: usize, const S: usize> fmt::Debug for Tally<W, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tally")
            .field("heads", &self.heads)
            .field("live", &self.live)
            .finish()
    }
}

impl<const W: usize, const S: usize> Default for Tally<W, S> {
    fn default() -> Self {
        Self {
            edge_ms: i64::MIN,
            live: [0; W],
            newest: [0; W],
            heads: [i64::MIN / 2; W],
            sums: [[0; S]; W],
        }
    }
}

impl<const W: usize, const S: usize> Tally<W, S> {
    const SLOTS: i64 = S as i64;

    fn slot(i: i64) -> usize {
        // rem_euclid of a positive modulus is in 0..S.
        usize::try_from(i.rem_euclid(Self::SLOTS)).unwrap_or(0)
    }

    /// Moves window `w` to bucket `now` (a `now` behind the head is the head, as in
    /// [`Ring::advance`]).
    fn advance_one(&mut self, w: usize, now: i64) {
        let head = self.heads[w];
        if now <= head {
            return;
        }
        let (sums, live) = (&mut self.sums[w], &mut self.live[w]);
        sums[Self::slot(head)] = self.newest[w];
        if now.saturating_sub(head) >= Self::SLOTS {
            *sums = [0; S];
            *live = 0;
        } else {
            let saturated = *live == u64::MAX;
            for i in head + 1..=now {
                let slot = &mut sums[Self::slot(i)];
                if !saturated {
                    *live -= *slot;
                }
                *slot = 0;
            }
            if saturated {
                *live = sums.iter().fold(0u64, |acc, s| acc.saturating_add(*s));
            }
        }
        self.newest[w] = 0;
        self.heads[w] = now;
    }

    fn sum(&self, w: usize) -> u64 {
        (self.sums[w].iter()).fold(self.newest[w], |acc, s| acc.saturating_add(*s))
    }
}

impl<const W: usize, const S: usize> Windows<W> for Tally<W, S> {
    const MAX: u64 = u64::MAX;

    fn empty() -> Self {
        Self::default()
    }

    fn advance(&mut self, spans: &[Span; W], now_ms: i64) {
        if now_ms < self.edge_ms {
            return;
        }
        let mut edge = i64::MAX;
        for (w, span) in spans.iter().enumerate() {
            self.advance_one(w, span.bucket(now_ms));
            edge = edge.min((self.heads[w] + 1).saturating_mul(span.width_ms));
        }
        debug_assert!(edge > now_ms, "invariant: the edge is after now");
        self.edge_ms = edge;
    }

    fn live(&self, w: usize) -> u64 {
        debug_assert!(
            self.live[w] == self.sum(w),
            "invariant: live is the saturated sum of the window's buckets"
        );
        debug_assert!(
            self.sums[w][Self::slot(self.heads[w])] == 0,
            "invariant: the newest bucket is summed apart from its slot"
        );
        self.live[w]
    }

    fn add(&mut self, amount: u64) {
        for w in 0..W {
            self.newest[w] = self.newest[w].saturating_add(amount);
            self.live[w] = self.live[w].saturating_add(amount);
        }
    }

    fn retry_at(&self, w: usize, span: Span, now_ms: i64, cost: u64, quota: u64) -> Option<i64> {
        if cost > quota {
            return None;
        }
        let head = self.heads[w];
        let at = |i: i64| {
            if i == head {
                u128::from(self.newest[w])
            } else {
                u128::from(self.sums[w][Self::slot(i)])
            }
        };
        // Exact even where the live sum saturated.
        let fits = |live: u128| live + u128::from(cost) <= u128::from(quota);
        let oldest = head - (Self::SLOTS - 1);
        let mut live: u128 = (oldest..=head).map(at).sum();
        if fits(live) {
            return Some(now_ms);
        }
        for i in oldest..=head {
            live -= at(i);
            if fits(live) {
                return Some((i + Self::SLOTS).saturating_mul(span.width_ms));
            }
        }
        // Every bucket gone leaves 0 + cost ≤ quota: the loop returned.
        Some((head + Self::SLOTS).saturating_mul(span.width_ms))
    }

    fn idle_at(&self, spans: &[Span; W], now_ms: i64) -> bool {
        (0..W).all(|w| {
            spans[w].bucket(now_ms).saturating_sub(self.heads[w]) >= Self::SLOTS
                || self.live[w] == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPANS: [Span; 2] = [
        Span {
            period_ms: 10_000,
            width_ms: 1_000,
        },
        Span {
            period_ms: 1_000,
            width_ms: 100,
        },
    ];

    /// A tally and two rings fed the same charges agree on every window at every step.
    #[test]
    fn a_tally_counts_what_rings_count() {
        let mut tally = Tally::<2, 11>::default();
        let mut rings = [Ring::<u64, 11>::default(); 2];
        let mut t = 1_700_000_000_000i64;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += match x % 10 {
                0 => i64::try_from(x % 20_000).unwrap_or(0),
                1..=4 => 0,
                _ => i64::try_from(x % 150).unwrap_or(0),
            };
            tally.advance(&SPANS, t);
            rings.advance(&SPANS, t);
            for (w, span) in SPANS.iter().enumerate() {
                assert_eq!(tally.live(w), rings.live(w), "step {step} window {w}");
                let cost = x % 700;
                assert_eq!(
                    tally.retry_at(w, *span, t, cost, 1_000),
                    rings.retry_at(w, *span, t, cost, 1_000),
                    "step {step} window {w}"
                );
            }
            assert_eq!(tally.idle_at(&SPANS, t), rings.idle_at(&SPANS, t));
            let amount = x % 97;
            tally.add(amount);
            rings.add(amount);
        }
    }

    /// A charge of an application's four windows writes only the first 72 bytes (and reads
    /// the heads only when a bucket ends).
    #[test]
    fn the_hot_fields_come_first() {
        assert_eq!(std::mem::offset_of!(Tally<4, 51>, heads), 72);
        assert_eq!(std::mem::size_of::<Tally<4, 51>>(), 72 + 32 + 4 * 51 * 8);
    }

    #[test]
    fn a_clock_behind_the_head_charges_the_head() {
        let mut tally = Tally::<2, 11>::default();
        tally.advance(&SPANS, 5_050);
        tally.add(3);
        tally.advance(&SPANS, 4_000);
        tally.add(4);
        assert_eq!((tally.live(0), tally.live(1)), (7, 7));
        // Both charges sit in the 100 ms bucket of 5.0 s: gone once 6.1 s begins.
        tally.advance(&SPANS, 6_099);
        assert_eq!(tally.live(1), 7);
        tally.advance(&SPANS, 6_100);
        assert_eq!((tally.live(0), tally.live(1)), (7, 0));
    }

    #[test]
    fn saturation_keeps_the_window_closed_and_recovers() {
        let mut tally = Tally::<2, 11>::default();
        tally.advance(&SPANS, 0);
        tally.add(u64::MAX - 10);
        tally.advance(&SPANS, 1_000);
        tally.add(100);
        assert_eq!(tally.live(0), u64::MAX);
        assert_eq!(tally.retry_at(0, SPANS[0], 1_000, 45, 150), Some(11_000));
        tally.advance(&SPANS, 11_000);
        assert_eq!(tally.live(0), 100);
    }
}
