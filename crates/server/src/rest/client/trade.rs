//! Trading on a deployed account: `POST …/trade` (every `actionType`, through the risk check
//! and then the desk as one journaled op) and the margin an order would need.

use super::session::{desk_error, gone, on_account, session, unknown_symbol};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::extract::JsonObject;
use crate::limits::Cost;
use crate::messages;
use crate::openapi::{Doc, Tag};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use drawbridge_broker::account::Access;
use drawbridge_broker::engine::records::Side;
use drawbridge_desk::{Op, Outcome};
use drawbridge_model::wire as w;
use drawbridge_model::{Price, Volume};
use serde_json::{Map, Value, json};

/// `POST …/trade`
pub async fn trade(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<w::TradeResponse>, ApiError> {
    caller.require_write()?;
    let session = session(&state, &caller, &id).await?;
    let request: w::TradeRequest = serde_json::from_value(Value::Object(body))
        .map_err(|error| ApiError::field(FieldError::invalid("trade", None, &error.to_string())))?;
    state.risk.check_trade(&id, &request)?;
    let op = Op::Trade {
        server: session.account.server,
        login: session.account.login,
        investor: session.access == Access::Investor,
        request: Box::new(request),
    };
    match state.desk.apply(op).await.map_err(desk_error)? {
        Outcome::Trade(response) => Ok(Json(response)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `POST …/calculate-margin`: the margin a `MarginOrder` (`symbol`, `type` buy or sell,
/// `volume`, `openPrice`) would need on its own, in the account's currency: `{margin}`.
pub async fn calculate_margin(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let order = MarginOrder::parse(&body)?;
    Ok(Json(
        json!({ "margin": read_margin(&state, &caller, &id, order).await? }),
    ))
}

/// A validated `MarginOrder`.
#[derive(Debug, Clone)]
pub(crate) struct MarginOrder {
    symbol: String,
    side: Side,
    volume: Volume,
    open_price: Price,
}

impl MarginOrder {
    /// Every bad field at once, as a `ValidationError`.
    pub(crate) fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let symbol = match body.get("symbol") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(v) => {
                problems.push(FieldError::invalid(
                    "symbol",
                    Some(v.clone()),
                    "not a symbol name",
                ));
                String::new()
            }
            None => {
                problems.push(FieldError::required("symbol"));
                String::new()
            }
        };
        let side = match body.get("type").and_then(Value::as_str) {
            Some("ORDER_TYPE_BUY") => Some(Side::Buy),
            Some("ORDER_TYPE_SELL") => Some(Side::Sell),
            None if !body.contains_key("type") => {
                problems.push(FieldError::required("type"));
                None
            }
            _ => {
                problems.push(FieldError::new(
                    "type",
                    body.get("type").cloned(),
                    messages::FIELD_ONE_OF.with(&[&"ORDER_TYPE_BUY, ORDER_TYPE_SELL"]),
                ));
                None
            }
        };
        // Eight-decimal fixed point, above zero.
        let mut positive = |name: &str| match body.get(name) {
            Some(v) => {
                let fixed = v.as_f64().filter(|x| *x > 0.0).and_then(Price::from_f64);
                if fixed.is_none_or(|p| p.0 <= 0) {
                    problems.push(FieldError::invalid(
                        name,
                        Some(v.clone()),
                        "must be a number above 0",
                    ));
                }
                fixed
            }
            None => {
                problems.push(FieldError::required(name));
                None
            }
        };
        let (volume, open_price) = (positive("volume"), positive("openPrice"));
        match (side, volume, open_price) {
            (Some(side), Some(volume), Some(open_price)) if problems.is_empty() => Ok(Self {
                symbol,
                side,
                volume: Volume(volume.0),
                open_price,
            }),
            _ => Err(ApiError::fields(problems)),
        }
    }
}

/// The margin `order` would need on the account (REST and streaming RPC).
pub(crate) async fn read_margin(
    state: &Shared,
    caller: &Caller,
    id: &str,
    order: MarginOrder,
) -> Result<f64, ApiError> {
    let session = session(state, caller, id).await?;
    let name = order.symbol.clone();
    let margin = on_account(state, session, move |_, engine, account| {
        let symbol = engine.symbol(&name)?;
        Some(engine.order_margin(account, symbol, order.side, order.volume, order.open_price))
    })
    .await?
    .ok_or_else(|| gone(id))?;
    margin
        .map(|m| m.to_f64())
        .ok_or_else(|| unknown_symbol(&order.symbol))
}

/// Trading and the margin an order would need.
pub(super) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Client;
    routes
        .post(
            &format!("{acc}/trade"),
            trade,
            Doc::new("trade", Client, "Executes a trade; every actionType")
                .cost(Cost::cpu(10.0))
                .body::<w::TradeRequest>()
                .reply::<w::TradeResponse>(),
        )
        .post(
            &format!("{acc}/calculate-margin"),
            calculate_margin,
            Doc::new(
                "calculateMargin",
                Client,
                "The margin an order (symbol, type, volume, openPrice) would need on its own",
            )
            .cost(Cost::cpu(50.0)),
        )
}
