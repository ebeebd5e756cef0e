//! Durable state of drawbridge, behind one trait so that backends are interchangeable.
//!
//! # Layout
//! - [`Store`]: what the server keeps — settings, users, tokens, provisioned accounts, the
//!   simulated broker's input journal, and risk management (trackers, rule sets, tracker events
//!   with per-user sequence numbers, completed periods and chart hours, the engine's resume
//!   state). Every method that returns `Ok` has made its change durable (acknowledged means
//!   durable).
//! - [`sqlite`]: the embedded backend (one file, WAL, migrations in `migrations/`).
//! - `conformance` (feature `testsuite`): the suite every backend must pass, one test per
//!   check through `store_test_suite!(fresh_store)`; PostgreSQL will run the same one.

pub mod sqlite;

#[cfg(feature = "testsuite")]
pub mod conformance;

use async_trait::async_trait;
use drawbridge_model::Timestamp;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same unique key exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed (I/O, corruption, pool closed).
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub created: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    /// Hex SHA-256 of the token's secret part.
    pub digest: String,
    /// The token's access rules, as the server serializes them.
    pub access: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub id: String,
    pub user_id: String,
    /// The account document (MetaApi account DTO without the password), JSON.
    pub doc: String,
    /// The broker password, encrypted by the server.
    pub password: Vec<u8>,
    /// The `transaction-id` the account was created with, which makes creation idempotent.
    pub transaction_id: Option<String>,
    pub created: Timestamp,
}

/// One input of the simulated broker, serialized by the broker; `seq` orders them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: u64,
    pub input: String,
}

/// A risk tracker of an account. `doc` is the tracker as created (MetaApi `NewTracker` JSON);
/// `state` is the risk engine's resume state, which the store keeps opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub name: String,
    pub doc: String,
    pub created: Timestamp,
    pub state: Option<String>,
}

/// The prop-firm rule set attached to an account (one at most). `id` names this attachment
/// (a new one for every replacement); `doc` is the attachment as the server answers it;
/// `state` is the risk engine's progress through the rules, which the store keeps opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesRow {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub doc: String,
    pub created: Timestamp,
    pub state: Option<String>,
}

/// A tracker event. `seq` is given by [`Store::write_risk`]: unique and increasing per user.
/// `broker_time` is `YYYY-MM-DD HH:mm:ss.SSS` (it sorts as text); `doc` the event's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerEventRow {
    pub user_id: String,
    pub seq: u64,
    pub account_id: String,
    pub tracker_id: String,
    pub broker_time: String,
    pub doc: String,
}

/// Which tracker events [`Store::tracker_events`] answers: the user's, after `after_seq`,
/// within the broker times (inclusive), of one account or tracker; by `seq`, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackerEventQuery {
    pub user_id: String,
    pub after_seq: u64,
    pub from_broker_time: Option<String>,
    pub to_broker_time: Option<String>,
    pub account_id: Option<String>,
    pub tracker_id: Option<String>,
    pub limit: u32,
}

/// A record keyed by an owner (a tracker's completed period, an account's completed chart
/// hour) and the instant it starts; `doc` is its JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskRecord {
    pub owner: String,
    pub start: Timestamp,
    pub doc: String,
}

/// What the risk engine makes durable at once, in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RiskWrite {
    /// New events; their `seq` is ignored and assigned.
    pub events: Vec<TrackerEventRow>,
    /// Completed periods, by tracker id (a repeated one replaces the stored one; one of a
    /// removed tracker is dropped).
    pub periods: Vec<RiskRecord>,
    /// Completed chart hours, by account id (a repeated one replaces the stored one; one of a
    /// removed account is dropped).
    pub chart: Vec<RiskRecord>,
    /// (tracker id, state): states of trackers that still exist.
    pub tracker_states: Vec<(String, String)>,
    /// (account id, state), upserted (dropped for a removed account).
    pub account_states: Vec<(String, String)>,
    /// (rules attachment id, state): states of rule attachments that still exist.
    pub rule_states: Vec<(String, String)>,
}

impl RiskWrite {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.periods.is_empty()
            && self.chart.is_empty()
            && self.tracker_states.is_empty()
            && self.account_states.is_empty()
            && self.rule_states.is_empty()
    }
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The value of a setting.
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` unless the key has one; returns the value the key has afterwards, so
    /// concurrent first starts agree on one secret.
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String>;

    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user(&self, id: &str) -> Result<Option<User>>;
    async fn user_by_name(&self, name: &str) -> Result<Option<User>>;

    async fn create_token(&self, token: &Token) -> Result<()>;
    async fn token(&self, id: &str) -> Result<Option<Token>>;
    async fn token_count(&self) -> Result<u64>;
    /// Marks a token revoked; false when there is no such live token.
    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool>;

    /// Inserts an account; `Conflict` when its id, or its user's transaction id, exists.
    async fn create_account(&self, account: &AccountRow) -> Result<()>;
    async fn account(&self, id: &str) -> Result<Option<AccountRow>>;
    async fn account_by_transaction(
        &self,
        user_id: &str,
        transaction_id: &str,
    ) -> Result<Option<AccountRow>>;
    /// A user's accounts, oldest first.
    async fn accounts_of(&self, user_id: &str) -> Result<Vec<AccountRow>>;
    /// Every account, oldest first (to reconnect them at start).
    async fn all_accounts(&self) -> Result<Vec<AccountRow>>;
    /// How many accounts exist (all users).
    async fn account_count(&self) -> Result<u64>;
    /// How many accounts a user holds (without reading them).
    async fn account_count_of(&self, user_id: &str) -> Result<u64>;
    /// Replaces an account's document and password; false when it does not exist.
    async fn update_account(&self, account: &AccountRow) -> Result<bool>;
    /// false when it did not exist.
    async fn delete_account(&self, id: &str) -> Result<bool>;

    /// Appends entries in one transaction. Their `seq` must follow the last one's.
    async fn append_journal(&self, entries: &[JournalEntry]) -> Result<()>;
    /// The entries after `after`, in order, at most `limit`.
    async fn journal(&self, after: u64, limit: u32) -> Result<Vec<JournalEntry>>;

    /// Inserts a tracker; `Conflict` when its id, or its name on the account, exists.
    async fn create_tracker(&self, tracker: &TrackerRow) -> Result<()>;
    /// Inserts a tracker unless its account holds `max` trackers already (counted and
    /// inserted atomically: parallel creates cannot pass the limit together); false when
    /// full, `Conflict` as [`Store::create_tracker`].
    async fn create_tracker_within(&self, tracker: &TrackerRow, max: u32) -> Result<bool>;
    async fn tracker(&self, id: &str) -> Result<Option<TrackerRow>>;
    /// The account's tracker named `name`.
    async fn tracker_by_name(&self, account_id: &str, name: &str) -> Result<Option<TrackerRow>>;
    /// An account's trackers, oldest first.
    async fn trackers_of(&self, account_id: &str) -> Result<Vec<TrackerRow>>;
    /// Every tracker, oldest first (to resume them at start).
    async fn all_trackers(&self) -> Result<Vec<TrackerRow>>;
    /// Renames a tracker (its `doc` too); false when it does not exist, `Conflict` when the
    /// account has another tracker of that name.
    async fn rename_tracker(&self, id: &str, name: &str, doc: &str) -> Result<bool>;
    /// Removes a tracker and its completed periods (its events stay); false when absent.
    async fn delete_tracker(&self, id: &str) -> Result<bool>;

    /// Attaches rules to their account, replacing any attached before (and its state).
    async fn set_rules(&self, rules: &RulesRow) -> Result<()>;
    /// The rules attached to an account.
    async fn rules(&self, account_id: &str) -> Result<Option<RulesRow>>;
    /// Every account's rules, oldest first (to resume them at start).
    async fn all_rules(&self) -> Result<Vec<RulesRow>>;
    /// Detaches an account's rules; false when it had none.
    async fn delete_rules(&self, account_id: &str) -> Result<bool>;

    /// Makes a batch of the risk engine's results durable in one transaction; returns the
    /// sequence numbers given to `write.events`, in order.
    async fn write_risk(&self, write: &RiskWrite) -> Result<Vec<u64>>;
    /// Tracker events matching `query`, by sequence number.
    async fn tracker_events(&self, query: &TrackerEventQuery) -> Result<Vec<TrackerEventRow>>;
    /// The last sequence number given to one of the user's events (0 before any).
    async fn last_event_seq(&self, user_id: &str) -> Result<u64>;
    /// A tracker's completed periods that started at or before `at`, newest first.
    async fn risk_periods(
        &self,
        tracker_id: &str,
        at: Timestamp,
        limit: u32,
    ) -> Result<Vec<RiskRecord>>;
    /// An account's completed chart hours starting in `[from, to]`, oldest first.
    async fn risk_chart(
        &self,
        account_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RiskRecord>>;
    /// Every account's risk engine state: (account id, state).
    async fn risk_account_states(&self) -> Result<Vec<(String, String)>>;
}
