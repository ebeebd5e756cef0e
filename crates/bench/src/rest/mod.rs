//! `drawbridge bench rest`: what the full REST stack costs over a bare axum handler.
//!
//! The measured request is `GET /users/current/accounts/{id}/account-information` with an
//! `auth-token` header, on a demo account of a fresh in-process server (`--demo`, temporary
//! data dir). Through the full stack it passes the router's middleware, token
//! authentication, the CPU-credit check (quotas raised out of reach, so the check runs and
//! never refuses), the account lookup and ownership check (the account directory in front of
//! the store), and the desk that owns the broker. The bare server is an axum router with the same
//! route whose handler returns
//! the bytes the full stack answered (recorded once, with the same content type). Both servers
//! run on one runtime (`--server-threads`) and the in-repo load generator ([`Conn`]: raw
//! HTTP/1.1 keep-alive over loopback) on another (`--client-threads`), so the arrangement is
//! the same for both.
//!
//! - `P3.throughput_vs_bare`: closed loop, each of `--connections` sending its next request as
//!   soon as the last answer is read; `--reps` rounds alternating bare and full, each a warm-up
//!   then a measured window; median full-stack requests/s over median bare requests/s. Where
//!   the load generator rather than the bare server is the bottleneck, the ratio flatters the
//!   full stack: the per-round lines show the absolute rates.
//! - `P3.p99_ms`: open loop at a fixed rate (see [`open_loop`]), the full stack's p99 latency.
//!   The bare server at the same rate is printed as the floor the load generator itself adds.
//!
//! Any answer other than 200, and any connection error, fails the benchmark.

pub(super) mod http;

use super::stopwatch::Stopwatch;
use super::{Bound, Figure, median, print_figures};
use anyhow::{Context, anyhow, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use http::{Conn, Failed};
use serde_json::Value;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The full stack must keep at least 0.6× the bare handler's throughput.
const THROUGHPUT_VS_BARE_MIN_X: Bound = Bound::new(0.6, 1);
/// The full stack's p99 latency budget (at the default 256 connections).
const P99_MAX_MS: Bound = Bound::new(5.0, 1);
/// Where the demo accounts are listed.
const ACCOUNTS_PATH: &str = "/users/current/accounts";
/// The measured route, as both routers spell it.
const ACCOUNT_INFORMATION_ROUTE: &str = "/users/current/accounts/{id}/account-information";
/// A connection still busy this long after its run should have ended counts as failed.
const STALL_GRACE: Duration = Duration::from_secs(10);
/// How long a server may take to stop, and a runtime to shut down.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `drawbridge bench rest`.
#[derive(Debug, clap::Args)]
pub(super) struct RestArgs {
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Measured seconds of each throughput round and of each latency run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    duration_secs: u64,
    /// Seconds of load before each measured window, not counted.
    #[arg(long, default_value_t = 1)]
    warmup_secs: u64,
    /// Throughput rounds per server, alternating bare and full; medians are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
    /// Total request rate of the latency runs, requests/s [default: half the full stack's
    /// median throughput].
    #[arg(long)]
    rate: Option<f64>,
    /// Worker threads of the runtime both servers run on.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    server_threads: u32,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    client_threads: u32,
}

impl RestArgs {
    /// The measured part of every run.
    fn window(&self) -> Window {
        let start = Duration::from_secs(self.warmup_secs);
        Window {
            start,
            end: start + Duration::from_secs(self.duration_secs),
        }
    }
}

/// Starts both servers, measures, stops them (also when measuring failed), then prints.
pub(super) fn run(args: &RestArgs) -> anyhow::Result<()> {
    if let Some(rate) = args.rate {
        ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of requests per second"
        );
    }
    let server_rt = super::stack::runtime(args.server_threads, "bench-server")?;
    let client_rt = super::stack::runtime(args.client_threads, "bench-client")?;
    let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let full = server_rt.block_on(super::stack::start_full(dir.path(), None, true))?;
    let measured = match full.first_token.as_deref() {
        Some(token) => bench(&server_rt, &client_rt, full.addr, token, args),
        None => Err(anyhow!(
            "the full stack made no admin token on a fresh data dir"
        )),
    };
    let stopped =
        server_rt.block_on(async { tokio::time::timeout(STOP_TIMEOUT, full.stop()).await });
    client_rt.shutdown_timeout(STOP_TIMEOUT);
    server_rt.shutdown_timeout(STOP_TIMEOUT);
    let figures = measured?;
    ensure!(
        stopped.is_ok(),
        "the full stack did not stop within {} s",
        STOP_TIMEOUT.as_secs()
    );
    print_figures(&figures);
    Ok(())
}

/// Records the full stack's answer, starts the bare server with it, measures both, and stops
/// the bare server.
fn bench(
    server_rt: &Runtime,
    client_rt: &Runtime,
    full: SocketAddr,
    token: &str,
    args: &RestArgs,
) -> anyhow::Result<[Figure; 2]> {
    let canned = client_rt.block_on(record(full, token))?;
    let bare = server_rt.block_on(Bare::start(canned.reply.clone()))?;
    println!(
        "GET {} with auth-token, {} B of {}: full stack on {full}, bare axum handler on {}",
        canned.path,
        canned.reply.body.len(),
        canned.reply.content_type.to_str().unwrap_or("?"),
        bare.addr,
    );
    println!(
        "servers on {} threads, load generator on {} over {} keep-alive connections; \
         every run: {} s warm-up, {} s measured",
        args.server_threads,
        args.client_threads,
        args.connections,
        args.warmup_secs,
        args.duration_secs,
    );
    let request: Arc<[u8]> = request_bytes(&canned.path, token).into();
    let targets = Targets {
        bare: bare.addr,
        full,
    };
    let measured = measure(client_rt, targets, &request, args);
    let stopped = server_rt.block_on(bare.stop());
    let figures = measured?;
    stopped?;
    Ok(figures)
}

/// Where the two servers listen.
#[derive(Debug, Clone, Copy)]
struct Targets {
    bare: SocketAddr,
    full: SocketAddr,
}

/// Both phases; the two figures.
fn measure(
    client: &Runtime,
    targets: Targets,
    request: &Arc<[u8]>,
    args: &RestArgs,
) -> anyhow::Result<[Figure; 2]> {
    let [bare_rps, full_rps] = throughput(client, targets, request, args)?;
    let ratio = full_rps / bare_rps;
    println!(
        "throughput, closed loop, median of {} rounds: bare {bare_rps:.0} requests/s, \
         full stack {full_rps:.0} requests/s = {ratio:.2}x",
        args.reps
    );
    let rate = args.rate.unwrap_or(full_rps / 2.0);
    println!(
        "latency, open loop at {rate:.0} requests/s (each connection every {:.2} ms), \
         from when each request was due:",
        1e3 * f64::from(args.connections) / rate
    );
    latency(client, "bare", targets.bare, request, args, rate)?;
    let full = latency(client, "full stack", targets.full, request, args, rate)?;
    Ok([
        Figure::at_least(
            "P3.throughput_vs_bare",
            ratio,
            2,
            "x",
            THROUGHPUT_VS_BARE_MIN_X,
        ),
        Figure::at_most("P3.p99_ms", millis(full.p99), 2, "ms", P99_MAX_MS),
    ])
}

/// `--reps` closed-loop rounds alternating bare and full: the median requests/s of each.
fn throughput(
    client: &Runtime,
    targets: Targets,
    request: &Arc<[u8]>,
    args: &RestArgs,
) -> anyhow::Result<[f64; 2]> {
    let mut rates = [Vec::new(), Vec::new()];
    for round in 1..=args.reps {
        for (sample, (name, addr)) in rates
            .iter_mut()
            .zip([("bare", targets.bare), ("full stack", targets.full)])
        {
            let rps = client
                .block_on(closed_round(addr, request, args))
                .with_context(|| format!("throughput round {round} against the {name}"))?;
            println!("round {round}, {name}: {rps:.0} requests/s");
            sample.push(rps);
        }
    }
    let [bare, full] = rates.map(|sample| median(&sample));
    ensure!(
        bare > 0.0 && full > 0.0,
        "no request completed within a measured window: raise --duration-secs"
    );
    Ok([bare, full])
}

/// One closed-loop round: requests completed within the measured window, per second.
async fn closed_round(
    addr: SocketAddr,
    request: &Arc<[u8]>,
    args: &RestArgs,
) -> anyhow::Result<f64> {
    let window = args.window();
    let request = Arc::clone(request);
    let tally = drive(
        addr,
        args.connections,
        window.end + STALL_GRACE,
        move |_, conn, sw| closed_loop(conn, Arc::clone(&request), sw, window),
    )
    .await?;
    tally.check()?;
    Ok(tally.completed as f64 / window.span().as_secs_f64())
}

/// One open-loop run at `rate` requests/s in total; prints and returns its percentiles.
fn latency(
    client: &Runtime,
    name: &str,
    addr: SocketAddr,
    request: &Arc<[u8]>,
    args: &RestArgs,
    rate: f64,
) -> anyhow::Result<Percentiles> {
    let mut tally = client
        .block_on(open_round(addr, request, args, rate))
        .with_context(|| format!("latency run against the {name}"))?;
    let measured = tally.latencies_us.len();
    let p = Percentiles::of(&mut tally.latencies_us)
        .context("the latency run measured no request: raise --rate or --duration-secs")?;
    let achieved = (measured as u64 - tally.unsent) as f64 / args.window().span().as_secs_f64();
    println!("{name}: {p} over {measured} requests ({achieved:.0} requests/s answered)");
    if tally.unsent > 0 {
        println!(
            "{name}: {} requests due were never sent (the server fell too far behind); each is \
             charged the time it had waited when the run gave up",
            tally.unsent
        );
    }
    Ok(p)
}

/// One open-loop run against `addr`: every connection's tally, added up.
async fn open_round(
    addr: SocketAddr,
    request: &Arc<[u8]>,
    args: &RestArgs,
    rate: f64,
) -> anyhow::Result<Tally> {
    let window = args.window();
    let n = args.connections;
    let interval = Duration::try_from_secs_f64(f64::from(n) / rate)
        .with_context(|| format!("--rate {rate} is out of range"))?;
    ensure!(!interval.is_zero(), "--rate {rate} is too high to schedule");
    let give_up = window.end + window.span();
    let request = Arc::clone(request);
    let tally = drive(addr, n, give_up + STALL_GRACE, move |i, conn, sw| {
        let schedule = Schedule {
            first: interval.mul_f64(f64::from(i) / f64::from(n)),
            interval,
            window,
            give_up,
        };
        open_loop(conn, Arc::clone(&request), sw, schedule)
    })
    .await?;
    tally.check()?;
    Ok(tally)
}

/// Opens `connections` connections to `addr`, starts the clock, runs `task(i, conn, clock)`
/// on each and adds up what they counted. A connection still busy `limit` after the start
/// counts as failed.
async fn drive<F, Fut>(
    addr: SocketAddr,
    connections: u32,
    limit: Duration,
    task: F,
) -> anyhow::Result<Tally>
where
    F: Fn(u32, Conn, Stopwatch) -> Fut,
    Fut: Future<Output = Tally> + Send + 'static,
{
    let mut conns = Vec::with_capacity(connections as usize);
    for _ in 0..connections {
        let conn = Conn::open(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        conns.push(conn);
    }
    let sw = Stopwatch::start();
    let handles: Vec<JoinHandle<Tally>> = (0..connections)
        .zip(conns)
        .map(|(i, conn)| {
            let run = task(i, conn, sw);
            tokio::spawn(async move {
                tokio::time::timeout(limit, run)
                    .await
                    .unwrap_or_else(|_| Tally::stalled(limit))
            })
        })
        .collect();
    let mut total = Tally::default();
    for handle in handles {
        total.merge(
            handle
                .await
                .context("a load-generator connection panicked")?,
        );
    }
    Ok(total)
}

/// The measured part of a run, as offsets from its start; what comes before is warm-up.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Duration,
    end: Duration,
}

impl Window {
    /// How long the measured part lasts.
    fn span(self) -> Duration {
        self.end - self.start
    }

    /// Whether offset `t` lies in the measured part.
    fn contains(self, t: Duration) -> bool {
        (self.start..self.end).contains(&t)
    }
}

/// Closed loop: send, read the answer, send again, until the window ends. Counts the answers
/// completed within the window.
async fn closed_loop(mut conn: Conn, request: Arc<[u8]>, sw: Stopwatch, window: Window) -> Tally {
    let mut tally = Tally::default();
    let mut now = sw.elapsed();
    while now < window.end {
        let outcome = conn.exchange(&request).await;
        now = sw.elapsed();
        match outcome {
            Ok(()) if window.contains(now) => tally.completed += 1,
            Ok(()) => {}
            Err(failed) => {
                if tally.fail(failed) {
                    break;
                }
            }
        }
    }
    tally
}

/// When one connection sends in the open loop: connection `i` of `n` at a total rate `r` is
/// due at `i/r + k·n/r` for k = 0, 1, …, so the `n` connections together send every `1/r`
/// seconds, evenly spread and without randomness.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    first: Duration,
    interval: Duration,
    window: Window,
    /// A connection this far behind stops, and charges what it never sent.
    give_up: Duration,
}

/// Open loop, corrected for coordinated omission as wrk2 does: each connection sends on its
/// own fixed [`Schedule`] whatever the server does, and a request's latency runs from when it
/// was *due* until its answer is complete. A server that stalls delays every request queued
/// behind the stall, and each of them is charged the wait.
///
/// Latency is not timed in the closed loop of the throughput rounds: there each connection
/// sends its next request only once the last is answered, so the load adapts to the server.
/// At saturation the mean latency is then just connections / throughput (Little's law), which
/// says nothing about the server beyond its throughput, and a stall counts as one slow request
/// instead of all those that should have been sent meanwhile.
///
/// The load generator's timer fires on millisecond ticks, so up to about a millisecond of a
/// latency can be the generator's own; the bare server's run at the same rate shows that floor.
async fn open_loop(mut conn: Conn, request: Arc<[u8]>, sw: Stopwatch, schedule: Schedule) -> Tally {
    let mut tally = Tally::default();
    let mut due = schedule.first;
    while due < schedule.window.end {
        let now = sw.elapsed();
        if now >= schedule.give_up {
            tally.charge_unsent(&schedule, due, now);
            break;
        }
        if due > now {
            tokio::time::sleep(due - now).await;
        }
        match conn.exchange(&request).await {
            Ok(()) if schedule.window.contains(due) => {
                let latency = sw.elapsed().saturating_sub(due);
                tally.latencies_us.push(micros(latency));
            }
            Ok(()) => {}
            Err(failed) => {
                if tally.fail(failed) {
                    break;
                }
            }
        }
        due += schedule.interval;
    }
    tally
}

/// What connections counted.
#[derive(Debug, Default)]
struct Tally {
    /// Closed loop: answers completed within the window.
    completed: u64,
    /// Open loop: latencies of the requests due within the window, in microseconds.
    latencies_us: Vec<u32>,
    /// Open loop: requests due within the window that were never sent (charged a lower bound).
    unsent: u64,
    failed: u64,
    first_failure: Option<String>,
}

impl Tally {
    /// A connection that was still busy `limit` after the start: one failure.
    fn stalled(limit: Duration) -> Self {
        Self {
            failed: 1,
            first_failure: Some(format!(
                "a connection was still busy {} s after the start",
                limit.as_secs()
            )),
            ..Self::default()
        }
    }

    /// Counts a failure; true when its connection is unusable and must stop.
    fn fail(&mut self, failed: Failed) -> bool {
        let fatal = failed.fatal;
        self.failed += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(failed.message);
        }
        fatal
    }

    /// Charges each request due from `due` on within the window, never sent because the run
    /// gave up at `now`, the time it had waited by then: a lower bound of its latency.
    fn charge_unsent(&mut self, schedule: &Schedule, mut due: Duration, now: Duration) {
        while due < schedule.window.end {
            if schedule.window.contains(due) {
                self.latencies_us.push(micros(now.saturating_sub(due)));
                self.unsent += 1;
            }
            due += schedule.interval;
        }
    }

    /// Adds another connection's counts; the earlier first failure is kept.
    fn merge(&mut self, other: Self) {
        self.completed += other.completed;
        self.latencies_us.extend(other.latencies_us);
        self.unsent += other.unsent;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    /// Fails when any request failed, saying how many and quoting the first.
    fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.failed == 0,
            "{} requests failed; the first: {}",
            self.failed,
            self.first_failure.as_deref().unwrap_or("(no detail)")
        );
        Ok(())
    }
}

/// A duration in whole microseconds, saturating.
fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Microseconds as milliseconds.
fn millis(us: u32) -> f64 {
    f64::from(us) / 1e3
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Percentiles {
    p50: u32,
    p90: u32,
    p99: u32,
    max: u32,
}

impl Percentiles {
    /// Sorts the sample and reads its percentiles; `None` when it is empty.
    fn of(sample: &mut [u32]) -> Option<Self> {
        sample.sort_unstable();
        let max = *sample.last()?;
        Some(Self {
            p50: percentile(sample, 50.0),
            p90: percentile(sample, 90.0),
            p99: percentile(sample, 99.0),
            max,
        })
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            millis(self.p50),
            millis(self.p90),
            millis(self.p99),
            millis(self.max)
        )
    }
}

/// The nearest-rank percentile `q` (in (0, 100]) of a sorted, non-empty sample.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The request both servers are sent, byte for byte.
pub(super) fn request_bytes(path: &str, token: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nauth-token: {token}\r\n\r\n").into_bytes()
}

/// What the full stack answered, replayed by the bare server.
#[derive(Debug, Clone)]
struct Reply {
    content_type: HeaderValue,
    body: Bytes,
}

/// The measured path and the full stack's answer there.
#[derive(Debug)]
struct Canned {
    path: String,
    reply: Reply,
}

/// Finds a demo account and records what its account-information answers.
async fn record(full: SocketAddr, token: &str) -> anyhow::Result<Canned> {
    let mut conn = Conn::open(full)
        .await
        .with_context(|| format!("cannot connect to the full stack on {full}"))?;
    let accounts = conn.fetch(ACCOUNTS_PATH, token).await?;
    let list: Value =
        serde_json::from_slice(&accounts.body).context("the account list is not JSON")?;
    let items = list
        .as_array()
        .or_else(|| list.get("items").and_then(Value::as_array))
        .context("the account list is neither an array nor an object with items")?;
    let id = items
        .iter()
        .find_map(|account| account.get("_id").and_then(Value::as_str))
        .context("the demo server lists no account")?;
    let path = ACCOUNT_INFORMATION_ROUTE.replace("{id}", id);
    let reply = conn.fetch(&path, token).await?;
    Ok(Canned { path, reply })
}

/// The bare axum server: the measured route answering the recorded bytes.
#[derive(Debug)]
struct Bare {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Bare {
    /// Listens on a free loopback port and serves `reply` in a spawned task.
    async fn start(reply: Reply) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the bare server")?;
        let addr = listener.local_addr()?;
        let router: Router = Router::new()
            .route(ACCOUNT_INFORMATION_ROUTE, get(canned_reply))
            .with_state(reply);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            addr,
            shutdown,
            task,
        })
    }

    /// Stops accepting and waits for the server to end.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        tokio::time::timeout(STOP_TIMEOUT, self.task)
            .await
            .context("the bare server did not stop")?
            .context("the bare server panicked")?
            .context("the bare server failed")
    }
}

/// The bare handler: the recorded bytes under the recorded content type, nothing else.
async fn canned_reply(State(reply): State<Reply>) -> ([(HeaderName, HeaderValue); 1], Bytes) {
    ([(header::CONTENT_TYPE, reply.content_type)], reply.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut sample: Vec<u32> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut sample).expect("a sample");
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50, 90, 99, 100));
        let mut one = [7];
        let p = Percentiles::of(&mut one).expect("a sample");
        assert_eq!((p.p50, p.p99, p.max), (7, 7, 7));
        assert!(Percentiles::of(&mut []).is_none());
    }

    #[test]
    fn unsent_requests_are_charged_until_the_give_up() {
        let schedule = Schedule {
            first: Duration::ZERO,
            interval: Duration::from_secs(1),
            window: Window {
                start: Duration::from_secs(1),
                end: Duration::from_secs(4),
            },
            give_up: Duration::from_secs(7),
        };
        let mut tally = Tally::default();
        tally.charge_unsent(&schedule, Duration::ZERO, Duration::from_secs(7));
        // Due at 1, 2 and 3 s (0 s is warm-up): waited 6, 5 and 4 s at the give-up.
        assert_eq!(tally.latencies_us, [6_000_000, 5_000_000, 4_000_000]);
        assert_eq!(tally.unsent, 3);
    }
}
