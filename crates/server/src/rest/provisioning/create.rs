//! `POST /users/current/accounts`: a new trading account, checked against the broker;
//! idempotent under a `transaction-id`, and within the user's account limit.

use super::request::CreateAccount;
use super::{connect, row_doc};
use crate::auth::{Caller, random_hex};
use crate::error::{ApiError, Kind};
use crate::extract::JsonObject;
use crate::messages;
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use drawbridge_model::wire::AccountDoc;
use drawbridge_model::{AccountId, UserId};
use drawbridge_store::{AccountRow, StoreError};
use serde_json::{Value, json};

/// The `accounts_per_user` limit (CQG-style: a warning user message at 99%).
fn accounts_per_user(state: &Shared) -> usize {
    let id = drawbridge_limits::catalog::id::ACCOUNTS_PER_USER;
    usize::try_from(state.limits.catalogue.value(id)).unwrap_or(usize::MAX)
}

/// After an account was created: the warning user message once the user holds 99% of the
/// accounts it may.
fn warn_near_account_limit(state: &Shared, user_id: &UserId, accounts: usize) {
    let max = accounts_per_user(state);
    if accounts.saturating_mul(100) >= max.saturating_mul(99) {
        state.user_messages.notify(
            user_id,
            crate::user_messages::MessageType::Warning,
            messages::ACCOUNTS_NEAR_LIMIT.with(&[&accounts, &max]),
            state.now(),
        );
    }
}
/// The answer to a create whose `transaction-id` this user already used, if so: the same
/// account again for a retry. The same id with another login or server is a different
/// request, refused rather than answered with the first one's account.
async fn replay(
    state: &Shared,
    user_id: &UserId,
    txn: &str,
    body: &serde_json::Map<String, Value>,
) -> Result<Option<Response>, ApiError> {
    let Some(row) = state.store.account_by_transaction(user_id, txn).await? else {
        return Ok(None);
    };
    let doc = row_doc(&row)?;
    let same = |key: &str, stored: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .is_none_or(|v| v == stored)
    };
    if !(same("login", &doc.login) && same("server", &doc.server)) {
        return Err(ApiError::of(
            Kind::Conflict,
            &messages::CONFLICT_TRANSACTION,
            &[&txn],
        ));
    }
    Ok(Some(created(&doc)))
}

/// `POST /users/current/accounts`
pub(super) async fn create(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    if caller.grant.accounts.is_some() {
        return Err(ApiError::forbidden(
            &messages::FORBIDDEN_ACCOUNT,
            &[&"(new)"],
        ));
    }
    let transaction_id = headers
        .get("transaction-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(txn) = &transaction_id
        && let Some(answer) = replay(&state, &caller.user_id, txn, &body).await?
    {
        return Ok(answer);
    }
    let now = state.now();
    let request = CreateAccount::read(&body, &state.config.region)?;
    let existing = state.store.account_count_of(&caller.user_id).await?;
    let existing = usize::try_from(existing).unwrap_or(usize::MAX);
    let max = accounts_per_user(&state);
    // Held until the row is stored (or the create fails): parallel creates count each other.
    let _slot = state
        .creating
        .reserve(&caller.user_id, existing, max)
        .ok_or_else(|| ApiError::of(Kind::Validation, &messages::ACCOUNT_LIMIT, &[&max]))?;
    let id = AccountId::new(random_hex(16));
    let (mut doc, password) = request.into_account(id.clone(), caller.user_id.clone(), now);
    connect(&state, &mut doc, &password).await?;
    let row = AccountRow {
        id: id.to_string(),
        user_id: caller.user_id.to_string(),
        doc: serde_json::to_string(&doc).map_err(ApiError::internal)?,
        password: state.vault.seal(&password),
        transaction_id,
        created: now,
    };
    match state.store.create_account(&row).await {
        Ok(()) => {
            warn_near_account_limit(&state, &caller.user_id, existing + 1);
            if doc.risk_management_api_enabled {
                crate::rest::risk::trackers::follow(&state, &id).await;
            }
        }
        Err(StoreError::Conflict(_)) => {
            // A concurrent create with the same transaction id won; answer as it did.
            state.drop_session(&id);
            if let Some(txn) = &row.transaction_id
                && let Some(answer) = replay(&state, &caller.user_id, txn, &body).await?
            {
                return Ok(answer);
            }
            return Err(ApiError::internal("account id collision"));
        }
        Err(e) => {
            state.drop_session(&id);
            return Err(e.into());
        }
    }
    Ok(created(&doc))
}

/// The answer to a create: the new account's id and state.
fn created(doc: &AccountDoc) -> Response {
    let body = json!({"id": doc.id, "state": doc.state});
    (StatusCode::CREATED, Json(body)).into_response()
}

pub(super) fn created_schema() -> Value {
    json!({"type": "object", "required": ["id", "state"],
        "properties": {"id": {"type": "string"},
            "state": {"$ref": "#/components/schemas/AccountState"}}})
}
