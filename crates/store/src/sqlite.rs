//! The embedded backend: one SQLite file in WAL mode with `synchronous = FULL`, so a change is
//! on disk when its call returns, and several processes (the server and `drawbridge token
//! create`) may use the file at once.

use crate::{AccountRow, JournalEntry, Result, Store, StoreError, Token, User};
use async_trait::async_trait;
use drawbridge_model::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};
use std::path::Path;
use std::time::Duration;

/// Connections in the pool: SQLite writes one at a time; a few readers go alongside.
const POOL_CONNECTIONS_MAX: u32 = 4;
/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when absent) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .connect_with(options)
            .await
            .map_err(backend)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    /// Waits for pending writes and closes the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return StoreError::Conflict(d.message().to_owned());
    }
    StoreError::Backend(e.to_string())
}

fn ms(t: Timestamp) -> i64 {
    t.millis()
}

fn user_of(r: &SqliteRow) -> User {
    User {
        id: r.get("id"),
        name: r.get("name"),
        created: Timestamp::from_millis(r.get("created_ms")),
    }
}

fn token_of(r: &SqliteRow) -> Token {
    Token {
        id: r.get("id"),
        user_id: r.get("user_id"),
        digest: r.get("digest"),
        access: r.get("access"),
        created: Timestamp::from_millis(r.get("created_ms")),
        revoked: r
            .get::<Option<i64>, _>("revoked_ms")
            .map(Timestamp::from_millis),
    }
}

fn account_of(r: &SqliteRow) -> AccountRow {
    AccountRow {
        id: r.get("id"),
        user_id: r.get("user_id"),
        doc: r.get("doc"),
        password: r.get("password"),
        transaction_id: r.get("transaction_id"),
        created: Timestamp::from_millis(r.get("created_ms")),
    }
}

const ACCOUNT_COLUMNS: &str = "id, user_id, doc, password, transaction_id, created_ms";

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        self.setting(key)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("setting {key} vanished")))
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        sqlx::query("INSERT INTO users (id, name, created_ms) VALUES (?, ?, ?)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(ms(user.created))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn user(&self, id: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, name, created_ms FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(user_of))
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, name, created_ms FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(user_of))
    }

    async fn create_token(&self, t: &Token) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, digest, access, created_ms, revoked_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.digest)
        .bind(&t.access)
        .bind(ms(t.created))
        .bind(t.revoked.map(ms))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<Token>> {
        let row = sqlx::query(
            "SELECT id, user_id, digest, access, created_ms, revoked_ms FROM tokens WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.as_ref().map(token_of))
    }

    async fn token_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n.unsigned_abs())
    }

    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL")
                .bind(ms(at))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_account(&self, a: &AccountRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO accounts (id, user_id, doc, password, transaction_id, created_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(&a.user_id)
        .bind(&a.doc)
        .bind(&a.password)
        .bind(&a.transaction_id)
        .bind(ms(a.created))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn account(&self, id: &str) -> Result<Option<AccountRow>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(account_of))
    }

    async fn account_by_transaction(
        &self,
        user_id: &str,
        transaction_id: &str,
    ) -> Result<Option<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = ? AND transaction_id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(transaction_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(account_of))
    }

    async fn accounts_of(&self, user_id: &str) -> Result<Vec<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = ? ORDER BY created_ms, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(account_of).collect())
    }

    async fn all_accounts(&self) -> Result<Vec<AccountRow>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_ms, id");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(account_of).collect())
    }

    async fn account_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n.unsigned_abs())
    }

    async fn update_account(&self, a: &AccountRow) -> Result<bool> {
        let done = sqlx::query("UPDATE accounts SET doc = ?, password = ? WHERE id = ?")
            .bind(&a.doc)
            .bind(&a.password)
            .bind(&a.id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_account(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_journal(&self, entries: &[JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // SQLite allows 32766 bound parameters; two per row.
        for chunk in entries.chunks(10_000) {
            let mut q = QueryBuilder::new("INSERT INTO journal (seq, input) ");
            q.push_values(chunk, |mut b, e| {
                b.push_bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
                    .push_bind(&e.input);
            });
            q.build().execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn journal(&self, after: u64, limit: u32) -> Result<Vec<JournalEntry>> {
        let rows = sqlx::query("SELECT seq, input FROM journal WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| JournalEntry {
                seq: r.get::<i64, _>("seq").unsigned_abs(),
                input: r.get("input"),
            })
            .collect())
    }
}
