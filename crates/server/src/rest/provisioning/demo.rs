//! The demo-account generator (`…/mt5-demo-accounts`, `…/mt4-demo-accounts`) and the
//! `--demo` seeding of two provisioned demo accounts at the first start.

use super::{NAME_CHARS_MAX, broker_error, connect, server_names};
use crate::auth::{Caller, random_hex};
use crate::error::{ApiError, FieldError};
use crate::extract::{Fields, JsonObject};
use crate::openapi::{Field, Kind as K, opt};
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use drawbridge_desk::{Op, Outcome};
use drawbridge_model::wire::AccountDoc;
use drawbridge_model::{AccountId, UserId};
use drawbridge_store::AccountRow;
use serde_json::{Value, json};

/// `POST /users/current/provisioning-profiles/:profile/mt5-demo-accounts` (and `mt4-…`):
/// opens an account on the simulated broker and returns its credentials.
pub(super) async fn demo_account(
    State(state): State<Shared>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require_write()?;
    caller.require_api_token()?;
    let mut f = Fields::new(&body);
    let balance = f.number("balance").unwrap_or(10_000.0);
    if !(0.0..=1e12).contains(&balance) {
        f.problems.push(FieldError::invalid(
            "balance",
            Some(json!(balance)),
            "must be between 0 and 1e12",
        ));
    }
    let leverage = f.integer("leverage", 1, 10_000).unwrap_or(100);
    let currency = f
        .string("accountType")
        .or_else(|| f.string("currency"))
        .unwrap_or_else(|| "USD".into());
    let name = f
        .text("name", NAME_CHARS_MAX)
        .unwrap_or_else(|| "Demo account".into());
    let server = f
        .string("serverName")
        .unwrap_or_else(|| drawbridge_broker::sim::DEMO_SERVER.into());
    let _ = f.string("email");
    if drawbridge_broker::symbol::Currency::new(&currency).is_none() {
        f.problems.push(FieldError::invalid(
            "accountType",
            Some(json!(currency)),
            "must be a currency code like USD",
        ));
    }
    f.finish()?;
    let op = Op::OpenDemo {
        server: server.clone(),
        name,
        currency,
        leverage: u32::try_from(leverage).unwrap_or(100),
        balance_cents: drawbridge_model::Money::from_f64(balance).0,
    };
    match state.desk.apply(op).await {
        Ok(Outcome::Demo(d)) => Ok(Json(json!({
            "login": d.login.to_string(),
            "password": d.password,
            "investorPassword": d.investor_password,
            "serverName": d.server,
        }))),
        Ok(other) => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
        Err(e) => {
            let servers = server_names(&state).await;
            Err(broker_error(e, "(new)", &server, &servers))
        }
    }
}

/// `--demo`: at the first start with it, opens a hedging and a netting demo account on the
/// simulated broker and provisions both for `user_id`. Returns the provisioned ids.
pub async fn seed_demo(state: &Shared, user_id: &UserId) -> Result<Vec<AccountId>, ApiError> {
    const SEEDED: &str = "demo_seeded";
    if state.store.setting(SEEDED).await?.is_some() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::new();
    // Each seeded account carries its own transaction id, so a start that stopped half-way
    // through seeding completes it on the next start instead of duplicating what was done.
    for (server, name, transaction) in [
        (
            drawbridge_broker::sim::DEMO_SERVER,
            "Demo hedging",
            "demo-seed-hedging",
        ),
        (
            drawbridge_broker::sim::NETTING_SERVER,
            "Demo netting",
            "demo-seed-netting",
        ),
    ] {
        if let Some(row) = state
            .store
            .account_by_transaction(user_id, transaction)
            .await?
        {
            ids.push(AccountId::new(row.id));
            continue;
        }
        let op = Op::OpenDemo {
            server: server.into(),
            name: name.into(),
            currency: "USD".into(),
            leverage: 100,
            balance_cents: 1_000_000,
        };
        let Outcome::Demo(d) = state.desk.apply(op).await.map_err(ApiError::internal)? else {
            return Err(ApiError::internal("demo account not opened"));
        };
        let now = state.now();
        let mut doc = AccountDoc::new(
            AccountId::new(random_hex(16)),
            user_id.clone(),
            name.into(),
            d.login.to_string(),
            d.server.clone(),
            &state.config.region,
            now,
        );
        connect(state, &mut doc, &d.password).await?;
        let row = AccountRow {
            id: doc.id.to_string(),
            user_id: user_id.to_string(),
            doc: serde_json::to_string(&doc).map_err(ApiError::internal)?,
            password: state.vault.seal(&d.password),
            transaction_id: Some(transaction.to_owned()),
            created: now,
        };
        state.store.create_account(&row).await?;
        ids.push(doc.id);
    }
    state.store.setting_or_insert(SEEDED, "1").await?;
    Ok(ids)
}

pub(super) const DEMO_FIELDS: &[Field] = &[
    opt("balance", K::Number, "Starting balance; default 10000"),
    opt("leverage", K::Integer, "1 to 10000; default 100"),
    opt(
        "accountType",
        K::String,
        "Deposit currency, e.g. USD (also read from `currency`)",
    ),
    opt("serverName", K::String, "Demo trade server"),
    opt("name", K::String, "Account owner name"),
    opt("email", K::String, "Accepted and ignored"),
];

pub(super) fn demo_account_schema() -> Value {
    json!({"type": "object", "required": ["login", "password", "investorPassword", "serverName"],
        "properties": {"login": {"type": "string"}, "password": {"type": "string"},
            "investorPassword": {"type": "string"}, "serverName": {"type": "string"}}})
}
