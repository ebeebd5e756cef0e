//! One account's life after its creation: read, change, delete, deploy and undeploy, the risk
//! management switch; and at start, reconnecting every deployed account to the broker.

use super::request::UpdateAccount;
use super::{connect, save};
use crate::access::owned;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::JsonObject;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use drawbridge_model::wire::AccountDoc;
use drawbridge_store::StoreError;

/// Re-connects every deployed account at start; an account whose credentials no longer work
/// is left deployed but disconnected from the broker.
pub async fn reconnect_all(state: &Shared) -> Result<usize, StoreError> {
    let mut n = 0;
    for row in state.store.all_accounts().await? {
        let Ok(mut doc) = serde_json::from_str::<AccountDoc>(&row.doc) else {
            continue;
        };
        if !doc.deployed() {
            continue;
        }
        let Ok(password) = state.vault.open_sealed(&row.password) else {
            tracing::warn!(account_id = %doc.id, "stored password cannot be decrypted");
            continue;
        };
        if connect(state, &mut doc, &password).await.is_ok() {
            n += 1;
        } else {
            tracing::warn!(account_id = %doc.id, "broker refused the stored credentials");
        }
    }
    Ok(n)
}

/// `GET /users/current/accounts/:id`
pub(super) async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountDoc>, ApiError> {
    Ok(Json(owned(&state, &caller, &id).await?.1))
}

/// `PUT /users/current/accounts/:id`: a partial update.
pub(super) async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    let (row, mut doc) = owned(&state, &caller, &id).await?;
    let request = UpdateAccount::read(&body)?;
    request.apply(&mut doc);
    let password = request.password;
    if request.credentials_named && doc.deployed() {
        let pw = match &password {
            Some(p) => p.clone(),
            None => state
                .vault
                .open_sealed(&row.password)
                .map_err(ApiError::internal)?,
        };
        connect(&state, &mut doc, &pw).await?;
    }
    save(&state, &row, &doc, password.as_deref()).await?;
    if request.credentials_named {
        // The risk engine follows the broker account the document now names.
        crate::rest::risk::trackers::relocate(&state, &doc.id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/current/accounts/:id`
pub(super) async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    let id = owned(&state, &caller, &id).await?.1.id;
    state.store.delete_account(&id).await?;
    state.directory.invalidate(&id);
    state.drop_session(&id);
    state.risk.forget(&id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /users/current/accounts/:id/deploy`
pub(super) async fn deploy(
    state: State<Shared>,
    caller: Caller,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_deployed(state, caller, id, true).await
}

/// `POST /users/current/accounts/:id/undeploy`
pub(super) async fn undeploy(
    state: State<Shared>,
    caller: Caller,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_deployed(state, caller, id, false).await
}

/// `POST /users/current/accounts/:id/redeploy`
pub(super) async fn redeploy(
    state: State<Shared>,
    caller: Caller,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_deployed(state, caller, id, true).await
}

async fn set_deployed(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    deployed: bool,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    let (row, mut doc) = owned(&state, &caller, &id).await?;
    if deployed {
        let pw = state
            .vault
            .open_sealed(&row.password)
            .map_err(ApiError::internal)?;
        connect(&state, &mut doc, &pw).await?;
    } else {
        state.drop_session(&doc.id);
    }
    doc.set_deployed(deployed, state.now());
    save(&state, &row, &doc, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /users/current/accounts/:id/enable-risk-management-api`
pub(super) async fn enable_risk_management(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    let (row, mut doc) = owned(&state, &caller, &id).await?;
    doc.risk_management_api_enabled = true;
    save(&state, &row, &doc, None).await?;
    crate::rest::risk::trackers::follow(&state, &doc.id).await;
    Ok(StatusCode::NO_CONTENT)
}
