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
//! every synchronized instance of the account. `subscribeToMarketData` (quotes, candles,
//! ticks, marketDepth) starts `prices` packets with the account's equity and margin
//! ([`market`]), fed by one hub for all sockets ([`hub`]); unrefreshed subscriptions expire.
//! Each packet costs streaming credits; past the account's budget the planner's downgrades
//! are applied and sent as `downgradeSubscription`. Hash-based skipping follows.

use crate::auth::Caller;
use crate::client;
use crate::error::{ApiError, Kind};
use crate::listener::PeerAddr;
use crate::messages;
use crate::state::{Shared, lock};
use drawbridge_model::wire as w;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::layer::SocketIoLayer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod guard;
pub(crate) mod hashes;
mod hub;
mod market;
mod risk;
mod rpc;
mod sync;

use guard::{Flood, close_if_unready, close_with};
use market::stream_prices;
use rpc::Rpc;
use sync::{Known, Synchronization, follow_changes, send_update};

/// Where the socket.io endpoint is mounted (the SDK's `socketio_path`).
pub const PATH: &str = "/ws";
/// The trade-server host named in `authenticated` and `status` packets.
pub const HOST: &str = "ps-mpa-1";
/// Packets a socket may have queued before `emit` fails (and the instance resynchronizes).
pub const SOCKET_BUFFER_PACKETS: usize = 4_096;
/// The largest packet either way: a synchronization's specifications of a large symbol
/// catalogue (history goes in packets of [`sync::HISTORY_PACKET_ITEMS`] items).
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
    let hub = hub::Hub::new(state.clone());
    io.ns("/", move |s: SocketRef| {
        connect(state.clone(), api.clone(), Arc::clone(&hub), s)
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
    /// Held while an `update` is read and sent: each starts from where the last one left
    /// off, so two cannot interleave (a catch-up after a synchronization and a change).
    updating: tokio::sync::Mutex<()>,
    /// Market-data subscriptions per (account, instance), by symbol.
    market: Mutex<market::Subscriptions>,
    /// Where the socket's market data comes from, shared by every socket.
    hub: Arc<hub::Hub>,
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

    /// Forgets an instance (unsubscribed, disconnected, or a packet to it was lost); only its
    /// sequence is kept.
    fn forget(&self, account: &str, instance: Option<u64>) {
        let matches = |(a, i): &(String, u64)| a == account && instance.is_none_or(|x| x == *i);
        lock(&self.subscribed).retain(|k| !matches(k));
        lock(&self.synced).retain(|k, _| !matches(k));
        lock(&self.market).retain(|k, _| !matches(k));
        // The sequence stays: the SDK drops a `synchronizationStarted` whose timestamp is not
        // past every packet it had of the instance, and the clock may stand still (virtual).
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

async fn connect(state: Shared, api: axum::Router, hub: Arc<hub::Hub>, s: SocketRef) {
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
    let peer = (s
        .req_parts()
        .extensions
        .get::<axum::extract::ConnectInfo<PeerAddr>>())
    .map(|c| c.0.0.ip());
    if let Some(Err((allowed, period))) = peer.map(|ip| crate::limits::open_session(&state, ip)) {
        close_with(
            &state,
            &s,
            None,
            &messages::CONNECTION_RATE,
            &[&allowed, &period],
        );
        return;
    }
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
        updating: tokio::sync::Mutex::new(()),
        market: Mutex::default(),
        hub,
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
    tokio::spawn(follow_user_messages(
        state.clone(),
        s.clone(),
        Arc::clone(&conn),
    ));
    tokio::spawn(follow_disconnects(
        state.clone(),
        s.clone(),
        Arc::clone(&conn),
    ));
    tokio::spawn(risk::follow_risk_events(
        state.clone(),
        s.clone(),
        Arc::clone(&conn),
    ));
    tokio::spawn(follow_changes(state, s, Arc::clone(&conn)));
    ready.send_replace(Some(conn));
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

/// `disconnected` for every subscribed instance of an account whose broker session went
/// (undeployed, deleted): the instance is forgotten, and the SDK subscribes again until the
/// account is back.
async fn follow_disconnects(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut dropped = state.dropped_sessions();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = dropped.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        let gone: Vec<(String, u64)> = match next {
            Ok(account) => (lock(&conn.subscribed).iter())
                .filter(|(a, _)| **a == *account)
                .cloned()
                .collect(),
            // Fell behind: check every subscribed account.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => (lock(&conn.subscribed)
                .iter())
            .filter(|(a, _)| state.session(a).is_none())
            .cloned()
            .collect(),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        for (account, instance) in gone {
            if state.session(&account).is_some() {
                continue; // deployed again meanwhile
            }
            let host = (lock(&conn.synced).get(&(account.clone(), instance)))
                .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
            let _ = s.emit(
                "synchronization",
                &json!({"type": "disconnected", "accountId": account,
                        "instanceIndex": instance, "host": host}),
            );
            conn.forget(&account, Some(instance));
            if !lock(&conn.subscribed).iter().any(|(a, _)| *a == account) {
                crate::limits::unsubscribe(&state, &conn.caller, &account);
            }
        }
    }
}

/// The user's messages (`userMessage` events) as they are queued, while the socket lives.
async fn follow_user_messages(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut live = state.user_messages.live();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = live.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        match next {
            Ok((user, message)) if *user == *conn.caller.user_id => {
                let _ = s.emit("userMessage", &message);
            }
            // Missed ones stay readable by REST.
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
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
    // Given back however the answer ends, a panic included.
    let _slot = InFlight(&conn.in_flight);
    answer_request(state, conn, s, &req, request_id, account, kind).await;
}

/// A request in processing on a socket; dropping it gives its place back.
struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
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
        "subscribeToMarketData"
        | "unsubscribeFromMarketData"
        | "refreshMarketDataSubscriptions" => {
            let reply = market::answer(state, conn, req, kind, account).await;
            Ok((reply.map_err(own)?, None))
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
        "refreshSymbolQuotes" => {
            let symbols: Vec<String> = (req.get("symbols").and_then(Value::as_array))
                .map(|v| {
                    v.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let (prices, info) = client::read_quotes(state, caller, account, symbols)
                .await
                .map_err(own)?;
            // Only the symbols that have a quote: "a subset of the symbols asked for".
            let quotes: Vec<w::SymbolPrice> = prices.into_iter().flatten().flatten().collect();
            let mut refreshed = json!({ "quotes": quotes });
            if let Some(i) = info {
                refreshed["balance"] = json!(i.balance);
                refreshed["equity"] = json!(i.equity);
                refreshed["margin"] = json!(i.margin);
                refreshed["freeMargin"] = json!(i.free_margin);
                if let Some(level) = i.margin_level {
                    refreshed["marginLevel"] = json!(level);
                }
            }
            Ok((json!({ "refreshedQuotes": refreshed }), None))
        }
        // Uptime statistics are the client's own; applications are not kept apart here.
        "saveUptime" | "removeApplication" | "waitSynchronized" => {
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

/// Instances per account a socket may subscribe (the SDK uses 0 and 1).
const INSTANCES_MAX: u64 = 4;
