//! `POST /users/current/accounts`: a new trading account, checked against the broker;
//! idempotent under a `transaction-id`, and within the user's account limit.

use super::{METADATA_BYTES_MAX, NAME_CHARS_MAX, TAGS_MAX, connect, row_doc};
use crate::auth::{Caller, random_hex};
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{Fields, JsonObject};
use crate::messages;
use crate::openapi::{Field, Kind as K, opt, req};
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use drawbridge_model::wire::{AccountDoc, AccountKind, Platform, Reliability};
use drawbridge_model::{AccountId, UserId};
use drawbridge_store::{AccountRow, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Account creations in flight per user: the account limit counts them with the stored
/// accounts, so that parallel creates cannot pass it together.
#[derive(Debug, Default)]
pub struct Creating(std::sync::Mutex<HashMap<String, usize>>);

/// A reserved place, given back when the create ends either way.
#[derive(Debug)]
pub struct CreateSlot<'a> {
    creating: &'a Creating,
    user_id: String,
}

impl Creating {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        crate::state::lock(&self.0)
    }

    /// A place for one more of `user_id`'s accounts, if `stored` plus those in flight stay
    /// under `max`.
    pub fn reserve(&self, user_id: &str, stored: usize, max: usize) -> Option<CreateSlot<'_>> {
        let mut map = self.lock();
        let in_flight = map.entry(user_id.to_owned()).or_insert(0);
        if stored.saturating_add(*in_flight) >= max {
            if *in_flight == 0 {
                map.remove(user_id);
            }
            return None;
        }
        *in_flight += 1;
        Some(CreateSlot {
            creating: self,
            user_id: user_id.to_owned(),
        })
    }
}

impl Drop for CreateSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.creating.lock();
        if let Some(n) = map.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user_id);
            }
        }
    }
}

/// The `accounts_per_user` limit (CQG-style: a warning user message at 99%).
fn accounts_per_user(state: &Shared) -> usize {
    let id = drawbridge_limits::catalog::id::ACCOUNTS_PER_USER;
    usize::try_from(state.limits.catalogue.value(id)).unwrap_or(usize::MAX)
}

/// After an account was created: the warning user message once the user holds 99% of the
/// accounts it may.
fn warn_near_account_limit(state: &Shared, user_id: &str, accounts: usize) {
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
    user_id: &str,
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
    Ok(Some(
        (
            StatusCode::CREATED,
            Json(json!({"id": doc.id, "state": doc.state})),
        )
            .into_response(),
    ))
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
    let mut f = Fields::new(&body);
    for key in ["login", "password", "server", "name"] {
        f.require(key);
    }
    let name = f.text("name", NAME_CHARS_MAX);
    let login = f.string("login");
    if let Some(l) = &login
        && (l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 19)
    {
        f.problems.push(FieldError::invalid(
            "login",
            Some(json!(l)),
            "must be digits",
        ));
    }
    let password = f.text("password", 256);
    let server = f.text("server", 256);
    let platform = f
        .one_of("platform", &["mt4", "mt5"])
        .and_then(|p| Platform::from_wire(&p))
        .unwrap_or(Platform::Mt5);
    let kind = f
        .one_of("type", &["cloud", "cloud-g1", "cloud-g2", "self-hosted"])
        .and_then(|t| AccountKind::from_wire(&t))
        .unwrap_or(AccountKind::CloudG2);
    let region = f
        .string("region")
        .unwrap_or_else(|| state.config.region.clone());
    if region != state.config.region {
        f.problems.push(FieldError::new(
            "region",
            Some(json!(region)),
            messages::FIELD_ONE_OF.with(&[&state.config.region]),
        ));
    }
    let reliability = f
        .one_of("reliability", &["regular", "high"])
        .and_then(|r| Reliability::from_wire(&r))
        .unwrap_or(Reliability::Regular);
    let magic = f.integer("magic", 0, i64::from(u32::MAX)).unwrap_or(0);
    let interval = f.number("quoteStreamingIntervalInSeconds").unwrap_or(2.5);
    if !(0.0..=60.0).contains(&interval) {
        f.problems.push(FieldError::invalid(
            "quoteStreamingIntervalInSeconds",
            Some(json!(interval)),
            "must be between 0 and 60",
        ));
    }
    let doc_fields = (
        f.strings("tags", TAGS_MAX).unwrap_or_default(),
        f.strings("keywords", TAGS_MAX).unwrap_or_default(),
        f.object("metadata", METADATA_BYTES_MAX),
        f.boolean("riskManagementApiEnabled").unwrap_or(false),
        f.boolean("metastatsApiEnabled").unwrap_or(false),
        f.boolean("manualTrades").unwrap_or(false),
        f.integer("resourceSlots", 1, 32).unwrap_or(1),
        f.integer("copyFactoryResourceSlots", 1, 32).unwrap_or(1),
        f.string("symbol"),
        f.number("slippage"),
        f.string("baseCurrency"),
        f.strings("copyFactoryRoles", 2).unwrap_or_default(),
        f.string("provisioningProfileId"),
    );
    f.finish()?;
    let (Some(name), Some(login), Some(password), Some(server)) = (name, login, password, server)
    else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let (
        tags,
        keywords,
        metadata,
        risk,
        metastats,
        manual,
        slots,
        cf_slots,
        symbol,
        slippage,
        base_currency,
        roles,
        profile,
    ) = doc_fields;
    let existing = state.store.account_count_of(&caller.user_id).await?;
    let existing = usize::try_from(existing).unwrap_or(usize::MAX);
    let max = accounts_per_user(&state);
    // Held until the row is stored (or the create fails): parallel creates count each other.
    let _slot = state
        .creating
        .reserve(&caller.user_id, existing, max)
        .ok_or_else(|| ApiError::of(Kind::Validation, &messages::ACCOUNT_LIMIT, &[&max]))?;
    let mut doc = AccountDoc::new(
        AccountId::new(random_hex(16)),
        UserId::new(caller.user_id.clone()),
        name,
        login,
        server,
        &region,
        now,
    );
    doc.kind = kind;
    doc.set_platform(platform);
    doc.provisioning_profile_id = profile;
    doc.reliability = reliability;
    doc.magic = magic;
    doc.quote_streaming_interval_in_seconds = interval;
    doc.symbol = symbol;
    doc.tags = tags;
    doc.metadata = metadata;
    doc.resource_slots = slots;
    doc.copy_factory_resource_slots = cf_slots;
    doc.manual_trades = manual;
    doc.slippage = slippage;
    doc.base_currency = base_currency;
    doc.copy_factory_roles = roles;
    doc.risk_management_api_enabled = risk;
    doc.metastats_api_enabled = metastats;
    doc.keywords = keywords;
    let id = doc.id.clone();
    connect(&state, &mut doc, &password).await?;
    let row = AccountRow {
        id: id.to_string(),
        user_id: caller.user_id.clone(),
        doc: serde_json::to_string(&doc).map_err(ApiError::internal)?,
        password: state.vault.seal(&password),
        transaction_id,
        created: now,
    };
    match state.store.create_account(&row).await {
        Ok(()) => {
            warn_near_account_limit(&state, &caller.user_id, existing + 1);
            if risk {
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
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "state": doc.state})),
    )
        .into_response())
}

pub(super) const ACCOUNT_FIELDS: &[Field] = &[
    req("login", K::String, "Broker login (digits)"),
    req(
        "password",
        K::String,
        "Broker password; the investor password gives read-only access",
    ),
    req("server", K::String, "Trade server name"),
    req("name", K::String, "Human-readable account name"),
    opt("platform", K::OneOf(&["mt4", "mt5"]), "Default mt5"),
    opt(
        "type",
        K::OneOf(&["cloud", "cloud-g1", "cloud-g2", "self-hosted"]),
        "Default cloud-g2",
    ),
    opt("region", K::String, "The server's region"),
    opt(
        "reliability",
        K::OneOf(&["regular", "high"]),
        "Default regular",
    ),
    opt("magic", K::Integer, "Magic number of trades the API places"),
    opt(
        "quoteStreamingIntervalInSeconds",
        K::Number,
        "0 to 60; default 2.5",
    ),
    opt("tags", K::Strings, "Tags"),
    opt(
        "keywords",
        K::Strings,
        "Keywords searched by the list query",
    ),
    opt(
        "metadata",
        K::Object,
        "Free-form metadata, at most 1 KiB as JSON",
    ),
    opt(
        "riskManagementApiEnabled",
        K::Boolean,
        "Enable the risk management API",
    ),
    opt(
        "metastatsApiEnabled",
        K::Boolean,
        "Enable the MetaStats API",
    ),
    opt("manualTrades", K::Boolean, "Trades are placed by hand too"),
    opt("resourceSlots", K::Integer, "1 to 32"),
    opt("copyFactoryResourceSlots", K::Integer, "1 to 32"),
    opt("symbol", K::String, "A symbol the account trades"),
    opt("slippage", K::Number, "Default slippage in points"),
    opt("baseCurrency", K::String, "Base currency"),
    opt("copyFactoryRoles", K::Strings, "SUBSCRIBER and/or PROVIDER"),
    opt("provisioningProfileId", K::String, "Provisioning profile"),
];

pub(super) fn created_schema() -> Value {
    json!({"type": "object", "required": ["id", "state"],
        "properties": {"id": {"type": "string"}, "state": {"type": "string"}}})
}
