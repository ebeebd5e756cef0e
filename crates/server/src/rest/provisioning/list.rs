//! `GET /users/current/accounts`: the caller's accounts, filtered and paginated as the SDK
//! asks (repeated keys for lists, `api-version: 2` for `{count, items}`).

use super::row_doc;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::extract::count_param;
use crate::messages;
use crate::openapi::{Field, Kind as K, opt};
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use drawbridge_model::wire::AccountDoc;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Largest page of the account list.
const LIST_LIMIT_MAX: usize = 1_000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    offset: Option<String>,
    limit: Option<String>,
    query: Option<String>,
    state: Option<String>,
    connection_status: Option<String>,
    region: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    version: Option<String>,
    sort_order: Option<String>,
}

/// Parses repeated keys (`state=A&state=B`) too: the SDK sends lists that way.
fn multi(raw: &str, key: &str) -> Vec<String> {
    raw.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| crate::extract::percent_decode(v))
        .filter(|v| !v.is_empty())
        .collect()
}

/// `GET /users/current/accounts`
pub(super) async fn list(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    caller.require_api_token()?;
    let raw = raw.unwrap_or_default();
    let q: ListQuery = serde_urlencoded_lenient(&raw);
    let mut problems = Vec::new();
    let offset = count_param("offset", q.offset.as_deref(), usize::MAX, &mut problems).unwrap_or(0);
    let limit = count_param("limit", q.limit.as_deref(), LIST_LIMIT_MAX, &mut problems)
        .unwrap_or(LIST_LIMIT_MAX);
    let sort_desc = match q.sort_order.as_deref() {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            problems.push(FieldError::new(
                "sortOrder",
                Some(json!(other)),
                messages::FIELD_ONE_OF.with(&[&"asc, desc"]),
            ));
            false
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    let states = multi(&raw, "state");
    let statuses = multi(&raw, "connectionStatus");
    let regions = multi(&raw, "region");
    let versions = multi(&raw, "version");
    let kinds: Vec<String> = q.kind.iter().filter(|s| !s.is_empty()).cloned().collect();
    let needle = q
        .query
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let _ = (&q.state, &q.connection_status, &q.region, &q.version);
    let mut docs = Vec::new();
    for row in state.store.accounts_of(&caller.user_id).await? {
        let doc = row_doc(&row)?;
        if !caller.grant.allows_account(&doc.id) {
            continue;
        }
        let named = |list: &[String], value: &str| list.iter().any(|v| v == value);
        let keep = (states.is_empty() || named(&states, doc.state.as_str()))
            && (statuses.is_empty() || named(&statuses, doc.connection_status.as_str()))
            && (regions.is_empty() || regions.contains(&doc.region))
            && (versions.is_empty() || versions.contains(&doc.version.to_string()))
            && (kinds.is_empty() || named(&kinds, doc.kind.as_str()))
            && needle.as_ref().is_none_or(|n| {
                [doc.id.as_str(), &doc.name, &doc.server, &doc.login]
                    .iter()
                    .any(|f| f.to_lowercase().contains(n.as_str()))
            });
        if keep {
            docs.push(doc);
        }
    }
    docs.sort_by_key(|d| d.state_changed_at);
    if sort_desc {
        docs.reverse();
    }
    let count = docs.len();
    let page: Vec<AccountDoc> = docs.into_iter().skip(offset).take(limit).collect();
    let v2 = headers.get("api-version").and_then(|v| v.to_str().ok()) == Some("2");
    Ok(if v2 {
        Json(json!({"count": count, "items": page})).into_response()
    } else {
        Json(page).into_response()
    })
}

/// Reads known keys of a query string, ignoring malformed pairs and unknown keys.
fn serde_urlencoded_lenient(raw: &str) -> ListQuery {
    let mut map: HashMap<String, String> = HashMap::new();
    for (k, v) in raw.split('&').filter_map(|kv| kv.split_once('=')) {
        map.entry(crate::extract::percent_decode(k))
            .or_insert_with(|| crate::extract::percent_decode(v));
    }
    let get = |k: &str| map.get(k).cloned();
    ListQuery {
        offset: get("offset"),
        limit: get("limit"),
        query: get("query"),
        state: get("state"),
        connection_status: get("connectionStatus"),
        region: get("region"),
        kind: get("type"),
        version: get("version"),
        sort_order: get("sortOrder"),
    }
}

/// The MetaApi `api-version` header and the other list parameters of the provisioning list.
pub(super) const ACCOUNT_LIST_QUERY: &[Field] = &[
    opt("offset", K::Integer, "Records to skip"),
    opt("limit", K::Integer, "Records to answer, at most 1000"),
    opt(
        "query",
        K::String,
        "Text searched in name, login, server, tags and keywords",
    ),
    opt(
        "state",
        K::Strings,
        "Account states (repeat the key for several)",
    ),
    opt(
        "connectionStatus",
        K::Strings,
        "Connection statuses (repeat the key for several)",
    ),
    opt("region", K::String, "Region"),
    opt("type", K::Strings, "Account types"),
    opt("version", K::Integer, "MetaTrader version (4 or 5)"),
    opt(
        "sortOrder",
        K::OneOf(&["asc", "desc"]),
        "Order by creation time",
    ),
];

pub(super) fn account_page_schema() -> Value {
    let accounts = json!({"type": "array",
        "items": {"$ref": "#/components/schemas/MetatraderAccount"}});
    json!({"description": "A list of MetatraderAccount; with `api-version: 2`, `{count, items}`",
    "oneOf": [
        accounts,
        {"type": "object", "required": ["count", "items"], "properties": {
            "count": {"type": "integer"}, "items": accounts}}
    ]})
}
