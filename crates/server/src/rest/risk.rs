//! The risk management API and drawbridge's risk rules, served by the risk service.

use crate::limits::Cost;
use crate::openapi::{Doc, Field, Kind, Tag};
use crate::routes::{ACCOUNT, Routes, array_schema, object_schema};

/// `PUT …/trackers/:trackerId`
const TRACKER_UPDATE_FIELDS: &[Field] = &[Field {
    name: "name",
    kind: Kind::String,
    required: true,
    about: "The tracker's new name, unique on the account",
}];

/// The risk management API (trackers, events, statistics, equity chart) and drawbridge's rule sets and halts.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .post(
            &format!("{acc}/trackers"),
            crate::risk::api::create_tracker,
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
            crate::risk::api::trackers,
            Doc::new("getTrackers", Client, "The account's trackers")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/trackers/name/{{name}}"),
            crate::risk::api::tracker_by_name,
            Doc::new("getTrackerByName", Client, "One tracker, by name")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}"),
            crate::risk::api::tracker,
            Doc::new("getTracker", Client, "One tracker")
                .cost(Cost::cpu(50.0))
                .reply_inline(200, object_schema),
        )
        .put(
            &format!("{acc}/trackers/{{tracker_id}}"),
            crate::risk::api::update_tracker,
            Doc::new("updateTracker", Client, "Renames a tracker")
                .cost(Cost::cpu(10.0))
                .fields(TRACKER_UPDATE_FIELDS)
                .conflict(),
        )
        .delete(
            &format!("{acc}/trackers/{{tracker_id}}"),
            crate::risk::api::delete_tracker,
            Doc::new("removeTracker", Client, "Removes a tracker (its events stay)")
                .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/trackers/{{tracker_id}}/statistics"),
            crate::risk::api::statistics,
            Doc::new(
                "getTrackingStatistics",
                Client,
                "Period statistics, newest first, loaded backwards from startTime",
            )
            .cost(Cost::cpu(50.0))
            .query(crate::risk::api::STATISTICS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            &format!("{acc}/equity-chart"),
            crate::risk::api::equity_chart,
            Doc::new(
                "getEquityChart",
                Client,
                "Hourly balance and equity: start / min / max / average / last",
            )
            .cost(Cost::cpu(50.0))
            .query(crate::risk::api::CHART_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/tracker-events/by-broker-time",
            crate::risk::events::events_by_broker_time,
            Doc::new(
                "getTrackerEvents",
                Client,
                "Tracker events by broker time range, by sequence number",
            )
            .cost(Cost::cpu(50.0))
            .query(crate::risk::events::EVENTS_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/tracker-events/stream",
            crate::risk::events::events_stream,
            Doc::new(
                "getTrackerEventsStream",
                Client,
                "Long poll: events after previousSequenceNumber at once, else the next ones (held up to a minute)",
            )
            .cost(Cost::cpu(50.0))
            .query(crate::risk::events::STREAM_QUERY)
            .reply_inline(200, array_schema),
        )
        .get(
            "/users/current/risk-rule-presets",
            crate::risk::rules::presets,
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
            crate::risk::rules::set_rules,
            Doc::new(
                "setRiskRules",
                Client,
                "Attaches a preset or a full rule set (replacing any), with the action on a loss breach",
            )
            .cost(Cost::cpu(10.0))
            .fields(crate::risk::rules::RULES_FIELDS)
            .reply_inline(200, object_schema),
        )
        .get(
            &format!("{acc}/risk-rules"),
            crate::risk::rules::get_rules,
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
            crate::risk::rules::delete_rules,
            Doc::new(
                "removeRiskRules",
                Client,
                "Detaches the rule set (a halt it ordered stays)",
            )
            .cost(Cost::cpu(10.0)),
        )
        .get(
            &format!("{acc}/risk-halt"),
            crate::risk::rules::halt,
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
            crate::risk::rules::lift_halt,
            Doc::new(
                "liftRiskHalt",
                Client,
                "Lifts the account's halt; recorded as a haltLifted event",
            )
            .cost(Cost::cpu(10.0)),
        )
}
