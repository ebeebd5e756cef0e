//! What a restart keeps: trackers, latches, halts and sequence numbers; a pending close-out,
//! run again; a completed tracker, still completed.

use super::{periodic_write_passes, risk_fixture, tracker};
use crate::support::{Account, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_latches_halts_and_sequence_numbers_survive_a_restart() {
    let (mut fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { path: acc, .. } = account;
    let trackers = format!("{acc}/trackers");
    let first = json!({"name": "first", "period": "week-to-date",
                       "absoluteDrawdownThreshold": 50, "breachAction": "halt"});
    let first = tracker(api, &acc, first).await;
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await;
    let stream = "/users/current/tracker-events/stream";
    let before = api
        .read(&format!("{stream}?previousSequenceNumber=0"))
        .await;
    assert_eq!(before[0]["sequenceNumber"], 1, "{before}");
    let trackers_before = api.read(&trackers).await;
    let stats_before = api.read(&format!("{trackers}/{first}/statistics")).await;
    periodic_write_passes().await;
    fx.restart().await;
    let api = &fx.api;
    assert_eq!(api.read(&trackers).await, trackers_before);
    let events = "/users/current/tracker-events/by-broker-time";
    assert_eq!(api.read(events).await, before);
    let stats = api.read(&format!("{trackers}/{first}/statistics")).await;
    assert_eq!(stats, stats_before, "the period resumes, still latched");
    let (s, v) = api
        .trade(
            &acc,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "still halted: {v}");

    // A new breach after the restart continues the numbering.
    let second = json!({"name": "second", "period": "day", "absoluteDrawdownThreshold": 0.5});
    let second = tracker(api, &acc, second).await;
    // It starts inside the 152.00 drawdown the first one saw: exceeded at once.
    let after = api
        .read(&format!("{stream}?previousSequenceNumber=1"))
        .await;
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["sequenceNumber"], 2);
    assert_eq!(after[0]["trackerId"], json!(second));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_close_out_runs_again_after_a_restart() {
    let (mut fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { id, path: acc, .. } = account;
    api.buy(&acc, 1.0).await;
    periodic_write_passes().await;
    // Stopped as right after a close-and-halt breach: halted, the close-out pending.
    fx.restart_with(async |dir| {
        use drawbridge_store::Store as _;
        let store = drawbridge_server::open_store(dir).await.unwrap();
        let states = store.risk_account_states().await.unwrap();
        let (_, state) = states.iter().find(|(a, _)| *a == id).unwrap();
        let mut state: Value = serde_json::from_str(state).unwrap();
        state["halted"] = json!(true);
        state["closeout_pending"] = json!(true);
        let write = drawbridge_store::RiskWrite {
            account_states: vec![(id.clone(), state.to_string())],
            ..Default::default()
        };
        store.write_risk(&write).await.unwrap();
    })
    .await;
    let api = &fx.api;
    // (The virtual clock stands still: polls past the credit window are refused, not failed.)
    eventually("the position closed at start", async || {
        let (s, p) = api.get(&format!("{acc}/positions")).await;
        (s.is_success() && p == json!([])).then_some(Value::Null)
    })
    .await;
    assert!(fx.running().state.risk.is_halted(&id));
    eventually("the close-out no longer pending", async || {
        let states = fx
            .running()
            .state
            .store
            .risk_account_states()
            .await
            .unwrap();
        let (_, s) = states.iter().find(|(a, _)| *a == id)?;
        (!s.contains("closeout_pending")).then_some(Value::Null)
    })
    .await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_tracker_stays_completed_after_a_restart() {
    let (mut fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { path: acc, .. } = account;
    // Broker time is 12:00: the tracker ends at 13:00.
    let hour = json!({"name": "hour", "period": "day", "absoluteDrawdownThreshold": 50,
                      "endBrokerTime": "2026-01-07 13:00:00.000"});
    let tracker = tracker(api, &acc, hour).await;
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await;
    let events = "/users/current/tracker-events/by-broker-time";
    eventually("the breach", async || {
        let v = api.read(events).await;
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
    api.advance(7200.0).await;
    let statistics = format!("{acc}/trackers/{tracker}/statistics?limit=5");
    // The deadline queue completes it; the periodic write passes.
    periodic_write_passes().await;
    let done = api.read(&statistics).await;
    assert_eq!(done.as_array().unwrap().len(), 1, "{done}");
    fx.restart().await;
    let api = &fx.api;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let after = api.read(events).await;
    assert_eq!(
        after.as_array().unwrap().len(),
        1,
        "no second breach: {after}"
    );
    assert_eq!(api.read(&statistics).await, done);
    fx.stop().await;
}
