//! `drawbridge bench fanout`: quote fan-out to socket.io clients against a raw WebSocket
//! broadcast of the same bytes.
//!
//! The full stack is a fresh in-process server (temporary data dir, streaming, subscription,
//! connection and CPU limits raised out of reach) on a virtual clock that the benchmark moves
//! `--clock-speed` times as fast as the wall clock from a Wednesday morning, so the simulated
//! market is open and moves
//! whatever the day. `--clients` demo accounts are provisioned through the REST API; each
//! client is an in-repo Engine.IO 3 / Socket.IO client over a WebSocket (what the SDK's
//! python-socketio 4.x speaks) that subscribes its own account and then quotes for the same
//! [`SYMBOLS`] at `--interval-ms` (the server's shortest interval by default). Delivered
//! `prices` packets are counted over a measured window after a warm-up.
//!
//! The floor is a bare tokio-tungstenite server broadcasting one recorded `prices` frame
//! (the exact text a socket.io client received) to as many raw WebSocket clients, as fast as
//! they read it (a bounded broadcast queue), its sockets set as drawbridge's listener sets its
//! own (`TCP_NODELAY`: every frame goes out at once, none waits to be merged with the next by
//! Nagle's algorithm), on the same runtimes: servers on
//! `--server-threads`, clients on `--client-threads`. Both sides' clients are the same code
//! with the same WebSocket settings ([`stack::client_config`]).
//!
//! `P4.fanout_vs_raw`: socket.io packets/s over raw packets/s. The socket.io side sends only
//! when a subscribed price moved: with the default interval 0 (every change) a client gets at
//! most one packet per hub tick ([`HUB_TICK_MS`]), and only as many as its symbols' prices
//! change, however fast the server is; the raw side sends as fast as its readers take the
//! frame. The lines before the figure show how many packets each client got per second
//! against that ceiling.

use super::stack::{self, Ws};
use super::{Bound, Figure, print_figures};
use anyhow::{Context, ensure};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// Socket.io fan-out must deliver at least half the raw broadcast's packets per second.
const FANOUT_VS_RAW_MIN_X: Bound = Bound::new(0.5, 1);
/// The symbols every client subscribes.
const SYMBOLS: [&str; 10] = [
    "EURUSD", "GBPUSD", "USDJPY", "USDCHF", "USDCAD", "AUDUSD", "NZDUSD", "EURJPY", "GBPJPY",
    "XAUUSD",
];
/// The market-data hub's shortest tick (`streaming::hub::TICK_MIN`): a client gets at most
/// one packet per this many milliseconds.
const HUB_TICK_MS: u64 = 1;
/// What a delivered `prices` packet starts with, on both sides.
const PRICES_PREFIX: &str = r#"42["synchronization",{"type":"prices""#;
/// Accounts provisioned at once.
const PROVISION_CONCURRENCY: usize = 16;
/// Sockets opened and subscribed at once.
const CONNECT_CONCURRENCY: usize = 8;
/// Each setup step (a request, a connection) must finish within this.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames the raw broadcast queues ahead of its slowest reader.
const RAW_QUEUE: usize = 256;
/// Engine.IO 3 clients ping the server at most this far apart (its `pingInterval`).
const PING_EVERY: Duration = Duration::from_secs(20);
/// How often, in the server's time, each socket.io client refreshes its market-data
/// subscriptions: well within the 12 minutes after which the server drops one not
/// refreshed, on its own clock (the SDK refreshes every 1-600 s of its own time; on a clock
/// running 100 times as fast, the subscriptions would expire within the measured window).
const REFRESH_SERVER_SECS: u64 = 300;

/// Options of `drawbridge bench fanout`.
#[derive(Debug, clap::Args)]
pub(super) struct FanoutArgs {
    /// Socket.io clients, each on its own demo account (and as many raw clients).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    clients: u32,
    /// Measured seconds of each side.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration_secs: u64,
    /// Seconds of streaming before each measured window, not counted.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_secs: u64,
    /// `intervalInMilliseconds` of the quote subscriptions (0: every change).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// How many times faster than the wall clock the server's clock (and so the market) runs:
    /// fast enough that prices move more often than the shortest interval (a symbol ticks
    /// every 0.7–1 s of market time on average).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    clock_speed: u32,
    /// Worker threads of the runtime both servers run on.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    server_threads: u32,
    /// Worker threads of the runtime both client sets run on.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    client_threads: u32,
}

/// Starts the full stack, measures both sides, stops it (also when measuring failed), prints.
pub(super) fn run(args: &FanoutArgs) -> anyhow::Result<()> {
    let setup = stack::Setup {
        name: "fanout",
        server_threads: args.server_threads,
        client_threads: args.client_threads,
        clock_speed: Some(args.clock_speed),
    };
    let figure = stack::with_full_stack(setup, |server_rt, client_rt, addr, token| {
        bench(server_rt, client_rt, addr, token, args)
    })?;
    print_figures(&[figure]);
    Ok(())
}

fn bench(
    server_rt: &Runtime,
    client_rt: &Runtime,
    addr: SocketAddr,
    token: &str,
    args: &FanoutArgs,
) -> anyhow::Result<Figure> {
    let accounts = client_rt.block_on(provision(addr, token, args.clients))?;
    println!(
        "{} demo accounts provisioned; each socket.io client subscribes quotes for {} symbols \
         (interval {} ms asked), the server's clock at {}x; servers on {} threads, clients on {}; \
         every side: {} s warm-up, {} s measured",
        accounts.len(),
        SYMBOLS.len(),
        args.interval_ms,
        args.clock_speed,
        args.server_threads,
        args.client_threads,
        args.warmup_secs,
        args.duration_secs
    );
    let sio = client_rt
        .block_on(socketio_side(addr, token, &accounts, args))
        .context("the socket.io side")?;
    let ceiling = f64::from(args.clients) * 1_000.0 / args.interval_ms.max(HUB_TICK_MS) as f64;
    println!(
        "socket.io: {:.0} prices packets/s ({:.1} per client per second, {:.0}% of the \
         {ceiling:.0}/s the hub's tick allows; the recorded packet {} B)",
        sio.per_sec,
        sio.per_sec / f64::from(args.clients),
        100.0 * sio.per_sec / ceiling,
        sio.sample.len()
    );
    let listener = server_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let raw_addr = listener.local_addr()?;
    let (tx, _) = tokio::sync::broadcast::channel::<Message>(RAW_QUEUE);
    let raw_server = server_rt.spawn(raw_serve(listener, tx.clone()));
    let raw = client_rt.block_on(raw_side(raw_addr, tx.clone(), server_rt, &sio.sample, args));
    raw_server.abort();
    let raw = raw.context("the raw side")?;
    println!("raw WebSocket broadcast of the same frame: {raw:.0} packets/s");
    let ratio = sio.per_sec / raw;
    println!("socket.io fan-out / raw broadcast = {ratio:.2}x");
    Ok(Figure::at_least(
        "P4.fanout_vs_raw",
        ratio,
        2,
        "x",
        FANOUT_VS_RAW_MIN_X,
    ))
}

/// `n` demo accounts of the token's user, provisioned (deployed and connected) over REST.
async fn provision(addr: SocketAddr, token: &str, n: u32) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n as usize);
    let mut tasks = JoinSet::new();
    for i in 0..n {
        if tasks.len() >= PROVISION_CONCURRENCY
            && let Some(done) = tasks.join_next().await
        {
            ids.push(done??);
        }
        let token = token.to_owned();
        tasks.spawn(async move {
            let name = format!("fanout-{i}");
            let step = stack::provision(addr, &token, &name, 10_000);
            tokio::time::timeout(STEP_TIMEOUT, step)
                .await
                .context("provisioning timed out")?
        });
    }
    while let Some(done) = tasks.join_next().await {
        ids.push(done??);
    }
    Ok(ids)
}

/// What the socket.io side measured: packets/s, and one packet's frame for the floor.
struct Measured {
    per_sec: f64,
    sample: String,
}

/// Opens every client, lets them stream, and counts the packets of the measured window.
async fn socketio_side(
    addr: SocketAddr,
    token: &str,
    accounts: &[String],
    args: &FanoutArgs,
) -> anyhow::Result<Measured> {
    let counted = Arc::new(AtomicU64::new(0));
    let sample = Arc::new(std::sync::OnceLock::<String>::new());
    let mut opening = JoinSet::new();
    let mut streaming = JoinSet::new();
    for (i, account) in accounts.iter().enumerate() {
        if opening.len() >= CONNECT_CONCURRENCY
            && let Some(done) = opening.join_next().await
        {
            streaming.spawn(done??);
        }
        let (token, account) = (token.to_owned(), account.clone());
        let (counted, sample, interval) =
            (Arc::clone(&counted), Arc::clone(&sample), args.interval_ms);
        let refresh = Refresh {
            every: Duration::from_secs(REFRESH_SERVER_SECS) / args.clock_speed,
            request: refresh_request(&account, interval),
        };
        opening.spawn(async move {
            let ws = open_subscribed(addr, &token, i, &account, interval).await?;
            anyhow::Ok(read_prices(ws, counted, Some((sample, refresh))))
        });
    }
    while let Some(done) = opening.join_next().await {
        streaming.spawn(done??);
    }
    println!(
        "socket.io: {} clients open and subscribed, streaming",
        accounts.len()
    );
    let per_sec = window(&counted, args, "socket.io").await;
    streaming.abort_all();
    let sample = (sample.get().cloned()).context("no socket.io client received a prices packet")?;
    Ok(Measured { per_sec, sample })
}

/// Warm-up, then the counter's growth per second over the measured window. Each second's
/// count is printed as `side` too: a rate that drifts within the window shows there.
async fn window(counted: &AtomicU64, args: &FanoutArgs, side: &str) -> f64 {
    tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let (start, at) = (counted.load(Ordering::Relaxed), tokio::time::Instant::now());
    let mut seconds = Vec::with_capacity(args.duration_secs as usize);
    let mut last = start;
    let mut ticks = tokio::time::interval_at(at + Duration::from_secs(1), Duration::from_secs(1));
    for _ in 0..args.duration_secs {
        ticks.tick().await;
        let n = counted.load(Ordering::Relaxed);
        seconds.push((n - last).to_string());
        last = n;
    }
    println!("{side}: packets in each second: {}", seconds.join(", "));
    (last - start) as f64 / at.elapsed().as_secs_f64()
}

/// A socket.io client (Engine.IO 3 over a WebSocket) that subscribed `account` (instance 0)
/// and quotes for every symbol, each request answered.
async fn open_subscribed(
    addr: SocketAddr,
    token: &str,
    i: usize,
    account: &str,
    interval_ms: u64,
) -> anyhow::Result<Ws> {
    let client_id = format!("0.{i}");
    let connect = stack::connect(addr, token, &client_id);
    let mut ws = (tokio::time::timeout(STEP_TIMEOUT, connect).await)
        .context("opening a socket.io client timed out")??;
    let mut requests = vec![
        json!({"type": "subscribe", "accountId": account, "requestId": "s", "instanceIndex": 0}),
    ];
    requests.extend(SYMBOLS.iter().map(|symbol| {
        json!({"type": "subscribeToMarketData", "accountId": account, "requestId": symbol,
               "instanceIndex": 0, "symbol": symbol,
               "subscriptions": [quotes(interval_ms)]})
    }));
    for request in &requests {
        tokio::time::timeout(STEP_TIMEOUT, stack::request(&mut ws, request))
            .await
            .with_context(|| format!("no answer to {request} within {STEP_TIMEOUT:?}"))??;
    }
    Ok(ws)
}

fn quotes(interval_ms: u64) -> serde_json::Value {
    json!({"type": "quotes", "intervalInMilliseconds": interval_ms})
}

/// The `refreshMarketDataSubscriptions` request of a client's subscriptions, as a frame.
fn refresh_request(account: &str, interval_ms: u64) -> String {
    let subscriptions: Vec<_> = (SYMBOLS.iter())
        .map(|symbol| json!({"symbol": symbol, "subscriptions": [quotes(interval_ms)]}))
        .collect();
    let request = json!({"type": "refreshMarketDataSubscriptions", "accountId": account,
                         "requestId": "refresh", "instanceIndex": 0,
                         "subscriptions": subscriptions});
    format!("42{}", json!(["request", request]))
}

/// A socket.io client's refresh of its market-data subscriptions: the request, and how often.
struct Refresh {
    every: Duration,
    request: String,
}

/// Counts the `prices` packets a client receives, pinging as an Engine.IO 3 client must. A
/// socket.io client (`socketio`) keeps the first packet as the sample and refreshes its
/// subscriptions; a raw client only counts.
async fn read_prices(
    mut ws: Ws,
    counted: Arc<AtomicU64>,
    socketio: Option<(Arc<std::sync::OnceLock<String>>, Refresh)>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let (sample, refresh) = socketio.unzip();
    let every = refresh.as_ref().map_or(Duration::MAX / 4, |r| r.every);
    let mut refreshing = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(frame)) = frame else { return };
                if let Message::Text(text) = frame
                    && text.starts_with(PRICES_PREFIX)
                {
                    counted.fetch_add(1, Ordering::Relaxed);
                    // Kept once: later packets cost one load, no lock.
                    if let Some(sample) = &sample
                        && sample.get().is_none()
                    {
                        let _ = sample.set(text.to_string());
                    }
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::text("2")).await.is_err() {
                    return;
                }
            }
            _ = refreshing.tick(), if refresh.is_some() => {
                let request = refresh.as_ref().map(|r| r.request.clone()).unwrap_or_default();
                if ws.send(Message::text(request)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The bare server: every accepted WebSocket gets every broadcast frame.
async fn raw_serve(listener: TcpListener, tx: tokio::sync::broadcast::Sender<Message>) {
    while let Ok((stream, _)) = listener.accept().await {
        let mut rx = tx.subscribe();
        // As drawbridge's listener does (see the module's documentation).
        stream.set_nodelay(true).ok();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            loop {
                match rx.recv().await {
                    Ok(frame) => {
                        if ws.send(frame).await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// Opens as many raw clients, broadcasts `frame` as fast as the slowest reader allows, and
/// counts the frames delivered in the measured window.
async fn raw_side(
    addr: SocketAddr,
    tx: tokio::sync::broadcast::Sender<Message>,
    server_rt: &Runtime,
    frame: &str,
    args: &FanoutArgs,
) -> anyhow::Result<f64> {
    let counted = Arc::new(AtomicU64::new(0));
    let mut clients = JoinSet::new();
    for _ in 0..args.clients {
        let ws = tokio::time::timeout(STEP_TIMEOUT, stack::open_ws(&format!("ws://{addr}/")))
            .await
            .context("opening a raw client timed out")??;
        clients.spawn(read_prices(ws, Arc::clone(&counted), None));
    }
    // Every client is subscribed once the server holds as many receivers.
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    while tx.receiver_count() < args.clients as usize {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the raw server did not accept every client"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let frame = Message::text(frame.to_owned());
    let broadcaster = server_rt.spawn(async move {
        loop {
            if tx.len() >= RAW_QUEUE / 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            if tx.send(frame.clone()).is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    let per_sec = window(&counted, args, "raw").await;
    broadcaster.abort();
    clients.abort_all();
    Ok(per_sec)
}
