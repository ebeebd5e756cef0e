//! Token routes: narrowing a token down (MetaApi's `narrow-down-auth-token`) and revoking.

use crate::auth::{Caller, Grant};
use crate::error::{ApiError, FieldError};
use crate::extract::{Fields, JsonObject};
use crate::openapi::{Auth, Doc, Tag};
use crate::openapi::{Field, Kind as K, opt};
use crate::routes::Routes;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use drawbridge_model::{AccountId, TokenId};
use serde_json::{Value, json};

/// `POST /users/current/narrow-down-auth-token`: a new API token granting no more than the
/// caller's. The body lists accounts either MetaApi's way (`resources: [{entity: "account",
/// id}]`) or as `accountIds`; `readOnly: true` drops write access.
pub async fn narrow_down(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_api_token()?;
    let mut f = Fields::new(&body);
    let read_only = f.boolean("readOnly").unwrap_or(false);
    let mut ids = f.strings("accountIds", 10_000);
    if let Some(resources) = body.get("resources") {
        let parsed: Option<Vec<String>> = resources.as_array().and_then(|items| {
            items
                .iter()
                .map(|r| {
                    (r.get("entity")?.as_str()? == "account")
                        .then(|| r.get("id")?.as_str().map(str::to_owned))
                        .flatten()
                })
                .collect()
        });
        match parsed {
            Some(list) => ids.get_or_insert_with(Vec::new).extend(list),
            None => f.problems.push(FieldError::invalid(
                "resources",
                Some(resources.clone()),
                "must be a list of {entity: \"account\", id}",
            )),
        }
    }
    f.finish()?;
    let narrower = Grant {
        admin: false,
        read_only,
        accounts: ids.map(|ids| ids.into_iter().map(AccountId::from).collect()),
        account_token: false,
    };
    let grant = caller.grant.narrow(&narrower);
    let token = state
        .tokens
        .mint_api(&caller.user_id, &grant, state.now())
        .await?;
    Ok(Json(json!({ "token": token })))
}

/// `DELETE /users/current/auth-tokens/:tokenId`: revokes one of the caller's tokens
/// (`current` for the one presented).
pub async fn revoke(
    State(state): State<Shared>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = if token_id == "current" {
        caller.token_id.clone()
    } else {
        TokenId::from(token_id)
    };
    if id != caller.token_id {
        caller.require_api_token()?;
    }
    if state
        .tokens
        .revoke(&caller.user_id, &id, state.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            &crate::messages::TOKEN_NOT_FOUND,
            &[&id],
        ))
    }
}

// What the OpenAPI document says about this module's query parameters and bodies;
// the parsers above are the truth, so these stay next to them.

pub const NARROW_FIELDS: &[Field] = &[
    opt("readOnly", K::Boolean, "The narrowed token only reads"),
    opt(
        "accountIds",
        K::Strings,
        "Accounts the narrowed token grants (all of the caller's when absent)",
    ),
];

pub fn token_schema() -> Value {
    json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})
}

/// Token narrowing and revocation.
pub(crate) fn routes(routes: Routes) -> Routes {
    use Tag::Tokens;
    routes
        .post(
            "/users/current/narrow-down-auth-token",
            narrow_down,
            Doc::new(
                "narrowDownAuthToken",
                Tokens,
                "A new token with fewer rights than the caller's",
            )
            .auth(Auth::ApiToken)
            .fields(NARROW_FIELDS)
            .reply_inline(200, token_schema),
        )
        .delete(
            "/users/current/auth-tokens/{token_id}",
            revoke,
            Doc::new(
                "revokeAuthToken",
                Tokens,
                "Revokes one of the caller's tokens",
            )
            .auth(Auth::ApiToken),
        )
}
