//! What the server's integration tests share: a [`Fixture`] (a server on `127.0.0.1:0` with
//! its own SQLite data dir and a virtual clock), a small REST client ([`Api`]) with the
//! calls the scenarios are made of, [`eventually`] for what the server does beside the
//! request path, and a small socket.io client ([`Socket`]).

mod socket;

pub(crate) use socket::Socket;

use drawbridge_server::config::{ClockKind, Config, Layer};
use drawbridge_server::{Running, create_token, start};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// The secret key every test server signs its tokens with.
const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// How long [`eventually`] asks before it gives up.
const EVENTUALLY_S: u64 = 5;

/// How long [`eventually`] waits between two questions.
const EVENTUALLY_POLL_MS: u64 = 50;

/// The server's configuration in tests: `overrides` over a server on `127.0.0.1:0` with its
/// data in `dir`, a virtual clock that starts on Wednesday 2026-01-07 at 10:00 UTC (12:00
/// on the EET trade server) and the simulated broker seeded with 7.
fn config(dir: &Path, overrides: Layer) -> Config {
    let base = Layer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_owned()),
        clock: Some(ClockKind::Virtual),
        clock_start: Some("2026-01-07T10:00:00Z".into()),
        seed: Some(7),
        ..Layer::default()
    };
    Config::build(base.under(overrides)).unwrap()
}

/// A running test server on a temporary data dir, and the admin's client.
pub(crate) struct Fixture {
    /// The admin's client: the token the first start printed.
    pub(crate) api: Api,
    running: Option<Running>,
    overrides: Layer,
    stream_hold: Option<Duration>,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A server with the test configuration.
    pub(crate) async fn start() -> Self {
        Self::start_with(Layer::default()).await
    }

    /// A server with the limits named in `limits` set to their values.
    pub(crate) async fn with_limits(limits: &[(&str, u64)]) -> Self {
        let limits: BTreeMap<String, u64> = (limits.iter())
            .map(|(name, value)| ((*name).to_owned(), *value))
            .collect();
        Self::start_with(Layer {
            limits: Some(limits),
            ..Layer::default()
        })
        .await
    }

    /// A server with `overrides` over the test configuration.
    pub(crate) async fn start_with(overrides: Layer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let running = start(config(dir.path(), overrides.clone()), Some(KEY))
            .await
            .unwrap();
        let token = (running.first_token.clone()).expect("a first start prints the admin token");
        Self {
            api: Api::new(&running, &token),
            running: Some(running),
            overrides,
            stream_hold: None,
            dir,
        }
    }

    /// The running server.
    pub(crate) fn running(&self) -> &Running {
        self.running.as_ref().expect("the server runs")
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.running().addr
    }

    /// The data dir.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes the tracker-event long poll answer `[]` after `hold`, now and after restarts.
    pub(crate) fn hold_streams(&mut self, hold: Duration) {
        self.stream_hold = Some(hold);
        self.running().state.risk.set_stream_hold(hold);
    }

    /// Stops the server and starts it again on the same data dir and configuration; the
    /// admin's client follows it to its new port.
    pub(crate) async fn restart(&mut self) {
        self.restart_with(async |_| {}).await;
    }

    /// Stops the server, runs `between` on the data dir, and starts the server again.
    pub(crate) async fn restart_with(&mut self, between: impl AsyncFnOnce(&Path)) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        between(self.dir.path()).await;
        let config = config(self.dir.path(), self.overrides.clone());
        let running = start(config, Some(KEY)).await.unwrap();
        if let Some(hold) = self.stream_hold {
            running.state.risk.set_stream_hold(hold);
        }
        self.api = Api::new(&running, &self.api.token);
        self.running = Some(running);
    }

    /// An API token of a new user, made as `drawbridge token create` makes one.
    pub(crate) async fn token_of_another_user(&self) -> String {
        let state = &self.running().state;
        let grant = Default::default();
        (create_token(state.store.clone(), None, grant, None, state.now()).await).unwrap()
    }

    /// Stops the server; the data dir goes with the fixture.
    pub(crate) async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// Asks `probe` until it answers `Some` (what the server does beside the request path
/// takes a moment), at most five seconds; panics naming `what` if it never does.
pub(crate) async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(Duration::from_secs(EVENTUALLY_S), what, probe).await
}

/// [`eventually`] with another bound than five seconds.
pub(crate) async fn eventually_within<T>(
    within: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(EVENTUALLY_POLL_MS)).await;
    }
}

/// A deployed account: its id, its broker login and its REST path.
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) login: String,
    /// `/users/current/accounts/{id}`.
    pub(crate) path: String,
}

impl Account {
    /// The REST path of the account's `route` (`trade`, `positions`, …).
    pub(crate) fn at(&self, route: &str) -> String {
        format!("{}/{route}", self.path)
    }
}

/// A small MetaApi REST client: one token, JSON in and out.
pub(crate) struct Api {
    pub(crate) http: Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Api {
    pub(crate) fn new(running: &Running, token: &str) -> Self {
        Self {
            http: Client::new(),
            base: format!("http://{}", running.addr),
            token: token.to_owned(),
        }
    }

    /// The same server, asked with `token`.
    pub(crate) fn as_token(&self, token: &str) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }

    /// The answer's status and JSON body (`null` when empty, a string when not JSON).
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

    /// A call that must succeed: its body.
    pub(crate) async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// A GET that must succeed: its body.
    pub(crate) async fn read(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    /// The demo-account generator's answer for a 10 000 USD account at 1:100: its `login`,
    /// `password`, `investorPassword` and `serverName`.
    pub(crate) async fn demo_login(&self) -> Value {
        self.ok(
            Method::POST,
            "/users/current/provisioning-profiles/default/mt5-demo-accounts",
            Some(json!({"balance": 10000, "leverage": 100, "accountType": "USD", "name": "demo"})),
        )
        .await
    }

    /// A deployed demo account of this user, balance 10 000 USD at 1:100.
    pub(crate) async fn demo_account(&self) -> Account {
        self.demo_account_with(json!({})).await
    }

    /// A demo account provisioned with `fields` added to the account's (e.g. `reliability`).
    pub(crate) async fn demo_account_with(&self, fields: Value) -> Account {
        let demo = self.demo_login().await;
        let mut account = json!({"login": demo["login"], "password": demo["password"],
                                 "server": "Drawbridge-Demo", "name": "demo"});
        if let (Some(account), Some(fields)) = (account.as_object_mut(), fields.as_object()) {
            account.extend(fields.clone());
        }
        let created = self
            .ok(Method::POST, "/users/current/accounts", Some(account))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        Account {
            login: demo["login"].as_str().unwrap().to_owned(),
            path: format!("/users/current/accounts/{id}"),
            id,
        }
    }

    /// Turns the risk management API of the account at `path` on.
    pub(crate) async fn enable_risk(&self, path: &str) {
        let enable = format!("{path}/enable-risk-management-api");
        self.ok(Method::POST, &enable, None).await;
    }

    /// A new EURUSD quote: `bid` / `ask`.
    pub(crate) async fn quote(&self, bid: f64, ask: f64) {
        let tick = json!({"symbol": "EURUSD", "bid": bid, "ask": ask});
        self.ok(Method::POST, "/sim/ticks", Some(tick)).await;
    }

    /// A new EURUSD quote two points wide: `bid` / `bid + 0.00002`.
    pub(crate) async fn tick(&self, bid: f64) {
        self.quote(bid, bid + 0.00002).await;
    }

    /// Quiet prices: the generated feed paused, EURUSD at 1.1 / 1.10002.
    pub(crate) async fn quiet(&self) {
        self.ok(Method::POST, "/sim/feed", Some(json!({"paused": true})))
            .await;
        self.tick(1.1).await;
    }

    /// Moves the virtual clock on.
    pub(crate) async fn advance(&self, seconds: f64) {
        let by = json!({"seconds": seconds});
        self.ok(Method::POST, "/sim/clock/advance", Some(by)).await;
    }

    /// The trade route's answer to `request` on the account at `path`
    /// (`/users/current/accounts/{id}`).
    pub(crate) async fn trade(&self, path: &str, request: Value) -> (StatusCode, Value) {
        self.post(&format!("{path}/trade"), request).await
    }

    /// A market buy of `volume` lots of EURUSD on the account at `path`, done: the trade
    /// route's answer.
    pub(crate) async fn buy(&self, path: &str, volume: f64) -> Value {
        let request = json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD",
                             "volume": volume});
        let (_, v) = self.trade(path, request).await;
        assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
        v
    }

    /// Closes a position of the account at `path`, done: the trade route's answer.
    pub(crate) async fn close(&self, path: &str, position: &str) -> Value {
        let request = json!({"actionType": "POSITION_CLOSE_ID", "positionId": position});
        let (_, v) = self.trade(path, request).await;
        assert_eq!(v["stringCode"], "TRADE_RETCODE_DONE", "{v}");
        v
    }
}

/// `v` is an error in MetaApi's shape: `error`, a message, and the message's `key`.
pub(crate) fn assert_error(v: &Value, error: &str, key: &str) {
    assert_eq!(v["error"], error, "{v}");
    assert_eq!(v["text"]["key"], key, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["message"], v["text"]["text"]);
}

/// The parameters a `ValidationError` names in its `details`, in order.
pub(crate) fn invalid_parameters(v: &Value) -> Vec<&str> {
    let details = v["details"].as_array().unwrap_or_else(|| panic!("{v}"));
    (details.iter())
        .map(|d| d["parameter"].as_str().unwrap())
        .collect()
}
