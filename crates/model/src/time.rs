//! Instants and their two MetaApi spellings: ISO-8601 UTC and trade-server ("broker") time.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Milliseconds since the Unix epoch, UTC. Serializes as ISO-8601 (`2026-01-07T10:00:00.000Z`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const EPOCH: Self = Self(0);

    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or(DateTime::UNIX_EPOCH)
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_millis())
    }

    /// Parses ISO-8601 / RFC 3339 (`2026-01-07T10:00:00Z`, with or without fraction or offset).
    pub fn parse_iso(s: &str) -> Result<Self, TimeError> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self(dt.timestamp_millis()));
        }
        // A bare date-time without an offset is taken as UTC.
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|n| Self(n.and_utc().timestamp_millis()))
            .map_err(|_| TimeError::Iso(s.to_owned()))
    }

    /// `2026-01-07T10:00:00.000Z`, the spelling the MetaApi SDK sends and expects.
    pub fn to_iso(self) -> String {
        self.to_datetime()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

/// On the wire: an ISO-8601 UTC time with milliseconds (`2026-01-07T10:00:00.000Z`).
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_iso(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("not an ISO-8601 time: {0:?}")]
    Iso(String),
    #[error("not a broker time (YYYY-MM-DD HH:mm:ss.SSS): {0:?}")]
    Broker(String),
    #[error("unknown time zone: {0:?}")]
    Zone(String),
    #[error("broker time {0:?} does not exist in the server's time zone (a DST gap)")]
    Gap(String),
}

/// A trade server's time zone: an IANA zone with its DST rules (typically UTC+2 / UTC+3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerZone(pub Tz);

impl ServerZone {
    pub fn parse(name: &str) -> Result<Self, TimeError> {
        name.parse::<Tz>()
            .map(Self)
            .map_err(|_| TimeError::Zone(name.to_owned()))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local wall-clock time of `t` on the trade server.
    pub fn local(&self, t: Timestamp) -> NaiveDateTime {
        t.to_datetime().with_timezone(&self.0).naive_local()
    }

    /// `YYYY-MM-DD HH:mm:ss.SSS` in the server's zone: MetaApi's `brokerTime`.
    pub fn broker_time(&self, t: Timestamp) -> String {
        self.local(t).format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }

    /// Parses a broker-time string back to an instant. In a DST overlap the earlier instant is
    /// taken; a time inside a DST gap is an error.
    pub fn parse_broker_time(&self, s: &str) -> Result<Timestamp, TimeError> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
            .map_err(|_| TimeError::Broker(s.to_owned()))?;
        self.from_local(naive)
            .ok_or_else(|| TimeError::Gap(s.to_owned()))
    }

    /// The instant of a local wall-clock time (earliest on overlap, `None` in a gap).
    pub fn from_local(&self, naive: NaiveDateTime) -> Option<Timestamp> {
        self.0
            .from_local_datetime(&naive)
            .earliest()
            .map(|dt| Timestamp(dt.timestamp_millis()))
    }

    /// Broker-local midnight that starts the day containing `t`.
    pub fn day_start(&self, t: Timestamp) -> Timestamp {
        let d = self.local(t).date();
        self.midnight(d).unwrap_or(t)
    }

    /// The first broker-local midnight strictly after `t`.
    pub fn next_midnight(&self, t: Timestamp) -> Timestamp {
        let d = self.local(t).date();
        let next = d.succ_opt().unwrap_or(d);
        self.midnight(next).unwrap_or(t.plus_millis(MS_PER_DAY))
    }

    fn midnight(&self, d: NaiveDate) -> Option<Timestamp> {
        // Midnight can fall into a DST gap in a few zones; take the first valid minute after it.
        (0..=120)
            .find_map(|m| self.from_local(d.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(m)))
    }

    pub fn weekday(&self, t: Timestamp) -> Weekday {
        self.local(t).weekday()
    }

    /// Seconds since local midnight.
    pub fn seconds_of_day(&self, t: Timestamp) -> u32 {
        self.local(t).num_seconds_from_midnight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = Timestamp::parse_iso("2026-01-07T10:00:00Z").unwrap();
        assert_eq!(t.to_iso(), "2026-01-07T10:00:00.000Z");
        assert_eq!(
            Timestamp::parse_iso("2026-01-07T12:00:00.250+02:00")
                .unwrap()
                .to_iso(),
            "2026-01-07T10:00:00.250Z"
        );
        assert!(Timestamp::parse_iso("yesterday").is_err());
    }

    #[test]
    fn broker_time_follows_dst() {
        let z = ServerZone::parse("EET").unwrap();
        let winter = Timestamp::parse_iso("2026-01-07T10:00:00Z").unwrap();
        let summer = Timestamp::parse_iso("2026-07-07T10:00:00Z").unwrap();
        assert_eq!(z.broker_time(winter), "2026-01-07 12:00:00.000");
        assert_eq!(z.broker_time(summer), "2026-07-07 13:00:00.000");
        assert_eq!(
            z.parse_broker_time("2026-07-07 13:00:00.000").unwrap(),
            summer
        );
        // 2026-03-29 03:00 EET jumps to 04:00 EEST: 03:30 does not exist.
        assert!(matches!(
            z.parse_broker_time("2026-03-29 03:30:00.000"),
            Err(TimeError::Gap(_))
        ));
        assert_eq!(
            z.day_start(summer),
            Timestamp::parse_iso("2026-07-06T21:00:00Z").unwrap()
        );
        assert_eq!(
            z.next_midnight(summer),
            Timestamp::parse_iso("2026-07-07T21:00:00Z").unwrap()
        );
    }
}
