//! What the server's integration tests share: a test configuration, a small REST client and a
//! small socket.io client.

use drawbridge_server::Running;
use drawbridge_server::config::{ClockKind, Config, Layer};
use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

pub(crate) fn config(dir: &Path) -> Config {
    Config::build(Layer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_owned()),
        clock: Some(ClockKind::Virtual),
        clock_start: Some("2026-01-07T10:00:00Z".into()),
        seed: Some(7),
        ..Layer::default()
    })
    .unwrap()
}

pub(crate) const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

pub(crate) struct Api {
    pub(crate) http: Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Api {
    /// A deployed demo account of this user, balance 10 000 USD at 1:100: (id, login).
    pub(crate) async fn demo_account(&self) -> (String, String) {
        self.demo_account_with(serde_json::json!({})).await
    }

    /// A demo account provisioned with `fields` added to the account's (e.g. `reliability`).
    pub(crate) async fn demo_account_with(&self, fields: Value) -> (String, String) {
        let demo = self
            .ok(
                Method::POST,
                "/users/current/provisioning-profiles/default/mt5-demo-accounts",
                Some(serde_json::json!({"balance": 10000, "leverage": 100,
                                        "accountType": "USD", "name": "demo"})),
            )
            .await;
        let mut account = serde_json::json!({"login": demo["login"], "password": demo["password"],
                                             "server": "Drawbridge-Demo", "name": "demo"});
        if let (Some(account), Some(fields)) = (account.as_object_mut(), fields.as_object()) {
            account.extend(fields.clone());
        }
        let created = self
            .ok(Method::POST, "/users/current/accounts", Some(account))
            .await;
        let login = demo["login"].as_str().unwrap().to_owned();
        (created["id"].as_str().unwrap().to_owned(), login)
    }

    /// A market buy of `volume` lots of EURUSD on the account at `path`
    /// (`/users/current/accounts/{id}`), done: the trade route's answer.
    pub(crate) async fn buy(&self, path: &str, volume: f64) -> Value {
        let (_, v) = self
            .post(
                &format!("{path}/trade"),
                serde_json::json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD",
                                   "volume": volume}),
            )
            .await;
        assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
        v
    }

    pub(crate) fn new(running: &Running, token: &str) -> Self {
        Self {
            http: Client::new(),
            base: format!("http://{}", running.addr),
            token: token.to_owned(),
        }
    }

    pub(crate) fn as_token(&self, token: &str) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("auth-token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    /// A GET answered 200 with a text body.
    pub(crate) async fn text(&self, path: &str) -> String {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.text().await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
}

pub(crate) fn assert_error(v: &Value, error: &str, key: &str) {
    assert_eq!(v["error"], error, "{v}");
    assert_eq!(v["text"]["key"], key, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["message"], v["text"]["text"]);
}

/// What the socket received: (when, event name, data).
pub(crate) type Seen = Arc<Mutex<Vec<(Instant, String, Value)>>>;

/// A socket.io client (Engine.IO 3 over a WebSocket, what the SDK speaks) whose frames a task
/// collects.
pub(crate) struct Socket {
    out: mpsc::UnboundedSender<String>,
    pub(crate) seen: Seen,
}

impl Socket {
    pub(crate) async fn open(addr: std::net::SocketAddr, token: &str) -> Self {
        let url =
            format!("ws://{addr}/ws/?EIO=3&transport=websocket&auth-token={token}&clientId=0.5");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.starts_with("40") => break,
                Some(Ok(_)) => {}
                other => panic!("socket closed before connecting: {other:?}"),
            }
        }
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let seen: Seen = Arc::default();
        let into = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    text = outgoing.recv() => {
                        let Some(text) = text else { return };
                        if ws.send(Message::text(text)).await.is_err() { return }
                    }
                    _ = ping.tick() => {
                        if ws.send(Message::text("2")).await.is_err() { return }
                    }
                    frame = ws.next() => {
                        let t = match frame {
                            Some(Ok(Message::Text(t))) => t,
                            Some(_) => continue,
                            None => return,
                        };
                        if let Some(body) = t.strip_prefix("42")
                            && let Ok(Value::Array(a)) = serde_json::from_str::<Value>(body)
                            && let [Value::String(event), data, ..] = a.as_slice()
                        {
                            into.lock().unwrap().push((Instant::now(), event.clone(), data.clone()));
                        }
                    }
                }
            }
        });
        Self { out, seen }
    }

    /// Sends a request and waits for its response.
    pub(crate) async fn request(&self, request: Value) {
        let id = request["requestId"].clone();
        self.out
            .send(format!("42{}", json!(["request", request])))
            .unwrap();
        self.wait("the response", |e, d| {
            e == "response" && d["requestId"] == id
        })
        .await;
    }

    /// Subscribes an instance of an account and waits for the response.
    pub(crate) async fn subscribe(&self, account: &str, instance: usize) {
        self.request(json!({"type": "subscribe", "accountId": account,
                            "requestId": format!("subscribe-{instance}"),
                            "instanceIndex": instance}))
            .await;
    }

    /// Waits (at most five seconds) for a received frame that `f` accepts; its data.
    pub(crate) async fn wait(&self, what: &str, f: impl Fn(&str, &Value) -> bool) -> Value {
        for _ in 0..100 {
            let found = (self.seen.lock().unwrap().iter())
                .rev()
                .find(|(_, e, d)| f(e, d))
                .map(|(_, _, d)| d.clone());
            if let Some(d) = found {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: not within five seconds");
    }

    /// The `synchronization` packets of `kind` received after `since`.
    pub(crate) fn packets(&self, kind: &str, since: Instant) -> Vec<Value> {
        (self.seen.lock().unwrap().iter())
            .filter(|(at, e, d)| *at >= since && e == "synchronization" && d["type"] == kind)
            .map(|(_, _, d)| d.clone())
            .collect()
    }

    pub(crate) fn all(&self) -> Vec<Value> {
        (self.seen.lock().unwrap().iter())
            .filter(|(_, e, _)| e == "synchronization")
            .map(|(_, _, d)| d.clone())
            .collect()
    }
}
