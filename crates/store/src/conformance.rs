//! The conformance suite: every [`Store`] backend must pass [`run`]. A backend's tests call it
//! with a fresh, empty store.

use crate::{
    AccountRow, JournalEntry, RiskRecord, RiskWrite, RulesRow, Store, StoreError, Token,
    TrackerEventQuery, TrackerEventRow, TrackerRow, User,
};
use drawbridge_model::Timestamp;

/// Runs every check against an empty store; panics with the first failure.
pub async fn run(store: &dyn Store) {
    settings(store).await;
    users_and_tokens(store).await;
    accounts(store).await;
    journal(store).await;
    trackers(store).await;
    risk_writes(store).await;
    risk_rules(store).await;
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
    assert_eq!(s.account_count_of("u1").await.unwrap(), 3);
    assert_eq!(s.account_count_of("u9").await.unwrap(), 0);
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

fn tracker(id: &str, account: &str, name: &str, created_ms: i64) -> TrackerRow {
    TrackerRow {
        id: id.into(),
        account_id: account.into(),
        user_id: "u1".into(),
        name: name.into(),
        doc: format!(r#"{{"name":"{name}","period":"day"}}"#),
        created: Timestamp::from_millis(created_ms),
        state: None,
    }
}

/// Runs after `accounts`: a1 and a3 exist, a2 was deleted.
async fn trackers(s: &dyn Store) {
    let t1 = tracker("t1", "a1", "daily", 20);
    s.create_tracker(&t1).await.unwrap();
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
    assert!(
        s.create_tracker(&tracker("t4", "a2", "x", 24))
            .await
            .is_err(),
        "a tracker needs its account"
    );
    assert_eq!(s.tracker("t1").await.unwrap(), Some(t1.clone()));
    assert_eq!(s.tracker("nope").await.unwrap(), None);
    let ids = |v: Vec<TrackerRow>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(s.trackers_of("a1").await.unwrap()), ["t1", "t2"]);
    assert_eq!(ids(s.all_trackers().await.unwrap()), ["t1", "t2", "t3"]);
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
    assert!(s.delete_tracker("t2").await.unwrap());
    assert!(!s.delete_tracker("t2").await.unwrap());
    assert_eq!(ids(s.trackers_of("a1").await.unwrap()), ["t1"]);
    // At most `max` per account, other accounts aside.
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

fn event(user: &str, account: &str, tracker: &str, broker_time: &str) -> TrackerEventRow {
    TrackerEventRow {
        user_id: user.into(),
        seq: 0,
        account_id: account.into(),
        tracker_id: tracker.into(),
        broker_time: broker_time.into(),
        doc: format!(r#"{{"brokerTime":"{broker_time}"}}"#),
    }
}

fn record(owner: &str, start_ms: i64) -> RiskRecord {
    RiskRecord {
        owner: owner.into(),
        start: Timestamp::from_millis(start_ms),
        doc: format!(r#"{{"start":{start_ms}}}"#),
    }
}

/// Runs after `trackers`: t1 (a1) and t3 (a3) exist.
async fn risk_writes(s: &dyn Store) {
    assert_eq!(s.last_event_seq("u1").await.unwrap(), 0);
    assert!(
        s.write_risk(&RiskWrite::default())
            .await
            .unwrap()
            .is_empty()
    );
    let first = RiskWrite {
        events: vec![
            event("u1", "a1", "t1", "2026-01-07 12:00:00.000"),
            event("u9", "a3", "t3", "2026-01-07 12:00:00.000"),
            event("u1", "a3", "t3", "2026-01-07 13:30:00.500"),
        ],
        periods: vec![record("t1", 100), record("t1", 200)],
        chart: vec![record("a1", 0), record("a1", 3_600_000)],
        tracker_states: vec![
            ("t1".into(), r#"{"s":1}"#.into()),
            ("gone".into(), "{}".into()),
        ],
        account_states: vec![("a1".into(), r#"{"a":1}"#.into())],
        rule_states: Vec::new(),
    };
    assert_eq!(s.write_risk(&first).await.unwrap(), [1, 1, 2], "per user");
    let second = RiskWrite {
        events: vec![event("u1", "a1", "t1", "2026-01-08 09:00:00.000")],
        periods: vec![record("t1", 200)],
        account_states: vec![("a1".into(), r#"{"a":2}"#.into())],
        ..RiskWrite::default()
    };
    assert_eq!(s.write_risk(&second).await.unwrap(), [3]);
    assert_eq!(s.last_event_seq("u1").await.unwrap(), 3);
    assert_eq!(s.last_event_seq("u9").await.unwrap(), 1);
    assert_eq!(
        s.tracker("t1").await.unwrap().unwrap().state.as_deref(),
        Some(r#"{"s":1}"#)
    );
    assert_eq!(
        s.risk_account_states().await.unwrap(),
        [("a1".to_owned(), r#"{"a":2}"#.to_owned())],
        "upserted"
    );

    let q = |after_seq: u64| TrackerEventQuery {
        user_id: "u1".into(),
        after_seq,
        limit: 1000,
        ..TrackerEventQuery::default()
    };
    let seqs = |v: Vec<TrackerEventRow>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.tracker_events(&q(0)).await.unwrap()), [1, 2, 3]);
    assert_eq!(seqs(s.tracker_events(&q(2)).await.unwrap()), [3]);
    let e = &s.tracker_events(&q(0)).await.unwrap()[1];
    assert_eq!(
        (e.account_id.as_str(), e.tracker_id.as_str(), e.doc.as_str()),
        ("a3", "t3", r#"{"brokerTime":"2026-01-07 13:30:00.500"}"#)
    );
    let ranged = TrackerEventQuery {
        from_broker_time: Some("2026-01-07 12:00:00.000".into()),
        to_broker_time: Some("2026-01-07 13:30:00.500".into()),
        ..q(0)
    };
    assert_eq!(
        seqs(s.tracker_events(&ranged).await.unwrap()),
        [1, 2],
        "inclusive"
    );
    let of_account = TrackerEventQuery {
        account_id: Some("a1".into()),
        limit: 1,
        ..q(0)
    };
    assert_eq!(seqs(s.tracker_events(&of_account).await.unwrap()), [1]);
    let of_tracker = TrackerEventQuery {
        tracker_id: Some("t3".into()),
        ..q(0)
    };
    assert_eq!(seqs(s.tracker_events(&of_tracker).await.unwrap()), [2]);

    let starts = |v: Vec<RiskRecord>| v.into_iter().map(|r| r.start.millis()).collect::<Vec<_>>();
    let at = |ms: i64| Timestamp::from_millis(ms);
    assert_eq!(
        starts(s.risk_periods("t1", at(1_000), 10).await.unwrap()),
        [200, 100]
    );
    assert_eq!(
        starts(s.risk_periods("t1", at(150), 10).await.unwrap()),
        [100]
    );
    assert_eq!(
        starts(s.risk_periods("t1", at(1_000), 1).await.unwrap()),
        [200]
    );
    assert_eq!(
        starts(s.risk_chart("a1", at(0), at(3_600_000)).await.unwrap()),
        [0, 3_600_000]
    );
    assert_eq!(
        starts(s.risk_chart("a1", at(1), at(9_000_000)).await.unwrap()),
        [3_600_000]
    );

    // A removed tracker takes its periods; a removed account its trackers, chart and state.
    assert!(s.delete_tracker("t1").await.unwrap());
    assert!(
        s.risk_periods("t1", at(1_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.delete_account("a1").await.unwrap());
    assert!(
        s.risk_chart("a1", at(0), at(9_000_000))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.risk_account_states().await.unwrap().is_empty());
    let late = RiskWrite {
        periods: vec![record("t1", 300)],
        chart: vec![record("a1", 7_200_000)],
        account_states: vec![("a1".into(), "{}".into())],
        ..RiskWrite::default()
    };
    s.write_risk(&late).await.unwrap();
    assert!(
        s.risk_periods("t1", at(1_000), 10)
            .await
            .unwrap()
            .is_empty()
            && s.risk_chart("a1", at(0), at(9_000_000))
                .await
                .unwrap()
                .is_empty()
            && s.risk_account_states().await.unwrap().is_empty(),
        "nothing is written for what was removed"
    );
    assert!(s.delete_account("a3").await.unwrap());
    assert!(s.tracker("t3").await.unwrap().is_none());
    assert_eq!(
        seqs(s.tracker_events(&q(0)).await.unwrap()),
        [1, 2, 3],
        "events outlive their trackers"
    );
    assert_eq!(
        s.last_event_seq("u1").await.unwrap(),
        3,
        "numbers are never reused"
    );
}

fn rules(id: &str, account: &str, created_ms: i64) -> RulesRow {
    RulesRow {
        id: id.into(),
        account_id: account.into(),
        user_id: "u1".into(),
        doc: format!(r#"{{"rules":"{id}"}}"#),
        created: Timestamp::from_millis(created_ms),
        state: None,
    }
}

/// One rule set per account: replaced with its state, resumed, detached, and gone with the
/// account; a state written for a replaced attachment is dropped.
async fn risk_rules(s: &dyn Store) {
    for (id, at) in [("r1", 40), ("r2", 41)] {
        s.create_account(&account(id, None, at)).await.unwrap();
    }
    assert_eq!(s.rules("r1").await.unwrap(), None);
    assert!(
        s.set_rules(&rules("x", "nope", 1)).await.is_err(),
        "rules need their account"
    );
    let first = rules("x1", "r1", 50);
    s.set_rules(&first).await.unwrap();
    s.set_rules(&rules("x2", "r2", 51)).await.unwrap();
    assert_eq!(s.rules("r1").await.unwrap(), Some(first.clone()));
    let write = RiskWrite {
        rule_states: vec![
            ("x1".into(), r#"{"d":1}"#.into()),
            ("gone".into(), "{}".into()),
        ],
        ..RiskWrite::default()
    };
    assert!(!write.is_empty());
    s.write_risk(&write).await.unwrap();
    assert_eq!(
        s.rules("r1").await.unwrap().unwrap().state.as_deref(),
        Some(r#"{"d":1}"#)
    );

    // Replacing: the new attachment starts without state; the old one's writes are dropped.
    let second = rules("x3", "r1", 60);
    s.set_rules(&second).await.unwrap();
    assert_eq!(s.rules("r1").await.unwrap(), Some(second.clone()));
    let late = RiskWrite {
        rule_states: vec![("x1".into(), r#"{"d":2}"#.into())],
        ..RiskWrite::default()
    };
    s.write_risk(&late).await.unwrap();
    assert_eq!(s.rules("r1").await.unwrap().unwrap().state, None);
    let ids = |v: Vec<RulesRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(s.all_rules().await.unwrap()), ["x2", "x3"]);

    assert!(s.delete_rules("r1").await.unwrap());
    assert!(!s.delete_rules("r1").await.unwrap());
    assert_eq!(s.rules("r1").await.unwrap(), None);
    assert!(s.delete_account("r2").await.unwrap());
    assert!(
        s.all_rules().await.unwrap().is_empty(),
        "an account's rules go with it"
    );
}
