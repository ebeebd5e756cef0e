//! What the server's integration tests share: a test configuration and a small REST client.

use drawbridge_server::Running;
use drawbridge_server::config::{ClockKind, Config, Layer};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::path::Path;

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
        let demo = self
            .ok(
                Method::POST,
                "/users/current/provisioning-profiles/default/mt5-demo-accounts",
                Some(serde_json::json!({"balance": 10000, "leverage": 100,
                                        "accountType": "USD", "name": "demo"})),
            )
            .await;
        let created = self
            .ok(
                Method::POST,
                "/users/current/accounts",
                Some(
                    serde_json::json!({"login": demo["login"], "password": demo["password"],
                                        "server": "Drawbridge-Demo", "name": "demo"}),
                ),
            )
            .await;
        let login = demo["login"].as_str().unwrap().to_owned();
        (created["id"].as_str().unwrap().to_owned(), login)
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
