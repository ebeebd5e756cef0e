//! The REST API over a real socket on 127.0.0.1 with a real SQLite file, a fact a test, each
//! on a server of its own: tokens and errors in MetaApi's shape ([`access`]), the demo-account
//! generator and provisioning ([`provisioning`]), the client API's reads, trades and history
//! ([`client`]), market data ([`market_data`]), and a restart that changes no response.

mod access;
mod client;
mod market_data;
mod provisioning;

use crate::support::{Account, Api, Fixture};

/// EURUSD at 1.1 / 1.10002 and a deployed account that bought 1 lot of it at the ask: the
/// account and the position's id.
async fn a_bought_position(api: &Api) -> (Account, String) {
    let account = api.demo_account().await;
    api.quote(1.1, 1.10002).await;
    let trade = api.buy(&account.path, 1.0).await;
    let position = trade["positionId"].as_str().unwrap().to_owned();
    (account, position)
}

/// [`a_bought_position`], the bid up to 1.101, a minute on, and the position closed.
async fn a_closed_position(api: &Api) -> (Account, String) {
    let (account, position) = a_bought_position(api).await;
    api.quote(1.101, 1.10102).await;
    api.advance(60.0).await;
    api.close(&account.path, &position).await;
    (account, position)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_same_data_dir_changes_no_response() {
    let mut fx = Fixture::start().await;
    let api = &fx.api;
    // A history (a position opened and closed) and an open position.
    let (account, _) = a_closed_position(api).await;
    api.buy(&account.path, 0.5).await;
    let paths = [
        account.path.clone(),
        account.at("account-information"),
        account.at("positions"),
        account.at("orders"),
        account.at("history-deals/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"),
        account.at("history-orders/time/2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z"),
        "/users/current/accounts".to_owned(),
    ];
    let mut before = Vec::new();
    for path in &paths {
        before.push(api.get(path).await);
    }

    fx.restart().await;
    let printed = &fx.running().first_token;
    assert!(printed.is_none(), "the admin token exists: none printed");
    // The admin's token from the first start still works.
    let api = &fx.api;
    for (path, before) in paths.iter().zip(before) {
        assert_eq!(
            api.get(path).await,
            before,
            "{path} changed across the restart"
        );
    }
    fx.stop().await;
}
