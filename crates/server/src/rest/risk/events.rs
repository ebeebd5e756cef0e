//! Tracker events: by broker time, and the long-poll stream the SDK's tracker event listener
//! keeps open. Sequence numbers come from the store (unique and increasing per user, kept
//! across restarts); the engine publishes each stored event to the user's waiters.

use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::extract::query_map;
use crate::openapi::{Field, Kind as K, opt};
use crate::state::Shared;
use axum::Json;
use axum::extract::{RawQuery, State};
use drawbridge_store::{TrackerEventQuery, TrackerEventRow};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Most events one request answers (MetaApi: 1000).
const EVENTS_LIMIT_MAX: usize = 1_000;

pub const EVENTS_QUERY: &[Field] = &[
    opt(
        "startBrokerTime",
        K::String,
        "From this broker time, inclusive (YYYY-MM-DD HH:mm:ss.SSS)",
    ),
    opt(
        "endBrokerTime",
        K::String,
        "Up to this broker time, inclusive",
    ),
    opt("accountId", K::String, "Only this account's events"),
    opt("trackerId", K::String, "Only this tracker's events"),
    opt(
        "limit",
        K::Integer,
        "At most this many (1–1000, default 1000)",
    ),
];

pub const STREAM_QUERY: &[Field] = &[
    opt(
        "previousSequenceNumber",
        K::Integer,
        "Events after this sequence number; absent: after the last one answered to this \
         token's stream (from now on at its first poll)",
    ),
    opt("accountId", K::String, "Only this account's events"),
    opt("trackerId", K::String, "Only this tracker's events"),
    opt(
        "limit",
        K::Integer,
        "At most this many (1–1000, default 1000)",
    ),
];

/// A broker time query parameter normalized to `YYYY-MM-DD HH:mm:ss.SSS` (which sorts as
/// text, as the store compares).
fn broker_time(
    q: &HashMap<String, String>,
    key: &str,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let raw = q.get(key).filter(|v| !v.is_empty())?;
    let parsed = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S"));
    match parsed {
        Ok(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        Err(_) => {
            problems.push(FieldError::invalid(
                key,
                Some(json!(raw)),
                "must be a broker time YYYY-MM-DD HH:mm:ss.SSS",
            ));
            None
        }
    }
}

/// The filters both event routes share; a filter on an account the token does not grant is
/// refused.
fn event_query(
    caller: &Caller,
    q: &HashMap<String, String>,
    problems: &mut Vec<FieldError>,
) -> Result<TrackerEventQuery, ApiError> {
    let account_id = q.get("accountId").filter(|v| !v.is_empty()).cloned();
    if let Some(a) = &account_id {
        caller.require_account(a)?;
    }
    let limit = super::limit_param(q, EVENTS_LIMIT_MAX, EVENTS_LIMIT_MAX, problems);
    Ok(TrackerEventQuery {
        user_id: caller.user_id.to_string(),
        after_seq: 0,
        from_broker_time: None,
        to_broker_time: None,
        account_id,
        tracker_id: q.get("trackerId").filter(|v| !v.is_empty()).cloned(),
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
    })
}

/// Stored events as the API answers them: the document with its sequence number.
fn event_docs(rows: Vec<TrackerEventRow>) -> Vec<Value> {
    rows.into_iter()
        .filter_map(|r| {
            let mut v: Value = serde_json::from_str(&r.doc).ok()?;
            v["sequenceNumber"] = json!(r.seq);
            Some(v)
        })
        .collect()
}

/// `GET /users/current/tracker-events/by-broker-time`
pub async fn events_by_broker_time(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Value>>, ApiError> {
    let q = query_map(raw.as_deref());
    let mut problems = Vec::new();
    let mut query = event_query(&caller, &q, &mut problems)?;
    query.from_broker_time = broker_time(&q, "startBrokerTime", &mut problems);
    query.to_broker_time = broker_time(&q, "endBrokerTime", &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    Ok(Json(event_docs(state.store.tracker_events(&query).await?)))
}

/// `GET /users/current/tracker-events/stream`: the events after `previousSequenceNumber`
/// at once when there are any, else the first ones to arrive within the hold time (else `[]`).
/// Without `previousSequenceNumber` (the Python SDK 29.1.1 never sends its query: it passes
/// `qs`, which its HTTP client ignores) the stream continues where the last such request of
/// the same token and filters left it: events stored between two polls are answered by the
/// second. A stream seen for the first time (or forgotten, see
/// [`drawbridge_risk_service::StreamCursors`]) starts from the latest event.
pub async fn events_stream(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Value>>, ApiError> {
    let q = query_map(raw.as_deref());
    let mut problems = Vec::new();
    let mut query = event_query(&caller, &q, &mut problems)?;
    let previous = q.get("previousSequenceNumber").filter(|v| !v.is_empty());
    let previous = match previous.map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            problems.push(FieldError::invalid(
                "previousSequenceNumber",
                previous.map(|v| json!(v)),
                "must be a whole number",
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    // Subscribed before the first look: an event stored in between still wakes us.
    let mut wake = state.risk.waiters().subscribe(&caller.user_id);
    let cursor = match previous {
        Some(_) => None,
        None => Some((
            caller.token_id.clone(),
            query.account_id.clone(),
            query.tracker_id.clone(),
        )),
    };
    query.after_seq = match (previous, &cursor) {
        (Some(n), _) => n,
        (None, Some(key)) => {
            let latest = state.store.last_event_seq(&caller.user_id).await?;
            state.risk.cursors().start(key, latest)
        }
        (None, None) => 0,
    };
    // The hold is the client's wait, on wall time whatever the server's clock.
    let hold = tokio::time::sleep(state.risk.stream_hold());
    tokio::pin!(hold);
    loop {
        let rows = state.store.tracker_events(&query).await?;
        if let Some(last) = rows.last() {
            if let Some(key) = &cursor {
                state.risk.cursors().advance(key, last.seq);
            }
            return Ok(Json(event_docs(rows)));
        }
        tokio::select! {
            woke = wake.changed() => {
                if woke.is_err() {
                    return Ok(Json(Vec::new()));
                }
            }
            () = &mut hold => return Ok(Json(Vec::new())),
        }
    }
}
