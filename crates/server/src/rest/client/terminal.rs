//! A deployed account's terminal state: account information, open positions and pending
//! orders, the whole terminal read at once for a streaming synchronization, the trade
//! server's time, and the REST unsubscribe.

use super::session::{desk_error, gone, on_account, session};
use crate::access::owned;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::limits::Cost;
use crate::messages;
use crate::openapi::{Doc, Tag};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use drawbridge_broker::account::{Access, AccountIdx};
use drawbridge_broker::engine::Engine;
use drawbridge_broker::metaapi as bw;
use drawbridge_broker::symbol::SymbolIdx;
use drawbridge_model::Timestamp;
use drawbridge_model::wire as w;
use serde_json::json;

/// The account's information; `None` for an account not cleared by statements (the
/// request succeeds with no data). The one read behind REST and the streaming RPC.
pub(crate) async fn read_account_information(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Option<w::AccountInformation>, ApiError> {
    let session = session(state, caller, id).await?;
    on_account(state, session, move |_, engine, account| {
        information(engine, account, session.access)
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// The account's information; `None` for an account whose summary is not reported.
pub(crate) fn information(
    engine: &Engine,
    account: AccountIdx,
    access: Access,
) -> Option<w::AccountInformation> {
    let reported = (engine.account(account)).is_some_and(|acc| acc.kind.is_reported());
    reported
        .then(|| bw::account_information(engine, account, access, "Drawbridge"))
        .flatten()
}

/// `GET …/account-information`
pub async fn account_information(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(
        match read_account_information(&state, &caller, &id).await? {
            Some(information) => Json(information).into_response(),
            None => Json(json!({})).into_response(),
        },
    )
}

/// The account's open positions (REST and streaming RPC).
pub(crate) async fn read_positions(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Vec<w::Position>, ApiError> {
    let session = session(state, caller, id).await?;
    on_account(state, session, move |broker, engine, _| {
        (broker.positions(&session))
            .map(|open| bw::positions(engine, &open))
            .unwrap_or_default()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/positions`
pub async fn positions(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<w::Position>>, ApiError> {
    Ok(Json(read_positions(&state, &caller, &id).await?))
}

/// `GET …/positions/:positionId`
pub async fn position(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, position_id)): Path<(String, String)>,
) -> Result<Json<w::Position>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let pid = position_id.parse::<u64>().ok();
    on_account(&state, session, move |broker, engine, _| {
        let open = broker.positions(&session).unwrap_or_default();
        (open.iter())
            .find(|p| Some(p.id) == pid)
            .map(|p| bw::position(engine, p))
    })
    .await?
    .flatten()
    .map(Json)
    .ok_or_else(|| ApiError::not_found(&messages::NOT_FOUND_POSITION, &[&position_id]))
}

/// `GET …/orders`
pub async fn orders(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<w::Order>>, ApiError> {
    Ok(Json(read_orders(&state, &caller, &id).await?))
}

/// The account's pending orders (REST and streaming).
pub(crate) async fn read_orders(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<Vec<w::Order>, ApiError> {
    let session = session(state, caller, id).await?;
    on_account(state, session, move |broker, engine, _| {
        (broker.orders(&session))
            .map(|pending| {
                (pending.iter())
                    .map(|o| bw::order(engine, o))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `GET …/orders/:orderId`
pub async fn order(
    State(state): State<Shared>,
    caller: Caller,
    Path((id, order_id)): Path<(String, String)>,
) -> Result<Json<w::Order>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let oid = order_id.parse::<u64>().ok();
    on_account(&state, session, move |broker, engine, _| {
        let pending = broker.orders(&session).unwrap_or_default();
        (pending.iter())
            .find(|o| Some(o.id) == oid)
            .map(|o| bw::order(engine, o))
    })
    .await?
    .flatten()
    .map(Json)
    .ok_or_else(|| ApiError::not_found(&messages::NOT_FOUND_ORDER, &[&order_id]))
}

/// An account's terminal state, read in one step of the desk (so no change falls between
/// its parts): what a streaming synchronization sends, and an update compares.
#[derive(Debug)]
pub(crate) struct Terminal {
    pub specifications: Vec<w::SymbolSpecification>,
    pub information: Option<w::AccountInformation>,
    pub positions: Vec<w::Position>,
    pub orders: Vec<w::Order>,
    pub deals: Vec<w::Deal>,
    pub history_orders: Vec<w::Order>,
}

impl Terminal {
    /// With the trade server's symbol specifications (a synchronization sends them).
    pub(crate) const WITH_SPECIFICATIONS: bool = true;
    /// Without them (an update never changes them).
    pub(crate) const WITHOUT_SPECIFICATIONS: bool = false;
}

/// The account's terminal state, with deals and history orders from the given times on.
pub(crate) async fn read_terminal(
    state: &Shared,
    caller: &Caller,
    id: &str,
    specifications: bool,
    deals_from: Timestamp,
    orders_from: Timestamp,
) -> Result<Terminal, ApiError> {
    let session = session(state, caller, id).await?;
    let end = Timestamp(i64::MAX);
    on_account(state, session, move |broker, engine, account| Terminal {
        specifications: if specifications {
            (broker.symbols(session.account.server).iter())
                .map(bw::symbol_specification)
                .collect()
        } else {
            Vec::new()
        },
        information: information(engine, account, session.access),
        positions: bw::positions(engine, &broker.positions(&session).unwrap_or_default()),
        orders: (broker.orders(&session).unwrap_or_default().iter())
            .map(|o| bw::order(engine, o))
            .collect(),
        deals: (broker.deals(&session, deals_from, end))
            .unwrap_or_default()
            .iter()
            .map(|d| bw::deal(engine, d))
            .collect(),
        history_orders: (broker.history_orders(&session, orders_from, end))
            .unwrap_or_default()
            .iter()
            .map(|o| bw::order(engine, o))
            .collect(),
    })
    .await?
    .ok_or_else(|| gone(id))
}

/// `POST …/unsubscribe`: the cloud releases the terminal subscription a REST call keeps
/// open. REST calls here hold no subscription, so there is nothing to release; the account
/// checks still apply.
pub async fn unsubscribe(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    owned(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/server-time`
pub async fn server_time(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<w::ServerTime>, ApiError> {
    let session = session(&state, &caller, &id).await?;
    let time = state
        .desk
        .read(move |broker| {
            let engine = &broker.server(session.account.server).engine;
            let last = (0..engine.specs().len())
                .map(|index| engine.quote(SymbolIdx(index as u32)))
                .filter(|q| q.is_live())
                .map(|q| q.time)
                .max();
            bw::server_time(engine.config().zone, broker.now(), last)
        })
        .await
        .map_err(desk_error)?;
    Ok(Json(time))
}

/// Account information, positions, orders, server time, unsubscribe.
pub(super) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .get(
            &format!("{acc}/account-information"),
            account_information,
            Doc::new(
                "getAccountInformation",
                Client,
                "Balance, equity, margin and the account's properties",
            )
            .cost(Cost::cpu(50.0))
            .reply::<w::AccountInformation>(),
        )
        .get(
            &format!("{acc}/positions"),
            positions,
            Doc::new("getPositions", Client, "Open positions")
                .cost(Cost::cpu(50.0))
                .reply::<Vec<w::Position>>(),
        )
        .get(
            &format!("{acc}/positions/{{position_id}}"),
            position,
            Doc::new("getPosition", Client, "One open position")
                .cost(Cost::cpu(50.0))
                .reply::<w::Position>(),
        )
        .get(
            &format!("{acc}/orders"),
            orders,
            Doc::new("getOrders", Client, "Pending orders")
                .cost(Cost::cpu(50.0))
                .reply::<Vec<w::Order>>(),
        )
        .get(
            &format!("{acc}/orders/{{order_id}}"),
            order,
            Doc::new("getOrder", Client, "One pending order")
                .cost(Cost::cpu(50.0))
                .reply::<w::Order>(),
        )
        .post(
            &format!("{acc}/unsubscribe"),
            unsubscribe,
            Doc::new(
                "unsubscribe",
                Client,
                "Ends the account's market data subscriptions",
            ),
        )
        .get(
            &format!("{acc}/server-time"),
            server_time,
            Doc::new("getServerTime", Client, "The trade server's time")
                .cost(Cost::cpu(50.0))
                .reply::<w::ServerTime>(),
        )
}
