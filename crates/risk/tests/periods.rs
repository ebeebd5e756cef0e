//! Period bounds on the broker's wall clock, across DST switches.

use drawbridge_model::{ServerZone, Timestamp};
use drawbridge_risk::period::{next_period, period_at};
use drawbridge_risk::{Period, Span, Window};
use proptest::prelude::*;

fn z(name: &str) -> ServerZone {
    ServerZone::parse(name).unwrap()
}

fn iso(s: &str) -> Timestamp {
    Timestamp::parse_iso(s).unwrap()
}

fn open_window(start: &str) -> Window {
    Window {
        start: iso(start),
        end: None,
    }
}

fn span(p: Period, zone: &str, window: Window, t: &str) -> (Timestamp, Timestamp) {
    let s = period_at(p, z(zone), window, iso(t)).unwrap();
    (s.start, s.end.unwrap())
}

const EPOCH: &str = "2000-01-01T00:00:00Z";

#[test]
fn calendar_periods_in_athens() {
    let w = open_window(EPOCH);
    let at = |p, t| span(p, "Europe/Athens", w, t);
    // 2026-03-29 03:00 EET → 04:00 EEST: the date is 23 hours long.
    assert_eq!(
        at(Period::Date, "2026-03-29T10:00:00Z"),
        (iso("2026-03-28T22:00:00Z"), iso("2026-03-29T21:00:00Z"))
    );
    // 2026-10-25 04:00 EEST → 03:00 EET: 25 hours.
    assert_eq!(
        at(Period::Date, "2026-10-25T10:00:00Z"),
        (iso("2026-10-24T21:00:00Z"), iso("2026-10-25T22:00:00Z"))
    );
    // Weeks start on Sunday: Wednesday 2026-01-07 is in the week of Sunday 2026-01-04.
    assert_eq!(
        at(Period::WeekToDate, "2026-01-07T10:00:00Z"),
        (iso("2026-01-03T22:00:00Z"), iso("2026-01-10T22:00:00Z"))
    );
    // Saturday 23:30 local is still that week; Sunday 00:00 local starts the next.
    assert_eq!(
        at(Period::WeekToDate, "2026-01-10T21:30:00Z").1,
        iso("2026-01-10T22:00:00Z")
    );
    assert_eq!(
        at(Period::WeekToDate, "2026-01-10T22:00:00Z").0,
        iso("2026-01-10T22:00:00Z")
    );
    assert_eq!(
        at(Period::MonthToDate, "2026-03-15T00:00:00Z"),
        (iso("2026-02-28T22:00:00Z"), iso("2026-03-31T21:00:00Z"))
    );
    assert_eq!(
        at(Period::QuarterToDate, "2026-05-15T00:00:00Z"),
        (iso("2026-03-31T21:00:00Z"), iso("2026-06-30T21:00:00Z"))
    );
    assert_eq!(
        at(Period::YearToDate, "2026-05-15T00:00:00Z"),
        (iso("2025-12-31T22:00:00Z"), iso("2026-12-31T22:00:00Z"))
    );
}

#[test]
fn calendar_date_in_new_york_fall_back() {
    let w = open_window(EPOCH);
    // 2026-11-01 02:00 EDT → 01:00 EST: 25 hours; the repeated 01:xx hour belongs to it.
    let (s, e) = span(Period::Date, "America/New_York", w, "2026-11-01T05:30:00Z");
    assert_eq!(
        (s, e),
        (iso("2026-11-01T04:00:00Z"), iso("2026-11-02T05:00:00Z"))
    );
    let (s2, _) = span(Period::Date, "America/New_York", w, "2026-11-01T06:30:00Z");
    assert_eq!(s2, s);
}

#[test]
fn rolling_periods_follow_the_wall_clock() {
    // A day anchored at 10:00 Athens on 2026-03-28 ends at 10:00 the next day: 23 hours.
    let w = open_window("2026-03-28T08:00:00Z");
    assert_eq!(
        span(Period::Day, "Europe/Athens", w, "2026-03-28T20:00:00Z"),
        (iso("2026-03-28T08:00:00Z"), iso("2026-03-29T07:00:00Z"))
    );
    assert_eq!(
        span(Period::Day, "Europe/Athens", w, "2026-03-29T07:00:00Z"),
        (iso("2026-03-29T07:00:00Z"), iso("2026-03-30T07:00:00Z"))
    );
    // Anchored at 03:30, the 2026-03-29 boundary falls in the gap: it is the switch itself.
    let w = open_window("2026-03-28T01:30:00Z");
    assert_eq!(
        span(Period::Day, "Europe/Athens", w, "2026-03-29T02:00:00Z"),
        (iso("2026-03-29T01:00:00Z"), iso("2026-03-30T00:30:00Z"))
    );
    // A week from Thursday 12:00 New York spans the US switch (2026-03-08): 167 hours.
    let w = open_window("2026-03-05T17:00:00Z");
    assert_eq!(
        span(Period::Week, "America/New_York", w, "2026-03-10T00:00:00Z"),
        (iso("2026-03-05T17:00:00Z"), iso("2026-03-12T16:00:00Z"))
    );
    // Months from Jan 31: Feb 28, then Mar 31 (not Mar 28).
    let w = open_window("2026-01-31T10:00:00Z");
    assert_eq!(
        span(Period::Month, "UTC", w, "2026-03-01T00:00:00Z"),
        (iso("2026-02-28T10:00:00Z"), iso("2026-03-31T10:00:00Z"))
    );
    assert_eq!(
        span(Period::Quarter, "UTC", w, "2026-05-01T00:00:00Z"),
        (iso("2026-04-30T10:00:00Z"), iso("2026-07-31T10:00:00Z"))
    );
    assert_eq!(
        span(Period::Year, "UTC", w, "2027-02-01T00:00:00Z"),
        (iso("2027-01-31T10:00:00Z"), iso("2028-01-31T10:00:00Z"))
    );
}

#[test]
fn window_clips_and_ends() {
    let zone = z("Europe/Athens");
    let w = Window {
        start: iso("2026-01-07T10:00:00Z"),
        end: Some(iso("2026-01-09T10:00:00Z")),
    };
    let first = period_at(Period::Date, zone, w, iso("2026-01-07T12:00:00Z")).unwrap();
    assert_eq!(first.start, w.start, "the first date starts with tracking");
    assert_eq!(first.start_broker_time(zone), "2026-01-07 12:00:00.000");
    assert_eq!(
        first.end_broker_time(zone).unwrap(),
        "2026-01-07 23:59:59.999"
    );
    let last = period_at(Period::Date, zone, w, iso("2026-01-09T09:00:00Z")).unwrap();
    assert_eq!(last.end, w.end, "the last date ends with tracking");
    assert!(next_period(Period::Date, zone, w, last).is_none());
    assert!(period_at(Period::Date, zone, w, iso("2026-01-07T09:59:59Z")).is_none());
    assert!(period_at(Period::Date, zone, w, iso("2026-01-09T10:00:00Z")).is_none());
    let life = period_at(Period::Lifetime, zone, w, iso("2026-01-08T00:00:00Z")).unwrap();
    assert_eq!(
        life,
        Span {
            start: w.start,
            end: w.end
        }
    );
    let endless = open_window("2026-01-07T10:00:00Z");
    let life = period_at(Period::Lifetime, zone, endless, iso("2030-01-01T00:00:00Z")).unwrap();
    assert_eq!(life.end_broker_time(zone), None);
}

const ZONES: [&str; 5] = [
    "Europe/Athens",
    "America/New_York",
    "EET",
    "Asia/Kolkata",
    "Australia/Sydney",
];

proptest! {
    /// Every period holds its instant, periods tile time without gaps or overlaps, and a
    /// `date` lasts 23, 24 or 25 hours.
    #[test]
    fn periods_tile_time(
        zone in 0usize..ZONES.len(),
        p in 0usize..11,
        anchor in 1_735_689_600_000i64..1_798_761_600_000,   // 2025 .. 2027
        offset in 0i64..400 * 86_400_000,
    ) {
        let zone = z(ZONES[zone]);
        let p = Period::ALL[p];
        let w = Window { start: Timestamp(anchor), end: None };
        let t = Timestamp(anchor + offset);
        let s = period_at(p, zone, w, t).unwrap();
        prop_assert!(s.contains(t), "{p} {s:?} misses {t}");
        if let Some(end) = s.end {
            let next = next_period(p, zone, w, s).unwrap();
            prop_assert_eq!(next.start, end);
            prop_assert!(next.end.unwrap() > end);
            let before = period_at(p, zone, w, s.start.plus_millis(-1));
            prop_assert!(before.is_none_or(|b| b.end == Some(s.start)));
        }
        if p == Period::Date && s.start > w.start {
            let hours = (s.end.unwrap().0 - s.start.0) / 3_600_000;
            prop_assert!((23..=25).contains(&hours), "{hours}h");
        }
    }
}
