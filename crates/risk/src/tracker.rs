//! Tracker definitions: the MetaApi wire shapes, their validation, and the compiled
//! [`TrackerSpec`] the engine runs on.

use crate::period::{Period, Window, instant_of};
use chrono::NaiveDateTime;
use drawbridge_model::{Money, ServerZone, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest tracker name, in characters (MetaApi documents none; names are labels).
pub const TRACKER_NAME_CHARS_MAX: usize = 255;

/// What the server does when a tracker's drawdown threshold (or a rule) is breached.
/// A drawbridge extension: the cloud only notifies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreachAction {
    /// Record the event; nothing else.
    #[default]
    Notify,
    /// Refuse new trades that increase exposure; closes and reductions stay allowed.
    Halt,
    /// Close every position, cancel every pending order, then halt.
    CloseAndHalt,
}

impl BreachAction {
    pub fn is_notify(&self) -> bool {
        *self == BreachAction::Notify
    }

    /// Whether the account stops taking exposure-increasing trades after this action.
    pub fn halts(self) -> bool {
        self != BreachAction::Notify
    }
}

/// `POST /users/current/accounts/:id/trackers` body, and the fields of a stored tracker.
/// Optional fields stay optional here so [`NewTracker::validate`] can name every problem.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTracker {
    #[serde(default)]
    pub name: String,
    /// `YYYY-MM-DD HH:mm:ss.SSS` on the broker's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_broker_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_broker_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// A fraction of 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_drawdown_threshold: Option<f64>,
    /// In the account currency, above 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_drawdown_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_profit_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_profit_threshold: Option<f64>,
    /// drawbridge extension; absent means `notify`.
    #[serde(default, skip_serializing_if = "BreachAction::is_notify")]
    pub breach_action: BreachAction,
}

/// A stored tracker as `GET …/trackers` answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(flatten)]
    pub tracker: NewTracker,
}

/// `PUT …/trackers/:id` body: only the name changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerUpdate {
    #[serde(default)]
    pub name: String,
}

/// `POST …/trackers` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerId {
    pub id: String,
}

/// One invalid field: the server turns a list of these into a MetaApi `ValidationError`
/// (`details: [{parameter, message}]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The four thresholds; at least one is set in a valid tracker. Absolute thresholds are whole
/// cents rounded down, which keeps `value > threshold` exact for cent-valued drawdowns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Thresholds {
    pub absolute_drawdown: Option<Money>,
    pub relative_drawdown: Option<f64>,
    pub absolute_profit: Option<Money>,
    pub relative_profit: Option<f64>,
}

impl Thresholds {
    /// Whether a drawdown (absolute, relative) strictly exceeds a drawdown threshold.
    pub fn drawdown_exceeded(&self, absolute: Money, relative: f64) -> bool {
        self.absolute_drawdown.is_some_and(|t| absolute > t)
            || self.relative_drawdown.is_some_and(|t| relative > t)
    }

    /// Whether a profit (absolute, relative) strictly exceeds a profit threshold.
    pub fn profit_exceeded(&self, absolute: Money, relative: f64) -> bool {
        self.absolute_profit.is_some_and(|t| absolute > t)
            || self.relative_profit.is_some_and(|t| relative > t)
    }

    fn is_empty(&self) -> bool {
        self.absolute_drawdown.is_none()
            && self.relative_drawdown.is_none()
            && self.absolute_profit.is_none()
            && self.relative_profit.is_none()
    }
}

/// An absolute threshold in cents, rounded down (`x > t` ⇔ `x > ⌊t⌋` for whole-cent `x`);
/// the nudge keeps `0.29` from flooring to 28 cents.
pub fn threshold_cents(amount: f64) -> Money {
    Money((amount * 100.0 + 1e-6).floor() as i64)
}

/// A validated tracker, compiled for the engine: instants instead of strings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerSpec {
    pub period: Period,
    /// `[startBrokerTime or creation, endBrokerTime)`.
    pub window: Window,
    pub thresholds: Thresholds,
    pub action: BreachAction,
}

fn parse_broker_time(zone: ServerZone, s: &str) -> Option<Timestamp> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    Some(instant_of(zone, naive))
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() {
        errors.push(FieldError::new("name", "name is required"));
    } else if name.chars().count() > TRACKER_NAME_CHARS_MAX {
        errors.push(FieldError::new(
            "name",
            format!("name is longer than {TRACKER_NAME_CHARS_MAX} characters"),
        ));
    }
}

fn check_positive(field: &'static str, v: Option<f64>, errors: &mut Vec<FieldError>) {
    if let Some(v) = v
        && !(v.is_finite() && v > 0.0)
    {
        errors.push(FieldError::new(
            field,
            format!("{field} must be greater than 0"),
        ));
    }
}

impl TrackerUpdate {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_name(&self.name, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl NewTracker {
    /// Checks every field at once and compiles the tracker. `created_at` starts the window
    /// when `startBrokerTime` is absent.
    pub fn validate(
        &self,
        zone: ServerZone,
        created_at: Timestamp,
    ) -> Result<TrackerSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        check_name(&self.name, &mut errors);
        if self.period.is_none() {
            errors.push(FieldError::new("period", "period is required"));
        }
        let mut time = |field: &'static str, s: &Option<String>| {
            let s = s.as_deref()?;
            let t = parse_broker_time(zone, s);
            if t.is_none() {
                errors.push(FieldError::new(
                    field,
                    format!("{field} must be a broker time YYYY-MM-DD HH:mm:ss.SSS"),
                ));
            }
            t
        };
        let start = time("startBrokerTime", &self.start_broker_time);
        let end = time("endBrokerTime", &self.end_broker_time);
        let start = start.unwrap_or(created_at);
        if end.is_some_and(|e| e <= start) {
            errors.push(FieldError::new(
                "endBrokerTime",
                "endBrokerTime must be after startBrokerTime (or the creation time)",
            ));
        }
        check_positive(
            "absoluteDrawdownThreshold",
            self.absolute_drawdown_threshold,
            &mut errors,
        );
        check_positive(
            "absoluteProfitThreshold",
            self.absolute_profit_threshold,
            &mut errors,
        );
        check_positive(
            "relativeProfitThreshold",
            self.relative_profit_threshold,
            &mut errors,
        );
        if let Some(r) = self.relative_drawdown_threshold
            && !(r.is_finite() && r > 0.0 && r <= 1.0)
        {
            errors.push(FieldError::new(
                "relativeDrawdownThreshold",
                "relativeDrawdownThreshold must be a fraction of 1 above 0",
            ));
        }
        let thresholds = Thresholds {
            absolute_drawdown: self.absolute_drawdown_threshold.map(threshold_cents),
            relative_drawdown: self.relative_drawdown_threshold,
            absolute_profit: self.absolute_profit_threshold.map(threshold_cents),
            relative_profit: self.relative_profit_threshold,
        };
        if thresholds.is_empty() {
            errors.push(FieldError::new(
                "absoluteDrawdownThreshold",
                "at least one of absoluteDrawdownThreshold, relativeDrawdownThreshold, \
                 absoluteProfitThreshold, relativeProfitThreshold is required",
            ));
        }
        match (errors.is_empty(), self.period) {
            (true, Some(period)) => Ok(TrackerSpec {
                period,
                window: Window { start, end },
                thresholds,
                action: self.breach_action,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> ServerZone {
        ServerZone::parse("EET").unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse_iso("2026-01-07T10:00:00Z").unwrap()
    }

    #[test]
    fn wire_shape_is_camel_case() {
        let json = r#"{"name":"daily","period":"week-to-date","startBrokerTime":"2026-01-07 00:00:00.000",
            "relativeDrawdownThreshold":0.05,"absoluteProfitThreshold":1000}"#;
        let t: NewTracker = serde_json::from_str(json).unwrap();
        assert_eq!(t.period, Some(Period::WeekToDate));
        assert_eq!(t.relative_drawdown_threshold, Some(0.05));
        let spec = t.validate(zone(), now()).unwrap();
        assert_eq!(
            spec.window.start,
            Timestamp::parse_iso("2026-01-06T22:00:00Z").unwrap()
        );
        assert_eq!(spec.thresholds.absolute_profit, Some(Money(100_000)));
        let stored = Tracker {
            id: "abc".into(),
            tracker: t,
        };
        let v = serde_json::to_value(&stored).unwrap();
        assert_eq!(v["_id"], "abc");
        assert_eq!(v["period"], "week-to-date");
        assert_eq!(v["absoluteProfitThreshold"], 1000.0);
        assert!(v.get("breachAction").is_none(), "notify stays off the wire");
        assert!(v.get("absoluteDrawdownThreshold").is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let t = NewTracker {
            name: " ".into(),
            start_broker_time: Some("yesterday".into()),
            absolute_drawdown_threshold: Some(-5.0),
            relative_drawdown_threshold: Some(1.5),
            ..NewTracker::default()
        };
        let errors = t.validate(zone(), now()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "name",
                "period",
                "startBrokerTime",
                "absoluteDrawdownThreshold",
                "relativeDrawdownThreshold"
            ]
        );
    }

    #[test]
    fn a_threshold_is_required_and_end_follows_start() {
        let t = NewTracker {
            name: "x".into(),
            period: Some(Period::Day),
            end_broker_time: Some("2026-01-07 12:00:00.000".into()),
            ..NewTracker::default()
        };
        let errors = t.validate(zone(), now()).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].field, "endBrokerTime");
        assert!(errors[1].message.contains("at least one"));
    }

    #[test]
    fn absolute_thresholds_floor_to_cents() {
        assert_eq!(threshold_cents(0.29), Money(29));
        assert_eq!(threshold_cents(5.006), Money(500));
        let t = Thresholds {
            absolute_drawdown: Some(threshold_cents(5.006)),
            ..Thresholds::default()
        };
        assert!(!t.drawdown_exceeded(Money(500), 0.0));
        assert!(t.drawdown_exceeded(Money(501), 0.0), "5.01 > 5.006");
    }

    #[test]
    fn update_needs_a_name() {
        assert!(TrackerUpdate::default().validate().is_err());
        assert!(TrackerUpdate { name: "n".into() }.validate().is_ok());
    }
}
