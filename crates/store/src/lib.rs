//! Durable state of drawbridge, behind one trait so that backends are interchangeable.
//!
//! Layout:
//! - [`Store`]: what the server keeps — settings, users, tokens, provisioned accounts and the
//!   simulated broker's input journal. Every method that returns `Ok` has made its change
//!   durable (acknowledged means durable).
//! - [`sqlite`]: the embedded backend (one file, WAL, migrations in `migrations/`).
//! - `conformance` (feature `testsuite`): the suite every backend must pass; PostgreSQL will
//!   run the same one.

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
    /// Replaces an account's document and password; false when it does not exist.
    async fn update_account(&self, account: &AccountRow) -> Result<bool>;
    /// false when it did not exist.
    async fn delete_account(&self, id: &str) -> Result<bool>;

    /// Appends entries in one transaction. Their `seq` must follow the last one's.
    async fn append_journal(&self, entries: &[JournalEntry]) -> Result<()>;
    /// The entries after `after`, in order, at most `limit`.
    async fn journal(&self, after: u64, limit: u32) -> Result<Vec<JournalEntry>>;
}
