//! Prop-firm rule sets as an API (drawbridge's own, beside the risk management API): the
//! built-in presets, one rule set attached per account (a preset by name or a full rule set,
//! with the action on a loss breach), its progress, and the halt lift.
//!
//! The rule set's JSON is the preset files' TOML shape (`crates/risk/presets/*.toml`):
//! snake_case fields, kebab-case values, limits as `{"fraction": 0.05}` or `{"amount": 500}`.
//! Its outcomes — a daily-loss or maximum-loss breach, a reached profit target — and every
//! halt lift are events in the tracker-event stream (same sequence numbers), told apart by
//! `eventType`; their money is net of the balance operations since the rules started.

use super::trackers::{enabled, locate};
use crate::auth::{Caller, random_hex};
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{Fields, JsonObject};
use crate::messages;
use crate::openapi::{Field, Kind as K, opt};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use drawbridge_model::{Money, ServerZone};
use drawbridge_risk::preset::{self, PRESETS};
use drawbridge_risk::{RuleSet, RuleSpec, RuleState};
use drawbridge_risk_service::{AttachedRules, RulesMeta};
use drawbridge_store::RulesRow;
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest rule-set name and description.
const RULES_NAME_CHARS_MAX: usize = 100;
const RULES_DESCRIPTION_CHARS_MAX: usize = 1_000;
/// Largest rule set accepted, as JSON.
const RULE_SET_BYTES_MAX: usize = 4_096;
const ACTIONS: &[&str] = &["notify", "halt", "close-and-halt"];

pub const RULES_FIELDS: &[Field] = &[
    opt(
        "preset",
        K::String,
        "A built-in preset's name (GET /users/current/risk-rule-presets); or ruleSet",
    ),
    opt(
        "ruleSet",
        K::Object,
        "A full rule set, in the presets' shape; or preset",
    ),
    opt(
        "action",
        K::OneOf(ACTIONS),
        "The action on a loss breach, overriding the rule set's",
    ),
];

/// `GET /users/current/risk-rule-presets`: every built-in preset, as TOML and as JSON.
pub async fn presets(caller: Caller) -> Result<Json<Vec<Value>>, ApiError> {
    let _ = caller;
    let mut all = Vec::with_capacity(PRESETS.len());
    for (name, text) in PRESETS {
        let set = preset::parse(text).map_err(ApiError::internal)?;
        all.push(
            json!({"name": name, "description": set.description, "toml": text,
                        "ruleSet": set}),
        );
    }
    Ok(Json(all))
}

fn rule_errors(errors: Vec<drawbridge_risk::FieldError>) -> ApiError {
    ApiError::fields(
        errors
            .into_iter()
            .map(|e| FieldError::invalid(&format!("ruleSet.{}", e.field), None, &e.message))
            .collect(),
    )
}

/// The body's rule set (a preset's, or the one given) with the action applied; every
/// problem at once.
fn rule_set_of(
    body: &serde_json::Map<String, Value>,
) -> Result<(Option<String>, RuleSet), ApiError> {
    let mut f = Fields::new(body);
    let name = f.string("preset");
    let given = f.object("ruleSet", RULE_SET_BYTES_MAX);
    let action = f.one_of("action", ACTIONS);
    for key in body.keys() {
        if !RULES_FIELDS.iter().any(|field| field.name == key) {
            f.problems.push(FieldError::invalid(
                key,
                None,
                "is not a field of risk rules",
            ));
        }
    }
    let mut set = match (&name, given) {
        (Some(_), Some(_)) | (None, None) if f.problems.is_empty() => {
            f.problems.push(FieldError::invalid(
                "preset",
                None,
                "give either preset or ruleSet",
            ));
            None
        }
        (Some(n), None) => match preset::builtin(n) {
            Ok(set) => Some(set),
            Err(e) => {
                f.problems.push(FieldError::invalid(
                    "preset",
                    Some(json!(n)),
                    &e.to_string(),
                ));
                None
            }
        },
        (None, Some(v)) => match serde_json::from_value::<RuleSet>(v) {
            Ok(set) => Some(set),
            Err(e) => {
                f.problems
                    .push(FieldError::invalid("ruleSet", None, &e.to_string()));
                None
            }
        },
        _ => None,
    };
    if let Some(s) = &set {
        if s.name.trim().is_empty() || s.name.chars().count() > RULES_NAME_CHARS_MAX {
            f.problems.push(FieldError::invalid(
                "ruleSet.name",
                Some(json!(s.name)),
                "must be 1 to 100 characters",
            ));
        }
        if s.description.chars().count() > RULES_DESCRIPTION_CHARS_MAX {
            f.problems.push(FieldError::invalid(
                "ruleSet.description",
                None,
                "must be at most 1000 characters",
            ));
        }
    }
    f.finish()?;
    if let (Some(s), Some(a)) = (&mut set, action) {
        s.action = serde_json::from_value(json!(a)).map_err(ApiError::internal)?;
    }
    let set = set.ok_or_else(|| ApiError::internal("validated rule set missing"))?;
    Ok((name, set))
}

/// `PUT /users/current/accounts/:id/risk-rules`: attaches a preset or a rule set, replacing
/// any (its progress starts again from the account now).
pub async fn set_rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_write()?;
    let entry = enabled(&state, &caller, &id).await?;
    let (preset, rule_set) = rule_set_of(&body)?;
    let account = locate(&state, &entry).await?;
    let spec = rule_set.compile(account.zone).map_err(rule_errors)?;
    let attached = AttachedRules { preset, rule_set };
    let row = RulesRow {
        id: random_hex(16),
        account_id: id.clone(),
        user_id: entry.row.user_id.clone(),
        doc: serde_json::to_string(&attached).map_err(ApiError::internal)?,
        created: state.now(),
        state: None,
    };
    state.store.set_rules(&row).await?;
    let rules = RulesMeta {
        id: Arc::from(row.id.as_str()),
        name: attached.rule_set.name.clone(),
    };
    state.risk.set_rules(account, rules, spec).await?;
    answer(&state, &id, attached).await.map(Json)
}

/// `GET /users/current/accounts/:id/risk-rules`: the attached rules and their progress.
pub async fn get_rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    enabled(&state, &caller, &id).await?;
    let row = (state.store.rules(&id).await?)
        .ok_or_else(|| ApiError::not_found(&messages::RISK_RULES_NOT_SET, &[&id]))?;
    let attached: AttachedRules = serde_json::from_str(&row.doc).map_err(ApiError::internal)?;
    answer(&state, &id, attached).await.map(Json)
}

/// `DELETE /users/current/accounts/:id/risk-rules`: detaches the rules (a halt they
/// ordered stays until lifted).
pub async fn delete_rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    enabled(&state, &caller, &id).await?;
    if !state.store.delete_rules(&id).await? {
        return Err(ApiError::not_found(&messages::RISK_RULES_NOT_SET, &[&id]));
    }
    state.risk.clear_rules(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/current/accounts/:id/risk-halt`: whether a breach halted the account.
pub async fn halt(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    enabled(&state, &caller, &id).await?;
    Ok(Json(json!({"halted": state.risk.is_halted(&id)})))
}

/// `POST /users/current/accounts/:id/risk-halt/lift`: the owner lifts a halt; recorded as a
/// `haltLifted` event. Trackers stay latched for their period and decided rules stay
/// decided: attach the rules again to start over.
pub async fn lift_halt(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    enabled(&state, &caller, &id).await?;
    let lifted = state.risk.lift_halt(&id).await?;
    if !lifted {
        return Err(ApiError::of(
            Kind::Validation,
            &messages::RISK_NOT_HALTED,
            &[&id],
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The attachment with the engine's progress and the account's halt.
async fn answer(state: &Shared, id: &str, attached: AttachedRules) -> Result<Value, ApiError> {
    let now = state.risk.rules(id).await?;
    let mut v = serde_json::to_value(&attached).map_err(ApiError::internal)?;
    v["halted"] = json!(state.risk.is_halted(id));
    if let Some((spec, rules, zone)) = now {
        v["status"] = status(&spec, &rules, zone);
    }
    Ok(v)
}

/// Progress through the rules, net of the balance operations since they started.
fn status(spec: &RuleSpec, state: &RuleState, zone: ServerZone) -> Value {
    let p = state.parts();
    let money = |m: Money| m.to_f64();
    let outcome = match (p.started, p.outcome) {
        (false, _) => json!("pending"),
        (true, None) => json!("active"),
        (true, Some(o)) => json!(o),
    };
    let mut v = json!({"state": outcome, "tradingDays": p.trading_days});
    if p.started {
        v["initialBalance"] = json!(money(p.initial));
        v["balanceAdjustment"] = json!(money(p.adjustment));
        v["dayStartBrokerTime"] = json!(zone.broker_time(p.day_start));
        v["dayEndBrokerTime"] = json!(zone.broker_time(p.day_end.plus_millis(-1)));
        v["dayReference"] = json!(money(p.day_reference));
        if let Some(floor) = state.floor(spec) {
            v["maxLossFloor"] = json!(money(floor));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use drawbridge_risk::BreachAction;

    fn body(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn params(e: ApiError) -> Vec<String> {
        let body = e.body();
        (body["details"].as_array().unwrap().iter())
            .map(|d| d["parameter"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_preset_or_a_rule_set_with_every_problem_named() {
        let (name, set) =
            rule_set_of(&body(json!({"preset": "one-step", "action": "halt"}))).unwrap();
        assert_eq!(name.as_deref(), Some("one-step"));
        assert_eq!(set.action, BreachAction::Halt, "overridden");
        let custom = json!({"ruleSet": {"name": "mine", "profit_target": {"amount": 500}}});
        let (name, set) = rule_set_of(&body(custom)).unwrap();
        assert_eq!((name, set.name.as_str()), (None, "mine"));

        let e = rule_set_of(&body(json!({}))).unwrap_err();
        assert_eq!(params(e), ["preset"]);
        let e = rule_set_of(&body(json!({"preset": "x", "ruleSet": {}}))).unwrap_err();
        assert_eq!(params(e), ["preset"]);
        let e = rule_set_of(&body(
            json!({"preset": "nope", "action": "explode", "extra": 1}),
        ))
        .unwrap_err();
        assert_eq!(params(e), ["action", "extra", "preset"]);
        let e = rule_set_of(&body(json!({"ruleSet": {"name": "x", "max_loss": 3}}))).unwrap_err();
        assert_eq!(params(e), ["ruleSet"]);
        let e = rule_set_of(&body(json!({"ruleSet": {"name": ""}}))).unwrap_err();
        assert_eq!(params(e), ["ruleSet.name"]);
    }
}
