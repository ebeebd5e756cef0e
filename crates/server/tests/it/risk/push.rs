//! Risk updates pushed over a real socket.io client (Engine.IO 3 over a WebSocket, what the
//! SDK speaks): a socket subscribed to one of two risk-enabled accounts gets that account's
//! `periodStatistics` and `equityChart` packets as prices and the virtual clock move —
//! coalesced to about one per tracker (and one chart item) per second however many ticks,
//! each equal to what the REST routes answer at that moment, the latch, the hour's final
//! item and a period's final values included — and nothing of the other account. The
//! routes answer the same for `realTime=true` and `false`.

use super::{risk_server, tracker};
use crate::support::{Account, Api, Socket, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The tracker's `periodStatistics` packets after `since`: their items.
fn statistics(socket: &Socket, tracker: &str, since: Instant) -> Vec<Value> {
    (socket.packets("periodStatistics", since).into_iter())
        .filter(|p| p["trackerId"] == tracker)
        .map(|p| p["periodStatistics"].clone())
        .collect()
}

/// The `equityChart` packets after `since`: their items.
fn chart(socket: &Socket, since: Instant) -> Vec<Value> {
    (socket.packets("equityChart", since).into_iter())
        .map(|p| {
            let items = p["equityChart"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{p}");
            items[0].clone()
        })
        .collect()
}

/// What the route at `path` answers, the same for `realTime=true` and `realTime=false`.
async fn whatever_real_time(api: &Api, path: &str) -> Value {
    let query = if path.contains('?') { '&' } else { '?' };
    let live = (api.read(&format!("{path}{query}realTime=true"))).await;
    let not = (api.read(&format!("{path}{query}realTime=false"))).await;
    assert_eq!(live, not, "realTime true and false answer the same");
    live
}

/// The statistics route's answer, the same for both `realTime` values and without.
async fn rest_statistics(api: &Api, acc: &str, tracker: &str, limit: u32) -> Value {
    let path = format!("{acc}/trackers/{tracker}/statistics?limit={limit}");
    let live = whatever_real_time(api, &path).await;
    assert_eq!(api.read(&path).await, live);
    live
}

/// The equity chart route's answer, the same for both `realTime` values.
async fn rest_chart(api: &Api, acc: &str) -> Value {
    whatever_real_time(api, &format!("{acc}/equity-chart")).await
}

/// Waits past the next push (every second) for the engine's updates to arrive.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1_600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_and_chart_updates_are_pushed_coalesced_to_the_subscribed_account() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account {
        id: a, path: acc_a, ..
    } = api.demo_account().await;
    let Account { path: acc_b, .. } = api.demo_account().await;
    for acc in [&acc_a, &acc_b] {
        api.enable_risk(acc).await;
    }
    // `daily` latches at a 400.00 drawdown; `watch` never latches. Both are calendar days
    // (broker time is 12:00 on 2026-01-07: the period ends at midnight).
    let daily = tracker(
        api,
        &acc_a,
        json!({"name": "daily", "period": "date", "absoluteDrawdownThreshold": 400}),
    )
    .await;
    let watch = tracker(
        api,
        &acc_a,
        json!({"name": "watch", "period": "date", "absoluteProfitThreshold": 100000}),
    )
    .await;
    tracker(
        api,
        &acc_b,
        json!({"name": "other", "period": "date", "absoluteDrawdownThreshold": 100000}),
    )
    .await;
    for acc in [&acc_a, &acc_b] {
        let (s, v) = api
            .trade(
                acc,
                json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Subscribed, the socket gets the account's current figures at the next push.
    let socket = Socket::open(fx.addr(), &api.token).await;
    let opened = Instant::now();
    socket.subscribe(&a, 0).await;
    let first = socket
        .wait("the current statistics", |e, d| {
            e == "synchronization" && d["type"] == "periodStatistics" && d["trackerId"] == watch
        })
        .await;
    assert_eq!(first["accountId"], json!(a));
    assert_eq!(first["instanceIndex"], 0);
    assert!(first["host"].is_string(), "{first}");
    assert!(
        first.get("sequenceNumber").is_none(),
        "no instance number: {first}"
    );
    socket
        .wait("the current chart item", |e, d| {
            e == "synchronization" && d["type"] == "equityChart"
        })
        .await;
    settle().await;
    let now = rest_statistics(api, &acc_a, &watch, 1).await;
    assert_eq!(statistics(&socket, &watch, opened).last(), Some(&now[0]));

    // 30 ticks over about three seconds, each a new maximum drawdown (10.00 a tick): the
    // updates are coalesced, and the last one is what the routes answer.
    let ticking = Instant::now();
    for k in 1..=30 {
        api.tick(1.1 - 0.0001 * f64::from(k)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let span = ticking.elapsed();
    settle().await;
    let bound = span.as_secs() as usize + 3;
    let pushed = statistics(&socket, &watch, ticking);
    assert!(
        (2..=bound).contains(&pushed.len()),
        "{} statistics updates for 30 changes in {span:?}: {pushed:?}",
        pushed.len()
    );
    let drawdowns: Vec<f64> = (pushed.iter())
        .map(|p| p["maxAbsoluteDrawdown"].as_f64().unwrap())
        .collect();
    assert!(
        drawdowns.windows(2).all(|w| w[0] < w[1]),
        "each update a new maximum: {drawdowns:?}"
    );
    let now = rest_statistics(api, &acc_a, &watch, 1).await;
    assert_eq!(
        pushed.last(),
        Some(&now[0]),
        "the last update is the route's"
    );
    assert!(
        now[0]["maxAbsoluteDrawdown"].as_f64().unwrap() > 300.0,
        "{now}"
    );
    let items = chart(&socket, ticking);
    assert!(
        (2..=bound).contains(&items.len()),
        "{} chart updates in {span:?}",
        items.len()
    );
    let rest = rest_chart(api, &acc_a).await;
    assert_eq!(items.last(), rest.as_array().unwrap().last(), "{rest}");
    assert_eq!(rest[0]["startBrokerTime"], "2026-01-07 12:00:00.000");

    // The latch: pushed with the tracker event; the frozen figures are pushed no more, while
    // the chart still moves.
    let latching = Instant::now();
    api.tick(1.0955).await;
    settle().await;
    let event = socket.packets("trackerEvent", latching);
    assert_eq!(event.len(), 1, "{event:?}");
    assert_eq!(event[0]["trackerEvent"]["trackerId"], json!(daily));
    let latched = statistics(&socket, &daily, latching);
    let now = rest_statistics(api, &acc_a, &daily, 1).await;
    assert_eq!(latched.last(), Some(&now[0]));
    assert_eq!(now[0]["thresholdExceeded"], true);
    assert_eq!(now[0]["exceededThresholdType"], "drawdown");
    let frozen = Instant::now();
    api.tick(1.094).await;
    settle().await;
    assert_eq!(statistics(&socket, &daily, frozen), Vec::<Value>::new());
    assert_eq!(statistics(&socket, &watch, frozen).len(), 1);
    assert!((1..=2).contains(&chart(&socket, frozen).len()));

    // The hour ends (on the deadline, no tick): its final item, then the next hour.
    let hour = Instant::now();
    let before = rest_chart(api, &acc_a).await;
    assert_eq!(before.as_array().unwrap().len(), 1, "{before}");
    api.advance(3600.0).await;
    settle().await;
    let rest = rest_chart(api, &acc_a).await;
    let rest = rest.as_array().unwrap();
    assert_eq!(rest.len(), 2, "{rest:?}");
    let items = chart(&socket, hour);
    assert!(
        (2..=3).contains(&items.len()),
        "the final 12:00 item, then 13:00: {items:?}"
    );
    assert_eq!(items[0], rest[0], "the hour's final item as stored");
    assert_ne!(items[0], before[0], "held to the hour's end");
    assert_eq!(items.last(), Some(&rest[1]));
    assert_eq!(rest[1]["startBrokerTime"], "2026-01-07 13:00:00.000");

    // Ten quiet minutes on, a new watcher's chart item is the hour in progress up to now, as
    // the route answers it (not as the last input left it).
    api.advance(600.0).await;
    let watcher = Socket::open(fx.addr(), &api.token).await;
    watcher.subscribe(&a, 0).await;
    let live = watcher
        .wait("the chart item", |e, d| {
            e == "synchronization" && d["type"] == "equityChart"
        })
        .await;
    let rest = rest_chart(api, &acc_a).await;
    let rest = rest.as_array().unwrap();
    assert_eq!(live["equityChart"][0], rest[1], "{live}");
    assert_ne!(
        live["equityChart"][0],
        items[items.len() - 1],
        "held to now"
    );

    // A change, and the period ends before the next push: its final values are not lost,
    // and the new period follows.
    let midnight = Instant::now();
    let was = rest_statistics(api, &acc_a, &watch, 1).await;
    api.tick(1.093).await;
    // Applied (the route reads the engine), most likely not pushed yet.
    eventually("the tick applied", async || {
        (rest_statistics(api, &acc_a, &watch, 1).await != was).then_some(())
    })
    .await;
    api.advance(11.0 * 3600.0).await;
    settle().await;
    let periods = rest_statistics(api, &acc_a, &watch, 2).await;
    assert_eq!(periods[0]["startBrokerTime"], "2026-01-08 00:00:00.000");
    let pushed = statistics(&socket, &watch, midnight);
    assert!(
        pushed.contains(&periods[1]),
        "the day's final values: {pushed:?}"
    );
    assert_eq!(pushed.last(), Some(&periods[0]), "then the new day");
    let daily_now = rest_statistics(api, &acc_a, &daily, 1).await;
    assert_eq!(
        statistics(&socket, &daily, midnight).last(),
        Some(&daily_now[0])
    );

    // Nothing of the account the socket did not subscribe.
    let all = socket.all();
    assert!(all.iter().all(|p| p["accountId"] == json!(a)), "{all:?}");
    let risk = ["periodStatistics", "equityChart", "trackerEvent"];
    assert!(
        (all.iter())
            .filter(|p| risk.iter().any(|k| p["type"] == *k))
            .all(|p| p.get("sequenceNumber").is_none()),
        "risk packets carry no instance sequence number"
    );

    // The routes validate `realTime`.
    let (s, v) = api
        .get(&format!("{acc_a}/equity-chart?realTime=sometimes"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api
        .get(&format!("{acc_a}/trackers/{watch}/statistics?realTime=yes"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    fx.stop().await;
}
