//! Which accounts a caller may reach: its own, within its token's grant.
//!
//! Every REST route and socket request that names an account asks here, so the answer is the
//! same by every path: another user's account, or one outside the token's account list, is
//! `NotFound` or `Forbidden` before anything is read or done. What the caller may do to it
//! (write, trade) is its [`Caller`]'s grant's to say ([`Caller::require_write`]).

use crate::auth::Caller;
use crate::directory::Entry;
use crate::error::ApiError;
use crate::messages;
use crate::state::Shared;
use drawbridge_model::wire::AccountDoc;
use drawbridge_store::AccountRow;
use std::sync::Arc;

/// The caller's account `id`, or NotFound (also for other users' accounts).
pub async fn owned(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(AccountRow, AccountDoc), ApiError> {
    let e = owned_entry(state, caller, id).await?;
    Ok((e.row.clone(), e.doc.clone()))
}

/// [`owned`] without copying the row: what the client API checks on every request.
pub async fn owned_entry(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Arc<Entry>, ApiError> {
    let entry = state
        .directory
        .get(state.store.as_ref(), id)
        .await?
        .filter(|e| e.row.user_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found(&messages::ACCOUNT_NOT_FOUND, &[&id]))?;
    caller.require_account(id)?;
    Ok(entry)
}
