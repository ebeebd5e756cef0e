//! The hourly equity chart, built incrementally from the account's inputs.
//!
//! An item covers one broker-clock hour `[start, start + 1h)`. Balance and equity are held
//! from one input to the next (sample-and-hold), so the time-weighted average is
//! `Σ value × held ms / Σ held ms` — the SDK's `equitySum / duration`. An item opened after an
//! earlier one starts at its hour's first millisecond with the carried values (they held since
//! then); the account's very first item starts at its first input. A completed item is held
//! to its hour's end. Hours with no input produce no item (the SDK's `fillSkips` fills them on
//! the client).

use crate::input::Snapshot;
use drawbridge_model::time::MS_PER_HOUR;
use drawbridge_model::{Money, ServerZone, Timestamp};

/// The broker-clock hour holding `t`: `[start, start + 1h)` (offsets of whole or half hours;
/// a DST switch falls on an hour boundary).
pub fn hour_at(zone: ServerZone, t: Timestamp) -> (Timestamp, Timestamp) {
    use chrono::Offset;
    use chrono::TimeZone;
    let offset_ms = i64::from(
        zone.0
            .offset_from_utc_datetime(&t.to_datetime().naive_utc())
            .fix()
            .local_minus_utc(),
    ) * 1000;
    let start = t.0 - (t.0 + offset_ms).rem_euclid(MS_PER_HOUR);
    (Timestamp(start), Timestamp(start + MS_PER_HOUR))
}

/// Running minimum, maximum, first, last and time-weighted sum of one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Series {
    pub start: Money,
    pub min: Money,
    pub max: Money,
    pub last: Money,
    /// Σ value × held milliseconds, in cent-milliseconds.
    pub sum: i128,
}

impl Series {
    fn new(v: Money) -> Self {
        Self {
            start: v,
            min: v,
            max: v,
            last: v,
            sum: 0,
        }
    }

    fn hold(&mut self, ms: i64) {
        self.sum += i128::from(self.last.0) * i128::from(ms);
    }

    fn set(&mut self, v: Money) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
    }

    /// Time-weighted average over `duration_ms`; the last value when no time passed.
    pub fn average(&self, duration_ms: i64) -> f64 {
        if duration_ms > 0 {
            self.sum as f64 / duration_ms as f64 / 100.0
        } else {
            self.last.to_f64()
        }
    }
}

/// One hour of the chart (current or completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChartItem {
    pub start: Timestamp,
    /// Exclusive: the next hour's start.
    pub end: Timestamp,
    /// The last input's time (the SDK's `brokerTime`).
    pub last_time: Timestamp,
    /// Milliseconds accounted in the sums.
    pub duration_ms: i64,
    pub balance: Series,
    pub equity: Series,
}

impl ChartItem {
    fn open(start: Timestamp, end: Timestamp, at: Timestamp, carry: Snapshot) -> Self {
        Self {
            start,
            end,
            last_time: at,
            duration_ms: 0,
            balance: Series::new(carry.balance),
            equity: Series::new(carry.equity),
        }
    }

    fn hold_until(&mut self, t: Timestamp) {
        let ms = (t.0 - self.last_time.0).max(0);
        self.balance.hold(ms);
        self.equity.hold(ms);
        self.duration_ms += ms;
        self.last_time = self.last_time.max(t);
    }

    fn set(&mut self, s: Snapshot) {
        self.hold_until(s.time);
        self.balance.set(s.balance);
        self.equity.set(s.equity);
    }

    /// The item as it stands at `t`: its last values held until `t` (at most to the hour's
    /// end). The hour in progress as a live view: without inputs since, it still covers the
    /// time up to now (an SDK listener divides by its `duration`).
    pub fn as_of(&self, t: Timestamp) -> Self {
        let mut item = *self;
        item.hold_until(t.min(self.end));
        item
    }

    pub fn average_balance(&self) -> f64 {
        self.balance.average(self.duration_ms)
    }

    pub fn average_equity(&self) -> f64 {
        self.equity.average(self.duration_ms)
    }
}

/// An account's chart in progress: the current hour only; completed hours go to the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChartState {
    current: Option<ChartItem>,
}

impl ChartState {
    /// Resumes from a persisted current item.
    pub fn resume(item: ChartItem) -> Self {
        Self {
            current: Some(item),
        }
    }

    pub fn current(&self) -> Option<&ChartItem> {
        self.current.as_ref()
    }

    /// Moves to `t` (completing the hour if it ended) and records `snapshot` when given.
    /// Returns the completed item.
    pub fn apply(
        &mut self,
        zone: ServerZone,
        t: Timestamp,
        snapshot: Option<Snapshot>,
    ) -> Option<ChartItem> {
        let mut done = None;
        if let Some(item) = &mut self.current
            && t >= item.end
        {
            item.hold_until(item.end);
            done = Some(*item);
            let (start, end) = hour_at(zone, t);
            let carry = Snapshot {
                time: start,
                balance: item.balance.last,
                equity: item.equity.last,
            };
            let mut next = ChartItem::open(start, end, start, carry);
            next.hold_until(t);
            self.current = Some(next);
        }
        if let Some(s) = snapshot {
            match &mut self.current {
                Some(item) => item.set(s),
                None => {
                    let (start, end) = hour_at(zone, s.time);
                    self.current = Some(ChartItem::open(start, end, s.time, s));
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Timestamp {
        Timestamp::parse_iso(s).unwrap()
    }

    fn snap(t: &str, balance: i64, equity: i64) -> Snapshot {
        Snapshot {
            time: iso(t),
            balance: Money(balance),
            equity: Money(equity),
        }
    }

    #[test]
    fn hours_follow_the_broker_clock() {
        let india = ServerZone::parse("Asia/Kolkata").unwrap();
        let (s, e) = hour_at(india, iso("2026-01-07T10:10:00Z"));
        // 15:40 in Kolkata: the hour is 15:00–16:00 local, 09:30–10:30 UTC.
        assert_eq!(
            (s, e),
            (iso("2026-01-07T09:30:00Z"), iso("2026-01-07T10:30:00Z"))
        );
    }

    #[test]
    fn a_live_view_holds_the_last_values_until_now_within_the_hour() {
        let mut c = ChartState::default();
        let utc = ServerZone::parse("UTC").unwrap();
        c.apply(
            utc,
            iso("2026-01-07T10:10:00Z"),
            Some(snap("2026-01-07T10:10:00Z", 100, 90)),
        );
        let item = *c.current().unwrap();
        assert_eq!(item.duration_ms, 0);
        let live = item.as_of(iso("2026-01-07T10:40:00Z"));
        assert_eq!(live.duration_ms, 30 * 60_000);
        assert_eq!(live.last_time, iso("2026-01-07T10:40:00Z"));
        assert_eq!(live.average_equity(), 0.9);
        // Never past the hour's end, never back.
        assert_eq!(
            item.as_of(iso("2026-01-07T12:00:00Z")).duration_ms,
            50 * 60_000
        );
        assert_eq!(live.as_of(iso("2026-01-07T10:20:00Z")), live);
    }

    #[test]
    fn time_weighted_average_with_carry() {
        let zone = ServerZone::parse("EET").unwrap();
        let mut chart = ChartState::default();
        // 10:15 equity 100.00, 10:45 equity 110.00, 11:30 equity 90.00 (all UTC).
        assert!(
            chart
                .apply(
                    zone,
                    iso("2026-01-07T10:15:00Z"),
                    Some(snap("2026-01-07T10:15:00Z", 10_000, 10_000))
                )
                .is_none()
        );
        assert!(
            chart
                .apply(
                    zone,
                    iso("2026-01-07T10:45:00Z"),
                    Some(snap("2026-01-07T10:45:00Z", 10_000, 11_000))
                )
                .is_none()
        );
        let done = chart
            .apply(
                zone,
                iso("2026-01-07T11:30:00Z"),
                Some(snap("2026-01-07T11:30:00Z", 10_000, 9_000)),
            )
            .unwrap();
        // First hour from 10:15: 30 min at 100, 15 min at 110 → (3000 + 1650) / 45 = 103.33.
        assert_eq!(done.duration_ms, 45 * 60_000);
        assert!((done.average_equity() - 4650.0 / 45.0).abs() < 1e-9);
        assert_eq!(
            (done.equity.min, done.equity.max, done.equity.last),
            (Money(10_000), Money(11_000), Money(11_000))
        );
        // Second hour opens at 11:00 holding 110 until 11:30, then 90.
        let cur = chart.current().unwrap();
        assert_eq!(cur.start, iso("2026-01-07T11:00:00Z"));
        assert_eq!(cur.equity.start, Money(11_000));
        assert_eq!(
            (cur.equity.min, cur.equity.max),
            (Money(9_000), Money(11_000))
        );
        assert!(
            (cur.average_equity() - 110.0).abs() < 1e-9,
            "only 110 held so far"
        );
        assert!((cur.average_balance() - 100.0).abs() < 1e-9);
    }
}
