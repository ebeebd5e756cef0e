//! Provisioned accounts and the simulated broker's journal.

use super::{account, seed_accounts, seed_owner, user};
use crate::{AccountRow, JournalEntry, Store, StoreError};

fn ids(accounts: Vec<AccountRow>) -> Vec<String> {
    accounts.into_iter().map(|a| a.id).collect()
}

pub async fn transaction_ids_are_unique_per_user(s: &dyn Store) {
    seed_owner(s).await;
    s.create_user(&user("u9", "zed")).await.unwrap();
    let a = account("a1", Some("txn-1"), 10);
    s.create_account(&a).await.unwrap();
    assert!(matches!(
        s.create_account(&account("a2", Some("txn-1"), 11)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.account_by_transaction("u1", "txn-1").await.unwrap(),
        Some(a)
    );
    assert_eq!(s.account_by_transaction("u9", "txn-1").await.unwrap(), None);
}

pub async fn accounts_are_listed_oldest_first(s: &dyn Store) {
    seed_accounts(s).await;
    assert_eq!(
        s.account("a1").await.unwrap(),
        Some(account("a1", Some("txn-1"), 10))
    );
    assert_eq!(ids(s.accounts_of("u1").await.unwrap()), ["a1", "a2", "a3"]);
    assert!(s.accounts_of("u9").await.unwrap().is_empty());
    assert_eq!(s.account_count_of("u1").await.unwrap(), 3);
    assert_eq!(s.account_count_of("u9").await.unwrap(), 0);
    assert_eq!(ids(s.all_accounts().await.unwrap()), ["a1", "a2", "a3"]);
    assert_eq!(s.account_count().await.unwrap(), 3);
}

pub async fn accounts_are_updated_and_deleted(s: &dyn Store) {
    seed_accounts(s).await;
    let mut changed = account("a1", Some("txn-1"), 10);
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

fn entry(seq: u64) -> JournalEntry {
    JournalEntry {
        seq,
        input: format!(r#"{{"n":{seq},"text":"é \" ' \n"}}"#),
    }
}

/// Batches of any size, read back in order from any point.
pub async fn journal_is_read_in_pages(s: &dyn Store) {
    assert!(s.journal(0, 10).await.unwrap().is_empty());
    s.append_journal(&[]).await.unwrap();
    let first: Vec<_> = (1..=3).map(entry).collect();
    s.append_journal(&first).await.unwrap();
    let many: Vec<_> = (4..=25_000).map(entry).collect();
    s.append_journal(&many).await.unwrap();
    assert_eq!(s.journal(0, 3).await.unwrap(), first);
    let tail = s.journal(24_990, 100).await.unwrap();
    assert_eq!(tail, (24_991..=25_000).map(entry).collect::<Vec<_>>());
    assert_eq!(s.journal(0, 30_000).await.unwrap().len(), 25_000);
}

pub async fn journal_takes_each_sequence_number_once(s: &dyn Store) {
    let first: Vec<_> = (1..=3).map(entry).collect();
    s.append_journal(&first).await.unwrap();
    assert!(
        s.append_journal(&[entry(2)]).await.is_err(),
        "a sequence number is used once"
    );
    assert_eq!(s.journal(0, 10).await.unwrap(), first);
}
