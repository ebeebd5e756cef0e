//! The embedded backend: one SQLite file in WAL mode with `synchronous = FULL`, so a change is
//! on disk when its call returns, and several processes (the server and `drawbridge token
//! create`) may use the file at once.

use crate::{
    AccountRow, JournalEntry, Result, RiskRecord, RiskWrite, RulesRow, Store, StoreError, Token,
    TrackerEventQuery, TrackerEventRow, TrackerRow, User,
};
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

fn tracker_of(r: &SqliteRow) -> TrackerRow {
    TrackerRow {
        id: r.get("id"),
        account_id: r.get("account_id"),
        user_id: r.get("user_id"),
        name: r.get("name"),
        doc: r.get("doc"),
        created: Timestamp::from_millis(r.get("created_ms")),
        state: r.get("state"),
    }
}

fn rules_of(r: &SqliteRow) -> RulesRow {
    RulesRow {
        id: r.get("id"),
        account_id: r.get("account_id"),
        user_id: r.get("user_id"),
        doc: r.get("doc"),
        created: Timestamp::from_millis(r.get("created_ms")),
        state: r.get("state"),
    }
}

const RULES_COLUMNS: &str = "id, account_id, user_id, doc, created_ms, state";

fn event_of(r: &SqliteRow) -> TrackerEventRow {
    TrackerEventRow {
        user_id: r.get("user_id"),
        seq: r.get::<i64, _>("seq").unsigned_abs(),
        account_id: r.get("account_id"),
        tracker_id: r.get("tracker_id"),
        broker_time: r.get("broker_time"),
        doc: r.get("doc"),
    }
}

fn record_of(r: &SqliteRow) -> RiskRecord {
    RiskRecord {
        owner: r.get("owner"),
        start: Timestamp::from_millis(r.get("start_ms")),
        doc: r.get("doc"),
    }
}

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

const TRACKER_COLUMNS: &str = "id, account_id, user_id, name, doc, created_ms, state";

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

    async fn account_count_of(&self, user_id: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE user_id = ?")
            .bind(user_id)
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

    async fn create_tracker(&self, t: &TrackerRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO risk_trackers (id, account_id, user_id, name, doc, created_ms, state) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.account_id)
        .bind(&t.user_id)
        .bind(&t.name)
        .bind(&t.doc)
        .bind(ms(t.created))
        .bind(&t.state)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn create_tracker_within(&self, t: &TrackerRow, max: u32) -> Result<bool> {
        // One statement, so one transaction: the count and the insert see the same rows.
        let done = sqlx::query(
            "INSERT INTO risk_trackers (id, account_id, user_id, name, doc, created_ms, state) \
             SELECT ?, ?, ?, ?, ?, ?, ? \
             WHERE (SELECT COUNT(*) FROM risk_trackers WHERE account_id = ?) < ?",
        )
        .bind(&t.id)
        .bind(&t.account_id)
        .bind(&t.user_id)
        .bind(&t.name)
        .bind(&t.doc)
        .bind(ms(t.created))
        .bind(&t.state)
        .bind(&t.account_id)
        .bind(i64::from(max))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn tracker_by_name(&self, account_id: &str, name: &str) -> Result<Option<TrackerRow>> {
        let sql = format!(
            "SELECT {TRACKER_COLUMNS} FROM risk_trackers WHERE account_id = ? AND name = ?"
        );
        let row = sqlx::query(&sql)
            .bind(account_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(tracker_of))
    }

    async fn tracker(&self, id: &str) -> Result<Option<TrackerRow>> {
        let sql = format!("SELECT {TRACKER_COLUMNS} FROM risk_trackers WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(tracker_of))
    }

    async fn trackers_of(&self, account_id: &str) -> Result<Vec<TrackerRow>> {
        let sql = format!(
            "SELECT {TRACKER_COLUMNS} FROM risk_trackers WHERE account_id = ? \
             ORDER BY created_ms, rowid"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(tracker_of).collect())
    }

    async fn all_trackers(&self) -> Result<Vec<TrackerRow>> {
        let sql = format!("SELECT {TRACKER_COLUMNS} FROM risk_trackers ORDER BY created_ms, rowid");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(tracker_of).collect())
    }

    async fn rename_tracker(&self, id: &str, name: &str, doc: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE risk_trackers SET name = ?, doc = ? WHERE id = ?")
            .bind(name)
            .bind(doc)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_tracker(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM risk_trackers WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_rules(&self, r: &RulesRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO risk_rules (id, account_id, user_id, doc, created_ms, state) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (account_id) DO UPDATE SET id = excluded.id, user_id = excluded.user_id, \
             doc = excluded.doc, created_ms = excluded.created_ms, state = excluded.state",
        )
        .bind(&r.id)
        .bind(&r.account_id)
        .bind(&r.user_id)
        .bind(&r.doc)
        .bind(ms(r.created))
        .bind(&r.state)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn rules(&self, account_id: &str) -> Result<Option<RulesRow>> {
        let sql = format!("SELECT {RULES_COLUMNS} FROM risk_rules WHERE account_id = ?");
        let row = sqlx::query(&sql)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(rules_of))
    }

    async fn all_rules(&self) -> Result<Vec<RulesRow>> {
        let sql = format!("SELECT {RULES_COLUMNS} FROM risk_rules ORDER BY created_ms, rowid");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(rules_of).collect())
    }

    async fn delete_rules(&self, account_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM risk_rules WHERE account_id = ?")
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn write_risk(&self, w: &RiskWrite) -> Result<Vec<u64>> {
        if w.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let mut seqs = Vec::with_capacity(w.events.len());
        for e in &w.events {
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO risk_event_sequences (user_id, last_seq) VALUES (?, 1) \
                 ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
            )
            .bind(&e.user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO risk_events (user_id, seq, account_id, tracker_id, broker_time, doc) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&e.user_id)
            .bind(seq)
            .bind(&e.account_id)
            .bind(&e.tracker_id)
            .bind(&e.broker_time)
            .bind(&e.doc)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            seqs.push(seq.unsigned_abs());
        }
        for r in &w.periods {
            // Only for a tracker that still exists: a removed one's periods went with it.
            sqlx::query(
                "INSERT OR REPLACE INTO risk_periods (tracker_id, start_ms, doc) \
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM risk_trackers WHERE id = ?1)",
            )
            .bind(&r.owner)
            .bind(ms(r.start))
            .bind(&r.doc)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for r in &w.chart {
            sqlx::query(
                "INSERT OR REPLACE INTO risk_chart (account_id, start_ms, doc) \
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?1)",
            )
            .bind(&r.owner)
            .bind(ms(r.start))
            .bind(&r.doc)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for (id, state) in &w.tracker_states {
            sqlx::query("UPDATE risk_trackers SET state = ? WHERE id = ?")
                .bind(state)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        for (id, state) in &w.account_states {
            sqlx::query(
                "INSERT INTO risk_accounts (account_id, state) \
                 SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?1) \
                 ON CONFLICT (account_id) DO UPDATE SET state = excluded.state",
            )
            .bind(id)
            .bind(state)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for (id, state) in &w.rule_states {
            sqlx::query("UPDATE risk_rules SET state = ? WHERE id = ?")
                .bind(state)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(seqs)
    }

    async fn tracker_events(&self, q: &TrackerEventQuery) -> Result<Vec<TrackerEventRow>> {
        let mut b = QueryBuilder::new(
            "SELECT user_id, seq, account_id, tracker_id, broker_time, doc FROM risk_events \
             WHERE user_id = ",
        );
        b.push_bind(&q.user_id);
        b.push(" AND seq > ").push_bind(seq_param(q.after_seq));
        if let Some(from) = &q.from_broker_time {
            b.push(" AND broker_time >= ").push_bind(from);
        }
        if let Some(to) = &q.to_broker_time {
            b.push(" AND broker_time <= ").push_bind(to);
        }
        if let Some(a) = &q.account_id {
            b.push(" AND account_id = ").push_bind(a);
        }
        if let Some(t) = &q.tracker_id {
            b.push(" AND tracker_id = ").push_bind(t);
        }
        b.push(" ORDER BY seq LIMIT ").push_bind(i64::from(q.limit));
        let rows = b.build().fetch_all(&self.pool).await.map_err(backend)?;
        Ok(rows.iter().map(event_of).collect())
    }

    async fn last_event_seq(&self, user_id: &str) -> Result<u64> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM risk_event_sequences WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(n.unwrap_or(0).unsigned_abs())
    }

    async fn risk_periods(
        &self,
        tracker_id: &str,
        at: Timestamp,
        limit: u32,
    ) -> Result<Vec<RiskRecord>> {
        let rows = sqlx::query(
            "SELECT tracker_id AS owner, start_ms, doc FROM risk_periods \
             WHERE tracker_id = ? AND start_ms <= ? ORDER BY start_ms DESC LIMIT ?",
        )
        .bind(tracker_id)
        .bind(ms(at))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.iter().map(record_of).collect())
    }

    async fn risk_chart(
        &self,
        account_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RiskRecord>> {
        let rows = sqlx::query(
            "SELECT account_id AS owner, start_ms, doc FROM risk_chart \
             WHERE account_id = ? AND start_ms >= ? AND start_ms <= ? ORDER BY start_ms",
        )
        .bind(account_id)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.iter().map(record_of).collect())
    }

    async fn risk_account_states(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT account_id, state FROM risk_accounts")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| (r.get("account_id"), r.get("state")))
            .collect())
    }
}
