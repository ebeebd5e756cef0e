//! The client API: the account's information, trades and what they leave in the positions
//! and the history, and what it refuses (bad trades, investor access, an undeployed account).

use super::a_closed_position;
use crate::support::{Fixture, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_information_shows_the_balance_and_the_login() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let info = api.read(&account.at("account-information")).await;
    assert_eq!(info["balance"], 10000.0);
    assert_eq!(info["login"].to_string().trim_matches('"'), account.login);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bought_position_shows_its_profit_at_the_new_bid() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let quoted = api
        .ok(
            Method::POST,
            "/sim/ticks",
            Some(json!({"symbol": "EURUSD", "bid": 1.1, "ask": 1.10002})),
        )
        .await;
    assert_eq!(quoted, json!({}));
    let trade = api.buy(&account.path, 1.0).await;
    let position = trade["positionId"].as_str().expect("a position id");
    api.quote(1.101, 1.10102).await;
    let positions = api.read(&account.at("positions")).await;
    assert_eq!(positions[0]["id"], json!(position));
    // Bought 1 lot at the ask 1.10002; the bid is now 1.10100: 0.00098 × 100 000 = 98.00.
    assert_eq!(positions[0]["profit"], 98.0);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_with_a_bad_volume_or_an_unknown_symbol_is_400() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    api.quote(1.1, 1.10002).await;
    let (s, v) = api
        .trade(
            &account.path,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.015}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "volume");
    let (s, v) = api
        .trade(
            &account.path,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "NOPE", "volume": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_position_leaves_the_deposit_and_its_two_deals() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    // The helper checks that the close was done.
    let (account, _) = a_closed_position(api).await;
    let deals = api
        .read(&account.at("history-deals/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"))
        .await;
    assert_eq!(
        deals.as_array().unwrap().len(),
        3,
        "deposit, in, out: {deals}"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_by_position_and_by_ticket_finds_the_deals_and_orders() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let (account, position) = a_closed_position(api).await;
    let by_position = (api)
        .read(&account.at(&format!("history-deals/position/{position}")))
        .await;
    let deals = by_position.as_array().unwrap();
    assert_eq!(deals.len(), 2, "in and out: {by_position}");
    let out_deal = deals[1]["id"].as_str().unwrap();
    let by_ticket = (api)
        .read(&account.at(&format!("history-deals/ticket/{out_deal}")))
        .await;
    assert_eq!(by_ticket.as_array().unwrap().len(), 1);
    assert_eq!(by_ticket[0]["entryType"], "DEAL_ENTRY_OUT", "{by_ticket}");
    let orders = (api)
        .read(&account.at(&format!("history-orders/position/{position}")))
        .await;
    assert_eq!(
        orders.as_array().unwrap().len(),
        2,
        "open and close: {orders}"
    );
    let first_order = orders[0]["id"].as_str().unwrap();
    let one = (api)
        .read(&account.at(&format!("history-orders/ticket/{first_order}")))
        .await;
    assert_eq!(one[0]["id"], json!(first_order));
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_id_that_is_not_a_number_is_400() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let (s, v) = api.get(&account.at("history-deals/position/abc")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "positionId");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_over_rest_answers_no_content() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let (s, _) = api
        .call(Method::POST, &account.at("unsubscribe"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_investor_password_connects_read_only_at_the_broker() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let demo = api.demo_login().await;
    api.quote(1.1, 1.10002).await;
    let investor = api
        .ok(
            Method::POST,
            "/users/current/accounts",
            Some(
                json!({"login": demo["login"], "password": demo["investorPassword"],
                        "server": "Drawbridge-Demo", "name": "Investor"}),
            ),
        )
        .await;
    let path = format!(
        "/users/current/accounts/{}",
        investor["id"].as_str().unwrap()
    );
    let (s, r) = api
        .trade(
            &path,
            json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1}),
        )
        .await;
    assert!(s.is_success(), "answered, not refused: {s}");
    assert_eq!(r["stringCode"], "TRADE_RETCODE_TRADE_DISABLED", "{r}");
    let info = api.read(&format!("{path}/account-information")).await;
    assert_eq!(info["investorMode"], true);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_api_refuses_an_undeployed_account() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    api.ok(Method::POST, &account.at("undeploy"), None).await;
    let (s, v) = api.get(&account.at("positions")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&v, "ValidationError", "account.not_deployed");
    fx.stop().await;
}
