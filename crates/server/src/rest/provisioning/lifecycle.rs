//! One account's life after its creation: read, change, delete, deploy and undeploy, the risk
//! management switch; and at start, reconnecting every deployed account to the broker.

use super::{METADATA_BYTES_MAX, NAME_CHARS_MAX, TAGS_MAX, connect, owned, save};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Fields, JsonObject};
use crate::openapi::{Field, Kind as K, opt};
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
    let mut f = Fields::new(&body);
    let name = f.text("name", NAME_CHARS_MAX);
    let password = f.text("password", 256);
    let server = f.text("server", 256);
    let magic = f.integer("magic", 0, i64::from(u32::MAX));
    let interval = f.number_in("quoteStreamingIntervalInSeconds", 0.0, 60.0);
    let tags = f.strings("tags", TAGS_MAX);
    let metadata = f.object("metadata", METADATA_BYTES_MAX);
    let manual = f.boolean("manualTrades");
    let slippage = f.number("slippage");
    let slots = f.integer("resourceSlots", 1, 32);
    f.finish()?;
    if let Some(v) = name {
        doc.name = v;
    }
    if let Some(v) = server {
        doc.server = v;
    }
    if let Some(v) = magic {
        doc.magic = v;
    }
    if let Some(v) = interval {
        doc.quote_streaming_interval_in_seconds = v;
    }
    if let Some(v) = tags {
        doc.tags = v;
    }
    if metadata.is_some() {
        doc.metadata = metadata;
    }
    if let Some(v) = manual {
        doc.manual_trades = v;
    }
    if slippage.is_some() {
        doc.slippage = slippage;
    }
    if let Some(v) = slots {
        doc.resource_slots = v;
    }
    let credentials_changed = password.is_some() || body.contains_key("server");
    if credentials_changed && doc.deployed() {
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
    if credentials_changed {
        // The risk engine follows the broker account the document now names.
        crate::rest::risk::trackers::relocate(&state, &id).await;
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
    owned(&state, &caller, &id).await?;
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
        state.drop_session(&id);
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
    crate::rest::risk::trackers::follow(&state, &id).await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) const ACCOUNT_UPDATE_FIELDS: &[Field] = &[
    opt("name", K::String, "Human-readable account name"),
    opt("password", K::String, "New broker password"),
    opt("server", K::String, "Trade server name"),
    opt("magic", K::Integer, "Magic number"),
    opt("quoteStreamingIntervalInSeconds", K::Number, "0 to 60"),
    opt("tags", K::Strings, "Tags"),
    opt(
        "metadata",
        K::Object,
        "Free-form metadata, at most 1 KiB as JSON",
    ),
    opt("manualTrades", K::Boolean, "Trades are placed by hand too"),
    opt("slippage", K::Number, "Default slippage in points"),
    opt("resourceSlots", K::Integer, "1 to 32"),
];
