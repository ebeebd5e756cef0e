//! CPU-credit limits on the REST API, on a virtual clock: the 429 and its metadata, retry at
//! the recommended time, nothing consumed by a refusal, the front-end server chosen by
//! `client-id`, result-size charges, credit usage and the API-limits introspection.

use crate::support::{Api, Fixture, assert_error, eventually};
use drawbridge_server::config::{Config, Layer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A deployed demo account of `api`'s user: its id.
async fn account(api: &Api) -> String {
    api.demo_account().await.id
}

/// A GET sent with `client-id`: its status, its `retry-after` header and its body.
async fn get_with(api: &Api, path: &str, client_id: &str) -> (StatusCode, Option<String>, Value) {
    let resp = api
        .http
        .get(format!("{}{path}", api.base))
        .header("auth-token", &api.token)
        .header("client-id", client_id)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn account_window_refuses_with_the_docs_metadata_and_admits_at_the_retry_time() {
    let fx = Fixture::with_limits(&[("cpu_per_account_10s", 120)]).await;
    let api = &fx.api;
    let id = account(api).await;
    let info = format!("/users/current/accounts/{id}/account-information");

    // 50 credits each: two fit in 120, the third does not.
    for _ in 0..2 {
        let (s, _, v) = get_with(api, &info, "c").await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, retry_after, v) = get_with(api, &info, "c").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_error(&v, "TooManyRequestsError", "limit.cpu_credits");
    assert_eq!(v["id"], 6);
    let m = &v["metadata"];
    assert_eq!(m["type"], "LIMIT_REQUEST_RATE_PER_ACCOUNT", "{v}");
    assert_eq!(m["periodInSeconds"], 10);
    assert_eq!(m["creditsRequired"], 50.0);
    assert_eq!(m["creditsUsed"], 100.0);
    assert_eq!(m["creditsAvailable"], 20.0);
    assert_eq!(m["exceededConfig"], "perAccount");
    assert_eq!(m["exceededPeriod"], "10s");
    assert_eq!(m["method"], "getAccountInformation");
    // Charged at 10:00:00.xxx (bucket 10:00:00): the window lets go of it at 10:00:11.
    assert_eq!(m["recommendedRetryTime"], "2026-01-07T10:00:11.000Z", "{v}");
    assert_eq!(retry_after.as_deref(), Some("11"));

    // A refusal consumes nothing: the usage still shows 100 of 120 used.
    let (s, _, usage) = get_with(api, &format!("/users/current/accounts/{id}/credits"), "c").await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    assert_eq!(
        usage["perAccount"],
        json!([{"period": "10s", "total": 120.0, "available": 20.0}])
    );
    assert_eq!(usage["perUser"].as_array().unwrap().len(), 4, "{usage}");
    assert_eq!(usage["perUser"][0]["period"], "1s");
    assert_eq!(usage["perServer"][3]["period"], "6h");

    // One millisecond before the retry time: still refused; at it: admitted.
    api.advance(10.999).await;
    let (s, _, _) = get_with(api, &info, "c").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    api.advance(0.001).await;
    let (s, _, v) = get_with(api, &info, "c").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    fx.stop().await;
}

#[tokio::test]
async fn client_id_picks_a_front_end_server_with_its_own_window() {
    let fx = Fixture::with_limits(&[("cpu_per_server_1s", 100)]).await;
    let api = &fx.api;
    let id = account(api).await;
    let info = format!("/users/current/accounts/{id}/account-information");
    for _ in 0..2 {
        assert_eq!(get_with(api, &info, "first").await.0, StatusCode::OK);
    }
    let (s, _, v) = get_with(api, &info, "first").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        v["metadata"]["type"], "LIMIT_REQUEST_RATE_PER_USER_PER_SERVER",
        "{v}"
    );
    // Another client id lands on another of the 12 virtual servers (most do).
    let mut passed = 0;
    for n in 0..24 {
        if get_with(api, &info, &format!("other-{n}")).await.0 == StatusCode::OK {
            passed += 1;
        }
    }
    assert!(passed > 0, "no other client id reached another server");
    fx.stop().await;
}

#[tokio::test]
async fn history_by_time_is_charged_per_record_returned() {
    let fx = Fixture::with_limits(&[]).await;
    let api = &fx.api;
    let id = account(api).await;
    let (s, _, deals) = get_with(
        api,
        &format!(
            "/users/current/accounts/{id}/history-deals/time/2020-01-01T00:00:00.000Z/2030-01-01T00:00:00.000Z"
        ),
        "c",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{deals}");
    let records = deals.as_array().unwrap().len();
    assert!(records >= 1, "the initial deposit is a deal: {deals}");
    let (_, _, usage) = get_with(api, &format!("/users/current/accounts/{id}/credits"), "c").await;
    let used = 5_000.0 - usage["perAccount"][0]["available"].as_f64().unwrap();
    assert!(
        (used - (75.0 + 0.65 * records as f64)).abs() < 1e-9,
        "used {used} for {records} records"
    );
    fx.stop().await;
}

#[tokio::test]
async fn the_book_is_charged_per_entry_after_it_is_read_and_may_leave_debt() {
    // 100 credits per 10 s: two 50-credit reads fit exactly, but a book costs 50 before and
    // 0.1 per entry after, so the read after it waits.
    let fx = Fixture::with_limits(&[("cpu_per_account_10s", 100)]).await;
    let api = &fx.api;
    let id = account(api).await;
    api.quote(1.1, 1.10012).await;
    let (s, _, book) = get_with(
        api,
        &format!("/users/current/accounts/{id}/symbols/EURUSD/current-book"),
        "c",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{book}");
    let entries = book["book"].as_array().unwrap().len();
    assert!(entries > 0, "{book}");
    let (_, _, usage) = get_with(api, &format!("/users/current/accounts/{id}/credits"), "c").await;
    let used = 100.0 - usage["perAccount"][0]["available"].as_f64().unwrap();
    assert!(
        (used - (50.0 + 0.1 * entries as f64)).abs() < 1e-9,
        "used {used} for {entries} entries"
    );
    let info = format!("/users/current/accounts/{id}/account-information");
    let (s, _, v) = get_with(api, &info, "c").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(
        v["metadata"]["creditsUsed"],
        50.0 + 0.1 * entries as f64,
        "{v}"
    );
    fx.stop().await;
}

#[tokio::test]
async fn a_quote_interval_out_of_range_is_refused_on_update_as_on_create() {
    // The interval paces streaming packets (and their credits): an absurd one must not get in
    // through an update either.
    let fx = Fixture::with_limits(&[]).await;
    let api = &fx.api;
    let id = account(api).await;
    let (s, v) = api
        .call(
            Method::PUT,
            &format!("/users/current/accounts/{id}"),
            Some(json!({"name": "L", "quoteStreamingIntervalInSeconds": 1e300})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "ValidationError", "request.validation");
    assert_eq!(
        v["details"][0]["parameter"], "quoteStreamingIntervalInSeconds",
        "{v}"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historical_requests_past_the_concurrency_limit_are_refused_and_the_rest_served() {
    // One historical request in processing per account: of many sent at once, some overlap
    // and are refused with the docs' metadata; every other one is served.
    let fx = Fixture::with_limits(&[("history_concurrent_per_account", 1)]).await;
    let api = &fx.api;
    let id = account(api).await;
    let path = format!(
        "/users/current/accounts/{id}/historical-market-data/symbols/EURUSD/timeframes/1m/candles?limit=1000"
    );
    // Whether two overlap is up to the scheduler: send bursts until one does.
    let mut refused = 0;
    for _ in 0..20 {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..48 {
            let (api, path) = (api.as_token(&api.token), path.clone());
            calls.spawn(async move { get_with(&api, &path, "c").await });
        }
        for (s, _, v) in &calls.join_all().await {
            if *s == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
                assert_eq!(
                    v["metadata"]["type"], "LIMIT_CONCURRENT_MARKET_DATA_REQUESTS_PER_ACCOUNT",
                    "{v}"
                );
                assert_eq!(v["metadata"]["maxRequestsPerAccount"], 1, "{v}");
                assert_error(v, "TooManyRequestsError", "limit.concurrent_market_data");
            } else {
                assert_eq!(*s, StatusCode::OK, "{v}");
            }
        }
        if refused > 0 {
            break;
        }
    }
    assert!(refused > 0, "20 bursts of 48 requests never overlapped");
    // Once they are done, the next one is served.
    assert_eq!(get_with(api, &path, "c").await.0, StatusCode::OK);
    fx.stop().await;
}

#[tokio::test]
async fn api_limits_lists_the_catalogue() {
    let fx = Fixture::with_limits(&[("connections_per_ip", 7)]).await;
    let api = &fx.api;
    let v = api
        .read("/users/current/api-limits?limits=1,3,390,99999")
        .await;
    let entries = v["limit_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{v}");
    assert_eq!(entries[0]["limit"], 1);
    assert_eq!(entries[0]["status_code"], 1);
    assert_eq!(entries[0]["value"], 1000);
    assert_eq!(entries[0]["period_sec"], 100);
    assert_eq!(entries[0]["description"]["key"], "limit.connection_rate");
    assert_eq!(
        entries[0]["description"]["text"],
        "At most 1000 new connections per 100 s from one IP address"
    );
    assert_eq!(entries[1]["value"], 7, "the configured value");
    assert_eq!(entries[2]["value"], 1);
    assert_eq!(entries[3], json!({"limit": 99999, "status_code": 104}));
    let all = api.read("/users/current/api-limits").await;
    assert!(all["limit_entries"].as_array().unwrap().len() > 30, "{all}");
    let (s, v) = api.get("/users/current/api-limits?limits=1,x").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&v, "ValidationError", "request.validation");
    fx.stop().await;
}

#[test]
fn an_unknown_limit_in_the_config_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let errs = Config::build(Layer {
        data_dir: Some(dir.path().to_owned()),
        limits: Some(BTreeMap::from([("no_such_limit".to_owned(), 1)])),
        ..Layer::default()
    })
    .unwrap_err();
    assert!(errs.iter().any(|e| e.contains("no_such_limit")), "{errs:?}");
}

/// Sends a GET /health on `stream` and says whether an HTTP answer came back.
async fn answers(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    if stream.write_all(req).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(n)) if n > 0 && buf.starts_with(b"HTTP/1.1 200")
    )
}

#[tokio::test]
async fn open_connections_per_address_are_capped() {
    let fx = Fixture::with_limits(&[("connections_per_ip", 2)]).await;
    let connect = || tokio::net::TcpStream::connect(fx.addr());
    let mut a = connect().await.unwrap();
    let mut b = connect().await.unwrap();
    assert!(answers(&mut a).await && answers(&mut b).await);
    // A third open connection from 127.0.0.1 is closed before it is served.
    let mut c = connect().await.unwrap();
    assert!(!answers(&mut c).await, "a third connection was served");
    // Closing one gives its place back.
    drop(a);
    let d = eventually("a freed place given back", async || {
        let mut d = connect().await.unwrap();
        answers(&mut d).await.then_some(d)
    })
    .await;
    drop((b, d));
    fx.stop().await;
}

#[tokio::test]
async fn nearing_the_account_limit_queues_a_warning_and_past_it_creation_fails() {
    let fx = Fixture::with_limits(&[("accounts_per_user", 3)]).await;
    let api = &fx.api;
    account(api).await;
    account(api).await;
    let none = api.read("/users/current/user-messages").await;
    assert_eq!(none, json!([]), "2 of 3 is under 99%");
    account(api).await;
    let messages = api.read("/users/current/user-messages").await;
    let list = messages.as_array().unwrap();
    assert_eq!(list.len(), 1, "{messages}");
    assert_eq!(list[0]["type"], 2, "a warning");
    assert_eq!(list[0]["text"]["key"], "user.accounts_near_limit");
    assert_eq!(list[0]["text"]["param"], json!(["3", "3"]));
    assert!(
        list[0]["message"].as_str().unwrap().starts_with(
            "Your current number of accounts is 3. If your number of accounts exceeds 3"
        ),
        "{messages}"
    );
    let after = list[0]["id"].as_u64().unwrap();
    let newer = api
        .read(&format!("/users/current/user-messages?after={after}"))
        .await;
    assert_eq!(newer, json!([]));
    // A fourth account is refused.
    let demo = api.demo_login().await;
    let (s, v) = api
        .post(
            "/users/current/accounts",
            json!({"login": demo["login"], "password": demo["password"],
                   "server": "Drawbridge-Demo", "name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "ValidationError", "account.limit");
    fx.stop().await;
}

#[tokio::test]
async fn history_further_back_than_the_limit_is_cut_and_says_so() {
    let fx = Fixture::with_limits(&[("historical_orders_days", 1)]).await;
    let api = &fx.api;
    let id = account(api).await;
    let cut = |from: &'static str| {
        let url = format!(
            "{}/users/current/accounts/{id}/history-deals/time/{from}/2030-01-01T00:00:00.000Z",
            api.base
        );
        let req = api.http.get(url).header("auth-token", &api.token);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.headers()
                .get("x-history-truncated-before")
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    // The virtual clock stands at 2026-01-07T10:00:00Z: one day back is the earliest served.
    assert_eq!(
        cut("2020-01-01T00:00:00.000Z").await.as_deref(),
        Some("2026-01-06T10:00:00.000Z")
    );
    assert_eq!(cut("2026-01-07T00:00:00.000Z").await, None);
    fx.stop().await;
}
