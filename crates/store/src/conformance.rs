//! The conformance suite: every [`Store`] backend must pass [`run`]. A backend's tests call it
//! with a fresh, empty store.

use crate::{AccountRow, JournalEntry, Store, StoreError, Token, User};
use drawbridge_model::Timestamp;

/// Runs every check against an empty store; panics with the first failure.
pub async fn run(store: &dyn Store) {
    settings(store).await;
    users_and_tokens(store).await;
    accounts(store).await;
    journal(store).await;
}

async fn settings(s: &dyn Store) {
    assert_eq!(s.setting("secret").await.unwrap(), None);
    assert_eq!(s.setting_or_insert("secret", "a").await.unwrap(), "a");
    assert_eq!(
        s.setting_or_insert("secret", "b").await.unwrap(),
        "a",
        "the first value wins"
    );
    assert_eq!(s.setting("secret").await.unwrap().as_deref(), Some("a"));
}

fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        created: Timestamp::from_millis(1_000),
    }
}

async fn users_and_tokens(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    assert!(matches!(
        s.create_user(&user("u2", "alice")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.user("u1").await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(
        s.user_by_name("alice").await.unwrap().map(|u| u.id),
        Some("u1".to_owned())
    );
    assert_eq!(s.user_by_name("bob").await.unwrap(), None);

    let t = Token {
        id: "t1".into(),
        user_id: "u1".into(),
        digest: "00ff".into(),
        access: "{}".into(),
        created: Timestamp::from_millis(2_000),
        revoked: None,
    };
    assert_eq!(s.token_count().await.unwrap(), 0);
    s.create_token(&t).await.unwrap();
    assert!(matches!(
        s.create_token(&t).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.token("t1").await.unwrap(), Some(t.clone()));
    assert_eq!(s.token_count().await.unwrap(), 1);
    let at = Timestamp::from_millis(3_000);
    assert!(s.revoke_token("t1", at).await.unwrap());
    assert!(!s.revoke_token("t1", at).await.unwrap(), "revoked once");
    assert!(!s.revoke_token("nope", at).await.unwrap());
    assert_eq!(s.token("t1").await.unwrap().unwrap().revoked, Some(at));
}

fn account(id: &str, txn: Option<&str>, created_ms: i64) -> AccountRow {
    AccountRow {
        id: id.into(),
        user_id: "u1".into(),
        doc: format!(r#"{{"_id":"{id}"}}"#),
        password: vec![1, 2, 3, 0, 255],
        transaction_id: txn.map(Into::into),
        created: Timestamp::from_millis(created_ms),
    }
}

async fn accounts(s: &dyn Store) {
    s.create_user(&user("u9", "zed")).await.unwrap();
    let a = account("a1", Some("txn-1"), 10);
    s.create_account(&a).await.unwrap();
    assert!(matches!(
        s.create_account(&account("a2", Some("txn-1"), 11)).await,
        Err(StoreError::Conflict(_))
    ));
    s.create_account(&account("a2", None, 11)).await.unwrap();
    s.create_account(&account("a3", None, 12)).await.unwrap();
    assert_eq!(s.account("a1").await.unwrap(), Some(a.clone()));
    assert_eq!(
        s.account_by_transaction("u1", "txn-1").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.account_by_transaction("u9", "txn-1").await.unwrap(), None);
    let ids = |v: Vec<AccountRow>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(s.accounts_of("u1").await.unwrap()), ["a1", "a2", "a3"]);
    assert!(s.accounts_of("u9").await.unwrap().is_empty());
    assert_eq!(ids(s.all_accounts().await.unwrap()), ["a1", "a2", "a3"]);
    assert_eq!(s.account_count().await.unwrap(), 3);

    let mut changed = a.clone();
    changed.doc = r#"{"_id":"a1","name":"renamed"}"#.into();
    changed.password = vec![9; 40];
    assert!(s.update_account(&changed).await.unwrap());
    assert_eq!(s.account("a1").await.unwrap(), Some(changed));
    assert!(!s.update_account(&account("zz", None, 1)).await.unwrap());
    assert!(s.delete_account("a2").await.unwrap());
    assert!(!s.delete_account("a2").await.unwrap());
    assert_eq!(s.account_count().await.unwrap(), 2);
    assert_eq!(ids(s.accounts_of("u1").await.unwrap()), ["a1", "a3"]);
}

async fn journal(s: &dyn Store) {
    let entry = |seq: u64| JournalEntry {
        seq,
        input: format!(r#"{{"n":{seq},"text":"é \" ' \n"}}"#),
    };
    assert!(s.journal(0, 10).await.unwrap().is_empty());
    s.append_journal(&[]).await.unwrap();
    let first: Vec<_> = (1..=3).map(entry).collect();
    s.append_journal(&first).await.unwrap();
    let many: Vec<_> = (4..=25_000).map(entry).collect();
    s.append_journal(&many).await.unwrap();
    assert!(
        s.append_journal(&[entry(2)]).await.is_err(),
        "a sequence number is used once"
    );
    assert_eq!(s.journal(0, 3).await.unwrap(), first);
    let tail = s.journal(24_990, 100).await.unwrap();
    assert_eq!(tail, (24_991..=25_000).map(entry).collect::<Vec<_>>());
    assert_eq!(s.journal(0, 30_000).await.unwrap().len(), 25_000);
}
