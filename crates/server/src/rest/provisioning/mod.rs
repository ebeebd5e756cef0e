//! The account management (provisioning) API: trading accounts as MetaApi's
//! `/users/current/accounts` resource, and the demo-account generator.
//!
//! An account is a document ([`drawbridge_model::wire::AccountDoc`]: the MetaApi fields the
//! SDK reads, written as `null` where unset, where MetaApi leaves some of them out) plus the
//! broker password, encrypted. Creating or deploying checks the credentials
//! against the broker (`E_AUTH`, `E_SRV_NOT_FOUND`); a deployed account holds a broker session
//! with master or investor access. State changes are immediate: `DEPLOYED`/`CONNECTED` or
//! `UNDEPLOYED`/`DISCONNECTED`.
//!
//! # Layout
//! - this module: connecting a document's account to the broker, saving, and the route
//!   rows (the ownership check every account route makes is [`crate::access`]).
//! - [`create`]: `POST /users/current/accounts`, its idempotency and the account limit.
//! - [`list`]: the filtered, paginated account list.
//! - [`request`]: the create and update requests as types, read against the field tables the
//!   OpenAPI document lists.
//! - [`lifecycle`]: get, update, delete, deploy, undeploy, redeploy, the risk management
//!   switch, and reconnecting deployed accounts at start.
//! - [`demo`]: the demo-account generator and the `--demo` seeding.

mod create;
mod demo;
mod lifecycle;
mod list;
mod request;

pub use demo::seed_demo;
pub use lifecycle::reconnect_all;

use crate::error::ApiError;
use crate::messages;
use crate::openapi::{Auth, Doc, Tag};
use crate::routes::{ACCOUNT, Routes};
use crate::state::Shared;
use drawbridge_broker::broker::BrokerError;
use drawbridge_desk::DeskError;
use drawbridge_model::wire::AccountDoc;
use drawbridge_store::AccountRow;
use serde_json::json;

const METADATA_BYTES_MAX: usize = 1_024;
const NAME_CHARS_MAX: usize = 100;
const TAGS_MAX: usize = 100;

pub(super) fn row_doc(row: &AccountRow) -> Result<AccountDoc, ApiError> {
    serde_json::from_str(&row.doc).map_err(ApiError::internal)
}

/// Broker errors on credentials, in MetaApi's shape.
pub(super) fn broker_error(
    e: DeskError,
    login: &str,
    server: &str,
    servers: &[String],
) -> ApiError {
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

pub(super) async fn server_names(state: &Shared) -> Vec<String> {
    state
        .desk
        .read(|b| b.server_infos().into_iter().map(|s| s.name).collect())
        .await
        .unwrap_or_default()
}

/// Connects a document's account to the broker and records the session.
pub(super) async fn connect(
    state: &Shared,
    doc: &mut AccountDoc,
    password: &str,
) -> Result<(), ApiError> {
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

pub(super) async fn save(
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
    state.directory.invalidate(&doc.id);
    if !found {
        return Err(ApiError::not_found(
            &messages::ACCOUNT_NOT_FOUND,
            &[&doc.id],
        ));
    }
    Ok(())
}

/// The provisioning API: trading accounts and demo accounts.
pub(crate) fn routes(routes: Routes) -> Routes {
    let acc = ACCOUNT;
    use Tag::Provisioning;
    routes
        .post(
            "/users/current/accounts",
            create::create,
            Doc::new(
                "createAccount",
                Provisioning,
                "Adds a trading account; `transaction-id` makes it idempotent",
            )
            .auth(Auth::ApiToken)
            .table(request::CREATE_FIELDS)
            .reply_inline(201, create::created_schema)
            .conflict(),
        )
        .get(
            "/users/current/accounts",
            list::list,
            Doc::new(
                "getAccounts",
                Provisioning,
                "The caller's trading accounts, filtered and paginated",
            )
            .query(list::ACCOUNT_LIST_QUERY)
            .reply_inline(200, list::account_page_schema),
        )
        .get(
            acc,
            lifecycle::get,
            Doc::new("getAccount", Provisioning, "One trading account").reply::<AccountDoc>(),
        )
        .put(
            acc,
            lifecycle::update,
            Doc::new("updateAccount", Provisioning, "Changes a trading account")
                .table(request::UPDATE_FIELDS),
        )
        .delete(
            acc,
            lifecycle::delete,
            Doc::new("deleteAccount", Provisioning, "Removes a trading account"),
        )
        .post(
            &format!("{acc}/deploy"),
            lifecycle::deploy,
            Doc::new(
                "deployAccount",
                Provisioning,
                "Connects the account to its broker",
            ),
        )
        .post(
            &format!("{acc}/undeploy"),
            lifecycle::undeploy,
            Doc::new("undeployAccount", Provisioning, "Disconnects the account"),
        )
        .post(
            &format!("{acc}/redeploy"),
            lifecycle::redeploy,
            Doc::new("redeployAccount", Provisioning, "Reconnects the account"),
        )
        .post(
            &format!("{acc}/enable-risk-management-api"),
            lifecycle::enable_risk_management,
            Doc::new(
                "enableRiskManagementApi",
                Provisioning,
                "Turns the risk management API on for the account",
            )
            .auth(Auth::ApiToken),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt5-demo-accounts",
            demo::demo_account,
            Doc::new(
                "createMT5DemoAccount",
                Provisioning,
                "Opens an MT5 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(demo::DEMO_FIELDS)
            .reply_inline(200, demo::demo_account_schema),
        )
        .post(
            "/users/current/provisioning-profiles/{profile}/mt4-demo-accounts",
            demo::demo_account,
            Doc::new(
                "createMT4DemoAccount",
                Provisioning,
                "Opens an MT4 demo account on the simulated broker and returns its credentials",
            )
            .auth(Auth::ApiToken)
            .fields(demo::DEMO_FIELDS)
            .reply_inline(200, demo::demo_account_schema),
        )
}
