//! Limit introspection: what a caller may still spend, the limit catalogue, and the user
//! messages queued for it. The limits themselves are applied by [`crate::limits`].

use crate::access::owned_entry;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{count_param, query_map};
use crate::limits::charge::{keys, period_text};
use crate::messages::{self, Text};
use crate::openapi::{Doc, Field, Kind as K, Tag, opt};
use crate::routes::{ACCOUNT, Routes, object_schema};
use crate::state::Shared;
use crate::user_messages::{USER_MESSAGES_KEPT, UserMessage};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use drawbridge_limits::Limit;
use drawbridge_limits::ledger::{Scope, WindowUsage, key_of};
use serde_json::{Value, json};

/// One window of the credit-usage answer.
fn usage_item(window: &WindowUsage) -> Value {
    json!({
        "period": period_text(window.period_ms),
        "total": window.total.as_f64(),
        "available": window.available().as_f64(),
    })
}

/// `GET /users/current/accounts/:id/credits`: the caller's CPU-credit windows as of now,
/// through the front-end server its `client-id` selects.
pub async fn credit_usage(
    State(state): State<Shared>,
    caller: Caller,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    owned_entry(&state, &caller, &account).await?;
    let client_id = headers
        .get("client-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keys = keys(&state, &caller.user_id, client_id, Some(&account));
    let now = state.now();
    let list = |scope| -> Vec<Value> {
        (state.limits.cpu_usage(&keys, scope, now).iter())
            .map(usage_item)
            .collect()
    };
    Ok(Json(json!({
        "perAccount": list(Scope::Account),
        "perUser": list(Scope::User),
        "perServer": list(Scope::Server),
    })))
}

/// CQG `status_code`s of an API-limit entry.
const LIMIT_FOUND: u32 = 1;
const LIMIT_UNKNOWN: u32 = 104;

/// A limit's description as a catalogue text.
pub fn limit_text(limit: &Limit) -> Text {
    let period = limit.period_secs.map(|p| p.to_string()).unwrap_or_default();
    let mut param = vec![limit.value.to_string()];
    let mut text = limit.description.replace("{0}", &param[0]);
    if limit.period_secs.is_some() {
        text = text.replace("{1}", &period);
        param.push(period);
    }
    Text {
        key: limit.key,
        param,
        text,
    }
}

/// `GET /users/current/api-limits?limits=1,3,390`: the listed limits (none listed: all), each
/// `{limit, status_code, value, period_sec, description}`; an unknown id has status 104.
pub async fn api_limits(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let _permit = (state.limits)
        .enter_api_limits(key_of(&[&caller.user_id]))
        .map_err(|busy| {
            ApiError::of(
                Kind::TooManyRequests,
                &messages::LIMIT_API_LIMITS_BUSY,
                &[&busy.max],
            )
            .with_metadata(json!({
                "type": "LIMIT_API_LIMIT_REQUESTS_IN_PROCESSING",
                "maxRequestsInProcessing": busy.max,
                "recommendedRetryTime": state.now().plus_millis(1_000),
            }))
            .retry_after(1)
        })?;
    let query = query_map(raw.as_deref());
    let catalogue = &state.limits.catalogue;
    let ids: Vec<u32> = match query.get("limits").filter(|s| !s.trim().is_empty()) {
        None => catalogue.all().iter().map(|limit| limit.id).collect(),
        Some(list) => {
            let mut ids = Vec::new();
            for part in list
                .split(',')
                .map(str::trim)
                .take(catalogue.all().len() * 2)
            {
                let id = part.parse::<u32>().map_err(|_| {
                    ApiError::field(FieldError::invalid(
                        "limits",
                        Some(json!(list)),
                        "must be a comma-separated list of limit ids",
                    ))
                })?;
                ids.push(id);
            }
            ids
        }
    };
    let entries: Vec<Value> = ids
        .iter()
        .map(|&limit_id| match catalogue.get(limit_id) {
            Some(limit) => json!({
                "limit": limit.id,
                "status_code": LIMIT_FOUND,
                "name": limit.name,
                "kind": limit.kind.as_str(),
                "value": limit.value,
                "period_sec": limit.period_secs,
                "description": limit_text(limit),
            }),
            None => json!({"limit": limit_id, "status_code": LIMIT_UNKNOWN}),
        })
        .collect();
    Ok(Json(json!({ "limit_entries": entries })))
}

/// The query of `GET /users/current/api-limits`.
pub const API_LIMITS_QUERY: &[Field] = &[opt(
    "limits",
    K::String,
    "Comma-separated limit ids; none lists every limit",
)];

/// `GET /users/current/user-messages?after=ID&limit=N`: the caller's queued messages
/// ([`crate::user_messages`]), oldest first.
pub async fn user_messages(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<UserMessage>>, ApiError> {
    let q = query_map(raw.as_deref());
    let mut problems = Vec::new();
    let after = count_param(
        "after",
        q.get("after").map(String::as_str),
        usize::MAX,
        &mut problems,
    );
    let limit = count_param(
        "limit",
        q.get("limit").map(String::as_str),
        USER_MESSAGES_KEPT,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    let after = u64::try_from(after.unwrap_or(0)).unwrap_or(u64::MAX);
    Ok(Json(state.user_messages.after(
        &caller.user_id,
        after,
        limit.unwrap_or(USER_MESSAGES_KEPT),
    )))
}

/// The query of `GET /users/current/user-messages`.
pub const USER_MESSAGES_QUERY: &[Field] = &[
    opt("after", K::Integer, "Only messages with a greater id"),
    opt("limit", K::Integer, "Messages to answer, at most 100"),
];

/// Limit introspection: CPU-credit usage, the limit catalogue, user messages.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .get(
            &format!("{acc}/credits"),
            credit_usage,
            Doc::new(
                "getCpuCreditUsage",
                Client,
                "CPU credits per account, per application and per front-end server: \
                 period, total, available",
            )
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/user-messages",
            user_messages,
            Doc::new(
                "getUserMessages",
                Client,
                "Notices queued for the caller (CQG types: 1 critical error, 2 warning, \
                 3 info, 4 log), oldest first",
            )
            .query(USER_MESSAGES_QUERY)
            .reply_inline(200, object_schema),
        )
        .get(
            "/users/current/api-limits",
            api_limits,
            Doc::new(
                "getApiLimits",
                Client,
                "The limits in force: `limits=1,3,390` (none: all), each \
                 `{limit, status_code, value, period_sec, description}`",
            )
            .query(API_LIMITS_QUERY)
            .reply_inline(200, object_schema),
        )
}
