//! The MetaApi streaming API: socket.io (Engine.IO 3, the Socket.IO v4 protocol the official
//! SDK's python-socketio 4.x speaks) at `/ws` on the client-API hosts.
//!
//! A socket authenticates with its `auth-token` query parameter; `clientId` picks the
//! virtual front-end server as the `client-id` header does on REST. The client emits
//! `request` events (`{type, accountId, requestId, …}`) and gets `response` (echoing
//! `requestId` and `accountId`) or `processingError` (`{requestId, error, message,
//! details?, metadata?}`, the REST error shape); the server pushes `synchronization`
//! packets.
//!
//! Served so far: `subscribe` (`authenticated` for a new instance, then the answer; at most
//! `trade_subscription_accounts`, CQG limit 611, accounts per socket), `synchronize` (the
//! whole terminal state as `synchronizationStarted` … `dealSynchronizationFinished`, with
//! `sequenceNumber` and `sequenceTimestamp`), `refreshMarketDataSubscriptions`,
//! `unsubscribe` and `waitSynchronized` (answered), and every RPC read and `trade` the SDK
//! sends, plus `getApiLimits` ([`Rpc`]): each runs in-process through the REST route that
//! serves the same call, as the socket's caller on its front-end server, so checks, CPU
//! credits and errors are REST's. A `status` packet per subscribed instance every [`STATUS_INTERVAL`] keeps the
//! SDK's health timer alive. Every other request type is answered with a `processingError`
//! naming it, so that no client waits on silence.
//! After synchronization, the desk's change announcements become `update` packets for
//! every synchronized instance of the account. `subscribeToMarketData` for quotes starts
//! `prices` packets (with the account's equity and margin) at the subscription's interval,
//! sent only when the price moved; `unsubscribeFromMarketData` stops them. Each packet costs
//! streaming credits; past the account's budget the planner's downgrades are applied and sent
//! as `downgradeSubscription`. Candles, ticks and books, subscription expiry and hash-based
//! skipping follow.

use crate::auth::Caller;
use crate::client::{self, Terminal};
use crate::error::{ApiError, Kind};
use crate::messages;
use crate::state::{Shared, lock};
use drawbridge_limits::streaming::{SymbolLoad, cost_of, plan};
use drawbridge_limits::window::{Ring, Span};
use drawbridge_model::Clock as _;
use drawbridge_model::Timestamp;
use drawbridge_model::wire::{self as w, MarketDataType};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::layer::SocketIoLayer;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the socket.io endpoint is mounted (the SDK's `socketio_path`).
pub const PATH: &str = "/ws";
/// The trade-server host named in `authenticated` and `status` packets.
pub const HOST: &str = "ps-mpa-1";
/// Packets a socket may have queued before `emit` fails (and the instance resynchronizes).
pub const SOCKET_BUFFER_PACKETS: usize = 4_096;
/// The largest packet either way (a synchronization's deals of a long history; history
/// packets are not split yet).
pub const SOCKET_PAYLOAD_BYTES_MAX: u64 = 4 * 1024 * 1024;
/// How often each subscribed instance gets a `status` packet (the SDK gives up after 60 s).
pub const STATUS_INTERVAL: Duration = Duration::from_secs(20);

/// The socket.io layer for the router.
pub fn layer(state: Shared, api: axum::Router) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder()
        .req_path(PATH)
        // A synchronization of 100 accounts is 900 packets in a burst.
        .max_buffer_size(SOCKET_BUFFER_PACKETS)
        .max_payload(SOCKET_PAYLOAD_BYTES_MAX)
        .build_layer();
    io.ns("/", move |s: SocketRef| {
        connect(state.clone(), api.clone(), s)
    });
    layer
}

/// What one socket knows: who it is, and which (account, instance) it subscribed.
struct Connection {
    caller: Caller,
    /// The socket's token, for the REST routes its RPC requests run through.
    token: String,
    client_id: String,
    /// The REST router, called in-process for RPC requests.
    api: axum::Router,
    subscribed: Mutex<Vec<(String, u64)>>,
    /// The last packet's `(sequenceNumber, sequenceTimestamp)` per (account, instance): the
    /// SDK orders each instance's packets by them and wants every number exactly one more.
    sequence: Mutex<HashMap<(String, u64), (u64, i64)>>,
    /// Requests being answered now (at most `requests_in_processing_per_session`).
    in_flight: std::sync::atomic::AtomicU64,
    /// Set when the socket closed: its tasks end.
    closed: tokio::sync::watch::Sender<bool>,
    /// What each synchronized (account, instance) was last sent, for its `update` packets.
    synced: Mutex<HashMap<(String, u64), Known>>,
    /// Market-data subscriptions per (account, instance), by symbol.
    market: Mutex<HashMap<(String, u64), HashMap<String, Quotes>>>,
}

/// A symbol's quote subscription: `prices` packets at most every `interval`, when the price
/// moved.
#[derive(Debug, Clone)]
struct Quotes {
    interval: Duration,
    /// When the price was last looked at (sent or not: an unmoved price waits a whole
    /// interval too).
    tried: Option<tokio::time::Instant>,
    /// The last price sent.
    sent: Option<(f64, f64)>,
}

/// The ids a synchronized instance holds: updates send what changed against them.
#[derive(Debug, Default)]
struct Known {
    host: String,
    positions: HashSet<String>,
    orders: HashSet<String>,
    /// The time of the newest deal sent, and the ids of those sent at or after it: the next
    /// update reads from there and skips them (so neither the read nor the set grows).
    deals_since: Timestamp,
    deals: HashSet<String>,
    /// The same for history orders, by their done time.
    orders_since: Timestamp,
    history_orders: HashSet<String>,
}

/// The newest time among `times` (or `floor`), and the ids at or after it.
fn newest<'a>(
    floor: Timestamp,
    items: impl Iterator<Item = (&'a str, Timestamp)> + Clone,
) -> (Timestamp, HashSet<String>) {
    let since = items.clone().map(|(_, t)| t).fold(floor, Timestamp::max);
    let ids = (items.filter(|(_, t)| *t >= since))
        .map(|(id, _)| id.to_owned())
        .collect();
    (since, ids)
}

impl Connection {
    /// The next `(sequenceNumber, sequenceTimestamp)` of an instance: numbers count up from
    /// its last `synchronizationStarted` (`restart`), timestamps never go back and always
    /// move on (each `synchronizationStarted` must be strictly later than the last).
    fn next_sequence(
        &self,
        account: &str,
        instance: u64,
        now_ms: i64,
        restart: bool,
    ) -> (u64, i64) {
        let mut all = lock(&self.sequence);
        let seq = all.entry((account.to_owned(), instance)).or_insert((0, 0));
        seq.0 = if restart { 1 } else { seq.0 + 1 };
        seq.1 = now_ms.max(seq.1 + 1);
        *seq
    }

    /// Forgets an instance entirely (unsubscribed, or a packet to it was lost).
    fn forget(&self, account: &str, instance: Option<u64>) {
        let matches = |(a, i): &(String, u64)| a == account && instance.is_none_or(|x| x == *i);
        lock(&self.subscribed).retain(|k| !matches(k));
        lock(&self.synced).retain(|k, _| !matches(k));
        lock(&self.market).retain(|k, _| !matches(k));
        lock(&self.sequence).retain(|k, _| !matches(k));
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Connection")
            .field("user_id", &self.caller.user_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

async fn connect(state: Shared, api: axum::Router, s: SocketRef) {
    // The handlers are registered before anything is awaited: socket.io drops events that
    // arrive before them, and the client may send its first request at once. They wait for
    // the authentication below.
    let (ready, authenticated) = tokio::sync::watch::channel(None::<Arc<Connection>>);
    let st = state.clone();
    let flood = Arc::new(Mutex::new(Flood::new(&state)));
    let watching = authenticated.clone();
    s.on("request", move |s: SocketRef, Data(req): Data<Value>| {
        let (state, mut authenticated) = (st.clone(), authenticated.clone());
        if lock(&flood).count() {
            let conn = watching.borrow().clone();
            close_with(
                &state,
                &s,
                conn.as_deref(),
                &messages::CONNECTION_FLOOD,
                &[&lock(&flood).allowed, &10],
            );
        }
        async move {
            let conn = match authenticated.wait_for(Option::is_some).await {
                Ok(c) => c.clone(),
                Err(_) => None,
            };
            if let Some(conn) = conn {
                request(&state, &conn, &s, req).await;
            }
        }
    });
    let q = crate::extract::query_map(s.req_parts().uri.query());
    let text = |k: &str| q.get(k).map_or("", |v| v.trim()).to_owned();
    let caller = match state.tokens.authenticate(&text("auth-token")).await {
        Ok(c) => c,
        Err(_) => {
            let _ = s.emit(
                "processingError",
                &error_body("", &ApiError::unauthorized()),
            );
            let _ = s.disconnect();
            return;
        }
    };
    let conn = Arc::new(Connection {
        caller,
        token: text("auth-token"),
        client_id: text("clientId"),
        api,
        subscribed: Mutex::new(Vec::new()),
        sequence: Mutex::new(HashMap::new()),
        in_flight: std::sync::atomic::AtomicU64::new(0),
        closed: tokio::sync::watch::channel(false).0,
        synced: Mutex::new(HashMap::new()),
        market: Mutex::new(HashMap::new()),
    });
    let (st, c) = (state.clone(), Arc::clone(&conn));
    s.on_disconnect(move || {
        let mut accounts: Vec<String> =
            lock(&c.subscribed).iter().map(|(a, _)| a.clone()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            crate::limits::unsubscribe(&st, &c.caller, &account);
        }
        c.closed.send_replace(true);
        async {}
    });
    tokio::spawn(close_if_unready(
        state.clone(),
        s.clone(),
        Arc::clone(&conn),
    ));
    tokio::spawn(keep_alive(state.clone(), s.clone(), Arc::clone(&conn)));
    tokio::spawn(stream_prices(state.clone(), s.clone(), Arc::clone(&conn)));
    tokio::spawn(follow_changes(state, s, Arc::clone(&conn)));
    ready.send_replace(Some(conn));
}

/// Sends an `update` to every synchronized instance whose account the desk says changed.
async fn follow_changes(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut changes = state.desk.changes();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = changes.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        let changed = match next {
            Ok(c) => Some(c),
            // Fell behind: bring every synchronized instance up to date.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if !s.connected() {
            return;
        }
        let keys: Vec<(String, u64)> = lock(&conn.synced).keys().cloned().collect();
        for (account, instance) in keys {
            let hit = state.session(&account).is_some_and(|session| {
                changed
                    .as_ref()
                    .is_none_or(|c| c.contains(&session.account))
            });
            if hit {
                send_update(&state, &s, &conn, &account, instance).await;
            }
        }
    }
}

/// One `update` packet: the account information, positions and orders that changed or went,
/// and the deals and history orders not sent before.
async fn send_update(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
) {
    let (deals_since, orders_since) = {
        let synced = lock(&conn.synced);
        let known = synced.get(&(account.to_owned(), instance));
        known.map_or((Timestamp::EPOCH, Timestamp::EPOCH), |k| {
            (k.deals_since, k.orders_since)
        })
    };
    let read = client::read_terminal(
        state,
        &conn.caller,
        account,
        Terminal::WITHOUT_SPECIFICATIONS,
        deals_since,
        orders_since,
    );
    let Ok(client::Terminal {
        information: info,
        positions,
        orders,
        deals,
        history_orders,
        ..
    }) = read.await
    else {
        return;
    };
    let packet = {
        let mut synced = lock(&conn.synced);
        let Some(known) = synced.get_mut(&(account.to_owned(), instance)) else {
            return;
        };
        let removed = gone(&mut known.positions, positions.iter().map(|p| p.id.clone()));
        let completed = gone(&mut known.orders, orders.iter().map(|o| o.id.clone()));
        let order_time = |o: &w::Order| o.done_time.unwrap_or(Timestamp::EPOCH);
        let (deals_since, deal_ids) = newest(
            known.deals_since,
            deals.iter().map(|d| (d.id.as_str(), d.time)),
        );
        let (orders_since, order_ids) = newest(
            known.orders_since,
            history_orders
                .iter()
                .map(|o| (o.id.as_str(), order_time(o))),
        );
        let deals: Vec<_> = (deals.into_iter())
            .filter(|d| !known.deals.contains(&d.id))
            .collect();
        let history_orders: Vec<_> = (history_orders.into_iter())
            .filter(|o| !known.history_orders.contains(&o.id))
            .collect();
        (known.deals_since, known.deals) = (deals_since, deal_ids);
        (known.orders_since, known.history_orders) = (orders_since, order_ids);
        let mut packet = json!({
            "type": "update",
            "accountId": account,
            "instanceIndex": instance,
            "host": known.host,
            "updatedPositions": positions,
            "removedPositionIds": removed,
            "updatedOrders": orders,
            "completedOrderIds": completed,
            "historyOrders": history_orders,
            "deals": deals,
        });
        if let Some(i) = info {
            packet["accountInformation"] = json!(i);
        }
        packet
    };
    emit_sequenced(state, s, conn, (account, instance), packet, false);
}

/// Numbers `packet` in its instance's sequence (`restart` for `synchronizationStarted`) and
/// emits it; if it cannot be sent, the instance is forgotten, so that the client, missing a
/// sequence number, resubscribes and synchronizes afresh.
fn emit_sequenced(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    (account, instance): (&str, u64),
    mut packet: Value,
    restart: bool,
) -> bool {
    let (number, at) = conn.next_sequence(account, instance, state.now().0, restart);
    packet["sequenceNumber"] = json!(number);
    packet["sequenceTimestamp"] = json!(at);
    emit_or_forget(s, conn, account, instance, &packet)
}

/// Emits a packet; if it cannot be sent, the instance is forgotten.
fn emit_or_forget(
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
    packet: &Value,
) -> bool {
    if s.emit("synchronization", packet).is_ok() {
        return true;
    }
    conn.forget(account, Some(instance));
    false
}

/// The ids of `known` missing from `now`, which then replaces it.
fn gone(known: &mut HashSet<String>, now: impl Iterator<Item = String>) -> Vec<String> {
    let now: HashSet<String> = now.collect();
    let mut removed: Vec<String> = known.difference(&now).cloned().collect();
    removed.sort_unstable();
    *known = now;
    removed
}

/// `status` for every subscribed instance while the socket lives, and the token checked
/// again at each.
async fn keep_alive(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut tick = tokio::time::interval(STATUS_INTERVAL);
    tick.tick().await;
    while s.connected() {
        tick.tick().await;
        // A revoked token ends its sockets too, not only its next REST call.
        if state.tokens.authenticate(&conn.token).await.is_err() {
            close_with(&state, &s, Some(&conn), &messages::UNAUTHORIZED, &[]);
            return;
        }
        let subscribed = lock(&conn.subscribed).clone();
        for (account, instance) in subscribed {
            let _ = s.emit(
                "synchronization",
                &json!({"type": "status", "accountId": account, "instanceIndex": instance,
                        "host": HOST, "connected": true, "authenticated": true,
                        "healthStatus": {"rpcApiHealthy": true}}),
            );
        }
    }
}

/// The `processingError` of `e` for request `request_id`.
fn error_body(request_id: &str, e: &ApiError) -> Value {
    if let Some(cause) = &e.cause {
        tracing::error!(%cause, request_id, "streaming request failed");
    }
    let mut body = e.body();
    body["requestId"] = json!(request_id);
    body
}

/// Answers one `request`: a `response` or a `processingError`.
async fn request(state: &Shared, conn: &Arc<Connection>, s: &SocketRef, req: Value) {
    use std::sync::atomic::Ordering;
    let field = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (request_id, account, kind) = (field("requestId"), field("accountId"), field("type"));
    let max = (state.limits.catalogue)
        .value(drawbridge_limits::catalog::id::REQUESTS_IN_PROCESSING_PER_SESSION);
    if conn.in_flight.fetch_add(1, Ordering::AcqRel) >= max {
        conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        let e = ApiError::of(
            Kind::TooManyRequests,
            &messages::LIMIT_REQUESTS_IN_PROCESSING,
            &[&max],
        )
        .with_metadata(json!({
            "type": "LIMIT_REQUESTS_IN_PROCESSING_PER_SESSION",
            "maxRequestsInProcessing": max,
            "recommendedRetryTime": state.now().plus_millis(1_000),
        }));
        let _ = s.emit("processingError", &error_body(&request_id, &e));
        return;
    }
    answer_request(state, conn, s, &req, request_id, account, kind).await;
    conn.in_flight.fetch_sub(1, Ordering::AcqRel);
}

async fn answer_request(
    state: &Shared,
    conn: &Arc<Connection>,
    s: &SocketRef,
    req: &Value,
    request_id: String,
    account: String,
    kind: String,
) {
    match answer(state, conn, s, req, &kind, &account).await {
        Ok((mut reply, then)) => {
            reply["type"] = json!("response");
            reply["requestId"] = json!(request_id);
            reply["accountId"] = json!(account);
            let _ = s.emit("response", &reply);
            if let Some(sync) = then {
                let (account, instance) = (sync.account.clone(), sync.instance);
                sync.send(state, s, conn);
                crate::limits::finish_synchronization(state, &conn.caller, &account);
                // A change announced after the state was read and before the instance was
                // recorded as synchronized found nothing to update: catch up on it.
                if lock(&conn.synced).contains_key(&(account.clone(), instance)) {
                    send_update(state, s, conn, &account, instance).await;
                }
            }
        }
        Err(mut error) => {
            error["requestId"] = json!(request_id);
            let _ = s.emit("processingError", &error);
        }
    }
}

/// A request's answer: the `response` fields besides `type`, `requestId` and `accountId`,
/// or the `processingError` fields besides `requestId`.
type Answer = Result<(Value, Option<Synchronization>), Value>;

/// What a request of type `kind` answers, and the synchronization to send after the answer,
/// if it asked for one.
async fn answer(
    state: &Shared,
    conn: &Arc<Connection>,
    s: &SocketRef,
    req: &Value,
    kind: &str,
    account: &str,
) -> Answer {
    let caller = &conn.caller;
    let own = |e: ApiError| error_body("", &e);
    match kind {
        "synchronize" => {
            let instance = req
                .get("instanceIndex")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let subscribed = lock(&conn.subscribed).contains(&(account.to_owned(), instance));
            if !subscribed {
                return Err(own(ApiError::of(
                    Kind::Validation,
                    &messages::STREAMING_NOT_SUBSCRIBED,
                    &[&account, &instance],
                )));
            }
            crate::limits::start_synchronization(state, caller, account).map_err(own)?;
            match Synchronization::of(state, caller, req, account).await {
                Ok(sync) => Ok((json!({}), Some(sync))),
                Err(e) => {
                    crate::limits::finish_synchronization(state, caller, account);
                    Err(own(e))
                }
            }
        }
        "subscribe" => {
            subscribe(state, conn, s, req, account).await.map_err(own)?;
            Ok((json!({}), None))
        }
        "subscribeToMarketData" | "unsubscribeFromMarketData" => {
            let entry = crate::provisioning::owned_entry(state, caller, account).await;
            let default = entry.map_err(own)?.doc.quote_streaming_interval_in_seconds;
            let subscribe = kind == "subscribeToMarketData";
            if subscribe {
                let symbol = req.get("symbol").and_then(Value::as_str).unwrap_or("");
                let known = client::symbol_exists(state, caller, account, symbol).await;
                if !known.map_err(own)? {
                    return Err(own(client::unknown_symbol(symbol)));
                }
            }
            market_data(conn, req, account, subscribe, default);
            Ok((json!({}), None))
        }
        "unsubscribe" => {
            let owned = crate::provisioning::owned_entry(state, caller, account).await;
            owned.map_err(own)?;
            let held = lock(&conn.subscribed).iter().any(|(a, _)| a == account);
            conn.forget(account, None);
            if held {
                crate::limits::unsubscribe(state, caller, account);
            }
            Ok((json!({}), None))
        }
        "refreshMarketDataSubscriptions" | "waitSynchronized" => {
            let owned = crate::provisioning::owned_entry(state, caller, account).await;
            owned.map_err(own)?;
            Ok((json!({}), None))
        }
        _ => match Rpc::of(kind, req, account) {
            Some(rpc) => rpc.call(conn).await.map(|v| (v, None)),
            None => Err(own(ApiError::of(
                Kind::Validation,
                &messages::STREAMING_REQUEST_UNSUPPORTED,
                &[&kind],
            ))),
        },
    }
}

/// An RPC request, answered by the REST route that serves the same call: the same checks,
/// the same CPU credits, the same errors.
#[derive(Debug)]
struct Rpc {
    method: axum::http::Method,
    path: String,
    body: Option<Value>,
    /// The `response` field the REST answer goes in.
    field: &'static str,
    /// History calls also say whether the terminal is still synchronizing (never, here).
    history: bool,
}

impl Rpc {
    fn of(kind: &str, req: &Value, account: &str) -> Option<Self> {
        let arg = |k: &str| -> String {
            let v = req.get(k).map_or(String::new(), |v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            segment(&v)
        };
        let acc = format!("/users/current/accounts/{}", segment(account));
        let sym = format!("{acc}/symbols/{}", arg("symbol"));
        let page = || {
            let mut q = Vec::new();
            for k in ["offset", "limit"] {
                if let Some(v) = req.get(k).filter(|v| !v.is_null()) {
                    q.push(format!("{k}={}", segment(&v.to_string())));
                }
            }
            if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            }
        };
        let get = |path: String, field, history| Rpc {
            method: axum::http::Method::GET,
            path,
            body: None,
            field,
            history,
        };
        Some(match kind {
            "getAccountInformation" => get(
                format!("{acc}/account-information"),
                "accountInformation",
                false,
            ),
            "getPositions" => get(format!("{acc}/positions"), "positions", false),
            "getPosition" => get(
                format!("{acc}/positions/{}", arg("positionId")),
                "position",
                false,
            ),
            "getOrders" => get(format!("{acc}/orders"), "orders", false),
            "getOrder" => get(format!("{acc}/orders/{}", arg("orderId")), "order", false),
            "getHistoryOrdersByTicket" => get(
                format!("{acc}/history-orders/ticket/{}", arg("ticket")),
                "historyOrders",
                true,
            ),
            "getHistoryOrdersByPosition" => get(
                format!("{acc}/history-orders/position/{}", arg("positionId")),
                "historyOrders",
                true,
            ),
            "getHistoryOrdersByTimeRange" => get(
                format!(
                    "{acc}/history-orders/time/{}/{}{}",
                    arg("startTime"),
                    arg("endTime"),
                    page()
                ),
                "historyOrders",
                true,
            ),
            "getDealsByTicket" => get(
                format!("{acc}/history-deals/ticket/{}", arg("ticket")),
                "deals",
                true,
            ),
            "getDealsByPosition" => get(
                format!("{acc}/history-deals/position/{}", arg("positionId")),
                "deals",
                true,
            ),
            "getDealsByTimeRange" => get(
                format!(
                    "{acc}/history-deals/time/{}/{}{}",
                    arg("startTime"),
                    arg("endTime"),
                    page()
                ),
                "deals",
                true,
            ),
            "getSymbols" => get(format!("{acc}/symbols"), "symbols", false),
            "getSymbolSpecification" => get(format!("{sym}/specification"), "specification", false),
            "getSymbolPrice" => get(format!("{sym}/current-price"), "price", false),
            "getCandle" => get(
                format!("{sym}/current-candles/{}", arg("timeframe")),
                "candle",
                false,
            ),
            "getTick" => get(format!("{sym}/current-tick"), "tick", false),
            "getBook" => get(format!("{sym}/current-book"), "book", false),
            "getServerTime" => get(format!("{acc}/server-time"), "serverTime", false),
            // drawbridge's own (the SDK has no such call): the limits in force, as REST's
            // `GET /users/current/api-limits`; `limits` is a list of ids, none for all.
            "getApiLimits" => {
                let ids = (req.get("limits").and_then(Value::as_array)).map(|ids| {
                    ids.iter()
                        .map(|i| segment(&i.to_string()))
                        .collect::<Vec<_>>()
                });
                let query = ids.map_or(String::new(), |ids| format!("?limits={}", ids.join(",")));
                get(
                    format!("/users/current/api-limits{query}"),
                    "apiLimits",
                    false,
                )
            }
            "trade" => Rpc {
                method: axum::http::Method::POST,
                path: format!("{acc}/trade"),
                body: Some(req.get("trade").cloned().unwrap_or(Value::Null)),
                field: "response",
                history: false,
            },
            _ => return None,
        })
    }

    /// Runs the REST route in-process as the socket's caller, through its front-end server.
    async fn call(self, conn: &Connection) -> Result<Value, Value> {
        use tower::ServiceExt as _;
        let mut req = axum::http::Request::builder()
            .method(self.method)
            .uri(&self.path)
            .header(crate::extract::AUTH_HEADER, &conn.token)
            .header("client-id", &conn.client_id);
        let body = match self.body {
            Some(b) => {
                req = req.header(axum::http::header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(b.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let internal = |why: String| error_body("", &ApiError::internal(why));
        let req = req.body(body).map_err(|e| internal(e.to_string()))?;
        let reply = (conn.api.clone().oneshot(req).await).map_err(|e| internal(e.to_string()))?;
        let ok = reply.status().is_success();
        let bytes = axum::body::to_bytes(reply.into_body(), REPLY_BYTES_MAX)
            .await
            .map_err(|e| internal(e.to_string()))?;
        let value: Value = if bytes.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?
        };
        if !ok {
            return Err(value);
        }
        let mut answer = json!({ self.field: value });
        if self.history {
            answer["synchronizing"] = json!(false);
        }
        Ok(answer)
    }
}

/// The largest REST answer an RPC request relays (a thousand history records fit easily).
const REPLY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// `s` as one path segment (percent-encoded outside unreserved characters).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `subscribe`: the account must be the caller's and deployed; a new instance gets
/// `authenticated` once, before the answer (the SDK starts over on every further one).
async fn subscribe(
    state: &Shared,
    conn: &Connection,
    s: &SocketRef,
    req: &Value,
    account: &str,
) -> Result<(), ApiError> {
    client::session(state, &conn.caller, account).await?;
    let instance = req
        .get("instanceIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if instance >= INSTANCES_MAX {
        return Err(ApiError::field(crate::error::FieldError::invalid(
            "instanceIndex",
            Some(json!(instance)),
            "must be 0 to 3",
        )));
    }
    let max = state
        .limits
        .catalogue
        .value(drawbridge_limits::catalog::id::TRADE_SUBSCRIPTION_ACCOUNTS);
    let fresh = {
        let mut subscribed = lock(&conn.subscribed);
        let key = (account.to_owned(), instance);
        let fresh = !subscribed.contains(&key);
        let new_account = !subscribed.iter().any(|(a, _)| a == account);
        let mut accounts: Vec<&str> = subscribed.iter().map(|(a, _)| a.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        if new_account && accounts.len() as u64 >= max {
            return Err(ApiError::of(
                Kind::TooManyRequests,
                &messages::LIMIT_SUBSCRIPTIONS_PER_SOCKET,
                &[&max],
            )
            .with_metadata(json!({
                "type": "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SOCKET",
                "maxAccountsPerSocket": max,
                "recommendedRetryTime": state.now().plus_millis(60_000),
            })));
        }
        // Every subscribe request counts against the subscribe rate; a new account also
        // against the subscription limits.
        crate::limits::subscribe(state, &conn.caller, &conn.client_id, account, new_account)?;
        if fresh {
            subscribed.push(key);
        }
        fresh
    };
    if fresh {
        let mut packet = json!({"type": "authenticated", "accountId": account,
            "instanceIndex": instance, "host": HOST, "replicas": 1});
        if let Some(session) = req.get("sessionId") {
            packet["sessionId"] = session.clone();
        }
        let _ = s.emit("synchronization", &packet);
    }
    Ok(())
}

/// One `synchronize` request: the account's whole terminal state, read when the request
/// came, sent as the SDK expects it (specifications before orders, history after).
#[derive(Debug)]
struct Synchronization {
    account: String,
    instance: u64,
    host: String,
    id: String,
    specifications: Vec<w::SymbolSpecification>,
    information: Option<w::AccountInformation>,
    positions: Vec<w::Position>,
    orders: Vec<w::Order>,
    deals: Vec<w::Deal>,
    history_orders: Vec<w::Order>,
    /// The times the history was read from.
    deals_from: Timestamp,
    orders_from: Timestamp,
}

impl Synchronization {
    async fn of(
        state: &Shared,
        caller: &Caller,
        req: &Value,
        account: &str,
    ) -> Result<Self, ApiError> {
        let text = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let since = |k: &str| {
            req.get(k)
                .and_then(Value::as_str)
                .and_then(|t| Timestamp::parse_iso(t).ok())
                .unwrap_or(Timestamp::EPOCH)
        };
        let host = Some(text("host")).filter(|h| !h.is_empty());
        let (deals_from, orders_from) =
            (since("startingDealTime"), since("startingHistoryOrderTime"));
        let terminal = client::read_terminal(
            state,
            caller,
            account,
            Terminal::WITH_SPECIFICATIONS,
            deals_from,
            orders_from,
        )
        .await?;
        Ok(Self {
            account: account.to_owned(),
            instance: req
                .get("instanceIndex")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            host: host.unwrap_or_else(|| HOST.to_owned()),
            id: text("requestId"),
            specifications: terminal.specifications,
            information: terminal.information,
            positions: terminal.positions,
            orders: terminal.orders,
            deals: terminal.deals,
            history_orders: terminal.history_orders,
            deals_from,
            orders_from,
        })
    }

    /// Emits the packets, each with the envelope the SDK matches them by, and remembers what
    /// the instance now holds.
    fn send(self, state: &Shared, s: &SocketRef, conn: &Connection) {
        let (deals_since, deals) = newest(
            self.deals_from,
            self.deals.iter().map(|d| (d.id.as_str(), d.time)),
        );
        let (orders_since, history_orders) = newest(
            self.orders_from,
            (self.history_orders.iter())
                .map(|o| (o.id.as_str(), o.done_time.unwrap_or(Timestamp::EPOCH))),
        );
        let known = Known {
            host: self.host.clone(),
            positions: self.positions.iter().map(|p| p.id.clone()).collect(),
            orders: self.orders.iter().map(|o| o.id.clone()).collect(),
            deals_since,
            deals,
            orders_since,
            history_orders,
        };
        lock(&conn.synced).insert((self.account.clone(), self.instance), known);
        let packets = [
            ("synchronizationStarted", json!({})),
            (
                "specifications",
                json!({ "specifications": self.specifications }),
            ),
            (
                "accountInformation",
                json!({ "accountInformation": self.information.map_or(json!({}), |i| json!(i)) }),
            ),
            ("positions", json!({ "positions": self.positions })),
            ("orders", json!({ "orders": self.orders })),
            (
                "historyOrders",
                json!({ "historyOrders": self.history_orders }),
            ),
            ("deals", json!({ "deals": self.deals })),
            ("orderSynchronizationFinished", json!({})),
            ("dealSynchronizationFinished", json!({})),
        ];
        for (kind, mut packet) in packets {
            let restart = kind == "synchronizationStarted";
            packet["type"] = json!(kind);
            packet["accountId"] = json!(self.account);
            packet["instanceIndex"] = json!(self.instance);
            packet["host"] = json!(self.host);
            packet["synchronizationId"] = json!(self.id);
            let to = (self.account.as_str(), self.instance);
            if !emit_sequenced(state, s, conn, to, packet, restart) {
                return;
            }
        }
    }
}

/// Which of the account's instances this socket subscribed a request is for: the one it
/// names, else all of them.
fn instances(conn: &Connection, req: &Value, account: &str) -> Vec<u64> {
    let named = req.get("instanceIndex").and_then(Value::as_u64);
    lock(&conn.subscribed)
        .iter()
        .filter(|(a, i)| a == account && named.is_none_or(|n| n == *i))
        .map(|(_, i)| *i)
        .collect()
}

/// `subscribeToMarketData` / `unsubscribeFromMarketData` for quotes: the subscription's
/// interval is the shortest `intervalInMilliseconds` asked for, else the account's quote
/// streaming interval. (Candles, ticks and books follow.)
fn market_data(conn: &Connection, req: &Value, account: &str, subscribe: bool, default_s: f64) {
    let Some(symbol) = req.get("symbol").and_then(Value::as_str) else {
        return;
    };
    let asked: Vec<&Value> = req
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let quotes = asked.is_empty()
        || asked
            .iter()
            .any(|sub| sub.get("type").and_then(Value::as_str) == Some("quotes"));
    if !quotes {
        return;
    }
    let interval_ms = (asked.iter())
        .filter_map(|sub| sub.get("intervalInMilliseconds").and_then(Value::as_f64))
        .fold(default_s * 1_000.0, f64::min)
        .clamp(MIN_PRICE_INTERVAL.as_millis() as f64, 3_600_000.0);
    let interval = Duration::from_millis(interval_ms as u64);
    let mut market = lock(&conn.market);
    for instance in instances(conn, req, account) {
        let symbols = market.entry((account.to_owned(), instance)).or_default();
        if subscribe {
            if symbols.len() < MARKET_SYMBOLS_MAX || symbols.contains_key(symbol) {
                let quotes = Quotes {
                    interval,
                    tried: None,
                    sent: None,
                };
                symbols.insert(symbol.to_owned(), quotes);
            }
        } else {
            symbols.remove(symbol);
        }
    }
}

/// Symbols with market-data subscriptions per (account, instance) at most.
const MARKET_SYMBOLS_MAX: usize = 100;
/// Instances per account a socket may subscribe (the SDK uses 0 and 1).
const INSTANCES_MAX: u64 = 4;

/// The shortest interval between two `prices` packets of one symbol.
const MIN_PRICE_INTERVAL: Duration = Duration::from_millis(100);

/// Sends `prices` packets for the socket's quote subscriptions, each at its interval and
/// only when the price moved, with the account's equity and margin.
async fn stream_prices(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut tick = tokio::time::interval(MIN_PRICE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while s.connected() {
        tick.tick().await;
        let now = tokio::time::Instant::now();
        let due: Vec<((String, u64), Vec<String>)> = lock(&conn.market)
            .iter()
            .map(|(key, symbols)| {
                let due = (symbols.iter())
                    .filter(|(_, q)| q.tried.is_none_or(|at| now >= at + q.interval))
                    .map(|(sym, _)| sym.clone())
                    .collect();
                (key.clone(), due)
            })
            .filter(|(_, due): &(_, Vec<String>)| !due.is_empty())
            .collect();
        for ((account, instance), symbols) in due {
            send_prices(&state, &s, &conn, &account, instance, &symbols, now).await;
        }
    }
}

async fn send_prices(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
    symbols: &[String],
    now: tokio::time::Instant,
) {
    let read = client::read_quotes(state, &conn.caller, account, symbols.to_vec()).await;
    let (read, info) = read.unwrap_or_default();
    let mut prices = Vec::new();
    {
        let mut market = lock(&conn.market);
        let Some(subscribed) = market.get_mut(&(account.to_owned(), instance)) else {
            return;
        };
        for (symbol, price) in symbols
            .iter()
            .zip(read.into_iter().chain(std::iter::repeat(None)))
        {
            let Some(q) = subscribed.get_mut(symbol) else {
                continue;
            };
            q.tried = Some(now);
            let Some(Some(price)) = price else { continue };
            if q.sent == Some((price.bid, price.ask)) {
                continue;
            }
            q.sent = Some((price.bid, price.ask));
            prices.push(price);
        }
    }
    if prices.is_empty() {
        return;
    }
    let host = lock(&conn.synced)
        .get(&(account.to_owned(), instance))
        .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
    let mut packet = json!({"type": "prices", "accountId": account, "instanceIndex": instance,
        "host": host, "prices": prices});
    if let Some(info) = info {
        packet["equity"] = json!(info.equity);
        packet["margin"] = json!(info.margin);
        packet["freeMargin"] = json!(info.free_margin);
        if let Some(level) = info.margin_level {
            packet["marginLevel"] = json!(level);
        }
    }
    let quotes = prices.len() as u64;
    if !emit_sequenced(state, s, conn, (account, instance), packet, false) {
        return;
    }
    let credits = cost_of(MarketDataType::Quotes, quotes);
    if crate::limits::charge_streaming(state, &conn.caller, account, credits) {
        downgrade(state, s, conn, account, instance);
    }
}

/// Price changes per minute a quote subscription is assumed to see when planning a
/// downgrade: high enough that only the interval bounds the projected rate.
const PLANNING_TICKS_PER_MIN: u64 = 60_000;

/// The account's streaming credits ran out: lengthen the instance's quote intervals (or, at
/// the longest, drop subscriptions) as the planner says, and tell the client with
/// `downgradeSubscription` packets.
fn downgrade(state: &Shared, s: &SocketRef, conn: &Connection, account: &str, instance: u64) {
    let quotas = &state.limits.streaming_quotas;
    let key = (account.to_owned(), instance);
    let loads: Vec<SymbolLoad> = lock(&conn.market)
        .get(&key)
        .map(|symbols| {
            symbols
                .iter()
                .map(|(symbol, q)| SymbolLoad {
                    symbol: symbol.clone(),
                    subscriptions: vec![w::MarketDataSubscription {
                        data_type: MarketDataType::Quotes,
                        timeframe: None,
                        interval_in_milliseconds: Some(q.interval.as_millis() as f64),
                    }],
                    ticks_per_min: PLANNING_TICKS_PER_MIN,
                    book_entries: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let shortest = loads
        .iter()
        .filter_map(|l| l.subscriptions[0].interval_in_milliseconds)
        .fold(f64::INFINITY, f64::min);
    let default_ms = if shortest.is_finite() {
        shortest as u64
    } else {
        1_000
    };
    let planned = plan(quotas, default_ms, &loads);
    for d in planned.downgrades {
        {
            let mut market = lock(&conn.market);
            let Some(symbols) = market.get_mut(&key) else {
                return;
            };
            if !d.unsubscriptions.is_empty() {
                symbols.remove(&d.symbol);
            } else if let Some(ms) = d.updates.iter().find_map(|u| u.interval_in_milliseconds)
                && let Some(q) = symbols.get_mut(&d.symbol)
            {
                q.interval = Duration::from_millis(ms as u64);
            }
        }
        let host = lock(&conn.synced)
            .get(&key)
            .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
        let mut packet = json!(d);
        packet["type"] = json!("downgradeSubscription");
        packet["accountId"] = json!(account);
        packet["instanceIndex"] = json!(instance);
        packet["host"] = json!(host);
        if !emit_sequenced(state, s, conn, (account, instance), packet, false) {
            return;
        }
    }
}

/// Client messages counted on wall time over 10 s (CQG limit 110): past the limit the socket
/// gets a user message and is closed.
#[derive(Debug)]
struct Flood {
    span: Span,
    ring: Ring<u32, 11>,
    allowed: u64,
}

impl Flood {
    fn new(state: &Shared) -> Self {
        let id = drawbridge_limits::catalog::id::CLIENT_MESSAGES_RATE;
        let period_s = (state.limits.catalogue.get(id))
            .and_then(|l| l.period_secs)
            .unwrap_or(10);
        Self {
            span: Span::new(i64::from(period_s) * 1_000, 10),
            ring: Ring::default(),
            allowed: state.limits.catalogue.value(id),
        }
    }

    /// Counts one message; true when it is one too many.
    fn count(&mut self) -> bool {
        let now = drawbridge_model::SystemClock.now().0;
        self.ring.advance(self.span.bucket(now));
        self.ring.add(1);
        self.ring.live() > self.allowed
    }
}

/// Sends the socket a critical user message (queued for its user too), then closes it.
fn close_with(
    state: &Shared,
    s: &SocketRef,
    conn: Option<&Connection>,
    m: &'static messages::Message,
    params: &[&dyn std::fmt::Display],
) {
    let text = m.with(params);
    if let Some(conn) = conn {
        state.user_messages.push(
            &conn.caller.user_id,
            crate::user_messages::MessageType::CriticalError,
            text.clone(),
            state.now(),
        );
    }
    let _ = s.emit(
        "userMessage",
        &json!({"type": 1, "message": text.text, "text": text}),
    );
    let _ = s.clone().disconnect();
}

/// Closes a socket that has not subscribed any account within `unready_socket_close_secs`
/// (CQG limit 100).
async fn close_if_unready(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let secs = (state.limits.catalogue).value(drawbridge_limits::catalog::id::UNREADY_SOCKET_CLOSE);
    let mut closed = conn.closed.subscribe();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(secs)) => {}
        _ = closed.wait_for(|c| *c) => return,
    }
    if lock(&conn.subscribed).is_empty() && s.connected() {
        close_with(
            &state,
            &s,
            Some(&conn),
            &messages::CONNECTION_UNREADY,
            &[&secs],
        );
    }
}
