//! The risk management API over a real socket, a real SQLite file and a virtual clock:
//! trackers, a drawdown breach seen by the events query and the long poll, the halt it
//! orders on the trade route, period statistics net of a deposit, the equity chart across
//! hours, close-and-halt (and the account's deletion lifting its halt), and a restart that
//! keeps trackers, latches and sequence numbers. Rule sets: a preset's daily loss breached
//! by floating loss carried over the daily reset halts the account, the halt is lifted; a
//! full rule set's profit target passes, and its decision survives a restart; an account is
//! followed from the moment its risk management API is enabled, or from its creation with
//! `riskManagementApiEnabled`. Limits and durability: at
//! most `trackers_per_account` trackers even for parallel creates; an account whose server
//! is edited is re-pointed (the old broker account no longer followed); the event stream
//! without `previousSequenceNumber` answers what was stored between two polls; a pending
//! close-out runs again after a restart, and a completed tracker stays completed.

mod push;

use crate::support::{Account, Api, Fixture, assert_error, eventually, invalid_parameters};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// A test server whose tracker-event long poll holds for three seconds.
async fn risk_server() -> Fixture {
    let mut fx = Fixture::start().await;
    fx.hold_streams(Duration::from_secs(3));
    fx
}

/// A deployed demo account with its risk management API enabled.
async fn risk_account(api: &Api) -> Account {
    let account = api.demo_account().await;
    api.enable_risk(&account.path).await;
    account
}

/// A new tracker of the account at `acc`: its id.
async fn tracker(api: &Api, acc: &str, tracker: Value) -> String {
    let created = api
        .ok(Method::POST, &format!("{acc}/trackers"), Some(tracker))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// How many items a list route answers.
async fn count(api: &Api, path: &str) -> usize {
    let list = api.ok(Method::GET, path, None).await;
    list.as_array().expect("the route answers a list").len()
}

async fn equity(api: &Api, acc: &str) -> f64 {
    let info = api
        .ok(Method::GET, &format!("{acc}/account-information"), None)
        .await;
    info["equity"].as_f64().unwrap()
}

/// Every tracker event and rule-set event, by broker time.
async fn events(api: &Api) -> Value {
    api.ok(
        Method::GET,
        "/users/current/tracker-events/by-broker-time",
        None,
    )
    .await
}

/// Waits past the engine's periodic write (every second) to the store.
async fn periodic_write_passes() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_events_statistics_chart_and_the_halt() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account {
        id,
        login,
        path: acc,
    } = api.demo_account().await;
    let trackers = format!("{acc}/trackers");

    // Off until the account enables it.
    let (s, v) = api.get(&trackers).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&v, "ForbiddenError", "risk.api_disabled");
    api.enable_risk(&acc).await;
    assert_eq!(api.ok(Method::GET, &trackers, None).await, json!([]));

    // Every bad field at once, in MetaApi's ValidationError shape.
    let (s, v) = api
        .post(
            &trackers,
            json!({"name": "", "absoluteDrawdownThreshold": -1, "startBrokerTime": "soon"}),
        )
        .await;
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

    let daily = json!({"name": "daily", "period": "day", "absoluteDrawdownThreshold": 100,
                       "breachAction": "halt"});
    let daily = tracker(api, &acc, daily).await;
    let profit = json!({"name": "profit", "period": "lifetime", "relativeProfitThreshold": 0.5});
    let profit = tracker(api, &acc, profit).await;
    let (s, v) = api
        .post(
            &trackers,
            json!({"name": "daily", "period": "date", "relativeDrawdownThreshold": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&v, "ConflictError", "risk.tracker_name_taken");

    let listed = api.ok(Method::GET, &trackers, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["_id"], json!(daily));
    assert_eq!(listed[0]["breachAction"], "halt");
    assert_eq!(listed[1]["relativeProfitThreshold"], 0.5);
    let one = api
        .ok(Method::GET, &format!("{trackers}/{profit}"), None)
        .await;
    assert_eq!(one["name"], "profit");
    api.ok(
        Method::PUT,
        &format!("{trackers}/{profit}"),
        Some(json!({"name": "lifetime profit"})),
    )
    .await;
    let by_name = api
        .ok(
            Method::GET,
            &format!("{trackers}/name/lifetime%20profit"),
            None,
        )
        .await;
    assert_eq!(by_name["_id"], json!(profit));
    let (s, v) = api.get(&format!("{trackers}/nope")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "risk.tracker_not_found");

    // Nothing new: the long poll holds, then answers [].
    let stream = "/users/current/tracker-events/stream";
    let from_zero = format!("{stream}?previousSequenceNumber=0");
    {
        let held = api.ok(Method::GET, &from_zero, None);
        tokio::pin!(held);
        let early = tokio::time::timeout(Duration::from_secs(2), &mut held).await;
        assert!(early.is_err(), "held for the hold time");
        assert_eq!(held.await, json!([]));
    }

    // A long poll waiting while a 1-lot buy loses 152.00 plus its commission (> 100): it
    // wakes with the event.
    let waiting = {
        let http = api.http.clone();
        let url = format!("{}{stream}?previousSequenceNumber=0", api.base);
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
            &acc,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1}),
        )
        .await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{s} {v}");
    let position = v["positionId"].as_str().unwrap().to_owned();
    api.tick(1.0985).await;
    let info = api
        .ok(Method::GET, &format!("{acc}/account-information"), None)
        .await;
    let equity = info["equity"].as_f64().unwrap();
    let drawdown = 10_000.0 - equity;
    assert!(drawdown > 152.0, "{info}");
    let woke = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("the long poll answers as the event is stored")
        .unwrap();
    assert_eq!(woke.as_array().unwrap().len(), 1, "{woke}");
    let event = &woke[0];
    assert_eq!(event["sequenceNumber"], 1);
    assert_eq!(event["accountId"], json!(id));
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

    // The same by broker time, filtered; the stream past it holds again.
    let events = "/users/current/tracker-events/by-broker-time";
    let all = api.ok(Method::GET, events, None).await;
    assert_eq!(all, woke);
    let q = format!(
        "{events}?startBrokerTime=2026-01-07%2012:00:00.000&endBrokerTime=2026-01-07%2012:00:00&accountId={id}&trackerId={daily}&limit=5"
    );
    assert_eq!(api.ok(Method::GET, &q, None).await, woke);
    let q = format!("{events}?startBrokerTime=2026-01-07%2012:00:00.001");
    assert_eq!(api.ok(Method::GET, &q, None).await, json!([]));
    let q = format!("{events}?trackerId={profit}");
    assert_eq!(api.ok(Method::GET, &q, None).await, json!([]));
    let (s, v) = api
        .get(&format!("{events}?startBrokerTime=today&limit=0"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["details"].as_array().unwrap().len(), 2, "{v}");

    // Halted: no new exposure, but the position may be closed.
    let (s, v) = api
        .trade(
            &acc,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.trading_halted");
    let (s, v) = api.trade(&acc,
        json!({"actionType": "ORDER_TYPE_SELL_LIMIT", "symbol": "EURUSD", "volume": 0.1, "openPrice": 1.2}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (_, v) = api
        .trade(
            &acc,
            json!({"actionType": "POSITION_CLOSE_ID", "positionId": position}),
        )
        .await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
    let closed = api
        .ok(Method::GET, &format!("{acc}/account-information"), None)
        .await["balance"]
        .as_f64()
        .unwrap();

    // Statistics: the day's period, latched at the breach.
    let stats = api
        .ok(Method::GET, &format!("{trackers}/{daily}/statistics"), None)
        .await;
    assert_eq!(stats.as_array().unwrap().len(), 1, "{stats}");
    let p = &stats[0];
    assert_eq!(p["period"], "day");
    assert_eq!(p["initialBalance"], 10000.0);
    assert_eq!(p["startBrokerTime"], "2026-01-07 12:00:00.000");
    assert_eq!(p["endBrokerTime"], "2026-01-08 11:59:59.999");
    assert_eq!(p["thresholdExceeded"], true);
    assert_eq!(p["exceededThresholdType"], "drawdown");
    assert_eq!(p["maxAbsoluteDrawdown"], drawdown);
    assert_eq!(p["tradeDayCount"], 1);

    // A deposit is neither profit nor a recovered drawdown.
    api.ok(
        Method::POST,
        "/sim/balance",
        Some(json!({"login": login.parse::<u64>().unwrap(), "amount": 5000})),
    )
    .await;
    let profit_stats = eventually("the deposit counted", async || {
        let v = api
            .ok(
                Method::GET,
                &format!("{trackers}/{profit}/statistics"),
                None,
            )
            .await;
        (v[0]["balanceAdjustment"] == 5000.0).then_some(v)
    })
    .await;
    assert_eq!(profit_stats[0]["maxAbsoluteProfit"], 0.0);
    // Not latched: the close's commission deepened its drawdown.
    assert_eq!(profit_stats[0]["maxAbsoluteDrawdown"], 10_000.0 - closed);
    assert_eq!(profit_stats[0]["thresholdExceeded"], false);
    assert!(profit_stats[0].get("endBrokerTime").is_none(), "lifetime");

    // The chart: the hour in progress (every input came at 12:00 broker time, so only the
    // last values were held). Two hours later the first hour is completed and stored; the
    // hour with no input has no item (the SDK's fillSkips fills it) and the current one
    // opened with the carried values.
    let chart = api
        .ok(Method::GET, &format!("{acc}/equity-chart"), None)
        .await;
    assert_eq!(chart.as_array().unwrap().len(), 1, "{chart}");
    assert_eq!(chart[0]["startBrokerTime"], "2026-01-07 12:00:00.000");
    assert_eq!(
        chart[0]["minEquity"], closed,
        "after the close's commission"
    );
    assert_eq!(chart[0]["maxEquity"], closed + 5000.0);
    assert_eq!(chart[0]["lastBalance"], closed + 5000.0);
    api.advance(7200.0).await;
    let chart = eventually("the first hour completed", async || {
        let v = api
            .ok(Method::GET, &format!("{acc}/equity-chart"), None)
            .await;
        (v.as_array().unwrap().len() == 2).then_some(v)
    })
    .await;
    assert_eq!(chart[0]["endBrokerTime"], "2026-01-07 12:59:59.999");
    assert_eq!(chart[0]["averageEquity"], closed + 5000.0);
    assert_eq!(chart[0]["duration"], 3_600_000);
    assert_eq!(chart[1]["startBrokerTime"], "2026-01-07 14:00:00.000");
    assert_eq!(chart[1]["startEquity"], closed + 5000.0);
    let q = format!(
        "{acc}/equity-chart?startTime=2026-01-07%2012:30:00&endTime=2026-01-07%2013:59:00&realTime=true"
    );
    let stored = api.ok(Method::GET, &q, None).await;
    assert_eq!(stored, json!([chart[0]]), "from the store, by overlap");

    // Removing a tracker keeps its events.
    api.ok(Method::DELETE, &format!("{trackers}/{daily}"), None)
        .await;
    let (s, _) = api.get(&format!("{trackers}/{daily}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.ok(Method::GET, events, None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_halt_closes_everything() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { id, path: acc, .. } = risk_account(api).await;
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
    let (_, v) = api.trade(&acc,
        json!({"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "EURUSD", "volume": 1, "openPrice": 1.0}),
    )
    .await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
    api.tick(1.0985).await; // 152.00 and the commission: over 1% of 10 000
    eventually("positions closed and orders canceled", async || {
        let p = api.ok(Method::GET, &format!("{acc}/positions"), None).await;
        let o = api.ok(Method::GET, &format!("{acc}/orders"), None).await;
        (p == json!([]) && o == json!([])).then_some(Value::Null)
    })
    .await;
    let events = api
        .ok(
            Method::GET,
            "/users/current/tracker-events/by-broker-time",
            None,
        )
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
async fn trackers_latches_halts_and_sequence_numbers_survive_a_restart() {
    let mut fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { path: acc, .. } = risk_account(api).await;
    let trackers = format!("{acc}/trackers");
    let first = json!({"name": "first", "period": "week-to-date",
                       "absoluteDrawdownThreshold": 50, "breachAction": "halt"});
    let first = tracker(api, &acc, first).await;
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await;
    let stream = "/users/current/tracker-events/stream";
    let before = api
        .ok(
            Method::GET,
            &format!("{stream}?previousSequenceNumber=0"),
            None,
        )
        .await;
    assert_eq!(before[0]["sequenceNumber"], 1, "{before}");
    let trackers_before = api.ok(Method::GET, &trackers, None).await;
    let stats_before = api
        .ok(Method::GET, &format!("{trackers}/{first}/statistics"), None)
        .await;
    periodic_write_passes().await;
    fx.restart().await;
    let api = &fx.api;
    assert_eq!(api.ok(Method::GET, &trackers, None).await, trackers_before);
    let events = "/users/current/tracker-events/by-broker-time";
    assert_eq!(api.ok(Method::GET, events, None).await, before);
    let stats = api
        .ok(Method::GET, &format!("{trackers}/{first}/statistics"), None)
        .await;
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
        .ok(
            Method::GET,
            &format!("{stream}?previousSequenceNumber=1"),
            None,
        )
        .await;
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["sequenceNumber"], 2);
    assert_eq!(after[0]["trackerId"], json!(second));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_halts_on_floating_loss_carried_over_the_daily_reset() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { id, path: acc, .. } = api.demo_account().await;
    let rules = format!("{acc}/risk-rules");

    let presets = api
        .ok(Method::GET, "/users/current/risk-rule-presets", None)
        .await;
    let names: Vec<&str> = (presets.as_array().unwrap().iter())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "two-step-phase-1",
            "two-step-phase-2",
            "one-step",
            "instant-funding"
        ]
    );
    let one_step = &presets[2];
    assert!(
        one_step["toml"]
            .as_str()
            .unwrap()
            .contains("reset = \"17:00\"")
    );
    assert_eq!(one_step["ruleSet"]["daily_loss"]["limit"]["fraction"], 0.04);
    assert_eq!(one_step["ruleSet"]["daily_loss"]["reference"], "balance");

    let (s, v) = api
        .call(Method::PUT, &rules, Some(json!({"preset": "one-step"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.api_disabled");
    api.enable_risk(&acc).await;
    let (s, v) = api.get(&rules).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "risk.rules_not_set");
    // Every problem at once, in the ValidationError shape.
    let (s, v) = api
        .call(
            Method::PUT,
            &rules,
            Some(json!({"preset": "three-step", "action": "panic", "colour": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        invalid_parameters(&v),
        ["action", "colour", "preset"],
        "{v}"
    );
    let bad = json!({"ruleSet": {"name": "x", "daily_loss": {"limit": {"fraction": 2.0},
        "reference": "balance"}, "day": {"zone": "Mars/Olympus", "reset": "25:00"}}});
    let (s, v) = api.call(Method::PUT, &rules, Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        invalid_parameters(&v),
        [
            "ruleSet.day.zone",
            "ruleSet.day.reset",
            "ruleSet.daily_loss.limit"
        ],
        "{v}"
    );

    // one-step: 4 % daily loss (400.00) from the day-start balance, days from 17:00 New
    // York (22:00 UTC, 00:00 on the EET trade server); the action made a plain halt.
    let attached = api
        .ok(
            Method::PUT,
            &rules,
            Some(json!({"preset": "one-step", "action": "halt"})),
        )
        .await;
    assert_eq!(attached["preset"], "one-step");
    assert_eq!(attached["ruleSet"]["action"], "halt");
    assert_eq!(attached["halted"], false);
    let status = &attached["status"];
    assert_eq!(status["state"], "active", "{attached}");
    assert_eq!(status["initialBalance"], 10000.0);
    assert_eq!(status["dayReference"], 10000.0);
    assert_eq!(status["dayStartBrokerTime"], "2026-01-07 00:00:00.000");
    assert_eq!(status["maxLossFloor"], 9400.0);

    // Day 1: a 1-lot buy floats 252.00 and its commission down: under 400.
    api.buy(&acc, 1.0).await;
    api.tick(1.0975).await;
    let day1 = equity(api, &acc).await;
    assert!(10_000.0 - day1 < 400.0, "{day1}");
    // The commission was taken from the balance at the entry.
    let balance = api
        .ok(Method::GET, &format!("{acc}/account-information"), None)
        .await["balance"]
        .as_f64()
        .unwrap();
    assert!(balance < 10_000.0);

    // 13 hours on (23:00 UTC): a new day. The floating loss is carried over and, the
    // reference being the day-start balance, still counts: 20 more pips pass 400.
    // Measured from the day-start equity instead it would be a 200.00 loss.
    api.advance(13.0 * 3600.0).await;
    let day2 = eventually("the new day", async || {
        let v = api.ok(Method::GET, &rules, None).await;
        (v["status"]["dayStartBrokerTime"] == "2026-01-08 00:00:00.000").then_some(v)
    })
    .await;
    assert_eq!(day2["status"]["dayReference"], balance, "{day2}");
    assert_eq!(day2["halted"], false);
    assert_eq!(events(api).await, json!([]), "no breach yet");
    api.tick(1.0955).await;
    let now = equity(api, &acc).await;
    assert!(now - day1 > -400.0 && balance - now > 400.0, "{day1} {now}");
    let breached = eventually("the daily-loss breach", async || {
        let v = events(api).await;
        (v.as_array().unwrap().len() == 1).then_some(v)
    })
    .await;
    let e = &breached[0];
    assert_eq!(e["eventType"], "dailyLossBreached", "{e}");
    assert_eq!(e["accountId"], json!(id));
    assert_eq!(e["ruleSet"], "one-step");
    assert_eq!(e["action"], "halt");
    assert_eq!(e["reference"], balance);
    assert_eq!(e["limit"], 400.0);
    assert_eq!(e["equity"], now);
    assert_eq!(e["brokerTime"], "2026-01-08 01:00:00.000");
    assert_eq!(e["sequenceNumber"], 1);

    // Halted: no new exposure.
    let (s, v) = api
        .trade(
            &acc,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.trading_halted");
    let halt = format!("{acc}/risk-halt");
    assert_eq!(api.ok(Method::GET, &halt, None).await["halted"], true);
    let now = api.ok(Method::GET, &rules, None).await;
    assert_eq!(now["status"]["state"], "daily-loss", "{now}");
    assert_eq!(now["halted"], true);

    // The owner lifts the halt: recorded, trading again; a second lift has nothing to lift.
    api.ok(Method::POST, &format!("{halt}/lift"), None).await;
    assert_eq!(api.ok(Method::GET, &halt, None).await["halted"], false);
    let all = events(api).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[1]["eventType"], "haltLifted");
    assert_eq!(all[1]["sequenceNumber"], 2);
    assert_eq!(all[1]["brokerTime"], "2026-01-08 01:00:00.000");
    api.buy(&acc, 0.1).await;
    let (s, v) = api.post(&format!("{halt}/lift"), json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "ValidationError", "risk.not_halted");

    api.ok(Method::DELETE, &rules, None).await;
    let (s, v) = api.get(&rules).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = api.call(Method::DELETE, &rules, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_set_passes_on_its_profit_target_and_resumes_after_a_restart() {
    let mut fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { path: acc, .. } = risk_account(api).await;
    let rules = format!("{acc}/risk-rules");

    // Followed from the moment the API is enabled: the chart saw the dip before it was
    // first asked for.
    let v = api.buy(&acc, 1.0).await;
    let position = v["positionId"].as_str().unwrap().to_owned();
    api.tick(1.0985).await;
    let dip = equity(api, &acc).await;
    api.tick(1.1).await;
    let chart = eventually("the dip charted", async || {
        let v = api
            .ok(Method::GET, &format!("{acc}/equity-chart"), None)
            .await;
        (v[0]["minEquity"] == dip).then_some(v)
    })
    .await;
    assert!(chart[0]["lastEquity"].as_f64().unwrap() > dip, "{chart}");

    // A full rule set: 5 % of closed profit (500.00), a static 10 % maximum loss; notify.
    let set = json!({"name": "target", "profit_target": {"fraction": 0.05},
        "max_loss": {"limit": {"fraction": 0.1}, "mode": "static"}});
    let attached = api
        .ok(Method::PUT, &rules, Some(json!({"ruleSet": set})))
        .await;
    assert!(attached.get("preset").is_none(), "{attached}");
    assert_eq!(attached["ruleSet"]["action"], "notify");
    // Started from the account now: the entry's commission is already off the balance.
    let initial = attached["status"]["initialBalance"].as_f64().unwrap();
    assert!(initial < 10_000.0, "{attached}");
    let cents = |v: f64| (v * 100.0).round() / 100.0;
    assert_eq!(attached["status"]["maxLossFloor"], cents(initial * 0.9));

    // 600 pips of floating profit is not closed profit.
    api.tick(1.16).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(api).await, json!([]));
    let (_, v) = api
        .trade(
            &acc,
            json!({"actionType": "POSITION_CLOSE_ID", "positionId": position}),
        )
        .await;
    assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
    let passed = eventually("the pass", async || {
        let v = events(api).await;
        (v.as_array().unwrap().len() == 1).then_some(v)
    })
    .await;
    let e = &passed[0];
    assert_eq!(e["eventType"], "profitTargetReached", "{e}");
    assert_eq!(e["ruleSet"], "target");
    assert_eq!(e["reference"], initial);
    assert_eq!(e["limit"], cents(initial * 0.05));
    assert!(e.get("action").is_none(), "a pass only notifies: {e}");
    assert!(
        e["balance"].as_f64().unwrap() - initial >= cents(initial * 0.05),
        "{e}"
    );
    let now = api.ok(Method::GET, &rules, None).await;
    assert_eq!(now["status"]["state"], "passed", "{now}");
    assert_eq!(now["halted"], false);

    // The decision and the attachment survive a restart.
    periodic_write_passes().await;
    fx.restart().await;
    let api = &fx.api;
    let after = api.ok(Method::GET, &rules, None).await;
    assert_eq!(after["ruleSet"], now["ruleSet"]);
    assert_eq!(after["status"], now["status"], "{after}");
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
    let b = api
        .ok(Method::GET, &format!("{trackers}/name/b"), None)
        .await;
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
    let found = api
        .ok(Method::GET, &format!("{trackers}/name/a"), None)
        .await;
    assert_eq!(found["_id"], json!(a));
    let (s, v) = api.get(&format!("{trackers}/name/b")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
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
        api.ok(Method::GET, &events, None).await,
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
        let v = api.ok(Method::GET, &events, None).await;
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
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
    assert_eq!(api.ok(Method::GET, stream, None).await, json!([]));
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
    let got = api.ok(Method::GET, stream, None).await;
    let seqs: Vec<&Value> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["sequenceNumber"])
        .collect();
    assert_eq!(seqs, [&json!(1), &json!(2)], "{got}");
    // Answered once: the next poll waits for new ones.
    assert_eq!(api.ok(Method::GET, stream, None).await, json!([]));
    // Another stream (a filter) keeps its own place: it starts from now.
    let filtered = format!("{stream}?accountId={id}");
    assert_eq!(api.ok(Method::GET, &filtered, None).await, json!([]));
    // A zero limit is refused on both routes, as on statistics.
    let (s, _) = api.get(&format!("{stream}?limit=0")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_close_out_runs_again_after_a_restart() {
    let mut fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { id, path: acc, .. } = risk_account(api).await;
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
    let mut fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { path: acc, .. } = risk_account(api).await;
    // Broker time is 12:00: the tracker ends at 13:00.
    let hour = json!({"name": "hour", "period": "day", "absoluteDrawdownThreshold": 50,
                      "endBrokerTime": "2026-01-07 13:00:00.000"});
    let tracker = tracker(api, &acc, hour).await;
    api.buy(&acc, 1.0).await;
    api.tick(1.0985).await;
    let events = "/users/current/tracker-events/by-broker-time";
    eventually("the breach", async || {
        let v = api.ok(Method::GET, events, None).await;
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
    api.advance(7200.0).await;
    let statistics = format!("{acc}/trackers/{tracker}/statistics?limit=5");
    // The deadline queue completes it; the periodic write passes.
    periodic_write_passes().await;
    let done = api.ok(Method::GET, &statistics, None).await;
    assert_eq!(done.as_array().unwrap().len(), 1, "{done}");
    fx.restart().await;
    let api = &fx.api;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let after = api.ok(Method::GET, events, None).await;
    assert_eq!(
        after.as_array().unwrap().len(),
        1,
        "no second breach: {after}"
    );
    assert_eq!(api.ok(Method::GET, &statistics, None).await, done);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_created_with_the_risk_api_enabled_is_followed_from_its_creation() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let enabled = json!({"riskManagementApiEnabled": true});
    let Account { id, path: acc, .. } = api.demo_account_with(enabled).await;
    let doc = api.ok(Method::GET, &acc, None).await;
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
        .ok(
            Method::GET,
            &format!(
                "{acc}/trackers/{}/statistics",
                tracker["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(stats[0]["thresholdExceeded"], true, "{stats}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hour_in_progress_runs_up_to_now_without_inputs() {
    let fx = risk_server().await;
    let api = &fx.api;
    api.quiet().await;
    let Account { path: acc, .. } = risk_account(api).await;
    let chart = format!("{acc}/equity-chart?realTime=true");
    let first = eventually("the hour in progress", async || {
        let items = api.ok(Method::GET, &chart, None).await;
        items.as_array()?.last().cloned()
    })
    .await;
    // No tick, no trade: only the clock moves (within the hour the account started in).
    api.advance(60.0).await;
    let items = api.ok(Method::GET, &chart, None).await;
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
