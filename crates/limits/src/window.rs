//! One key's consumption in one window: a ring of bucket sums.
//!
//! A window of length `P` split into `N` buckets of width `w = ⌈P / N⌉` keeps `N + 1` bucket
//! sums. At time `t` the *live* buckets are those with index `⌊t / w⌋ − N ..= ⌊t / w⌋`; they
//! cover `[(⌊t/w⌋ − N)·w, t]`, which contains `(t − P, t]`. So the live sum is never less than
//! what was charged in the last `P` milliseconds: admitting only while `live + cost ≤ quota`
//! guarantees at most `quota` within *any* window of length `P` (the last admission inside a
//! window saw everything admitted before it in that window). The price of the approximation
//! is that a charge keeps counting for up to one bucket width longer than `P`.
//!
//! Bucket `i` leaves the live set at `(i + N + 1)·w`, so the first instant a refused request
//! would pass is computable exactly: drop buckets oldest first until `live + cost ≤ quota`.

use std::fmt;

/// A bucket sum: `u32` where quotas are small (per account), `u64` where they are multiplied.
///
/// Adding saturates. That is safe whenever `MAX` is at least the quota: a saturated bucket
/// keeps the window refused until it leaves the live set, exactly when the unsaturated sum
/// would have left it too.
pub trait Amount: Copy + Default + fmt::Debug + Send + 'static {
    const MAX: u64;
    fn get(self) -> u64;
    fn saturating_from(v: u64) -> Self;
}

impl Amount for u32 {
    const MAX: u64 = u32::MAX as u64;
    fn get(self) -> u64 {
        u64::from(self)
    }
    fn saturating_from(v: u64) -> Self {
        u32::try_from(v).unwrap_or(u32::MAX)
    }
}

impl Amount for u64 {
    const MAX: u64 = u64::MAX;
    fn get(self) -> u64 {
        self
    }
    fn saturating_from(v: u64) -> Self {
        v
    }
}

/// A window's length and bucket width, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub period_ms: i64,
    pub width_ms: i64,
}

impl Span {
    /// `period_ms` split into `buckets` buckets (width rounded up: the window only grows).
    pub fn new(period_ms: i64, buckets: usize) -> Self {
        debug_assert!(
            period_ms > 0 && buckets > 0,
            "invariant: a window has a length"
        );
        let n = i64::try_from(buckets.max(1)).unwrap_or(i64::MAX);
        let period_ms = period_ms.max(1);
        Self {
            period_ms,
            width_ms: (period_ms + n - 1) / n,
        }
    }

    /// The bucket holding instant `t_ms`.
    pub fn bucket(&self, t_ms: i64) -> i64 {
        t_ms.div_euclid(self.width_ms)
    }
}

/// `S = N + 1` bucket sums of one key in one window, newest at `head`, and their total.
///
/// `total` is `min(T::MAX, Σ sums)`, kept as buckets fill and clear so that a check reads one
/// number instead of summing the ring. Below `T::MAX` it is exact, so clearing a bucket
/// subtracts it; at `T::MAX` it is recomputed from what is left.
#[derive(Clone, Copy)]
pub struct Ring<T: Amount, const S: usize> {
    head: i64,
    total: T,
    sums: [T; S],
}

impl<T: Amount, const S: usize> fmt::Debug for Ring<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("head", &self.head)
            .field("live", &self.live())
            .finish()
    }
}

impl<T: Amount, const S: usize> Default for Ring<T, S> {
    fn default() -> Self {
        Self {
            head: i64::MIN / 2,
            total: T::default(),
            sums: [T::default(); S],
        }
    }
}

impl<T: Amount, const S: usize> Ring<T, S> {
    const SLOTS: i64 = S as i64;

    fn slot(i: i64) -> usize {
        // rem_euclid of a positive modulus is in 0..S.
        usize::try_from(i.rem_euclid(Self::SLOTS)).unwrap_or(0)
    }

    /// Moves the ring to bucket `now` (clearing the buckets that left the live set). A `now`
    /// behind `head` (a racing reader of the clock) is treated as `head`: charging a newer
    /// bucket than the true one only keeps the charge longer.
    pub fn advance(&mut self, now: i64) {
        if now <= self.head {
            return;
        }
        let gap = now.saturating_sub(self.head);
        if gap >= Self::SLOTS {
            self.sums = [T::default(); S];
            self.total = T::default();
        } else {
            let saturated = self.total.get() == T::MAX;
            for i in self.head + 1..=now {
                let slot = &mut self.sums[Self::slot(i)];
                if !saturated {
                    self.total = T::saturating_from(self.total.get() - slot.get());
                }
                *slot = T::default();
            }
            if saturated {
                self.total = T::saturating_from(self.sum());
            }
        }
        self.head = now;
    }

    fn sum(&self) -> u64 {
        self.sums
            .iter()
            .fold(0u64, |acc, s| acc.saturating_add(s.get()))
    }

    /// The live sum (after [`Ring::advance`]).
    pub fn live(&self) -> u64 {
        debug_assert!(
            self.total.get() == self.sum().min(T::MAX),
            "invariant: the ring's total is its saturated sum"
        );
        self.total.get()
    }

    /// Adds `amount` to the newest bucket.
    pub fn add(&mut self, amount: u64) {
        let slot = &mut self.sums[Self::slot(self.head)];
        *slot = T::saturating_from(slot.get().saturating_add(amount));
        self.total = T::saturating_from(self.total.get().saturating_add(amount));
    }

    /// The first instant (ms) at which `live + cost ≤ quota` holds again with no further
    /// charges, given the ring was advanced to `now_ms`; `None` when `cost` alone exceeds the
    /// quota.
    pub fn retry_at(&self, span: Span, now_ms: i64, cost: u64, quota: u64) -> Option<i64> {
        if cost > quota {
            return None;
        }
        // Exact even where the running total saturated.
        let fits = |live: u128| live + u128::from(cost) <= u128::from(quota);
        let mut live: u128 = self.sums.iter().map(|s| u128::from(s.get())).sum();
        if fits(live) {
            return Some(now_ms);
        }
        let oldest = self.head - (Self::SLOTS - 1);
        for i in oldest..=self.head {
            live -= u128::from(self.sums[Self::slot(i)].get());
            if fits(live) {
                return Some((i + Self::SLOTS).saturating_mul(span.width_ms));
            }
        }
        // Every bucket gone leaves 0 + cost ≤ quota: the loop returned.
        Some((self.head + Self::SLOTS).saturating_mul(span.width_ms))
    }

    /// True when nothing is live at bucket `now` or later.
    pub fn idle_at(&self, now: i64) -> bool {
        now.saturating_sub(self.head) >= Self::SLOTS || self.live() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span = Span {
        period_ms: 10_000,
        width_ms: 1_000,
    };

    #[test]
    fn a_charge_counts_for_the_period_plus_at_most_one_bucket() {
        let mut r = Ring::<u32, 11>::default();
        r.advance(SPAN.bucket(10_500));
        r.add(7);
        // Charged in bucket 10 ([10 s, 11 s)): live through bucket 20, gone at 21 s.
        for (t, live) in [(10_500, 7), (20_499, 7), (20_999, 7), (21_000, 0)] {
            let mut c = r;
            c.advance(SPAN.bucket(t));
            assert_eq!(c.live(), live, "at {t} ms");
        }
    }

    #[test]
    fn retry_at_drops_buckets_oldest_first() {
        let mut r = Ring::<u64, 11>::default();
        r.advance(0);
        r.add(60);
        r.advance(3);
        r.add(40);
        // Quota 100, cost 30: needs bucket 0 gone (at 11 s); cost 70 needs both (at 14 s).
        assert_eq!(r.retry_at(SPAN, 3_000, 30, 100), Some(11_000));
        assert_eq!(r.retry_at(SPAN, 3_000, 70, 100), Some(14_000));
        assert_eq!(r.retry_at(SPAN, 3_000, 0, 100), Some(3_000));
        assert_eq!(r.retry_at(SPAN, 3_000, 101, 100), None);
    }

    #[test]
    fn saturation_keeps_the_window_closed() {
        let mut r = Ring::<u32, 3>::default();
        r.advance(5);
        r.add(u64::from(u32::MAX) + 10);
        assert_eq!(r.live(), u64::from(u32::MAX));
        r.advance(8);
        assert_eq!(r.live(), 0);
    }

    #[test]
    fn a_saturated_total_recovers_exactly_as_buckets_clear() {
        let mut r = Ring::<u32, 3>::default();
        r.advance(0);
        r.add(u64::from(u32::MAX) - 10);
        r.advance(1);
        r.add(100);
        assert_eq!(r.live(), u64::from(u32::MAX));
        // Quota 150, cost 45: only once bucket 0 is gone (at 3 s) do 100 + 45 fit.
        assert_eq!(r.retry_at(SPAN, 1_000, 45, 150), Some(3_000));
        assert_eq!(r.retry_at(SPAN, 1_000, 60, 150), Some(4_000));
        r.advance(3);
        assert_eq!(r.live(), 100);
    }

    #[test]
    fn spans_round_the_width_up() {
        assert_eq!(Span::new(1_000, 60).width_ms, 17);
        assert_eq!(Span::new(21_600_000, 50).width_ms, 432_000);
    }
}
