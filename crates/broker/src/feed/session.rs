//! Weekly sessions as instants: whether a symbol quotes at a moment and until when.
//!
//! Sessions are written in broker wall-clock time ([`WeeklySessions`]); the feed runs on UTC
//! instants. [`next_change`] turns one into the other across DST switches, and
//! [`SessionClock`] caches the answer so a tick costs no time-zone lookup.

use crate::symbol::WeeklySessions;
use chrono::{Datelike, Duration, NaiveDateTime, TimeZone, Timelike};
use drawbridge_model::time::MS_PER_DAY;
use drawbridge_model::{ServerZone, Timestamp};

/// Sessions never change state for this long: a symbol that is always open (or never) is
/// re-checked a week later.
const SESSION_HORIZON_DAYS: i64 = 7;
/// A wall-clock time inside a DST gap moves forward to the first valid minute, at most this far.
const DST_GAP_MINUTES_MAX: i64 = 120;

/// The instant of a broker-local wall-clock time: the earliest on a DST overlap, the first
/// valid minute after it inside a DST gap.
pub(crate) fn instant_of(zone: ServerZone, local: NaiveDateTime) -> Timestamp {
    (0..=DST_GAP_MINUTES_MAX)
        .find_map(|m| zone.from_local(local + Duration::minutes(m)))
        .unwrap_or_else(|| Timestamp(local.and_utc().timestamp_millis()))
}

/// The first instant strictly after `t` that shows `local` on the broker's clock, if any.
fn instant_after(zone: ServerZone, local: NaiveDateTime, t: Timestamp) -> Option<Timestamp> {
    let first = instant_of(zone, local);
    if first > t {
        return Some(first);
    }
    // In a DST overlap the wall-clock time happens twice; the second may still lie ahead.
    let latest = zone.0.from_local_datetime(&local).latest()?;
    Some(Timestamp(latest.timestamp_millis())).filter(|l| *l > t)
}

/// Whether `sessions` are open at `t`, and the first instant after `t` at which that changes
/// (`t` + a week when it never does).
pub fn next_change(sessions: &WeeklySessions, zone: ServerZone, t: Timestamp) -> (bool, Timestamp) {
    let local = zone.local(t);
    let now_s = local.num_seconds_from_midnight();
    let open = sessions.is_open(local.weekday(), now_s);
    for d in 0..=SESSION_HORIZON_DAYS {
        let day = local.date() + Duration::days(d);
        let windows = &sessions.days[day.weekday().num_days_from_monday() as usize];
        let mut edges: Vec<u32> = windows.iter().flat_map(|w| [w.from_s, w.to_s]).collect();
        edges.push(0);
        edges.retain(|&s| s < 86_400 && (d > 0 || s > now_s));
        edges.sort_unstable();
        edges.dedup();
        for s in edges {
            if sessions.is_open(day.weekday(), s) == open {
                continue;
            }
            let wall =
                day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(i64::from(s));
            if let Some(at) = instant_after(zone, wall, t) {
                return (open, at);
            }
        }
    }
    (open, t.plus_millis(SESSION_HORIZON_DAYS * MS_PER_DAY))
}

/// A cached [`next_change`]: valid while time moves forward, recomputed only at a session edge.
#[derive(Clone, Debug)]
pub struct SessionClock {
    sessions: WeeklySessions,
    zone: ServerZone,
    open: bool,
    from: Timestamp,
    until: Timestamp,
}

impl SessionClock {
    pub fn new(sessions: WeeklySessions, zone: ServerZone) -> Self {
        Self {
            sessions,
            zone,
            open: false,
            from: Timestamp(i64::MAX),
            until: Timestamp(i64::MIN),
        }
    }

    /// Whether the session is open at `t` and the instant that next changes.
    pub fn state(&mut self, t: Timestamp) -> (bool, Timestamp) {
        if t < self.from || t >= self.until {
            let (open, until) = next_change(&self.sessions, self.zone, t);
            debug_assert!(until > t, "invariant: a session edge lies in the future");
            (self.open, self.from, self.until) = (open, t, until);
        }
        (self.open, self.until)
    }

    pub fn is_open(&mut self, t: Timestamp) -> bool {
        self.state(t).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::SessionWindow;

    fn t(iso: &str) -> Timestamp {
        Timestamp::parse_iso(iso).unwrap()
    }

    fn fx() -> WeeklySessions {
        let mut s = WeeklySessions::weekdays(&[SessionWindow {
            from_s: 0,
            to_s: 86_400,
        }]);
        s.days[0] = vec![SessionWindow {
            from_s: 300,
            to_s: 86_400,
        }];
        s.days[4] = vec![SessionWindow {
            from_s: 0,
            to_s: 86_100,
        }];
        s
    }

    #[test]
    fn edges_in_utc_follow_the_broker_zone() {
        let eet = ServerZone::parse("EET").unwrap();
        let cases = [
            // Friday 12:00 UTC (14:00 EET): open until Friday 23:55 EET = 21:55 UTC.
            ("2026-01-09T12:00:00Z", true, "2026-01-09T21:55:00Z"),
            // Saturday: closed until Monday 00:05 EET = Sunday 22:05 UTC.
            ("2026-01-10T12:00:00Z", false, "2026-01-11T22:05:00Z"),
            // Wednesday: Tue..Thu windows join at midnight, so the next edge is Friday's close.
            ("2026-01-07T10:00:00Z", true, "2026-01-09T21:55:00Z"),
            // Summer (EEST, UTC+3): Monday 00:05 EEST = Sunday 21:05 UTC.
            ("2026-07-11T12:00:00Z", false, "2026-07-12T21:05:00Z"),
            // The weekend of the spring switch (29 March 2026).
            ("2026-03-28T12:00:00Z", false, "2026-03-29T21:05:00Z"),
        ];
        for (at, open, until) in cases {
            assert_eq!(next_change(&fx(), eet, t(at)), (open, t(until)), "at {at}");
        }
    }

    #[test]
    fn always_open_is_rechecked_after_a_week_and_the_cache_agrees() {
        let eet = ServerZone::parse("EET").unwrap();
        let at = t("2026-01-10T12:00:00Z");
        assert_eq!(
            next_change(&WeeklySessions::always(), eet, at),
            (true, at.plus_millis(7 * MS_PER_DAY))
        );
        let mut c = SessionClock::new(fx(), eet);
        let mut probe = t("2026-01-05T00:00:00Z");
        while probe < t("2026-01-20T00:00:00Z") {
            assert_eq!(
                c.is_open(probe),
                next_change(&fx(), eet, probe).0,
                "at {probe}"
            );
            probe = probe.plus_millis(7 * 60_000 + 13);
        }
    }

    #[test]
    fn instant_of_skips_a_dst_gap_and_takes_the_earlier_overlap() {
        let eet = ServerZone::parse("EET").unwrap();
        let gap =
            NaiveDateTime::parse_from_str("2026-03-29 03:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(instant_of(eet, gap), t("2026-03-29T01:00:00Z"));
        let twice =
            NaiveDateTime::parse_from_str("2026-10-25 03:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(instant_of(eet, twice), t("2026-10-25T00:30:00Z"));
        assert_eq!(
            instant_after(eet, twice, t("2026-10-25T00:30:00Z")),
            Some(t("2026-10-25T01:30:00Z"))
        );
    }
}
