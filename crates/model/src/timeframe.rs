//! MT5 chart timeframes and their MetaApi spellings (`1m` … `1mn`).

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Timeframe {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "2m")]
    M2,
    #[serde(rename = "3m")]
    M3,
    #[serde(rename = "4m")]
    M4,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "6m")]
    M6,
    #[serde(rename = "10m")]
    M10,
    #[serde(rename = "12m")]
    M12,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "20m")]
    M20,
    #[serde(rename = "30m")]
    M30,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "2h")]
    H2,
    #[serde(rename = "3h")]
    H3,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "6h")]
    H6,
    #[serde(rename = "8h")]
    H8,
    #[serde(rename = "12h")]
    H12,
    #[serde(rename = "1d")]
    D1,
    #[serde(rename = "1w")]
    W1,
    #[serde(rename = "1mn")]
    MN1,
}

/// How a timeframe's bars are aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// A fixed length in milliseconds, aligned to broker-local midnight.
    Fixed(i64),
    /// A broker-local week starting Monday 00:00 (as MT5 `PERIOD_W1`, which starts on Sunday
    /// for some brokers; drawbridge uses Monday).
    Week,
    /// A broker-local calendar month.
    Month,
}

impl Timeframe {
    pub const ALL: [Self; 21] = [
        Self::M1,
        Self::M2,
        Self::M3,
        Self::M4,
        Self::M5,
        Self::M6,
        Self::M10,
        Self::M12,
        Self::M15,
        Self::M20,
        Self::M30,
        Self::H1,
        Self::H2,
        Self::H3,
        Self::H4,
        Self::H6,
        Self::H8,
        Self::H12,
        Self::D1,
        Self::W1,
        Self::MN1,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M2 => "2m",
            Self::M3 => "3m",
            Self::M4 => "4m",
            Self::M5 => "5m",
            Self::M6 => "6m",
            Self::M10 => "10m",
            Self::M12 => "12m",
            Self::M15 => "15m",
            Self::M20 => "20m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H3 => "3h",
            Self::H4 => "4h",
            Self::H6 => "6h",
            Self::H8 => "8h",
            Self::H12 => "12h",
            Self::D1 => "1d",
            Self::W1 => "1w",
            Self::MN1 => "1mn",
        }
    }

    pub fn span(self) -> Span {
        let m = |n: i64| Span::Fixed(n * MS_PER_MINUTE);
        let h = |n: i64| Span::Fixed(n * MS_PER_HOUR);
        match self {
            Self::M1 => m(1),
            Self::M2 => m(2),
            Self::M3 => m(3),
            Self::M4 => m(4),
            Self::M5 => m(5),
            Self::M6 => m(6),
            Self::M10 => m(10),
            Self::M12 => m(12),
            Self::M15 => m(15),
            Self::M20 => m(20),
            Self::M30 => m(30),
            Self::H1 => h(1),
            Self::H2 => h(2),
            Self::H3 => h(3),
            Self::H4 => h(4),
            Self::H6 => h(6),
            Self::H8 => h(8),
            Self::H12 => h(12),
            Self::D1 => Span::Fixed(MS_PER_DAY),
            Self::W1 => Span::Week,
            Self::MN1 => Span::Month,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown timeframe {0:?}; expected one of 1m 2m 3m 4m 5m 6m 10m 12m 15m 20m 30m 1h 2h 3h 4h 6h 8h 12h 1d 1w 1mn"
)]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTimeframe(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timeframe_round_trips() {
        for t in Timeframe::ALL {
            assert_eq!(t.as_str().parse::<Timeframe>(), Ok(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert!("7m".parse::<Timeframe>().is_err());
    }
}
