//! Risk trackers: unique names per account, renamed, deleted, created within a maximum.

use super::{seed_accounts, seed_trackers, tracker};
use crate::{Store, StoreError, TrackerRow};

fn ids(trackers: Vec<TrackerRow>) -> Vec<String> {
    trackers.into_iter().map(|t| t.id).collect()
}

/// [`seed_trackers`] and t2 ("weekly") on a1.
async fn seed_three_trackers(s: &dyn Store) {
    seed_trackers(s).await;
    s.create_tracker(&tracker("t2", "a1", "weekly", 21))
        .await
        .unwrap();
}

pub async fn tracker_names_are_unique_per_account(s: &dyn Store) {
    seed_accounts(s).await;
    s.create_tracker(&tracker("t1", "a1", "daily", 20))
        .await
        .unwrap();
    s.create_tracker(&tracker("t2", "a1", "weekly", 21))
        .await
        .unwrap();
    assert!(
        matches!(
            s.create_tracker(&tracker("t9", "a1", "daily", 22)).await,
            Err(StoreError::Conflict(_))
        ),
        "a name is unique per account"
    );
    s.create_tracker(&tracker("t3", "a3", "daily", 23))
        .await
        .unwrap();
}

pub async fn trackers_need_their_account(s: &dyn Store) {
    seed_trackers(s).await;
    assert!(
        s.create_tracker(&tracker("t4", "a2", "x", 24))
            .await
            .is_err(),
        "a tracker needs its account"
    );
}

pub async fn trackers_are_listed_oldest_first(s: &dyn Store) {
    seed_three_trackers(s).await;
    assert_eq!(
        s.tracker("t1").await.unwrap(),
        Some(tracker("t1", "a1", "daily", 20))
    );
    assert_eq!(s.tracker("nope").await.unwrap(), None);
    assert_eq!(ids(s.trackers_of("a1").await.unwrap()), ["t1", "t2"]);
    assert_eq!(ids(s.all_trackers().await.unwrap()), ["t1", "t2", "t3"]);
}

pub async fn trackers_are_renamed(s: &dyn Store) {
    seed_three_trackers(s).await;
    assert!(matches!(
        s.rename_tracker("t2", "daily", "{}").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        s.rename_tracker("t2", "monthly", r#"{"name":"monthly"}"#)
            .await
            .unwrap()
    );
    assert!(!s.rename_tracker("nope", "x", "{}").await.unwrap());
    let t2 = s.tracker("t2").await.unwrap().unwrap();
    assert_eq!(
        (t2.name.as_str(), t2.doc.as_str()),
        ("monthly", r#"{"name":"monthly"}"#)
    );
    assert_eq!(
        s.tracker_by_name("a1", "monthly").await.unwrap(),
        Some(t2.clone())
    );
    assert_eq!(s.tracker_by_name("a3", "monthly").await.unwrap(), None);
}

pub async fn trackers_are_deleted(s: &dyn Store) {
    seed_three_trackers(s).await;
    assert!(s.delete_tracker("t2").await.unwrap());
    assert!(!s.delete_tracker("t2").await.unwrap());
    assert_eq!(ids(s.trackers_of("a1").await.unwrap()), ["t1"]);
}

/// At most `max` per account, other accounts aside.
pub async fn trackers_are_created_within_a_maximum(s: &dyn Store) {
    seed_trackers(s).await;
    assert!(
        s.create_tracker_within(&tracker("t5", "a1", "second", 25), 2)
            .await
            .unwrap()
    );
    assert!(
        !s.create_tracker_within(&tracker("t6", "a1", "third", 26), 2)
            .await
            .unwrap(),
        "a1 is full"
    );
    assert_eq!(s.tracker("t6").await.unwrap(), None);
    assert!(matches!(
        s.create_tracker_within(&tracker("t7", "a3", "daily", 27), 5)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.delete_tracker("t5").await.unwrap());
}
