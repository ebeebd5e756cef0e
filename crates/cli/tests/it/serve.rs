//! The real binary: `serve` with its first-start token, `token create` beside a running
//! server, SIGTERM, and a `kill -9` after acknowledged trades that loses none of them.

use crate::support::{Server, WEDNESDAY_MORNING, free_port, run};
use reqwest::{Client, Method};
use serde_json::{Value, json};

struct Api {
    http: Client,
    base: String,
    token: String,
}

impl Api {
    fn new(port: u16, token: &str) -> Self {
        Self {
            http: Client::new(),
            base: format!("http://127.0.0.1:{port}"),
            token: token.to_owned(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("auth-token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }
}

/// What a client can see of an account, as the bytes the server sent: compared before and
/// after a crash.
async fn snapshot(api: &Api, acc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in [
        format!("{acc}/account-information"),
        format!("{acc}/positions"),
        format!("{acc}/orders"),
        format!("{acc}/history-deals/time/2020-01-01T00:00:00Z/2030-01-01T00:00:00Z"),
        format!("{acc}/history-orders/time/2020-01-01T00:00:00Z/2030-01-01T00:00:00Z"),
        acc.to_owned(),
        "/users/current/accounts".to_owned(),
    ] {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .header("auth-token", &api.token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        out.push((path, resp.text().await.unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let flags = [&WEDNESDAY_MORNING[..], &["--seed", "5"]].concat();
    let (server, token) = Server::first_start(dir.path(), port, &flags);
    assert_eq!(token.split('.').count(), 3);
    let api = Api::new(port, &token);

    let demo = api
        .ok(
            Method::POST,
            "/users/current/provisioning-profiles/default/mt5-demo-accounts",
            Some(json!({"balance": 5000, "leverage": 100})),
        )
        .await;
    let account = api
        .ok(
            Method::POST,
            "/users/current/accounts",
            Some(json!({"login": demo["login"], "password": demo["password"],
                        "server": demo["serverName"], "name": "crash test"})),
        )
        .await;
    let acc = format!(
        "/users/current/accounts/{}",
        account["id"].as_str().unwrap()
    );
    api.ok(
        Method::POST,
        "/sim/ticks",
        Some(json!({"symbol": "EURUSD", "bid": 1.1, "ask": 1.10002})),
    )
    .await;
    for (action, volume) in [("ORDER_TYPE_BUY", 0.3), ("ORDER_TYPE_SELL", 0.1)] {
        let r = api
            .ok(
                Method::POST,
                &format!("{acc}/trade"),
                Some(json!({"actionType": action, "symbol": "EURUSD", "volume": volume})),
            )
            .await;
        assert_eq!(r["stringCode"], "TRADE_RETCODE_DONE", "{r}");
    }
    let pending = api
        .ok(
            Method::POST,
            &format!("{acc}/trade"),
            Some(
                json!({"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "EURUSD",
                        "volume": 0.2, "openPrice": 1.05}),
            ),
        )
        .await;
    assert_eq!(pending["stringCode"], "TRADE_RETCODE_DONE", "{pending}");
    api.ok(
        Method::POST,
        "/sim/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    api.ok(
        Method::POST,
        "/sim/balance",
        Some(
            json!({"login": demo["login"].as_str().unwrap().parse::<i64>().unwrap(),
                    "amount": 250}),
        ),
    )
    .await;

    // A token made by another process while the server runs works at once.
    let other = run(&[
        "token",
        "create",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--user",
        "bob",
    ]);
    let other = other.lines().last().unwrap().to_owned();
    let bob = Api::new(port, &other);
    assert_eq!(
        bob.ok(Method::GET, "/users/current/accounts", None).await,
        json!([])
    );
    let (status, _) = bob.call(Method::GET, &acc, None).await;
    assert_eq!(status, 404, "another user's account is invisible");

    let before = snapshot(&api, &acc).await;
    let count = |i: usize| {
        serde_json::from_str::<Value>(&before[i].1)
            .unwrap()
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(count(1), Some(2), "two positions");
    assert_eq!(count(2), Some(1), "one pending order");
    server.kill();

    let server = Server::start(dir.path(), port, &flags, false);
    assert!(
        server.first_token.is_none(),
        "the token is made once per data dir"
    );
    let after = snapshot(&api, &acc).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "a crash lost or changed acknowledged state");
    }

    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status}"
    );
}
