//! Completed periods kept for the "loads backwards" statistics API.
//!
//! `GET …/statistics?startTime&limit` answers the periods that started at or before
//! `startTime` (default now), newest first, `limit` of them (default 1) — the SDK reads the
//! first item as the current period. Hot state keeps no history: the store persists each
//! [`crate::Output::PeriodCompleted`]. [`PeriodHistory`] is a bounded ring for callers that
//! keep a few periods in memory (tests, a cache in front of the store).

use crate::stats::PeriodStats;
use drawbridge_model::Timestamp;
use std::collections::VecDeque;

/// Default `limit` of the statistics API.
pub const STATISTICS_LIMIT_DEFAULT: usize = 1;

/// The newest periods, oldest dropped first.
#[derive(Clone, Debug)]
pub struct PeriodHistory {
    capacity: usize,
    periods: VecDeque<PeriodStats>,
}

impl PeriodHistory {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            periods: VecDeque::new(),
        }
    }

    pub fn push(&mut self, stats: PeriodStats) {
        if self.periods.len() == self.capacity {
            self.periods.pop_front();
        }
        debug_assert!(
            self.periods
                .back()
                .is_none_or(|p| p.span.start <= stats.span.start),
            "invariant: periods complete in time order"
        );
        self.periods.push_back(stats);
    }

    pub fn len(&self) -> usize {
        self.periods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// Up to `limit` periods started at or before `start_time`, newest first; `current` (the
    /// period in progress) counts as the newest.
    pub fn backwards<'a>(
        &'a self,
        current: Option<&'a PeriodStats>,
        start_time: Timestamp,
        limit: usize,
    ) -> Vec<&'a PeriodStats> {
        current
            .into_iter()
            .chain(self.periods.iter().rev())
            .filter(|p| p.span.start <= start_time)
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Span;
    use drawbridge_model::Money;

    fn period(start: i64) -> PeriodStats {
        PeriodStats::open(
            Span {
                start: Timestamp(start),
                end: Some(Timestamp(start + 10)),
            },
            Money(100),
        )
    }

    #[test]
    fn bounded_and_newest_first() {
        let mut h = PeriodHistory::new(3);
        for s in [0, 10, 20, 30] {
            h.push(period(s));
        }
        assert_eq!(h.len(), 3);
        let current = period(40);
        let starts = |v: Vec<&PeriodStats>| v.iter().map(|p| p.span.start.0).collect::<Vec<_>>();
        assert_eq!(
            starts(h.backwards(Some(&current), Timestamp(100), 10)),
            [40, 30, 20, 10]
        );
        assert_eq!(
            starts(h.backwards(Some(&current), Timestamp(25), 2)),
            [20, 10]
        );
        assert_eq!(
            starts(h.backwards(None, Timestamp(100), STATISTICS_LIMIT_DEFAULT)),
            [30]
        );
    }
}
