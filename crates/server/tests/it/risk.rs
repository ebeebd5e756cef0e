//! The risk management API over a real socket, a real SQLite file and a virtual clock, a fact
//! a test: trackers, their events, statistics and the equity chart ([`trackers`]); rule sets
//! ([`rules`]); which accounts the engine follows and what close-and-halt does ([`following`]);
//! what a restart keeps ([`restart`]); and the updates pushed over socket.io ([`push`]).

mod following;
mod push;
mod restart;
mod rules;
mod trackers;

use crate::support::{Account, Api, Fixture, eventually};
use reqwest::Method;
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

/// [`risk_server`] on quiet prices (the feed paused, EURUSD at 1.1 / 1.10002) and a
/// [`risk_account`] on it.
async fn risk_fixture() -> (Fixture, Account) {
    let fx = risk_server().await;
    fx.api.quiet().await;
    let account = risk_account(&fx.api).await;
    (fx, account)
}

/// A new tracker of the account at `acc`: its id.
async fn tracker(api: &Api, acc: &str, tracker: Value) -> String {
    let created = api
        .ok(Method::POST, &format!("{acc}/trackers"), Some(tracker))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Two trackers of the account at `acc`: `daily` halts at a 100.00 drawdown in the day,
/// `profit` watches for 50 % profit over the account's life. Their ids.
async fn daily_and_profit(api: &Api, acc: &str) -> (String, String) {
    let daily = json!({"name": "daily", "period": "day", "absoluteDrawdownThreshold": 100,
                       "breachAction": "halt"});
    let profit = json!({"name": "profit", "period": "lifetime", "relativeProfitThreshold": 0.5});
    (
        tracker(api, acc, daily).await,
        tracker(api, acc, profit).await,
    )
}

/// How many items a list route answers.
async fn count(api: &Api, path: &str) -> usize {
    let list = api.read(path).await;
    list.as_array().expect("the route answers a list").len()
}

async fn equity(api: &Api, acc: &str) -> f64 {
    let info = api.read(&format!("{acc}/account-information")).await;
    info["equity"].as_f64().unwrap()
}

/// Every tracker event and rule-set event, by broker time.
async fn events(api: &Api) -> Value {
    api.read("/users/current/tracker-events/by-broker-time")
        .await
}

/// Waits past the engine's periodic write (every second) to the store.
async fn periodic_write_passes() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// The `daily` tracker of [`daily_and_profit`] breached on quiet prices: a 1-lot buy at
/// 1.10002, the bid down to 1.0985, 152.00 lost plus the commission (over 100), the event
/// stored, trading halted.
struct Breach {
    account: Account,
    daily: String,
    profit: String,
    /// The position bought.
    position: String,
    /// 10 000 less the equity at 1.0985.
    drawdown: f64,
}

impl Breach {
    async fn of_daily(api: &Api) -> Self {
        api.quiet().await;
        let account = risk_account(api).await;
        let (daily, profit) = daily_and_profit(api, &account.path).await;
        let bought = api.buy(&account.path, 1.0).await;
        let position = bought["positionId"].as_str().unwrap().to_owned();
        api.tick(1.0985).await;
        let drawdown = 10_000.0 - equity(api, &account.path).await;
        eventually("the breach stored", async || {
            (count(api, "/users/current/tracker-events/by-broker-time").await == 1).then_some(())
        })
        .await;
        Self {
            account,
            daily,
            profit,
            position,
            drawdown,
        }
    }

    /// `…/trackers` of the account.
    fn trackers(&self) -> String {
        self.account.at("trackers")
    }

    /// Closes the position and deposits 5 000: the balance after the close, and the
    /// `profit` tracker's statistics once the deposit is counted.
    async fn closed_and_deposited(&self, api: &Api) -> (f64, Value) {
        api.close(&self.account.path, &self.position).await;
        let info = (api.read(&self.account.at("account-information"))).await;
        let closed = info["balance"].as_f64().unwrap();
        let login: u64 = self.account.login.parse().unwrap();
        let deposit = json!({"login": login, "amount": 5000});
        api.ok(Method::POST, "/sim/balance", Some(deposit)).await;
        let statistics = format!("{}/{}/statistics", self.trackers(), self.profit);
        let profit_stats = eventually("the deposit counted", async || {
            let v = api.read(&statistics).await;
            (v[0]["balanceAdjustment"] == 5000.0).then_some(v)
        })
        .await;
        (closed, profit_stats)
    }
}
