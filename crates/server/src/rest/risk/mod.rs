//! The risk management API and drawbridge's risk rules, served by the risk service
//! (`drawbridge-risk-service`): the handlers resolve the caller's account, ask the
//! [`Risk`](drawbridge_risk_service::Risk) handle and answer. The service knows nothing of
//! HTTP; its errors become MetaApi errors here, once (`From<RiskError> for ApiError`).
//!
//! # Layout
//! - [`trackers`]: trackers, period statistics and the equity chart; what every route checks
//!   of the account, and what provisioning calls as accounts change
//!   ([`trackers::follow`], [`trackers::relocate`]).
//! - [`events`]: tracker events by broker time and their long poll.
//! - [`rules`]: prop-firm rule sets attached to accounts (presets or full rule sets), their
//!   progress, and the halt lift.
//! - here: the route rows, the error mapping and the `limit` parameter.

pub mod events;
pub mod rules;
pub mod trackers;

use crate::error::{ApiError, FieldError};
use crate::limits::Cost;
use crate::messages;
use crate::openapi::{Doc, Field, Kind, Tag};
use crate::routes::{ACCOUNT, Routes, array_schema, object_schema};
use drawbridge_risk_service::RiskError;
use std::collections::HashMap;

/// The risk service's errors as MetaApi errors: a halted account's trade is forbidden;
/// a stopped engine or a failed store is an internal error.
impl From<RiskError> for ApiError {
    fn from(e: RiskError) -> Self {
        match e {
            RiskError::Halted { account_id } => {
                ApiError::forbidden(&messages::RISK_TRADING_HALTED, &[&account_id])
            }
            RiskError::Store(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// The `limit` query parameter of the risk routes: `1..=max`, `default` when absent; zero,
/// a value above `max` or not a whole number is noted in `problems` (and gives `default`).
fn limit_param(
    q: &HashMap<String, String>,
    max: usize,
    default: usize,
    problems: &mut Vec<FieldError>,
) -> usize {
    let raw = q.get("limit").map(String::as_str);
    match crate::extract::count_param("limit", raw, max, problems) {
        Some(0) => {
            problems.push(FieldError::invalid(
                "limit",
                Some(serde_json::json!(0)),
                "must be at least 1",
            ));
            default
        }
        Some(n) => n,
        None => default,
    }
}

/// `PUT …/trackers/:trackerId`
const TRACKER_UPDATE_FIELDS: &[Field] = &[Field {
    name: "name",
    kind: Kind::String,
    required: true,
    about: "The tracker's new name, unique on the account",
}];

/// The risk management API (trackers, events, statistics, equity chart) and drawbridge's
/// rule sets and halts.
pub(crate) fn routes(routes: Routes) -> Routes {
    rule_routes(event_routes(tracker_routes(routes)))
}

/// Trackers, their period statistics, and the equity chart.
fn tracker_routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .post(
            &format!("{acc}/trackers"),
            trackers::create_tracker,
            Doc::new(
                "createTracker",
                Client,
                "Adds a profit/drawdown tracker (`breachAction`: notify | halt | close-and-halt)",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema)
            .conflict(),
        )
        .get(
            &format!("{acc}/trackers"),
            trackers::trackers,
            Doc::new("getTrackers", Client, "The account's trackers")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/trackers/name/{{name}}"),
            trackers::tracker_by_name,
            Doc::new("getTrackerByName", Client, "One tracker, by name")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}"),
            trackers::tracker,
            Doc::new("getTracker", Client, "One tracker")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .put(
            &format!("{acc}/trackers/{{tracker_id}}"),
            trackers::update_tracker,
            Doc::new("updateTracker", Client, "Renames a tracker")
                .cost(Cost::cpu(10.0))
                .fields(TRACKER_UPDATE_FIELDS)
                .conflict(),
        )
        .delete(
            &format!("{acc}/trackers/{{tracker_id}}"),
            trackers::delete_tracker,
            Doc::new(
                "removeTracker",
                Client,
                "Removes a tracker (its events stay)",
            )
            .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}/statistics"),
            trackers::statistics,
            Doc::new(
                "getTrackingStatistics",
                Client,
                "Period statistics, newest first, loaded backwards from startTime",
            )
            .cost(Cost::cpu(50.0))
            .query(trackers::STATISTICS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/equity-chart"),
            trackers::equity_chart,
            Doc::new(
                "getEquityChart",
                Client,
                "Hourly balance and equity: start / min / max / average / last",
            )
            .cost(Cost::cpu(50.0))
            .query(trackers::CHART_QUERY)
            .reply_inline(200, array_schema),
        )
}

/// Tracker events: by broker time, and the long poll.
fn event_routes(routes: Routes) -> Routes {
    use Tag::Client;
    routes
        .get(
            "/users/current/tracker-events/by-broker-time",
            events::events_by_broker_time,
            Doc::new(
                "getTrackerEvents",
                Client,
                "Tracker events by broker time range, by sequence number",
            )
            .cost(Cost::cpu(50.0))
            .query(events::EVENTS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/tracker-events/stream",
            events::events_stream,
            Doc::new(
                "getTrackerEventsStream",
                Client,
                "Long poll: events after previousSequenceNumber at once, else the next ones \
                 (held up to a minute)",
            )
            .cost(Cost::cpu(50.0))
            .query(events::STREAM_QUERY)
            .reply_inline(200, array_schema),
        )
}

/// Drawbridge's rule sets and halts.
fn rule_routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .get(
            "/users/current/risk-rule-presets",
            rules::presets,
            Doc::new(
                "getRiskRulePresets",
                Client,
                "The built-in prop-firm rule sets: name, description, TOML and JSON",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, array_schema),
        )
        .put(
            &format!("{acc}/risk-rules"),
            rules::set_rules,
            Doc::new(
                "setRiskRules",
                Client,
                "Attaches a preset or a full rule set (replacing any), with the action on a \
                 loss breach",
            )
            .cost(Cost::cpu(10.0))
            .fields(rules::RULES_FIELDS)
            .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/risk-rules"),
            rules::get_rules,
            Doc::new(
                "getRiskRules",
                Client,
                "The attached rule set, its progress and whether the account is halted",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema),
        )
        .delete(
            &format!("{acc}/risk-rules"),
            rules::delete_rules,
            Doc::new(
                "removeRiskRules",
                Client,
                "Detaches the rule set (a halt it ordered stays)",
            )
            .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/risk-halt"),
            rules::halt,
            Doc::new(
                "getRiskHalt",
                Client,
                "Whether a tracker or rule breach halted the account",
            )
            .cost(Cost::cpu(10.0))
            .reply_inline(200, object_schema),
        )
        .post(
            &format!("{acc}/risk-halt/lift"),
            rules::lift_halt,
            Doc::new(
                "liftRiskHalt",
                Client,
                "Lifts the account's halt; recorded as a haltLifted event",
            )
            .cost(Cost::cpu(10.0)),
        )
}
