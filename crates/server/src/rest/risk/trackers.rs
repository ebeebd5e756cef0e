//! The risk management REST API (MetaApi `risk-management-api-v1`), as the official SDK's
//! `EquityTrackingClient` calls it: trackers per account, period statistics and the equity
//! chart (tracker events are in [`super::events`], rule sets in [`super::rules`]). Every
//! account route needs `riskManagementApiEnabled` on the account (ForbiddenError otherwise).
//!
//! `realTime`. MetaApi documents it as "if true, real-time data will be requested"; the
//! SDK sends `false` by default and `true` from its live listeners, which read the live
//! fields of the last chart item (`duration`, `equitySum`, `balanceSum`, `brokerTime`) and
//! poll until the period or hour that just opened is answered. The cloud computes the
//! non-real-time view with a delay; drawbridge computes every figure as each input arrives
//! (the engine's state is what the routes and the streaming pushes serve), so there is no
//! older view to serve: both values answer the same live data — the current period and the
//! hour in progress included, with every field — and the parameter is only validated
//! (`true`/`false`, ValidationError otherwise). A client never sees staler data for
//! `false`, and never different data for `true`.

use super::limit_param;
use crate::access::owned_entry;
use crate::auth::{Caller, random_hex};
use crate::directory::Entry;
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{JsonObject, query_map};
use crate::messages;
use crate::openapi::{Field, Kind as K, opt};
use crate::rest::client::session::desk_error;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use drawbridge_model::time::MS_PER_HOUR;
use drawbridge_model::{AccountId, ServerZone, Timestamp};
use drawbridge_risk::{
    EquityChartItem, NewTracker, PeriodStatistics, Tracker, TrackerId, TrackerUpdate,
};
use drawbridge_risk_service::{AccountKey, TrackerMeta, find_account};
use drawbridge_store::{StoreError, TrackerRow};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Most periods one statistics request answers.
const STATISTICS_LIMIT_MAX: usize = 1_000;
pub const STATISTICS_QUERY: &[Field] = &[
    opt(
        "startTime",
        K::String,
        "Periods started at or before this time (ISO-8601 or broker time; default now), \
         newest first",
    ),
    opt("limit", K::Integer, "Periods to answer (1–1000, default 1)"),
    opt(
        "realTime",
        K::Boolean,
        "true or false, same answer: statistics are computed as inputs arrive, the current \
         period always live",
    ),
];

pub const CHART_QUERY: &[Field] = &[
    opt(
        "startTime",
        K::String,
        "From this broker time (YYYY-MM-DD HH:mm:ss[.SSS])",
    ),
    opt("endTime", K::String, "Up to this broker time"),
    opt(
        "realTime",
        K::Boolean,
        "true or false, same answer: the chart is computed as inputs arrive, the hour in \
         progress always included and live",
    ),
];

/// The caller's account, with the risk management API enabled.
pub(super) async fn enabled(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Arc<Entry>, ApiError> {
    let entry = owned_entry(state, caller, id).await?;
    if !entry.doc.risk_management_api_enabled {
        return Err(ApiError::forbidden(&messages::RISK_API_DISABLED, &[&id]));
    }
    Ok(entry)
}

/// The account's broker account and trade-server time zone.
pub(super) async fn locate(state: &Shared, entry: &Entry) -> Result<AccountKey, ApiError> {
    let server = entry.doc.server.clone();
    let login = entry.doc.login.parse::<u64>().ok();
    let found = state
        .desk
        .read(move |b| find_account(b, &server, login))
        .await
        .map_err(desk_error)?;
    let (aref, zone) = found.ok_or_else(|| {
        ApiError::of(
            Kind::Validation,
            &messages::ACCOUNT_NOT_CONNECTED,
            &[&entry.row.id],
        )
    })?;
    Ok(AccountKey {
        id: Arc::from(entry.row.id.as_str()),
        user_id: Arc::from(entry.row.user_id.as_str()),
        aref,
        zone,
    })
}

/// Starts following an account whose risk management API was just enabled (provisioning
/// calls this after the account is stored), so its equity chart and statistics start now.
/// Best effort: an account the broker does not know yet is followed at its first risk call.
pub async fn follow(state: &Shared, id: &AccountId) {
    let entry = match state.directory.get(state.store.as_ref(), id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(account_id = %id, error = ?e, "risk: account not followed");
            return;
        }
    };
    let account = match locate(state, &entry).await {
        Ok(account) => account,
        Err(_) => return,
    };
    if state.risk.follow(account).await.is_err() {
        tracing::warn!(account_id = %id, "risk: account not followed");
    }
}

/// Re-points the risk engine after an account's server or credentials changed (provisioning
/// calls this once the update is stored): a followed account follows its broker account as
/// the stored document now names it, or stops being read when the broker does not know it
/// there. Nothing for an account the engine does not follow.
pub async fn relocate(state: &Shared, id: &AccountId) {
    let entry = match state.directory.get(state.store.as_ref(), id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(account_id = %id, error = ?e, "risk: account not re-pointed");
            return;
        }
    };
    let to = locate(state, &entry).await.ok();
    if state.risk.relocate(id, to).await.is_err() {
        tracing::warn!(account_id = %id, "risk: account not re-pointed");
    }
}

/// The account's tracker `tracker_id`, or NotFound.
async fn tracker_row(
    state: &Shared,
    account_id: &str,
    tracker_id: &str,
) -> Result<TrackerRow, ApiError> {
    state
        .store
        .tracker(tracker_id)
        .await?
        .filter(|t| t.account_id == account_id)
        .ok_or_else(|| ApiError::not_found(&messages::RISK_TRACKER_NOT_FOUND, &[&tracker_id]))
}

fn tracker_of(row: TrackerRow) -> Result<Tracker, ApiError> {
    let tracker: NewTracker = serde_json::from_str(&row.doc).map_err(ApiError::internal)?;
    Ok(Tracker {
        id: row.id,
        tracker,
    })
}

fn field_errors(errors: Vec<drawbridge_risk::FieldError>) -> ApiError {
    ApiError::fields(
        errors
            .into_iter()
            .map(|e| FieldError::invalid(e.field, None, &e.message))
            .collect(),
    )
}

/// The `trackers_per_account` limit.
fn trackers_per_account(state: &Shared) -> u32 {
    let id = drawbridge_limits::catalog::id::TRACKERS_PER_ACCOUNT;
    u32::try_from(state.limits.catalogue.value(id)).unwrap_or(u32::MAX)
}

/// A create past `trackers_per_account`: a ValidationError (as a create past
/// `accounts_per_user` is) whose details name the limit.
fn tracker_limit(account_id: &str, max: u32) -> ApiError {
    ApiError::validation(
        messages::RISK_TRACKER_LIMIT.with(&[&account_id, &max]),
        json!({"limit": "trackers_per_account", "value": max}),
    )
}

fn name_taken(account_id: &str, name: &str) -> ApiError {
    ApiError::of(
        Kind::Conflict,
        &messages::RISK_TRACKER_NAME_TAKEN,
        &[&account_id, &name],
    )
}

/// `POST /users/current/accounts/:id/trackers`
pub async fn create_tracker(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<TrackerId>, ApiError> {
    caller.require_write()?;
    let entry = enabled(&state, &caller, &id).await?;
    let new: NewTracker = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::field(FieldError::invalid("tracker", None, &e.to_string())))?;
    let account = locate(&state, &entry).await?;
    let now = state.now();
    let spec = new.validate(account.zone, now).map_err(field_errors)?;
    let row = TrackerRow {
        id: random_hex(16),
        account_id: id.clone(),
        user_id: entry.row.user_id.clone(),
        name: new.name.clone(),
        doc: serde_json::to_string(&new).map_err(ApiError::internal)?,
        created: now,
        state: None,
    };
    let max = trackers_per_account(&state);
    match state.store.create_tracker_within(&row, max).await {
        Err(StoreError::Conflict(_)) => return Err(name_taken(&id, &new.name)),
        Ok(false) => return Err(tracker_limit(&id, max)),
        other => other?,
    };
    let tracker = TrackerMeta {
        id: Arc::from(row.id.as_str()),
        name: row.name,
        period: spec.period,
        spec,
    };
    state.risk.track(account, tracker).await?;
    Ok(Json(TrackerId { id: row.id }))
}

/// `GET /users/current/accounts/:id/trackers`
pub async fn trackers(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Tracker>>, ApiError> {
    enabled(&state, &caller, &id).await?;
    let rows = state.store.trackers_of(&id).await?;
    Ok(Json(
        rows.into_iter().map(tracker_of).collect::<Result<_, _>>()?,
    ))
}

/// `GET /users/current/accounts/:id/trackers/:trackerId`
pub async fn tracker(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, tracker_id)): Path<(String, String)>,
) -> Result<Json<Tracker>, ApiError> {
    enabled(&state, &caller, &id).await?;
    Ok(Json(tracker_of(
        tracker_row(&state, &id, &tracker_id).await?,
    )?))
}

/// `GET /users/current/accounts/:id/trackers/name/:name`
pub async fn tracker_by_name(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
) -> Result<Json<Tracker>, ApiError> {
    enabled(&state, &caller, &id).await?;
    let row = (state.store.tracker_by_name(&id, &name).await?)
        .ok_or_else(|| ApiError::not_found(&messages::RISK_TRACKER_NOT_FOUND, &[&name]))?;
    Ok(Json(tracker_of(row)?))
}

/// `PUT /users/current/accounts/:id/trackers/:trackerId`: renames it.
pub async fn update_tracker(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, tracker_id)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    enabled(&state, &caller, &id).await?;
    let update: TrackerUpdate = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::field(FieldError::invalid("name", None, &e.to_string())))?;
    update.validate().map_err(field_errors)?;
    let row = tracker_row(&state, &id, &tracker_id).await?;
    let mut doc: NewTracker = serde_json::from_str(&row.doc).map_err(ApiError::internal)?;
    doc.name = update.name.clone();
    let doc = serde_json::to_string(&doc).map_err(ApiError::internal)?;
    match state
        .store
        .rename_tracker(&tracker_id, &update.name, &doc)
        .await
    {
        Err(StoreError::Conflict(_)) => return Err(name_taken(&id, &update.name)),
        Ok(false) => {
            return Err(ApiError::not_found(
                &messages::RISK_TRACKER_NOT_FOUND,
                &[&tracker_id],
            ));
        }
        other => other?,
    };
    state.risk.rename(&id, &tracker_id, update.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/current/accounts/:id/trackers/:trackerId`
pub async fn delete_tracker(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, tracker_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    enabled(&state, &caller, &id).await?;
    tracker_row(&state, &id, &tracker_id).await?;
    state.store.delete_tracker(&tracker_id).await?;
    state.risk.untrack(&id, &tracker_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn flag(q: &HashMap<String, String>, key: &str, problems: &mut Vec<FieldError>) {
    if let Some(v) = q.get(key).filter(|v| !v.is_empty())
        && !matches!(v.as_str(), "true" | "false" | "True" | "False" | "1" | "0")
    {
        problems.push(FieldError::invalid(
            key,
            Some(json!(v)),
            "must be true or false",
        ));
    }
}

/// A time query parameter: ISO-8601, or broker time in the account's zone.
fn instant(
    q: &HashMap<String, String>,
    key: &str,
    zone: ServerZone,
    problems: &mut Vec<FieldError>,
) -> Option<Timestamp> {
    let raw = q.get(key).filter(|v| !v.is_empty())?;
    let t = Timestamp::parse_iso(raw)
        .ok()
        .or_else(|| zone.parse_broker_time(raw).ok());
    if t.is_none() {
        problems.push(FieldError::invalid(
            key,
            Some(json!(raw)),
            "must be an ISO-8601 time or a broker time YYYY-MM-DD HH:mm:ss.SSS",
        ));
    }
    t
}

/// `GET /users/current/accounts/:id/trackers/:trackerId/statistics`: the periods started at
/// or before `startTime`, newest first (the current one included, live for either
/// `realTime`), `limit` of them.
pub async fn statistics(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, tracker_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<PeriodStatistics>>, ApiError> {
    let entry = enabled(&state, &caller, &id).await?;
    tracker_row(&state, &id, &tracker_id).await?;
    let account = locate(&state, &entry).await?;
    let q = query_map(raw.as_deref());
    let mut problems = Vec::new();
    let at = instant(&q, "startTime", account.zone, &mut problems).unwrap_or_else(|| state.now());
    let limit = limit_param(&q, STATISTICS_LIMIT_MAX, 1, &mut problems);
    flag(&q, "realTime", &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    let current = state.risk.current_period(&account.id, &tracker_id).await?;
    let mut periods = Vec::new();
    if let Some((stats, period, zone)) = current
        && stats.span.start <= at
    {
        periods.push(PeriodStatistics::new(&stats, period, zone));
    }
    let rest = u32::try_from(limit).unwrap_or(u32::MAX);
    for r in state.store.risk_periods(&tracker_id, at, rest).await? {
        let p: PeriodStatistics = serde_json::from_str(&r.doc).map_err(ApiError::internal)?;
        // A period that completed after the engine answered is stored and current at once.
        if periods
            .iter()
            .all(|c| c.start_broker_time != p.start_broker_time)
        {
            periods.push(p);
        }
    }
    periods.truncate(limit);
    Ok(Json(periods))
}

/// `GET /users/current/accounts/:id/equity-chart`: hourly items from `startTime` to
/// `endTime` (broker times), oldest first, the hour in progress included (live for either
/// `realTime`).
pub async fn equity_chart(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<EquityChartItem>>, ApiError> {
    let entry = enabled(&state, &caller, &id).await?;
    let account = locate(&state, &entry).await?;
    let q = query_map(raw.as_deref());
    let mut problems = Vec::new();
    let zone = account.zone;
    let from = instant(&q, "startTime", zone, &mut problems).unwrap_or(Timestamp(0));
    let to = instant(&q, "endTime", zone, &mut problems).unwrap_or(Timestamp(i64::MAX));
    flag(&q, "realTime", &mut problems);
    flag(&q, "fillSkips", &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    // The chart starts when the account is first followed.
    state.risk.follow(account.clone()).await?;
    let current = state.risk.chart_hour(&account.id).await?;
    // An hour overlaps the range when it ends after `from` and starts by `to`.
    let since = Timestamp(from.millis().saturating_sub(MS_PER_HOUR - 1));
    let mut items = Vec::new();
    for r in state.store.risk_chart(&id, since, to).await? {
        let item: EquityChartItem = serde_json::from_str(&r.doc).map_err(ApiError::internal)?;
        items.push(item);
    }
    if let Some((item, zone)) = current
        && item.end > from
        && item.start <= to
    {
        // Live up to now, also when no input came since the hour's last one.
        let live = EquityChartItem::new(&item.as_of(state.now()), zone);
        // An hour that completed after the engine answered is stored already.
        if items
            .iter()
            .all(|i| i.start_broker_time != live.start_broker_time)
        {
            items.push(live);
        }
    }
    Ok(Json(items))
}
