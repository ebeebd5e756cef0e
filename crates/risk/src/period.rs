//! Tracking periods and their bounds on the trade server's wall clock.
//!
//! MetaApi's tracking-period docs define two families:
//! - **rolling** (`day`, `week`, `month`, `quarter`, `year`): the first period starts at the
//!   tracker's start time (its `startBrokerTime`, or its creation) and each period lasts one
//!   unit; the next one starts right after.
//! - **calendar** (`date`, `week-to-date` from Sunday, `month-to-date`, `quarter-to-date`,
//!   `year-to-date`): from the first millisecond of the current calendar unit to its last.
//! - `lifetime`: one period, from the tracker's start to its end (or forever).
//!
//! Units are added on the broker's wall clock, not as fixed durations: a `day` started at
//! 10:00 ends at 10:00 the next broker day even across a DST switch (23 or 25 hours), a
//! `month` started on Jan 31 ends on Feb 28/29, then Mar 31 (each boundary is `anchor + k
//! units`, never an accumulated drift). A wall-clock boundary is the first instant whose local
//! time reaches it: the earlier instant in a DST overlap, the switch itself in a DST gap.
//!
//! Every period is clipped to the tracker's window `[start, end)`. Bounds are half-open
//! `[start, end)` in instants; on the wire `endBrokerTime` is the period's last millisecond
//! (`2026-01-07 23:59:59.999`), as the docs spell calendar periods.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use drawbridge_model::time::MS_PER_DAY;
use drawbridge_model::{ServerZone, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// More periods than this between two inputs are not replayed one by one: the tracker jumps
/// straight to the period of the new input (a year and a month of `date` periods).
pub const SKIPPED_PERIODS_MAX: u32 = 400;

/// A tracker's period length, with its MetaApi wire string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    Day,
    Date,
    Week,
    WeekToDate,
    Month,
    MonthToDate,
    Quarter,
    QuarterToDate,
    Year,
    YearToDate,
    Lifetime,
}

/// Which family a [`Period`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    /// Anchored at the tracker's start; each period lasts one unit.
    Rolling,
    /// Aligned to the calendar of the broker's wall clock.
    Calendar,
    /// One period for the tracker's whole window.
    Lifetime,
}

/// How far one period reaches on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Days(i64),
    Months(u32),
}

impl Period {
    pub const ALL: [Period; 11] = [
        Period::Day,
        Period::Date,
        Period::Week,
        Period::WeekToDate,
        Period::Month,
        Period::MonthToDate,
        Period::Quarter,
        Period::QuarterToDate,
        Period::Year,
        Period::YearToDate,
        Period::Lifetime,
    ];

    /// The wire string (`week-to-date`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Date => "date",
            Period::Week => "week",
            Period::WeekToDate => "week-to-date",
            Period::Month => "month",
            Period::MonthToDate => "month-to-date",
            Period::Quarter => "quarter",
            Period::QuarterToDate => "quarter-to-date",
            Period::Year => "year",
            Period::YearToDate => "year-to-date",
            Period::Lifetime => "lifetime",
        }
    }

    pub fn kind(self) -> PeriodKind {
        match self {
            Period::Day | Period::Week | Period::Month | Period::Quarter | Period::Year => {
                PeriodKind::Rolling
            }
            Period::Lifetime => PeriodKind::Lifetime,
            _ => PeriodKind::Calendar,
        }
    }

    fn unit(self) -> Option<Unit> {
        match self {
            Period::Day | Period::Date => Some(Unit::Days(1)),
            Period::Week | Period::WeekToDate => Some(Unit::Days(7)),
            Period::Month | Period::MonthToDate => Some(Unit::Months(1)),
            Period::Quarter | Period::QuarterToDate => Some(Unit::Months(3)),
            Period::Year | Period::YearToDate => Some(Unit::Months(12)),
            Period::Lifetime => None,
        }
    }

    /// The wall-clock instant calendar periods count from: Sunday 1970-01-04 for days and
    /// weeks (weeks start on Sunday), 1970-01-01 for months, quarters and years.
    fn calendar_anchor(self) -> NaiveDateTime {
        let day = match self.unit() {
            Some(Unit::Days(_)) => 4,
            _ => 1,
        };
        NaiveDate::from_ymd_opt(1970, 1, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown period {0:?}")]
pub struct UnknownPeriod(pub String);

impl FromStr for Period {
    type Err = UnknownPeriod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPeriod(s.to_owned()))
    }
}

/// The instants a tracker tracks: `[start, end)`, `end` open when `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
}

impl Window {
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }
}

/// One period's bounds: `[start, end)`, `end` open for an endless `lifetime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
}

impl Span {
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// `startBrokerTime`: the first millisecond, on the broker's clock.
    pub fn start_broker_time(&self, zone: ServerZone) -> String {
        zone.broker_time(self.start)
    }

    /// `endBrokerTime`: the last millisecond, on the broker's clock (`None` when endless).
    pub fn end_broker_time(&self, zone: ServerZone) -> Option<String> {
        self.end.map(|e| zone.broker_time(e.plus_millis(-1)))
    }
}

/// The instant a wall-clock time is first reached: the earlier one in a DST overlap, the
/// switch itself when the time falls into a DST gap.
pub fn instant_of(zone: ServerZone, local: NaiveDateTime) -> Timestamp {
    if let Some(t) = zone.0.from_local_datetime(&local).earliest() {
        return Timestamp(t.timestamp_millis());
    }
    // In a gap: the first valid wall-clock minute after it is the switch (zones switch on
    // whole minutes). Gaps are at most a day long, even in the strangest historical zones.
    let minute = local
        .with_second(0)
        .and_then(|l| l.with_nanosecond(0))
        .unwrap_or(local);
    (1..=MINUTES_PER_DAY)
        .find_map(|m| zone.from_local(minute + Duration::minutes(m)))
        .unwrap_or_else(|| Timestamp(local.and_utc().timestamp_millis()))
}

const MINUTES_PER_DAY: i64 = 24 * 60;

/// The `n`-th wall-clock boundary after `anchor`.
fn shift(anchor: NaiveDateTime, unit: Unit, n: i64) -> Option<NaiveDateTime> {
    match unit {
        Unit::Days(d) => anchor.checked_add_signed(Duration::days(d.checked_mul(n)?)),
        Unit::Months(m) => {
            let months = i64::from(m).checked_mul(n)?;
            let k = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            if months >= 0 {
                anchor.checked_add_months(k)
            } else {
                anchor.checked_sub_months(k)
            }
        }
    }
}

/// The index `n` of the unit that holds `t`: `b(n) <= t < b(n + 1)` with `b(k)` the instant
/// of the `k`-th boundary after `anchor`.
fn index_at(zone: ServerZone, anchor: NaiveDateTime, unit: Unit, t: Timestamp) -> Option<i64> {
    let local = zone.local(t);
    let mut n = match unit {
        Unit::Days(d) => (local - anchor)
            .num_milliseconds()
            .div_euclid(d * MS_PER_DAY),
        Unit::Months(m) => {
            let months = |x: NaiveDateTime| i64::from(x.year()) * 12 + i64::from(x.month0());
            (months(local) - months(anchor)).div_euclid(i64::from(m))
        }
    };
    let at = |k: i64| shift(anchor, unit, k).map(|l| instant_of(zone, l));
    // The estimate is off by at most one unit (DST, month lengths); a few steps settle it.
    for _ in 0..8 {
        if at(n)? > t {
            n -= 1;
        } else if at(n + 1)? <= t {
            n += 1;
        } else {
            return Some(n);
        }
    }
    None
}

/// The period of `period` that holds `t`, clipped to the tracker's `window`; `None` when `t`
/// is outside the window.
pub fn period_at(period: Period, zone: ServerZone, window: Window, t: Timestamp) -> Option<Span> {
    if !window.contains(t) {
        return None;
    }
    let Some(unit) = period.unit() else {
        return Some(Span {
            start: window.start,
            end: window.end,
        });
    };
    let anchor = match period.kind() {
        PeriodKind::Rolling => zone.local(window.start),
        _ => period.calendar_anchor(),
    };
    let n = index_at(zone, anchor, unit, t)?;
    let start = instant_of(zone, shift(anchor, unit, n)?);
    let end = instant_of(zone, shift(anchor, unit, n + 1)?);
    Some(Span {
        start: start.max(window.start),
        end: Some(window.end.map_or(end, |e| e.min(end))),
    })
}

/// The period right after `span` (`None` once the window ends or for an endless span).
pub fn next_period(period: Period, zone: ServerZone, window: Window, span: Span) -> Option<Span> {
    period_at(period, zone, window, span.end?)
}

/// The start of the wall-clock day holding `t`, for days that begin at `reset` (seconds after
/// midnight) in `zone`, and the start of the next one.
pub fn day_at(zone: ServerZone, reset_s: u32, t: Timestamp) -> (Timestamp, Timestamp) {
    let anchor = Period::Date.calendar_anchor() + Duration::seconds(i64::from(reset_s));
    let unit = Unit::Days(1);
    let bounds = index_at(zone, anchor, unit, t).and_then(|n| {
        let start = instant_of(zone, shift(anchor, unit, n)?);
        let end = instant_of(zone, shift(anchor, unit, n + 1)?);
        Some((start, end))
    });
    bounds.unwrap_or((t, t.plus_millis(MS_PER_DAY)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(name: &str) -> ServerZone {
        ServerZone::parse(name).unwrap()
    }

    fn iso(s: &str) -> Timestamp {
        Timestamp::parse_iso(s).unwrap()
    }

    #[test]
    fn wire_strings_round_trip() {
        for p in Period::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
            assert_eq!(p.as_str().parse::<Period>().unwrap(), p);
        }
        assert!("fortnight".parse::<Period>().is_err());
        assert_eq!(Period::WeekToDate.as_str(), "week-to-date");
    }

    #[test]
    fn gap_maps_to_the_switch() {
        let athens = z("Europe/Athens");
        // 2026-03-29 03:00 EET jumps to 04:00 EEST at 01:00Z.
        let l = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(3, 30, 0)
            .unwrap();
        assert_eq!(instant_of(athens, l), iso("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn day_at_respects_reset_time() {
        let ny = z("America/New_York");
        // Days reset at 17:00 New York: 2026-01-07 16:59 belongs to the day started on the 6th.
        let (s, e) = day_at(ny, 17 * 3600, iso("2026-01-07T21:59:00Z"));
        assert_eq!(s, iso("2026-01-06T22:00:00Z"));
        assert_eq!(e, iso("2026-01-07T22:00:00Z"));
        let (s, _) = day_at(ny, 17 * 3600, iso("2026-01-07T22:00:00Z"));
        assert_eq!(s, iso("2026-01-07T22:00:00Z"));
    }
}
