//! Prop-firm rule sets as the service keeps them: the attachment as stored (a preset's name
//! and the full rule set, in the presets' TOML shape as JSON), compiled again at start, and
//! the documents of the events the rules make: a daily-loss or maximum-loss breach, a
//! reached profit target, and every halt lift. They share the tracker-event stream's
//! sequence numbers, told apart by `eventType`.

use drawbridge_model::{ServerZone, Timestamp};
use drawbridge_risk::{RuleEvent, RuleOutcome, RuleSet, RuleSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The tracker id of rule and halt-lift events in the store (they belong to no tracker).
pub const RULES_TRACKER_ID: &str = "";

/// A rule set attached to an account, as stored and answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachedRules {
    /// The built-in preset it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub rule_set: RuleSet,
}

/// A stored attachment's rule-set name and compiled rules.
pub(crate) fn compile_stored(doc: &str, zone: ServerZone) -> Option<(String, RuleSpec)> {
    let attached: AttachedRules = serde_json::from_str(doc).ok()?;
    let spec = attached.rule_set.compile(zone).ok()?;
    Some((attached.rule_set.name, spec))
}

/// The event document of a rule outcome.
pub(crate) fn rule_event_doc(
    account_id: &str,
    rule_set: &str,
    e: &RuleEvent,
    zone: ServerZone,
) -> Value {
    let event_type = match e.outcome {
        RuleOutcome::DailyLoss => "dailyLossBreached",
        RuleOutcome::MaxLoss => "maxLossBreached",
        RuleOutcome::Passed => "profitTargetReached",
    };
    let mut doc = json!({
        "eventType": event_type,
        "accountId": account_id,
        "ruleSet": rule_set,
        "brokerTime": zone.broker_time(e.time),
        "balance": e.balance.to_f64(),
        "equity": e.equity.to_f64(),
        "reference": e.reference.to_f64(),
        "limit": e.limit.to_f64(),
        "tradingDays": e.trading_days,
    });
    if !e.action.is_notify() {
        doc["action"] = json!(e.action);
    }
    doc
}

/// The event document of a halt lift.
pub(crate) fn halt_lifted_doc(account_id: &str, at: Timestamp, zone: ServerZone) -> Value {
    json!({"eventType": "haltLifted", "accountId": account_id, "brokerTime": zone.broker_time(at)})
}
