//! What the risk engine makes durable: numbered events, completed periods and chart hours,
//! resume states, and the rule sets attached to accounts.

use super::{account, seed_owner, seed_trackers};
use crate::{RiskRecord, RiskWrite, RulesRow, Store, TrackerEventQuery, TrackerEventRow};
use drawbridge_model::Timestamp;

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

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Three events (u1, u9, u1), t1's periods at 100 and 200, a1's chart hours at 0 and 1 h, t1's
/// state and a1's state; a state for a tracker that does not exist.
fn first_write() -> RiskWrite {
    RiskWrite {
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
    }
}

/// A fourth event (u1), t1's period at 200 again, a1's state again.
fn second_write() -> RiskWrite {
    RiskWrite {
        events: vec![event("u1", "a1", "t1", "2026-01-08 09:00:00.000")],
        periods: vec![record("t1", 200)],
        account_states: vec![("a1".into(), r#"{"a":2}"#.into())],
        ..RiskWrite::default()
    }
}

/// [`seed_trackers`], then [`first_write`] and [`second_write`].
async fn seed_risk_writes(s: &dyn Store) {
    seed_trackers(s).await;
    s.write_risk(&first_write()).await.unwrap();
    s.write_risk(&second_write()).await.unwrap();
}

fn user_events(after_seq: u64) -> TrackerEventQuery {
    TrackerEventQuery {
        user_id: "u1".into(),
        after_seq,
        limit: 1000,
        ..TrackerEventQuery::default()
    }
}

fn seqs(events: Vec<TrackerEventRow>) -> Vec<u64> {
    events.into_iter().map(|e| e.seq).collect()
}

fn starts(records: Vec<RiskRecord>) -> Vec<i64> {
    records.into_iter().map(|r| r.start.millis()).collect()
}

pub async fn risk_events_are_numbered_per_user(s: &dyn Store) {
    seed_trackers(s).await;
    assert_eq!(s.last_event_seq("u1").await.unwrap(), 0);
    assert!(
        s.write_risk(&RiskWrite::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.write_risk(&first_write()).await.unwrap(),
        [1, 1, 2],
        "per user"
    );
    assert_eq!(s.write_risk(&second_write()).await.unwrap(), [3]);
    assert_eq!(s.last_event_seq("u1").await.unwrap(), 3);
    assert_eq!(s.last_event_seq("u9").await.unwrap(), 1);
}

pub async fn risk_states_are_kept(s: &dyn Store) {
    seed_risk_writes(s).await;
    assert_eq!(
        s.tracker("t1").await.unwrap().unwrap().state.as_deref(),
        Some(r#"{"s":1}"#)
    );
    assert_eq!(
        s.risk_account_states().await.unwrap(),
        [("a1".to_owned(), r#"{"a":2}"#.to_owned())],
        "upserted"
    );
}

/// By sequence number, broker time (inclusive), account and tracker.
pub async fn risk_events_are_queried(s: &dyn Store) {
    seed_risk_writes(s).await;
    let q = user_events;
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
}

pub async fn risk_periods_and_chart_hours_are_read_by_start(s: &dyn Store) {
    seed_risk_writes(s).await;
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
}

/// A removed tracker takes its periods; a removed account its trackers, chart and state;
/// events stay and their numbers are never reused.
pub async fn risk_records_go_with_their_tracker_or_account(s: &dyn Store) {
    seed_risk_writes(s).await;
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
        seqs(s.tracker_events(&user_events(0)).await.unwrap()),
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

/// u1's accounts r1 and r2.
async fn seed_rule_accounts(s: &dyn Store) {
    seed_owner(s).await;
    for (id, at) in [("r1", 40), ("r2", 41)] {
        s.create_account(&account(id, None, at)).await.unwrap();
    }
}

/// [`seed_rule_accounts`] with rule set x1 on r1 and x2 on r2.
async fn seed_rules(s: &dyn Store) {
    seed_rule_accounts(s).await;
    s.set_rules(&rules("x1", "r1", 50)).await.unwrap();
    s.set_rules(&rules("x2", "r2", 51)).await.unwrap();
}

/// x1's state, and one for an attachment that does not exist.
fn rule_states() -> RiskWrite {
    RiskWrite {
        rule_states: vec![
            ("x1".into(), r#"{"d":1}"#.into()),
            ("gone".into(), "{}".into()),
        ],
        ..RiskWrite::default()
    }
}

pub async fn rules_need_their_account(s: &dyn Store) {
    seed_rule_accounts(s).await;
    assert_eq!(s.rules("r1").await.unwrap(), None);
    assert!(
        s.set_rules(&rules("x", "nope", 1)).await.is_err(),
        "rules need their account"
    );
}

pub async fn rules_keep_their_state(s: &dyn Store) {
    seed_rules(s).await;
    assert_eq!(s.rules("r1").await.unwrap(), Some(rules("x1", "r1", 50)));
    let write = rule_states();
    assert!(!write.is_empty());
    s.write_risk(&write).await.unwrap();
    assert_eq!(
        s.rules("r1").await.unwrap().unwrap().state.as_deref(),
        Some(r#"{"d":1}"#)
    );
}

/// The new attachment starts without state; the old one's writes are dropped.
pub async fn replaced_rules_start_without_state(s: &dyn Store) {
    seed_rules(s).await;
    s.write_risk(&rule_states()).await.unwrap();
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
}

pub async fn rules_are_detached_and_go_with_their_account(s: &dyn Store) {
    seed_rules(s).await;
    assert!(s.delete_rules("r1").await.unwrap());
    assert!(!s.delete_rules("r1").await.unwrap());
    assert_eq!(s.rules("r1").await.unwrap(), None);
    assert!(s.delete_account("r2").await.unwrap());
    assert!(
        s.all_rules().await.unwrap().is_empty(),
        "an account's rules go with it"
    );
}
