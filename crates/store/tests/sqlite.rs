//! The SQLite backend passes the conformance suite on a real file, and keeps what it
//! acknowledged across a reopen.

use drawbridge_model::Timestamp;
use drawbridge_store::{SqliteStore, Store, User};
use tempfile::TempDir;

/// An empty store in a file of its own; the directory goes when the check ends.
async fn fresh_sqlite_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("drawbridge.db"))
        .await
        .unwrap();
    (store, dir)
}

drawbridge_store::store_test_suite!(fresh_sqlite_store);

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drawbridge.db");
    let user = User {
        id: "u1".into(),
        name: "alice".into(),
        created: Timestamp::from_millis(5),
    };
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.create_user(&user).await.unwrap();
        store.setting_or_insert("k", "v").await.unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.user("u1").await.unwrap(), Some(user));
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v"));
}
