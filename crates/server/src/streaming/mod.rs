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
//! # Layout
//! - this file: the endpoint ([`layer`]) and a socket's life ([`connect`]): the connection
//!   rate, authentication, the tasks that serve it;
//! - [`connection`]: what one socket knows, and how packets to an instance are numbered;
//! - [`requests`]: the `request` events — `subscribe`, `synchronize`, `unsubscribe` and the
//!   rest of what the SDK sends — and [`rpc`], every RPC read, `trade`, `calculateMargin` and
//!   `getApiLimits`, run in-process through the REST route that serves the same call;
//! - [`sync`]: a synchronization's packets (history in packets of 1,000; what the client
//!   holds skipped by [`hashes`]) and the `update` packets after it;
//! - [`market`] and [`hub`]: market-data subscriptions (quotes, candles, ticks, books; they
//!   expire unless refreshed) and the one task that reads the market for every socket and
//!   sends their `prices` packets, within the streaming credits (downgrades past them);
//! - [`notices`]: what the server sends on its own — `disconnected`, user messages, `status`;
//!   [`risk`]: risk events;
//! - [`protection`]: the unready-socket and message-flood closes.
//!
//! Every request type the server does not serve is answered with a `processingError`
//! naming it, so that no client waits on silence.

use crate::listener::PeerAddr;
use crate::messages;
use crate::state::{Shared, lock};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::handler::ConnectHandler as _;
use socketioxide::layer::SocketIoLayer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod connection;
pub(crate) mod hashes;
mod hub;
mod market;
mod notices;
mod protection;
mod requests;
mod risk;
mod rpc;
mod sync;

use crate::error::ApiError;
use connection::{Connection, emit_sequenced};
use market::stream_prices;
use notices::{announce_disconnects, forward_user_messages, keep_alive};
use protection::{Flood, close_if_unready, close_with};
use requests::{error_body, instances, request};
use sync::follow_changes;

/// Where the socket.io endpoint is mounted (the SDK's `socketio_path`).
pub const PATH: &str = "/ws";
/// A map hashed fast (its keys are ours: account ids and symbol names), for the lookups made
/// for every packet.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    let turns = Arc::new(sync::Turns::default());
    let st = state.clone();
    let handler = move |s: SocketRef| {
        let shared = (Arc::clone(&hub), Arc::clone(&turns));
        connect(state.clone(), api.clone(), shared, s)
    };
    let before = move |s: SocketRef| {
        listen(&st, &s);
        async { Ok::<(), std::convert::Infallible>(()) }
    };
    io.ns("/", handler.with(before));
    layer
}

/// Where a socket's `request` handler waits for its [`Connection`]: set once [`connect`]
/// authenticated it (left empty when it was refused).
#[derive(Clone)]
struct Ready(Arc<tokio::sync::watch::Sender<Option<Arc<Connection>>>>);

/// Registers a socket's `request` handler. It runs as connect middleware, which socketioxide
/// awaits before it sends the namespace's connect packet: the connect handler itself is
/// spawned after that packet, and an event that arrives before its handler exists is dropped
/// (a client sends its first request as soon as it is connected, and would wait forever).
fn listen(state: &Shared, s: &SocketRef) {
    let (ready, authenticated) = tokio::sync::watch::channel(None::<Arc<Connection>>);
    s.extensions.insert(Ready(Arc::new(ready)));
    let st = state.clone();
    let flood = Arc::new(Mutex::new(Flood::new(state)));
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
}

/// What every socket of the endpoint shares: the market-data hub, and the accounts'
/// synchronization turns.
type Endpoint = (Arc<hub::Hub>, Arc<sync::Turns>);

async fn connect(state: Shared, api: axum::Router, (hub, turns): Endpoint, s: SocketRef) {
    // Registered by [`listen`]; without it no request could be answered.
    let Some(Ready(ready)) = s.extensions.remove::<Ready>() else {
        let _ = s.disconnect();
        return;
    };
    let peer = (s
        .req_parts()
        .extensions
        .get::<axum::extract::ConnectInfo<PeerAddr>>())
    .map(|c| c.0.0.ip());
    if let Some(Err((allowed, period))) =
        peer.map(|ip| crate::limits::streaming::open_session(&state, ip))
    {
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
        sequence: Mutex::new(FastMap::default()),
        in_flight: std::sync::atomic::AtomicU64::new(0),
        closed: tokio::sync::watch::channel(false).0,
        synced: Mutex::new(FastMap::default()),
        updating: tokio::sync::Mutex::new(()),
        market: Mutex::default(),
        hub,
        turns,
    });
    let (st, c) = (state.clone(), Arc::clone(&conn));
    s.on_disconnect(move || {
        // Taken, not read: an instance forgotten later (a packet to the closed socket) finds
        // nothing held and releases nothing twice.
        let subscribed = std::mem::take(&mut *lock(&c.subscribed));
        let mut accounts: Vec<String> = subscribed.into_iter().map(|(a, _)| a).collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            crate::limits::streaming::unsubscribe(&st, &c.caller, &account);
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
    tokio::spawn(forward_user_messages(
        state.clone(),
        s.clone(),
        Arc::clone(&conn),
    ));
    tokio::spawn(announce_disconnects(
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
