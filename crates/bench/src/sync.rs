//! `drawbridge bench sync`: the initial terminal synchronization of one account holding
//! `--positions` open positions and `--deals` deals, over the streaming API on loopback.
//!
//! The full stack runs in-process ([`stack::start_full`]) on a virtual clock standing on a
//! Wednesday morning. One demo account is provisioned and filled through the REST API: the
//! open positions, then buys closed at once until the account holds the deals asked for. Each
//! run opens a fresh socket.io client, subscribes the account, and times the `synchronize`
//! request from its sending to the `dealSynchronizationFinished` packet, every packet read
//! and the positions and deals counted on the way (a run that misses some fails). The figure
//! is the median run.
//!
//! `P7.sync_ms`: that median, in milliseconds.

use super::stack::{self, Ws};
use super::stopwatch::Stopwatch;
use super::{Bound, Figure, print_figures};
use anyhow::{Context as _, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// A synchronization of the default account must finish within 200 ms.
const SYNC_MAX_MS: Bound = Bound::new(200.0, 0);
/// Trades sent at once while filling the account.
const FILL_CONCURRENCY: usize = 16;
/// A synchronization taking longer than this is a failure, not a figure.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `drawbridge bench sync`.
#[derive(Debug, clap::Args)]
pub(super) struct SyncArgs {
    /// Open positions the account holds.
    #[arg(long, default_value_t = 1_000)]
    positions: u32,
    /// Deals the account holds (at least one per position, and the deposit).
    #[arg(long, default_value_t = 10_000)]
    deals: u32,
    /// Synchronizations timed; the median is the figure.
    #[arg(long, default_value_t = 7)]
    runs: u32,
    /// Worker threads of the runtime the server runs on (the client has its own thread).
    #[arg(long, default_value_t = 2)]
    server_threads: u32,
}

/// Starts the full stack, fills the account, times the synchronizations, stops, prints.
pub(super) fn run(args: &SyncArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    let setup = stack::Setup {
        name: "sync",
        server_threads: args.server_threads,
        client_threads: 1,
        clock_speed: None,
    };
    let figure = stack::with_full_stack(setup, |_, client_rt, addr, token| {
        client_rt.block_on(bench(addr, token, args))
    })?;
    print_figures(&[figure]);
    Ok(())
}

async fn bench(addr: SocketAddr, token: &str, args: &SyncArgs) -> anyhow::Result<Figure> {
    ensure!(
        args.deals > args.positions,
        "--deals must exceed --positions (each position is a deal, and so is the deposit)"
    );
    let started = Stopwatch::start();
    let account = fill(addr, token, args).await?;
    println!(
        "one account with {} open positions and {} deals, filled over REST in {:.1} s; {} runs",
        args.positions,
        args.deals,
        started.elapsed().as_secs_f64(),
        args.runs
    );
    let mut times = Vec::with_capacity(args.runs as usize);
    for run in 0..args.runs {
        let (ms, positions, deals) = synchronize(addr, token, &account, run).await?;
        ensure!(
            positions == args.positions as usize && deals >= args.deals as usize,
            "run {run} received {positions} positions and {deals} deals"
        );
        println!("run {run}: {ms:.1} ms ({positions} positions, {deals} deals)");
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "median {median:.1} ms, fastest {:.1} ms, slowest {:.1} ms",
        times[0],
        times[times.len() - 1]
    );
    Ok(Figure::at_most("P7.sync_ms", median, 1, "ms", SYNC_MAX_MS))
}

/// A demo account holding the positions and deals asked for; its id.
async fn fill(addr: SocketAddr, token: &str, args: &SyncArgs) -> anyhow::Result<String> {
    // Enough money for every position (0.01 lot EURUSD holds about 11 USD at 1:100).
    let id = stack::provision(addr, token, "sync", 10_000_000).await?;
    stack::post(
        addr,
        token,
        "/sim/ticks",
        &json!({"symbol": "EURUSD", "bid": 1.1, "ask": 1.10012}),
    )
    .await?;
    // The deposit is one deal, each position another, each round trip two.
    let round_trips = (args.deals - args.positions) / 2;
    let mut tasks = JoinSet::new();
    let jobs = (0..args.positions)
        .map(|_| false)
        .chain((0..round_trips).map(|_| true));
    for close in jobs {
        if tasks.len() >= FILL_CONCURRENCY
            && let Some(done) = tasks.join_next().await
        {
            done??;
        }
        let (token, id) = (token.to_owned(), id.clone());
        tasks.spawn(async move { trade(addr, &token, &id, close).await });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(id)
}

/// One buy of 0.01 lot, closed at once when `close`.
async fn trade(addr: SocketAddr, token: &str, id: &str, close: bool) -> anyhow::Result<()> {
    let path = format!("/users/current/accounts/{id}/trade");
    let buy = json!({"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.01});
    let bought = stack::post(addr, token, &path, &buy).await?;
    ensure!(
        bought["stringCode"] == "TRADE_RETCODE_DONE",
        "a buy failed: {bought}"
    );
    if close {
        let position = bought["positionId"].clone();
        let closing = json!({"actionType": "POSITION_CLOSE_ID", "positionId": position});
        let closed = stack::post(addr, token, &path, &closing).await?;
        ensure!(
            closed["stringCode"] == "TRADE_RETCODE_DONE",
            "a close failed: {closed}"
        );
    }
    Ok(())
}

/// One synchronization on a fresh socket: milliseconds from the request to
/// `dealSynchronizationFinished`, and the positions and deals received.
async fn synchronize(
    addr: SocketAddr,
    token: &str,
    account: &str,
    run: u32,
) -> anyhow::Result<(f64, usize, usize)> {
    let mut ws = stack::connect(addr, token, &format!("0.{run}")).await?;
    let subscribe =
        json!({"type": "subscribe", "accountId": account, "requestId": "s", "instanceIndex": 0});
    stack::request(&mut ws, &subscribe).await?;
    let request = json!({
        "type": "synchronize",
        "accountId": account,
        "requestId": format!("sync{run}"),
        "instanceIndex": 0,
        "host": "ps-mpa-1",
    });
    let at = Stopwatch::start();
    ws.send(Message::text(format!("42{}", json!(["request", request]))))
        .await?;
    let counted = tokio::time::timeout(SYNC_TIMEOUT, read_until_finished(&mut ws))
        .await
        .context("the synchronization did not finish in time")??;
    let ms = at.elapsed().as_secs_f64() * 1_000.0;
    let _ = ws.close(None).await;
    Ok((ms, counted.0, counted.1))
}

/// Reads `synchronization` packets until `dealSynchronizationFinished`, counting the
/// positions and deals they carry.
async fn read_until_finished(ws: &mut Ws) -> anyhow::Result<(usize, usize)> {
    const PACKET: &str = r#"42["synchronization","#;
    let (mut positions, mut deals) = (0, 0);
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        if text.starts_with(r#"42["processingError""#) {
            anyhow::bail!("the synchronization was refused: {text}");
        }
        let Some(body) = text.strip_prefix(PACKET) else {
            continue;
        };
        // Only the packets whose items are counted are parsed.
        let kind = |k: &str| body.contains(&format!(r#""type":"{k}""#));
        if kind("dealSynchronizationFinished") {
            return Ok((positions, deals));
        }
        if kind("positions") || kind("deals") {
            let packet: Value = serde_json::from_str(body.trim_end_matches(']'))?;
            let len = |k: &str| packet[k].as_array().map_or(0, Vec::len);
            positions += len("positions");
            deals += len("deals");
        }
    }
    anyhow::bail!("the server closed the socket during the synchronization")
}
