//! The account management (provisioning) API: trading accounts as MetaApi's
//! `/users/current/accounts` resource, and the demo-account generator.
//!
//! An account is a document (every MetaApi field, `null` where unset, as the SDK reads them
//! all) plus the broker password, encrypted. Creating or deploying checks the credentials
//! against the broker (`E_AUTH`, `E_SRV_NOT_FOUND`); a deployed account holds a broker session
//! with master or investor access. State changes are immediate: `DEPLOYED`/`CONNECTED` or
//! `UNDEPLOYED`/`DISCONNECTED`.

use crate::auth::{Caller, random_hex};
use crate::directory::Entry;
use crate::error::{ApiError, FieldError, Kind};
use crate::extract::{Fields, JsonObject, count_param};
use crate::messages;
use crate::openapi::{Auth, Doc, Tag};
use crate::openapi::{Field, Kind as K, opt, req};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use drawbridge_broker::broker::BrokerError;
use drawbridge_desk::{DeskError, Op, Outcome};
use drawbridge_model::wire::{AccountDoc, AccountKind, Platform, Reliability};
use drawbridge_model::{AccountId, UserId};
use drawbridge_store::{AccountRow, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Accounts one user may hold.
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
/// Largest page of the account list.
const LIST_LIMIT_MAX: usize = 1_000;
const METADATA_BYTES_MAX: usize = 1_024;
const NAME_CHARS_MAX: usize = 100;
const TAGS_MAX: usize = 100;

fn row_doc(row: &AccountRow) -> Result<AccountDoc, ApiError> {
    serde_json::from_str(&row.doc).map_err(ApiError::internal)
}

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

/// Broker errors on credentials, in MetaApi's shape.
fn broker_error(e: DeskError, login: &str, server: &str, servers: &[String]) -> ApiError {
    match e {
        DeskError::Broker(BrokerError::Auth) | DeskError::Broker(BrokerError::AccountNotFound) => {
            ApiError::validation(
                messages::BROKER_AUTH.with(&[&login, &server]),
                json!("E_AUTH"),
            )
        }
        DeskError::Broker(BrokerError::ServerNotFound(_)) => ApiError::validation(
            messages::BROKER_SERVER_NOT_FOUND.with(&[&server]),
            json!({"code": "E_SRV_NOT_FOUND", "serversByBrokers": {"Drawbridge": servers}}),
        ),
        other => ApiError::internal(other),
    }
}

async fn server_names(state: &Shared) -> Vec<String> {
    state
        .desk
        .read(|b| b.server_infos().into_iter().map(|s| s.name).collect())
        .await
        .unwrap_or_default()
}

/// Connects a document's account to the broker and records the session.
async fn connect(state: &Shared, doc: &mut AccountDoc, password: &str) -> Result<(), ApiError> {
    let login: u64 = doc.login.parse().unwrap_or(0);
    match state
        .desk
        .connect(doc.server.clone(), login, password.to_owned())
        .await
    {
        Ok(session) => {
            doc.investor_mode = session.access == drawbridge_broker::account::Access::Investor;
            state.connect_session(&doc.id, &doc.user_id, session);
            Ok(())
        }
        Err(e) => {
            let servers = server_names(state).await;
            Err(broker_error(e, &doc.login, &doc.server, &servers))
        }
    }
}

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
pub async fn create(
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    offset: Option<String>,
    limit: Option<String>,
    query: Option<String>,
    state: Option<String>,
    connection_status: Option<String>,
    region: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    version: Option<String>,
    sort_order: Option<String>,
}

/// Parses repeated keys (`state=A&state=B`) too: the SDK sends lists that way.
fn multi(raw: &str, key: &str) -> Vec<String> {
    raw.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| crate::extract::percent_decode(v))
        .filter(|v| !v.is_empty())
        .collect()
}

/// `GET /users/current/accounts`
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    caller.require_api_token()?;
    let raw = raw.unwrap_or_default();
    let q: ListQuery = serde_urlencoded_lenient(&raw);
    let mut problems = Vec::new();
    let offset = count_param("offset", q.offset.as_deref(), usize::MAX, &mut problems).unwrap_or(0);
    let limit = count_param("limit", q.limit.as_deref(), LIST_LIMIT_MAX, &mut problems)
        .unwrap_or(LIST_LIMIT_MAX);
    let sort_desc = match q.sort_order.as_deref() {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            problems.push(FieldError::new(
                "sortOrder",
                Some(json!(other)),
                messages::FIELD_ONE_OF.with(&[&"asc, desc"]),
            ));
            false
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::fields(problems));
    }
    let states = multi(&raw, "state");
    let statuses = multi(&raw, "connectionStatus");
    let regions = multi(&raw, "region");
    let versions = multi(&raw, "version");
    let kinds: Vec<String> = q.kind.iter().filter(|s| !s.is_empty()).cloned().collect();
    let needle = q
        .query
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let _ = (&q.state, &q.connection_status, &q.region, &q.version);
    let mut docs = Vec::new();
    for row in state.store.accounts_of(&caller.user_id).await? {
        let doc = row_doc(&row)?;
        if !caller.grant.allows_account(&doc.id) {
            continue;
        }
        let named = |list: &[String], value: &str| list.iter().any(|v| v == value);
        let keep = (states.is_empty() || named(&states, doc.state.as_str()))
            && (statuses.is_empty() || named(&statuses, doc.connection_status.as_str()))
            && (regions.is_empty() || regions.contains(&doc.region))
            && (versions.is_empty() || versions.contains(&doc.version.to_string()))
            && (kinds.is_empty() || named(&kinds, doc.kind.as_str()))
            && needle.as_ref().is_none_or(|n| {
                [doc.id.as_str(), &doc.name, &doc.server, &doc.login]
                    .iter()
                    .any(|f| f.to_lowercase().contains(n.as_str()))
            });
        if keep {
            docs.push(doc);
        }
    }
    docs.sort_by_key(|d| d.state_changed_at);
    if sort_desc {
        docs.reverse();
    }
    let count = docs.len();
    let page: Vec<AccountDoc> = docs.into_iter().skip(offset).take(limit).collect();
    let v2 = headers.get("api-version").and_then(|v| v.to_str().ok()) == Some("2");
    Ok(if v2 {
        Json(json!({"count": count, "items": page})).into_response()
    } else {
        Json(page).into_response()
    })
}

/// Reads known keys of a query string, ignoring malformed pairs and unknown keys.
fn serde_urlencoded_lenient(raw: &str) -> ListQuery {
    let mut map: HashMap<String, String> = HashMap::new();
    for (k, v) in raw.split('&').filter_map(|kv| kv.split_once('=')) {
        map.entry(crate::extract::percent_decode(k))
            .or_insert_with(|| crate::extract::percent_decode(v));
    }
    let get = |k: &str| map.get(k).cloned();
    ListQuery {
        offset: get("offset"),
        limit: get("limit"),
        query: get("query"),
        state: get("state"),
        connection_status: get("connectionStatus"),
        region: get("region"),
        kind: get("type"),
        version: get("version"),
        sort_order: get("sortOrder"),
    }
}

/// `GET /users/current/accounts/:id`
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountDoc>, ApiError> {
    Ok(Json(owned(&state, &caller, &id).await?.1))
}

async fn save(
    state: &Shared,
    row: &AccountRow,
    doc: &AccountDoc,
    password: Option<&str>,
) -> Result<(), ApiError> {
    let updated = AccountRow {
        doc: serde_json::to_string(doc).map_err(ApiError::internal)?,
        password: password.map_or_else(|| row.password.clone(), |p| state.vault.seal(p)),
        ..row.clone()
    };
    let found = state.store.update_account(&updated).await?;
    state.directory.invalidate(&updated.id);
    if !found {
        return Err(ApiError::not_found(
            &messages::ACCOUNT_NOT_FOUND,
            &[&doc.id],
        ));
    }
    Ok(())
}

/// `PUT /users/current/accounts/:id`: a partial update.
pub async fn update(
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
pub async fn delete(
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
pub async fn deploy(
    state: State<Shared>,
    caller: Caller,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_deployed(state, caller, id, true).await
}

/// `POST /users/current/accounts/:id/undeploy`
pub async fn undeploy(
    state: State<Shared>,
    caller: Caller,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_deployed(state, caller, id, false).await
}

/// `POST /users/current/accounts/:id/redeploy`
pub async fn redeploy(
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
pub async fn enable_risk_management(
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

/// `POST /users/current/provisioning-profiles/:profile/mt5-demo-accounts` (and `mt4-…`):
/// opens an account on the simulated broker and returns its credentials.
pub async fn demo_account(
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
pub async fn seed_demo(state: &Shared, user_id: &str) -> Result<Vec<String>, ApiError> {
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
            ids.push(row.id);
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
            UserId::new(user_id),
            name.into(),
            d.login.to_string(),
            d.server.clone(),
            &state.config.region,
            now,
        );
        connect(state, &mut doc, &d.password).await?;
        let row = AccountRow {
            id: doc.id.to_string(),
            user_id: user_id.to_owned(),
            doc: serde_json::to_string(&doc).map_err(ApiError::internal)?,
            password: state.vault.seal(&d.password),
            transaction_id: Some(transaction.to_owned()),
            created: now,
        };
        state.store.create_account(&row).await?;
        ids.push(doc.id.into_string());
    }
    state.store.setting_or_insert(SEEDED, "1").await?;
    Ok(ids)
}

// What the OpenAPI document says about this module's query parameters and bodies;
// the parsers above are the truth, so these stay next to them.

/// The MetaApi `api-version` header and the other list parameters of the provisioning list.
pub const ACCOUNT_LIST_QUERY: &[Field] = &[
    opt("offset", K::Integer, "Records to skip"),
    opt("limit", K::Integer, "Records to answer, at most 1000"),
    opt(
        "query",
        K::String,
        "Text searched in name, login, server, tags and keywords",
    ),
    opt(
        "state",
        K::Strings,
        "Account states (repeat the key for several)",
    ),
    opt(
        "connectionStatus",
        K::Strings,
        "Connection statuses (repeat the key for several)",
    ),
    opt("region", K::String, "Region"),
    opt("type", K::Strings, "Account types"),
    opt("version", K::Integer, "MetaTrader version (4 or 5)"),
    opt(
        "sortOrder",
        K::OneOf(&["asc", "desc"]),
        "Order by creation time",
    ),
];

pub const ACCOUNT_FIELDS: &[Field] = &[
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

pub const ACCOUNT_UPDATE_FIELDS: &[Field] = &[
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

pub const DEMO_FIELDS: &[Field] = &[
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

pub fn created_schema() -> Value {
    json!({"type": "object", "required": ["id", "state"],
        "properties": {"id": {"type": "string"}, "state": {"type": "string"}}})
}

pub fn account_page_schema() -> Value {
    json!({"description": "A list of MetatraderAccount; with `api-version: 1`, `{count, items}`",
    "oneOf": [
        {"type": "array", "items": {"$ref": "#/components/schemas/MetatraderAccount"}},
        {"type": "object", "required": ["count", "items"], "properties": {
            "count": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/MetatraderAccount"}}}}
    ]})
}

pub fn demo_account_schema() -> Value {
    json!({"type": "object", "required": ["login", "password", "investorPassword", "serverName"],
        "properties": {"login": {"type": "string"}, "password": {"type": "string"},
            "investorPassword": {"type": "string"}, "serverName": {"type": "string"}}})
}

/// The provisioning API: trading accounts and demo accounts.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Provisioning;
    routes
        .post(
            "/users/current/accounts",
            create,
            Doc::new(
                "createAccount",
                Provisioning,
                "Adds a trading account; `transaction-id` makes it idempotent",
            )
            .auth(Auth::ApiToken)
            .fields(ACCOUNT_FIELDS)
            .reply_inline(201, created_schema)
            .conflict(),
        )
        .get(
            "/users/current/accounts",
            list,
            Doc::new(
                "getAccounts",
                Provisioning,
                "The caller's trading accounts, filtered and paginated",
            )
            .query(ACCOUNT_LIST_QUERY)
            .reply_inline(200, account_page_schema),
        )
        .get(
            acc,
            get,
            Doc::new("getAccount", Provisioning, "One trading account").reply::<AccountDoc>(),
        )
        .put(
            acc,
            update,
            Doc::new("updateAccount", Provisioning, "Changes a trading account")
                .fields(ACCOUNT_UPDATE_FIELDS),
        )
        .delete(
            acc,
            delete,
            Doc::new("deleteAccount", Provisioning, "Removes a trading account"),
        )
        .post(
            &format!("{acc}/deploy"),
            deploy,
            Doc::new(
                "deployAccount",
                Provisioning,
                "Connects the account to its broker",
            ),
        )
        .post(
            &format!("{acc}/undeploy"),
            undeploy,
            Doc::new("undeployAccount", Provisioning, "Disconnects the account"),
        )
        .post(
            &format!("{acc}/redeploy"),
            redeploy,
            Doc::new("redeployAccount", Provisioning, "Reconnects the account"),
        )
        .post(
            &format!("{acc}/enable-risk-management-api"),
            enable_risk_management,
            Doc::new(
                "enableRiskManagementApi",
                Provisioning,
                "Turns the risk management API on for the account",
            )
            .auth(Auth::ApiToken),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt5-demo-accounts",
            demo_account,
            Doc::new(
                "createMT5DemoAccount",
                Provisioning,
                "Opens an MT5 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(DEMO_FIELDS)
            .reply_inline(200, demo_account_schema),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt4-demo-accounts",
            demo_account,
            Doc::new(
                "createMT4DemoAccount",
                Provisioning,
                "Opens an MT4 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(DEMO_FIELDS)
            .reply_inline(200, demo_account_schema),
        )
}
