//! Which accounts the engine follows and what it does to them: close-and-halt (and the
//! account's deletion lifting its halt), an account re-pointed when its server is edited,
//! an account followed from its creation with `riskManagementApiEnabled`, and the hour in
//! progress of the equity chart running on with the clock alone.

use super::{events, risk_fixture, risk_server};
use crate::support::{Account, eventually};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_halt_closes_everything() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { id, path: acc, .. } = account;
    api.ok(
        Method::POST,
        &format!("{acc}/trackers"),
        Some(
            json!({"name": "stop", "period": "date", "relativeDrawdownThreshold": 0.01,
                    "breachAction": "close-and-halt"}),
        ),
    )
    .await;
    api.buy(&acc, 1.0).await;
    let buy_limit = json!({
        "actionType": "ORDER_TYPE_BUY_LIMIT",
        "symbol": "EURUSD",
        "volume": 1,
        "openPrice": 1.0,
    });
    let (_, v) = api.trade(&acc, buy_limit).await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
    api.tick(1.0985).await; // 152.00 and the commission: over 1% of 10 000
    eventually("positions closed and orders canceled", async || {
        let p = api.read(&format!("{acc}/positions")).await;
        let o = api.read(&format!("{acc}/orders")).await;
        (p == json!([]) && o == json!([])).then_some(Value::Null)
    })
    .await;
    let events = api
        .read("/users/current/tracker-events/by-broker-time")
        .await;
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["action"], "close-and-halt");
    let (s, v) = api
        .trade(
            &acc,
            json!({"actionType": "ORDER_TYPE_SELL", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    // Deleting the account stops following it: its halt goes with it.
    assert!(fx.running().state.risk.is_halted(&id));
    api.ok(Method::DELETE, &acc, None).await;
    assert!(
        !fx.running().state.risk.is_halted(&id),
        "forgotten on delete"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_change_repoints_the_risk_engine() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let demo = api.demo_login().await;
    let create = |name: &str| {
        json!({"login": demo["login"], "password": demo["password"],
               "server": "Drawbridge-Demo", "name": name})
    };
    let a = api
        .ok(Method::POST, "/users/current/accounts", Some(create("A")))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // B trades the same broker account.
    let b = api
        .ok(Method::POST, "/users/current/accounts", Some(create("B")))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acc_a = format!("/users/current/accounts/{a}");
    let acc_b = format!("/users/current/accounts/{b}");
    api.enable_risk(&acc_a).await;
    api.ok(
        Method::POST,
        &format!("{acc_a}/trackers"),
        Some(json!({"name": "t", "period": "day", "absoluteDrawdownThreshold": 50})),
    )
    .await;
    // A moves to a server that does not know its login: its broker account is no longer
    // its own, and what happens there is not A's.
    api.ok(Method::POST, &format!("{acc_a}/undeploy"), None)
        .await;
    let (s, v) = api
        .call(
            Method::PUT,
            &acc_a,
            Some(json!({"server": "Drawbridge-Netting"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    api.buy(&acc_b, 1.0).await;
    api.tick(1.0985).await;
    let events = format!("/users/current/tracker-events/by-broker-time?accountId={a}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        api.read(&events).await,
        json!([]),
        "the old broker account is not followed"
    );
    // Back on its server: followed again from now on, the loss seen at once.
    let (s, v) = api
        .call(
            Method::PUT,
            &acc_a,
            Some(json!({"server": "Drawbridge-Demo"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    eventually("the re-pointed account breaches", async || {
        let v = api.read(&events).await;
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_created_with_the_risk_api_enabled_is_followed_from_its_creation() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let enabled = json!({"riskManagementApiEnabled": true});
    let Account { id, path: acc, .. } = api.demo_account_with(enabled).await;
    let doc = api.read(&acc).await;
    assert_eq!(doc["riskManagementApiEnabled"], true, "{doc}");

    // No enabling call: trackers are served and the engine follows the account at once.
    let tracker = api
        .ok(
            Method::POST,
            &format!("{acc}/trackers"),
            Some(json!({"name": "daily", "period": "day", "absoluteDrawdownThreshold": 100})),
        )
        .await;
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await; // about 152 down with the commission: over 100
    let events = eventually("the breach is stored", async || {
        let e = events(api).await;
        (e.as_array().is_some_and(|a| !a.is_empty())).then_some(e)
    })
    .await;
    assert_eq!(events[0]["accountId"], id, "{events}");
    assert_eq!(events[0]["trackerId"], tracker["id"], "{events}");
    assert_eq!(events[0]["exceededThresholdType"], "drawdown", "{events}");
    let stats = api
        .read(&format!(
            "{acc}/trackers/{}/statistics",
            tracker["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stats[0]["thresholdExceeded"], true, "{stats}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hour_in_progress_runs_up_to_now_without_inputs() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { path: acc, .. } = account;
    let chart = format!("{acc}/equity-chart?realTime=true");
    let first = eventually("the hour in progress", async || {
        let items = api.read(&chart).await;
        items.as_array()?.last().cloned()
    })
    .await;
    // No tick, no trade: only the clock moves (within the hour the account started in).
    api.advance(60.0).await;
    let items = api.read(&chart).await;
    let last = items.as_array().unwrap().last().unwrap();
    assert_eq!(last["startBrokerTime"], first["startBrokerTime"], "{items}");
    let grown = last["duration"].as_i64().unwrap() - first["duration"].as_i64().unwrap();
    assert!(
        grown >= 60_000,
        "the live hour covers the minute that passed: {first} then {last}"
    );
    assert_ne!(last["brokerTime"], first["brokerTime"], "{last}");
    assert_eq!(last["averageEquity"], first["averageEquity"], "{last}");
    fx.stop().await;
}
