//! `drawbridge bench e2e`: the whole server at the scale the MetaApi cloud reports testing
//! (25,000 accounts), measured through its API.
//!
//! The full stack runs in-process ([`stack::start_full`], limits a load could meet raised)
//! on a virtual clock the benchmark moves `--clock-speed` times as fast as the wall clock from
//! a Wednesday morning, so the market is open and moves. Over the REST API, `--accounts` demo
//! accounts are provisioned, deployed, given the risk-management API and a `day` drawdown
//! tracker each; then every account is subscribed on a streaming connection (100 accounts per
//! socket.io client) with a quote subscription, and the clients read all they are sent. Under
//! that load, `GET …/account-information` of accounts taken in turn is sent open loop at
//! `--rate` per second for `--duration-secs` over `--connections` keep-alive connections;
//! each request's latency counts from the time it was due, so a server that falls behind is
//! charged for the wait.
//!
//! `P6.api_p99_ms`: the p99 of those latencies, in milliseconds (p50 on the line before).

use super::rest::http::Conn;
use super::stack::{self, Ws};
use super::stopwatch::Stopwatch;
use super::{Bound, Figure, print_figures};
use anyhow::{anyhow, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// The API's p99 latency budget under the load.
const API_P99_MAX_MS: Bound = Bound::new(50.0, 0);
/// Accounts set up at once, and sockets opened at once.
const SETUP_CONCURRENCY: usize = 32;
/// Accounts per streaming connection (the SDK's own spread).
const ACCOUNTS_PER_SOCKET: usize = 100;
/// The symbol every account streams quotes of.
const SYMBOL: &str = "EURUSD";
/// Engine.IO 3 clients ping the server at most this far apart.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Options of `drawbridge bench e2e`.
#[derive(Debug, clap::Args)]
pub(super) struct E2eArgs {
    /// Accounts provisioned, each with a tracker and a streaming subscription.
    #[arg(long, default_value_t = 25_000)]
    accounts: u32,
    /// Measured API requests per second (open loop).
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Keep-alive connections the measured requests go over.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Seconds of load before the measured window, not counted.
    #[arg(long, default_value_t = 3)]
    warmup_secs: u64,
    /// How many times faster than the wall clock the server's clock (and the market) runs.
    #[arg(long, default_value_t = 1)]
    clock_speed: u32,
    /// Worker threads of the server's runtime (the clients have their own).
    #[arg(long, default_value_t = 2)]
    server_threads: u32,
}

/// Starts the full stack, loads it, measures, stops it, prints.
pub(super) fn run(args: &E2eArgs) -> anyhow::Result<()> {
    ensure!(
        args.accounts > 0 && args.rate > 0 && args.connections > 0 && args.duration_secs > 0,
        "--accounts, --rate, --connections and --duration-secs must be positive"
    );
    let setup = stack::Setup {
        name: "e2e",
        server_threads: args.server_threads,
        client_threads: 1,
        clock_speed: Some(args.clock_speed),
    };
    let figure = stack::with_full_stack(setup, |_, client_rt, addr, token| {
        client_rt.block_on(bench(addr, token, args))
    })?;
    print_figures(&[figure]);
    Ok(())
}

async fn bench(addr: SocketAddr, token: &str, args: &E2eArgs) -> anyhow::Result<Figure> {
    let sw = Stopwatch::start();
    let accounts = set_up(addr, token, args.accounts).await?;
    println!(
        "{} accounts provisioned, deployed, risk-enabled, each with a tracker, in {:.1} s",
        accounts.len(),
        sw.elapsed().as_secs_f64()
    );
    let sw = Stopwatch::start();
    let received = Arc::new(AtomicU64::new(0));
    let mut streaming = subscribe_all(addr, token, &accounts, &received).await?;
    println!(
        "{} streaming connections subscribed {} accounts and their {SYMBOL} quotes in {:.1} s",
        accounts.len().div_ceil(ACCOUNTS_PER_SOCKET),
        accounts.len(),
        sw.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let before = received.load(Ordering::Relaxed);
    let latencies = probe(addr, token, &accounts, args).await;
    let packets = received.load(Ordering::Relaxed) - before;
    streaming.abort_all();
    let mut latencies = latencies?;
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1_000.0
    };
    println!(
        "{} requests at {}/s over {} connections: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         meanwhile the streaming clients received {:.0} packets/s",
        latencies.len(),
        args.rate,
        args.connections,
        at(0.50),
        at(0.99),
        at(1.0),
        packets as f64 / args.duration_secs as f64
    );
    Ok(Figure::at_most(
        "P6.api_p99_ms",
        at(0.99),
        2,
        "ms",
        API_P99_MAX_MS,
    ))
}

/// `n` demo accounts of the token's user, each deployed, with the risk-management API and a
/// `day` drawdown tracker; their ids.
async fn set_up(addr: SocketAddr, token: &str, n: u32) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n as usize);
    let mut tasks = JoinSet::new();
    for i in 0..n {
        if tasks.len() >= SETUP_CONCURRENCY
            && let Some(done) = tasks.join_next().await
        {
            ids.push(done??);
        }
        let token = token.to_owned();
        tasks.spawn(async move {
            let id = stack::provision(addr, &token, &format!("e2e-{i}"), 10_000).await?;
            let acc = format!("/users/current/accounts/{id}");
            stack::post(
                addr,
                &token,
                &format!("{acc}/enable-risk-management-api"),
                &json!({}),
            )
            .await?;
            let tracker =
                json!({"name": "daily", "period": "day", "relativeDrawdownThreshold": 0.05});
            stack::post(addr, &token, &format!("{acc}/trackers"), &tracker).await?;
            anyhow::Ok(id)
        });
    }
    while let Some(done) = tasks.join_next().await {
        ids.push(done??);
    }
    Ok(ids)
}

/// One streaming connection per [`ACCOUNTS_PER_SOCKET`] accounts, each account subscribed with
/// a quote subscription; the connections' readers, counting what they receive.
async fn subscribe_all(
    addr: SocketAddr,
    token: &str,
    accounts: &[String],
    received: &Arc<AtomicU64>,
) -> anyhow::Result<JoinSet<()>> {
    let mut opening = JoinSet::new();
    let mut reading = JoinSet::new();
    for (i, group) in accounts.chunks(ACCOUNTS_PER_SOCKET).enumerate() {
        if opening.len() >= SETUP_CONCURRENCY
            && let Some(done) = opening.join_next().await
        {
            reading.spawn(drain(done??, Arc::clone(received)));
        }
        let (token, group) = (token.to_owned(), group.to_vec());
        opening.spawn(async move {
            let mut ws = stack::connect(addr, &token, &format!("0.{i}")).await?;
            for account in &group {
                let subscribe = json!({"type": "subscribe", "accountId": account,
                    "requestId": format!("s{account}"), "instanceIndex": 0});
                stack::request(&mut ws, &subscribe).await?;
                let quotes = json!({"type": "subscribeToMarketData", "accountId": account,
                    "requestId": format!("q{account}"), "instanceIndex": 0, "symbol": SYMBOL,
                    "subscriptions": [{"type": "quotes"}]});
                stack::request(&mut ws, &quotes).await?;
            }
            anyhow::Ok(ws)
        });
    }
    while let Some(done) = opening.join_next().await {
        reading.spawn(drain(done??, Arc::clone(received)));
    }
    Ok(reading)
}

/// Reads everything a streaming connection is sent, counting the frames, pinging as an
/// Engine.IO 3 client must.
async fn drain(mut ws: Ws, received: Arc<AtomicU64>) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(_)) => {
                    received.fetch_add(1, Ordering::Relaxed);
                }
                _ => return,
            },
            _ = ping.tick() => {
                if ws.send(Message::text("2")).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The open-loop probe: request `k` is due at `k / rate` s and goes over connection
/// `k % connections` to the account `k % accounts`; its latency runs from when it was due.
async fn probe(
    addr: SocketAddr,
    token: &str,
    accounts: &[String],
    args: &E2eArgs,
) -> anyhow::Result<Vec<Duration>> {
    let total = args.rate as u64 * args.duration_secs;
    let (connections, rate) = (u64::from(args.connections), f64::from(args.rate));
    let sw = Stopwatch::start();
    let mut tasks = JoinSet::new();
    for c in 0..connections {
        let mut conn = Conn::open(addr).await?;
        let requests: Vec<(Duration, Vec<u8>)> = (c..total)
            .step_by(connections as usize)
            .map(|k| {
                let id = &accounts[(k % accounts.len() as u64) as usize];
                let path = format!("/users/current/accounts/{id}/account-information");
                (
                    Duration::from_secs_f64(k as f64 / rate),
                    super::rest::request_bytes(&path, token),
                )
            })
            .collect();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(requests.len());
            for (due, request) in requests {
                if let Some(wait) = due.checked_sub(sw.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
                conn.exchange(&request)
                    .await
                    .map_err(|f| anyhow!("a measured request failed: {f:?}"))?;
                latencies.push(sw.elapsed().saturating_sub(due));
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Vec::with_capacity(total as usize);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(all)
}
