//! The account-session helpers every account-scoped family uses (the client API, historical
//! market data, streaming): the ownership and deployment checks that turn the caller's account
//! id into its broker session, one read of that account through the desk, and the errors they
//! answer with.

use crate::access::owned_entry;
use crate::auth::Caller;
use crate::directory::Entry;
use crate::error::{ApiError, FieldError, Kind};
use crate::messages;
use crate::state::Shared;
use drawbridge_broker::account::AccountIdx;
use drawbridge_broker::broker::Session;
use drawbridge_broker::engine::Engine;
use drawbridge_broker::sim::SimBroker;
use drawbridge_desk::DeskError;
use drawbridge_model::Timeframe;
use serde_json::json;
use std::sync::Arc;

/// The account's broker session, after the ownership and deployment checks.
pub(crate) async fn session(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Session, ApiError> {
    deployed(state, caller, id)
        .await
        .map(|(_, session)| session)
}

/// The account's directory entry and broker session, after the ownership and deployment
/// checks.
pub(crate) async fn deployed(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(Arc<Entry>, Session), ApiError> {
    let entry = owned_entry(state, caller, id).await?;
    if !entry.doc.deployed() {
        return Err(ApiError::of(
            Kind::Validation,
            &messages::ACCOUNT_NOT_DEPLOYED,
            &[&id],
        ));
    }
    let session = (state.session(id))
        .ok_or_else(|| ApiError::of(Kind::Validation, &messages::ACCOUNT_NOT_CONNECTED, &[&id]))?;
    Ok((entry, session))
}

/// A desk failure as the API answers it: a rejected request names its bad fields, anything
/// else is internal.
pub(crate) fn desk_error(error: DeskError) -> ApiError {
    match error {
        DeskError::Request(problems) => ApiError::fields(
            problems
                .into_iter()
                .map(|problem| FieldError::invalid(problem.field, None, &problem.reason))
                .collect(),
        ),
        other => ApiError::internal(other),
    }
}

/// Runs `read` on the account's server engine and account index, in one step of the desk;
/// `None` when the trade server no longer knows the login ([`gone`]).
pub(super) async fn on_account<R: Send + 'static>(
    state: &Shared,
    session: Session,
    read: impl FnOnce(&SimBroker, &Engine, AccountIdx) -> R + Send + 'static,
) -> Result<Option<R>, ApiError> {
    state
        .desk
        .read(move |broker| {
            let engine = &broker.server(session.account.server).engine;
            (engine.find_login(session.account.login)).map(|account| read(broker, engine, account))
        })
        .await
        .map_err(desk_error)
}

/// The answer for an account whose login its trade server no longer knows.
pub(super) fn gone(id: &str) -> ApiError {
    ApiError::of(Kind::Validation, &messages::ACCOUNT_NOT_CONNECTED, &[&id])
}

/// The answer for a symbol the account's trade server does not list.
pub(crate) fn unknown_symbol(symbol: &str) -> ApiError {
    ApiError::field(FieldError::new(
        "symbol",
        Some(json!(symbol)),
        messages::FIELD_UNKNOWN_SYMBOL.with(&[&symbol]),
    ))
}

/// A timeframe path parameter (`1m` … `1mn`).
pub(crate) fn timeframe_param(timeframe: &str) -> Result<Timeframe, ApiError> {
    timeframe.parse().map_err(|_| {
        ApiError::field(FieldError::new(
            "timeframe",
            Some(json!(timeframe)),
            messages::FIELD_ONE_OF.with(&[&Timeframe::ALL.map(Timeframe::as_str).join(" ")]),
        ))
    })
}
