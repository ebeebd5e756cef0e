//! Trackers: created, listed, renamed and removed; a drawdown breach seen by the events query
//! and the long poll; the halt it orders on the trade route; period statistics latched at the
//! breach and net of a deposit; the equity chart across hours; at most
//! `trackers_per_account` of them even for parallel creates; and the event stream without
//! `previousSequenceNumber`.

use super::{Breach, count, risk_account, risk_fixture, risk_server, tracker};
use crate::support::{Account, Fixture, assert_error, eventually, invalid_parameters};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const STREAM: &str = "/users/current/tracker-events/stream";
const EVENTS: &str = "/users/current/tracker-events/by-broker-time";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_are_refused_until_the_account_enables_the_risk_api() {
    let fx = risk_server().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let trackers = account.at("trackers");
    let (s, v) = api.get(&trackers).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&v, "ForbiddenError", "risk.api_disabled");
    api.enable_risk(&account.path).await;
    assert_eq!(api.read(&trackers).await, json!([]));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_create_names_every_bad_field_at_once() {
    let (fx, account) = risk_fixture().await;
    let bad = json!({"name": "", "absoluteDrawdownThreshold": -1, "startBrokerTime": "soon"});
    let (s, v) = fx.api.post(&account.at("trackers"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        invalid_parameters(&v),
        [
            "name",
            "period",
            "startBrokerTime",
            "absoluteDrawdownThreshold"
        ]
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_are_listed_read_renamed_and_found_by_name() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    let (daily, profit) = super::daily_and_profit(api, &account.path).await;
    let trackers = account.at("trackers");
    let (s, v) = api
        .post(
            &trackers,
            json!({"name": "daily", "period": "date", "relativeDrawdownThreshold": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&v, "ConflictError", "risk.tracker_name_taken");

    let listed = api.read(&trackers).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["_id"], json!(daily));
    assert_eq!(listed[0]["breachAction"], "halt");
    assert_eq!(listed[1]["relativeProfitThreshold"], 0.5);
    let one = api.read(&format!("{trackers}/{profit}")).await;
    assert_eq!(one["name"], "profit");
    api.ok(
        Method::PUT,
        &format!("{trackers}/{profit}"),
        Some(json!({"name": "lifetime profit"})),
    )
    .await;
    let by_name = api
        .read(&format!("{trackers}/name/lifetime%20profit"))
        .await;
    assert_eq!(by_name["_id"], json!(profit));
    let (s, v) = api.get(&format!("{trackers}/nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "risk.tracker_not_found");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nothing_new_the_long_poll_holds_then_answers_nothing() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    super::daily_and_profit(api, &account.path).await;
    let from_zero = format!("{STREAM}?previousSequenceNumber=0");
    let mut held = Box::pin(api.read(&from_zero));
    let early = tokio::time::timeout(Duration::from_secs(2), &mut held).await;
    assert!(early.is_err(), "held for the hold time");
    assert_eq!(held.await, json!([]));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_long_poll_wakes_with_the_breach() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    let (daily, _) = super::daily_and_profit(api, &account.path).await;
    // A long poll waiting while a 1-lot buy loses 152.00 plus its commission (> 100).
    let waiting = {
        let http = api.http.clone();
        let url = format!("{}{STREAM}?previousSequenceNumber=0", api.base);
        let token = api.token.clone();
        tokio::spawn(async move {
            let r = http
                .get(url)
                .header("auth-token", token)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        })
    };
    let (s, v) = api
        .trade(
            &account.path,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1}),
        )
        .await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{s} {v}");
    api.tick(1.0985).await;
    let drawdown = 10_000.0 - super::equity(api, &account.path).await;
    assert!(drawdown > 152.0, "{drawdown}");
    let woke = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("the long poll answers as the event is stored")
        .unwrap();
    assert_eq!(woke.as_array().unwrap().len(), 1, "{woke}");
    let event = &woke[0];
    assert_eq!(event["sequenceNumber"], 1);
    assert_eq!(event["accountId"], json!(account.id));
    assert_eq!(event["trackerId"], json!(daily));
    assert_eq!(event["exceededThresholdType"], "drawdown");
    assert_eq!(event["period"], "day");
    assert_eq!(event["action"], "halt");
    assert_eq!(event["absoluteDrawdown"], drawdown);
    assert_eq!(event["relativeDrawdown"], drawdown / 10_000.0);
    assert_eq!(
        event["brokerTime"], "2026-01-07 12:00:00.000",
        "EET, on the virtual clock"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_by_broker_time_are_the_streams_and_filter_by_time_account_and_tracker() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let (id, daily, profit) = (&breach.account.id, &breach.daily, &breach.profit);
    let all = api.read(EVENTS).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    let streamed = format!("{STREAM}?previousSequenceNumber=0");
    assert_eq!(api.read(&streamed).await, all);
    let q = format!(
        "{EVENTS}?startBrokerTime=2026-01-07%2012:00:00.000&endBrokerTime=2026-01-07%2012:00:00\
         &accountId={id}&trackerId={daily}&limit=5"
    );
    assert_eq!(api.read(&q).await, all);
    let q = format!("{EVENTS}?startBrokerTime=2026-01-07%2012:00:00.001");
    assert_eq!(api.read(&q).await, json!([]));
    let q = format!("{EVENTS}?trackerId={profit}");
    assert_eq!(api.read(&q).await, json!([]));
    let (s, v) = api
        .get(&format!("{EVENTS}?startBrokerTime=today&limit=0"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["details"].as_array().unwrap().len(), 2, "{v}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_refuses_new_exposure_but_lets_a_position_close() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let acc = &breach.account.path;
    let (s, v) = api
        .trade(
            acc,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.trading_halted");
    let (s, v) = api
        .trade(
            acc,
            json!({"actionType": "ORDER_TYPE_SELL_LIMIT", "symbol": "EURUSD", "volume": 0.1,
                   "openPrice": 1.2}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    api.close(acc, &breach.position).await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_statistics_are_latched_at_the_breach() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    // Closed after the breach: the close's commission does not move the latched figures.
    api.close(&breach.account.path, &breach.position).await;
    let statistics = format!("{}/{}/statistics", breach.trackers(), breach.daily);
    let stats = api.read(&statistics).await;
    assert_eq!(stats.as_array().unwrap().len(), 1, "{stats}");
    let p = &stats[0];
    assert_eq!(p["period"], "day");
    assert_eq!(p["initialBalance"], 10000.0);
    assert_eq!(p["startBrokerTime"], "2026-01-07 12:00:00.000");
    assert_eq!(p["endBrokerTime"], "2026-01-08 11:59:59.999");
    assert_eq!(p["thresholdExceeded"], true);
    assert_eq!(p["exceededThresholdType"], "drawdown");
    assert_eq!(p["maxAbsoluteDrawdown"], breach.drawdown);
    assert_eq!(p["tradeDayCount"], 1);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_is_neither_profit_nor_a_recovered_drawdown() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let (closed, profit_stats) = breach.closed_and_deposited(api).await;
    assert_eq!(profit_stats[0]["maxAbsoluteProfit"], 0.0);
    // Not latched: the close's commission deepened its drawdown.
    assert_eq!(profit_stats[0]["maxAbsoluteDrawdown"], 10_000.0 - closed);
    assert_eq!(profit_stats[0]["thresholdExceeded"], false);
    assert!(profit_stats[0].get("endBrokerTime").is_none(), "lifetime");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_equity_chart_holds_the_hour_in_progress() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let (closed, _) = breach.closed_and_deposited(api).await;
    // Every input came at 12:00 broker time, so only the last values were held.
    let chart = (api.read(&breach.account.at("equity-chart"))).await;
    assert_eq!(chart.as_array().unwrap().len(), 1, "{chart}");
    assert_eq!(chart[0]["startBrokerTime"], "2026-01-07 12:00:00.000");
    assert_eq!(
        chart[0]["minEquity"], closed,
        "after the close's commission"
    );
    assert_eq!(chart[0]["maxEquity"], closed + 5000.0);
    assert_eq!(chart[0]["lastBalance"], closed + 5000.0);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hours_on_the_chart_stores_the_first_hour_and_carries_its_values() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let (closed, _) = breach.closed_and_deposited(api).await;
    let acc = &breach.account.path;
    // The first hour is completed and stored; the hour with no input has no item (the SDK's
    // fillSkips fills it) and the current one opened with the carried values.
    api.advance(7200.0).await;
    let chart = eventually("the first hour completed", async || {
        let v = api.read(&format!("{acc}/equity-chart")).await;
        (v.as_array().unwrap().len() == 2).then_some(v)
    })
    .await;
    assert_eq!(chart[0]["endBrokerTime"], "2026-01-07 12:59:59.999");
    assert_eq!(chart[0]["averageEquity"], closed + 5000.0);
    assert_eq!(chart[0]["duration"], 3_600_000);
    assert_eq!(chart[1]["startBrokerTime"], "2026-01-07 14:00:00.000");
    assert_eq!(chart[1]["startEquity"], closed + 5000.0);
    let q = format!(
        "{acc}/equity-chart?startTime=2026-01-07%2012:30:00&endTime=2026-01-07%2013:59:00\
         &realTime=true"
    );
    let stored = api.read(&q).await;
    assert_eq!(stored, json!([chart[0]]), "from the store, by overlap");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_tracker_keeps_its_events() {
    let fx = risk_server().await;
    let api = &fx.api;
    let breach = Breach::of_daily(api).await;
    let daily = format!("{}/{}", breach.trackers(), breach.daily);
    api.ok(Method::DELETE, &daily, None).await;
    let (s, _) = api.get(&daily).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(count(api, EVENTS).await, 1);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_per_account_is_a_limit_even_for_parallel_creates() {
    let fx = Fixture::with_limits(&[("trackers_per_account", 2)]).await;
    let api = &fx.api;
    let Account { path: acc, .. } = api.demo_account().await;
    let trackers = format!("{acc}/trackers");
    api.enable_risk(&acc).await;
    let body = |name: &str| json!({"name": name, "period": "day", "absoluteDrawdownThreshold": 50});
    let a = tracker(api, &acc, body("a")).await;
    api.ok(Method::POST, &trackers, Some(body("b"))).await;
    let (s, v) = api.post(&trackers, body("c")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "ValidationError", "risk.tracker_limit");
    assert_eq!(
        v["details"],
        json!({"limit": "trackers_per_account", "value": 2})
    );
    assert_eq!(count(api, &trackers).await, 2);

    // One place left, four creates at once: exactly one gets it.
    let b = api.read(&format!("{trackers}/name/b")).await;
    api.ok(
        Method::DELETE,
        &format!("{trackers}/{}", b["_id"].as_str().unwrap()),
        None,
    )
    .await;
    let (r1, r2, r3, r4) = tokio::join!(
        api.post(&trackers, body("p1")),
        api.post(&trackers, body("p2")),
        api.post(&trackers, body("p3")),
        api.post(&trackers, body("p4")),
    );
    let statuses = [r1.0, r2.0, r3.0, r4.0];
    assert_eq!(
        statuses.iter().filter(|s| s.is_success()).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(count(api, &trackers).await, 2);
    // By name, from the store's lookup.
    let found = api.read(&format!("{trackers}/name/a")).await;
    assert_eq!(found["_id"], json!(a));
    let (s, v) = api.get(&format!("{trackers}/name/b")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_answers_events_stored_between_polls_without_a_sequence_number() {
    let mut fx = Fixture::start().await;
    fx.hold_streams(Duration::from_millis(300));
    let api = &fx.api;
    api.quiet().await;
    let Account { id, path: acc, .. } = risk_account(api).await;
    let stream = "/users/current/tracker-events/stream";
    // The first poll starts from the latest event (none yet).
    assert_eq!(api.read(stream).await, json!([]));
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await;
    // Two trackers that breach at once, stored while nobody polls.
    for name in ["one", "two"] {
        api.ok(
            Method::POST,
            &format!("{acc}/trackers"),
            Some(json!({"name": name, "period": "day", "absoluteDrawdownThreshold": 0.5})),
        )
        .await;
    }
    let got = api.read(stream).await;
    let seqs: Vec<&Value> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["sequenceNumber"])
        .collect();
    assert_eq!(seqs, [&json!(1), &json!(2)], "{got}");
    // Answered once: the next poll waits for new ones.
    assert_eq!(api.read(stream).await, json!([]));
    // Another stream (a filter) keeps its own place: it starts from now.
    let filtered = format!("{stream}?accountId={id}");
    assert_eq!(api.read(&filtered).await, json!([]));
    // A zero limit is refused on both routes, as on statistics.
    let (s, _) = api.get(&format!("{stream}?limit=0")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    fx.stop().await;
}
