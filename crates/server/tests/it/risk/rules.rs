//! Rule sets: the presets, the checks of an attachment, the one-step preset's daily loss
//! breached by floating loss carried over the daily reset (the halt it orders, lifted by the
//! owner), and a full rule set whose profit target passes and whose decision survives a
//! restart.

use super::{equity, events, periodic_write_passes, risk_account, risk_fixture, risk_server};
use crate::support::{Account, Api, assert_error, eventually, invalid_parameters};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// The one-step preset attached to a risk-enabled account on quiet prices, its action made a
/// plain halt: 4 % daily loss (400.00) from the day-start balance, days from 17:00 New York
/// (22:00 UTC, 00:00 on the EET trade server).
struct OneStep {
    account: Account,
    /// `…/risk-rules`.
    rules: String,
    /// The attachment's answer.
    attached: Value,
}

impl OneStep {
    async fn attach(api: &Api) -> Self {
        api.quiet().await;
        let account = risk_account(api).await;
        let rules = account.at("risk-rules");
        let preset = json!({"preset": "one-step", "action": "halt"});
        let attached = api.ok(Method::PUT, &rules, Some(preset)).await;
        Self {
            account,
            rules,
            attached,
        }
    }
}

/// Day 1 of [`OneStep`]: a 1-lot buy, the bid down to 1.0975.
struct DayOne {
    one_step: OneStep,
    /// The equity at 1.0975.
    equity: f64,
    /// The balance, the entry's commission taken.
    balance: f64,
}

impl DayOne {
    async fn trade(api: &Api) -> Self {
        let one_step = OneStep::attach(api).await;
        let acc = &one_step.account.path;
        api.buy(acc, 1.0).await;
        api.tick(1.0975).await;
        let equity = equity(api, acc).await;
        let info = (api.read(&format!("{acc}/account-information"))).await;
        let balance = info["balance"].as_f64().unwrap();
        Self {
            one_step,
            equity,
            balance,
        }
    }

    /// 13 hours on (23:00 UTC): a new day has begun. The rules' answer on it.
    async fn next_day(&self, api: &Api) -> Value {
        api.advance(13.0 * 3600.0).await;
        eventually("the new day", async || {
            let v = api.read(&self.one_step.rules).await;
            (v["status"]["dayStartBrokerTime"] == "2026-01-08 00:00:00.000").then_some(v)
        })
        .await
    }

    /// [`DayOne::next_day`], and 20 more pips down: the bid at 1.0955. The equity then, and
    /// the events once the breach is stored.
    async fn breach(&self, api: &Api) -> (f64, Value) {
        self.next_day(api).await;
        api.tick(1.0955).await;
        let now = equity(api, &self.one_step.account.path).await;
        let breached = eventually("the daily-loss breach", async || {
            let v = events(api).await;
            (v.as_array().unwrap().len() == 1).then_some(v)
        })
        .await;
        (now, breached)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presets_are_listed_with_their_rule_sets() {
    let fx = risk_server().await;
    let presets = (fx.api).read("/users/current/risk-rule-presets").await;
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
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_refused_until_the_account_enables_the_risk_api_and_then_unset() {
    let fx = risk_server().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let rules = account.at("risk-rules");
    let (s, v) = api
        .call(Method::PUT, &rules, Some(json!({"preset": "one-step"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.api_disabled");
    api.enable_risk(&account.path).await;
    let (s, v) = api.get(&rules).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "NotFoundError", "risk.rules_not_set");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_names_every_problem_at_once() {
    let (fx, account) = risk_fixture().await;
    let api = &fx.api;
    let rules = account.at("risk-rules");
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
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_step_preset_starts_from_the_day_start_balance() {
    let fx = risk_server().await;
    let attached = OneStep::attach(&fx.api).await.attached;
    assert_eq!(attached["preset"], "one-step");
    assert_eq!(attached["ruleSet"]["action"], "halt");
    assert_eq!(attached["halted"], false);
    let status = &attached["status"];
    assert_eq!(status["state"], "active", "{attached}");
    assert_eq!(status["initialBalance"], 10000.0);
    assert_eq!(status["dayReference"], 10000.0);
    assert_eq!(status["dayStartBrokerTime"], "2026-01-07 00:00:00.000");
    assert_eq!(status["maxLossFloor"], 9400.0);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_day_one_a_floating_loss_under_the_limit_is_no_breach() {
    let fx = risk_server().await;
    // A 1-lot buy floats 252.00 and its commission down: under 400.
    let day = DayOne::trade(&fx.api).await;
    assert!(10_000.0 - day.equity < 400.0, "{}", day.equity);
    // The commission was taken from the balance at the entry.
    assert!(day.balance < 10_000.0);
    assert_eq!(events(&fx.api).await, json!([]));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_day_takes_the_day_start_balance_as_its_reference() {
    let fx = risk_server().await;
    let api = &fx.api;
    let day = DayOne::trade(api).await;
    let day2 = day.next_day(api).await;
    assert_eq!(day2["status"]["dayReference"], day.balance, "{day2}");
    assert_eq!(day2["halted"], false);
    assert_eq!(events(api).await, json!([]), "no breach yet");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floating_loss_carried_over_the_daily_reset_breaches_the_daily_loss() {
    let fx = risk_server().await;
    let api = &fx.api;
    let day = DayOne::trade(api).await;
    // The floating loss is carried over and, the reference being the day-start balance,
    // still counts: 20 more pips pass 400. Measured from the day-start equity instead it
    // would be a 200.00 loss.
    let (now, breached) = day.breach(api).await;
    assert!(
        now - day.equity > -400.0 && day.balance - now > 400.0,
        "{} {now}",
        day.equity
    );
    let e = &breached[0];
    assert_eq!(e["eventType"], "dailyLossBreached", "{e}");
    assert_eq!(e["accountId"], json!(day.one_step.account.id));
    assert_eq!(e["ruleSet"], "one-step");
    assert_eq!(e["action"], "halt");
    assert_eq!(e["reference"], day.balance);
    assert_eq!(e["limit"], 400.0);
    assert_eq!(e["equity"], now);
    assert_eq!(e["brokerTime"], "2026-01-08 01:00:00.000");
    assert_eq!(e["sequenceNumber"], 1);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_loss_breach_halts_the_account() {
    let fx = risk_server().await;
    let api = &fx.api;
    let day = DayOne::trade(api).await;
    day.breach(api).await;
    let OneStep { account, rules, .. } = &day.one_step;
    let (s, v) = api
        .trade(
            &account.path,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "ForbiddenError", "risk.trading_halted");
    let halt = account.at("risk-halt");
    assert_eq!(api.read(&halt).await["halted"], true);
    let now = api.read(rules).await;
    assert_eq!(now["status"]["state"], "daily-loss", "{now}");
    assert_eq!(now["halted"], true);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_lifts_a_halt_once_and_trades_again() {
    let fx = risk_server().await;
    let api = &fx.api;
    let day = DayOne::trade(api).await;
    day.breach(api).await;
    let account = &day.one_step.account;
    let halt = account.at("risk-halt");
    // Recorded, trading again; a second lift has nothing to lift.
    api.ok(Method::POST, &format!("{halt}/lift"), None).await;
    assert_eq!(api.read(&halt).await["halted"], false);
    let all = events(api).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[1]["eventType"], "haltLifted");
    assert_eq!(all[1]["sequenceNumber"], 2);
    assert_eq!(all[1]["brokerTime"], "2026-01-08 01:00:00.000");
    api.buy(&account.path, 0.1).await;
    let (s, v) = api.post(&format!("{halt}/lift"), json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "ValidationError", "risk.not_halted");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rules_are_gone_and_cannot_be_deleted_again() {
    let fx = risk_server().await;
    let api = &fx.api;
    let OneStep { rules, .. } = OneStep::attach(api).await;
    api.ok(Method::DELETE, &rules, None).await;
    let (s, v) = api.get(&rules).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = api.call(Method::DELETE, &rules, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_set_passes_on_its_profit_target_and_resumes_after_a_restart() {
    let (mut fx, account) = risk_fixture().await;
    let api = &fx.api;
    let Account { path: acc, .. } = account;
    let rules = format!("{acc}/risk-rules");

    // Followed from the moment the API is enabled: the chart saw the dip before it was
    // first asked for.
    let v = api.buy(&acc, 1.0).await;
    let position = v["positionId"].as_str().unwrap().to_owned();
    api.tick(1.0985).await;
    let dip = equity(api, &acc).await;
    api.tick(1.1).await;
    let chart = eventually("the dip charted", async || {
        let v = api.read(&format!("{acc}/equity-chart")).await;
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
    let now = api.read(&rules).await;
    assert_eq!(now["status"]["state"], "passed", "{now}");
    assert_eq!(now["halted"], false);

    // The decision and the attachment survive a restart.
    periodic_write_passes().await;
    fx.restart().await;
    let api = &fx.api;
    let after = api.read(&rules).await;
    assert_eq!(after["ruleSet"], now["ruleSet"]);
    assert_eq!(after["status"], now["status"], "{after}");
    fx.stop().await;
}
