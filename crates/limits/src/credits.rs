//! CPU credits, exact to a thousandth.

use std::fmt;

/// An amount of CPU credits in thousandths. The docs' costs are fractional (0.65 per record,
/// 0.0002 per tick); a request's cost is computed once and rounded *up* to a thousandth, so
/// the ledger never undercharges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Credits(pub u64);

impl Credits {
    pub const ZERO: Self = Self(0);
    const MILLI: u64 = 1_000;

    pub const fn whole(n: u64) -> Self {
        Self(n.saturating_mul(Self::MILLI))
    }

    /// Rounds up to a thousandth; negative and NaN give zero, overflow saturates.
    pub fn from_f64_ceil(credits: f64) -> Self {
        let milli = (credits * Self::MILLI as f64).ceil();
        if milli.is_nan() || milli <= 0.0 {
            Self::ZERO
        } else if milli >= u64::MAX as f64 {
            Self(u64::MAX)
        } else {
            // In range and integral after the checks above.
            Self(milli as u64)
        }
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::MILLI as f64
    }

    pub fn saturating_mul(self, n: u64) -> Self {
        Self(self.0.saturating_mul(n))
    }

    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    pub fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, milli) = (self.0 / Self::MILLI, self.0 % Self::MILLI);
        if milli == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{milli:03}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_costs_round_up_to_a_thousandth() {
        assert_eq!(Credits::from_f64_ceil(75.0 + 0.65 * 3.0), Credits(76_950));
        assert_eq!(Credits::from_f64_ceil(0.1 + 0.0002), Credits(101));
        assert_eq!(Credits::from_f64_ceil(-1.0), Credits::ZERO);
        assert_eq!(Credits::from_f64_ceil(f64::NAN), Credits::ZERO);
        assert_eq!(Credits::from_f64_ceil(1e30), Credits(u64::MAX));
        assert_eq!(Credits(76_950).to_string(), "76.95");
        assert_eq!(Credits::whole(50).to_string(), "50");
    }
}
