//! Market data over REST: the last tick, the book around it, and history from the feed.

use crate::support::{Account, Api, Fixture, invalid_parameters};
use reqwest::StatusCode;
use serde_json::json;

/// An account, and two EURUSD quotes: 1.1 / 1.10002, then 1.101 / 1.10102.
async fn two_quotes(api: &Api) -> Account {
    let account = api.demo_account().await;
    api.quote(1.1, 1.10002).await;
    api.quote(1.101, 1.10102).await;
    account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_tick_is_the_last_quote_and_the_book_lies_around_it() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = two_quotes(api).await;
    let tick = api.read(&account.at("symbols/EURUSD/current-tick")).await;
    assert_eq!(
        (tick["bid"].clone(), tick["ask"].clone()),
        (json!(1.101), json!(1.10102))
    );
    let book = api.read(&account.at("symbols/EURUSD/current-book")).await;
    let entries = book["book"].as_array().unwrap();
    assert_eq!(entries.len(), 20, "ten levels a side: {book}");
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historical_ticks_and_candles_come_oldest_first() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = two_quotes(api).await;
    let ticks = api
        .read(&account.at("historical-market-data/symbols/EURUSD/ticks?limit=2"))
        .await;
    assert_eq!(ticks.as_array().unwrap().len(), 2, "{ticks}");
    assert_eq!(
        ticks[1]["bid"], 1.101,
        "oldest first, the latest last: {ticks}"
    );
    let candles = api
        .read(&account.at("historical-market-data/symbols/EURUSD/timeframes/1m/candles?limit=3"))
        .await;
    let candles = candles.as_array().unwrap();
    assert!(!candles.is_empty() && candles.len() <= 3);
    assert!(
        candles
            .windows(2)
            .all(|w| w[0]["time"].as_str() < w[1]["time"].as_str()),
        "oldest first: {candles:?}"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_historical_query_names_every_bad_parameter() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let (s, v) = api
        .get(&account.at("historical-market-data/symbols/EURUSD/timeframes/7m/candles?limit=5000"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"][0]["parameter"], "timeframe", "{v}");
    let (s, v) = api
        .get(&account.at("historical-market-data/symbols/EURUSD/ticks?limit=5000&startTime=soon"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(invalid_parameters(&v), ["startTime", "limit"], "{v}");
    fx.stop().await;
}
