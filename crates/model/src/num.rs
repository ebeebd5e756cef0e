//! Exact numbers: prices and volumes as fixed-point integers, money in minor units.
//!
//! Floats appear only at the JSON edge and where MetaTrader itself defines a floating result
//! (margin level, the raw profit formula before it is rounded to the account's digits).

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Fixed-point scale shared by [`Price`] and [`Volume`]: eight decimal places.
pub const FIXED_SCALE: i64 = 100_000_000;
/// Minor units per unit of account currency: money is kept in cents.
pub const MONEY_SCALE: i64 = 100;

macro_rules! fixed8 {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl $name {
            pub const ZERO: Self = Self(0);

            /// Builds from a float, rounding to eight decimals. `None` for NaN, infinities and
            /// values outside the representable range.
            pub fn from_f64(v: f64) -> Option<Self> {
                let scaled = (v * FIXED_SCALE as f64).round();
                (scaled.is_finite() && scaled.abs() < 9.0e18).then_some(Self(scaled as i64))
            }

            pub fn to_f64(self) -> f64 {
                self.0 as f64 / FIXED_SCALE as f64
            }

            /// The decimal text with `digits` decimals (at most 8), truncated, not rounded:
            /// exact for a value on a grid of that many decimals (a price of a symbol with
            /// that many digits).
            pub fn with_digits(self, digits: u8) -> String {
                let full = self.to_string();
                let drop = usize::from(8 - digits.min(8)) + usize::from(digits == 0);
                full[..full.len() - drop].to_owned()
            }
            pub fn raw(self) -> i64 {
                self.0
            }

            pub fn is_zero(self) -> bool {
                self.0 == 0
            }

            /// True when the value is a whole multiple of `step` (a zero step accepts anything).
            pub fn is_multiple_of(self, step: Self) -> bool {
                step.0 == 0 || self.0 % step.0 == 0
            }

            /// Rounds to the nearest multiple of `step`, halves away from zero.
            pub fn round_to(self, step: Self) -> Self {
                if step.0 == 0 {
                    return self;
                }
                let q = self.0.div_euclid(step.0);
                let r = self.0.rem_euclid(step.0);
                let up = if self.0 >= 0 {
                    2 * r >= step.0
                } else {
                    2 * r > step.0
                };
                Self((q + i64::from(up)) * step.0)
            }
        }

        impl Add for $name {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }
        impl Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }
        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }
        impl SubAssign for $name {
            fn sub_assign(&mut self, rhs: Self) {
                self.0 -= rhs.0;
            }
        }
        impl Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                Self(-self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let sign = if self.0 < 0 { "-" } else { "" };
                let a = self.0.unsigned_abs();
                let s = FIXED_SCALE as u64;
                write!(f, "{sign}{}.{:08}", a / s, a % s)
            }
        }
    };
}

fixed8!(
    Price,
    "A price with eight decimals (`Price(110_000_000)` is 1.10000000)."
);
fixed8!(
    Volume,
    "A volume in lots with eight decimals (`Volume(1_000_000)` is 0.01 lot)."
);

impl Price {
    /// A price from a whole number of `point`s (e.g. `from_points(110_000, 0.00001)`).
    pub fn from_points(points: i64, point: Price) -> Self {
        Self(points * point.0)
    }

    /// How many whole `point`s this price spans (rounded to nearest).
    pub fn in_points(self, point: Price) -> i64 {
        if point.0 == 0 {
            0
        } else {
            self.round_to(point).0 / point.0
        }
    }
}

impl Volume {
    /// Lots as a float, for the profit and margin formulas.
    pub fn lots(self) -> f64 {
        self.to_f64()
    }
}

/// Money in minor units (cents) of some currency. Sums of money never drift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

/// The largest float below one half: adding it never carries a fraction under a half up.
const HALF_BELOW: f64 = 0.499_999_999_999_999_94;

impl Money {
    pub const ZERO: Self = Self(0);

    /// Rounds a float amount to cents, halves away from zero, as MetaTrader's
    /// `NormalizeDouble(x, 2)` does. NaN and infinities become zero (they never reach a balance).
    pub fn from_f64(v: f64) -> Self {
        // A nudge of a millionth of a cent makes decimal halves (100.005, stored as
        // 100.00499999…) round away from zero as a person reading the number expects.
        let raw = v * MONEY_SCALE as f64;
        let nudged = raw + 1e-6_f64.copysign(raw);
        // Halves away from zero, inline: `f64::round` is a libm call on baseline x86-64 and
        // a full revaluation rounds millions of profits. round(x) = trunc(x + copysign(0.5 −
        // ½ulp, x)) for every float; floats past 9e18 are whole and out of range, and NaN
        // fails the test.
        if nudged.abs() < 9.0e18 {
            Self((nudged + HALF_BELOW.copysign(nudged)) as i64)
        } else {
            Self(0)
        }
    }

    /// Rounds a float amount to `digits` decimals (0..=2), returned in cents.
    pub fn from_f64_digits(v: f64, digits: u8) -> Self {
        let cents = Self::from_f64(v);
        match digits {
            0 => Self(((cents.0 as f64) / 100.0).round() as i64 * 100),
            1 => Self(((cents.0 as f64) / 10.0).round() as i64 * 10),
            _ => cents,
        }
    }

    pub fn to_f64(self) -> f64 {
        self.0 as f64 / MONEY_SCALE as f64
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl Add for Money {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0 + rhs.0)
    }
}
impl Sub for Money {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 - rhs.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Self) {
        self.0 += rhs.0;
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Self) {
        self.0 -= rhs.0;
    }
}
impl Neg for Money {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        Self(iter.map(|m| m.0).sum())
    }
}
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Money::from_f64` as first written, with `f64::round`: the inline rounding must give
    /// exactly the same cents.
    fn reference(v: f64) -> Money {
        let raw = v * MONEY_SCALE as f64;
        let scaled = (raw + raw.signum() * 1e-6).round();
        if scaled.is_finite() && scaled.abs() < 9.0e18 {
            Money(scaled as i64)
        } else {
            Money(0)
        }
    }

    /// Amounts where rounding is delicate: halves, the nudge, zeros, the range limits.
    const EDGES: [f64; 16] = [
        0.0,
        -0.0,
        0.005,
        -0.005,
        100.005,
        -100.005,
        0.004_999_999_9,
        1.234_5e-9,
        2.5e-3,
        4_503_599_627_370_495.5,
        8.999_999_999_999_999e16,
        9.0e16,
        -9.0e16,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ];

    #[test]
    fn from_f64_matches_the_reference_at_the_edges() {
        for v in EDGES {
            assert_eq!(Money::from_f64(v), reference(v), "{v:e}");
        }
    }

    /// Halves and whole numbers at every magnitude, a few ulps either side, both signs.
    #[test]
    fn from_f64_matches_the_reference_near_halves() {
        for k in 0..64 {
            let base = 2f64.powi(k);
            for x in [base, base + 0.5, base - 0.5, base + 1.5, 0.5, HALF_BELOW] {
                for d in -4i64..=4 {
                    let y = f64::from_bits(x.to_bits().wrapping_add_signed(d));
                    for v in [y, -y, y / 100.0, -y / 100.0, y / 1e8] {
                        assert_eq!(Money::from_f64(v), reference(v), "{v:e}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn from_f64_matches_the_reference(bits in any::<u64>(), cents in any::<i64>(), k in 0u32..400) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(Money::from_f64(v), reference(v), "{:e}", v);
            // Decimal halves and near-halves at every magnitude.
            let w = (cents as f64 + 0.5) / 10f64.powi(k as i32 % 20);
            prop_assert_eq!(Money::from_f64(w), reference(w), "{:e}", w);
            let x = w / 100.0;
            prop_assert_eq!(Money::from_f64(x), reference(x), "{:e}", x);
        }
    }

    #[test]
    fn fixed_round_trips_and_rounds_half_away_from_zero() {
        assert_eq!(Price::from_f64(1.10001), Some(Price(110_001_000)));
        assert_eq!(Price(110_001_000).to_string(), "1.10001000");
        let point = Price(1_000);
        assert_eq!(Price(110_001_500).round_to(point), Price(110_002_000));
        assert_eq!(Price(-110_001_500).round_to(point), Price(-110_002_000));
        assert_eq!(Price(-110_001_499).round_to(point), Price(-110_001_000));
        assert!(Price(110_001_000).is_multiple_of(point));
        assert!(!Price(110_001_001).is_multiple_of(point));
        assert_eq!(Price::from_f64(f64::NAN), None);
        assert_eq!(Volume::from_f64(1e30), None);
    }

    #[test]
    fn with_digits_cuts_the_decimal_text() {
        assert_eq!(Price(110_001_000).with_digits(5), "1.10001");
        assert_eq!(Price(-15_055_000_000).with_digits(2), "-150.55");
        assert_eq!(Price(3_900_000_000_000).with_digits(0), "39000");
        assert_eq!(Price(1).with_digits(8), "0.00000001");
        assert_eq!(Price(1).with_digits(9), "0.00000001");
    }

    #[test]
    fn money_rounds_like_normalize_double() {
        assert_eq!(Money::from_f64(100.004), Money(10_000));
        assert_eq!(Money::from_f64(100.005), Money(10_001));
        assert_eq!(Money::from_f64(-0.125), Money(-13));
        assert_eq!(Money::from_f64_digits(1234.56, 0), Money(123_500));
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert_eq!(Money::from_f64(f64::INFINITY), Money::ZERO);
    }
}
