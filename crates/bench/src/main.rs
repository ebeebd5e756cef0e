//! `drawbridge-bench`: performance benchmarks that print their figures in a fixed format.
//!
//! Run as `drawbridge bench <name> [options]` (the `drawbridge` binary hands the arguments to
//! this executable beside it) or directly as `drawbridge-bench <name> [options]`. The
//! benchmarks live in their own binary so that what only they need (`governor`,
//! `tokio-tungstenite`, `tempfile`) is not linked into the shipping `drawbridge`.
//!
//! Every benchmark prints human-readable lines first and ends with one line per figure:
//!
//! ```text
//! BENCH <id> <value> <unit> target <op><bound>
//! ```
//!
//! e.g. `BENCH P1.sweep_vs_floor 1.73 x target <=2.0`. Scripts and CI read only those lines.
//!
//! # Layout
//!
//! - `revalue`: mark-to-market sweep against the memory floor, the incremental per-symbol
//!   path, memory per account and per position.
//! - `limits`: a full CPU-credit check (3 scopes, all-or-nothing) against `governor`'s keyed
//!   check of one quota, with one and two threads, and the limiter's bytes per account.
//! - `rest`: GET account-information with auth through the full server stack against a bare
//!   axum handler returning the same bytes, with an in-repo load generator: throughput ratio
//!   (closed loop) and p99 latency (open loop).
//! - `fanout`: quote fan-out to socket.io clients (each on its own account, the same symbols)
//!   against a raw WebSocket broadcast of the same bytes, in packets delivered per second.
//! - `risk`: 1M accounts with 2 trackers each fed by a market at 100 ticks/s over 30 symbols:
//!   memory per account, tick-to-tracker-event latency, and the highest sustained tick rate.
//! - `sync`: the initial synchronization of an account with 1,000 positions and 10,000 deals
//!   over the streaming API, to `dealSynchronizationFinished`.
//! - `e2e`: the whole server at 25,000 accounts with trackers and streaming subscriptions on
//!   a moving market: the API's open-loop latency.
//! - [`stack`]: the in-process server, REST and socket.io clients the network benchmarks use.
//! - [`synthetic`]: the synthetic trade server benchmarks run against (1M accounts by default).
//! - [`stopwatch`]: the monotonic stopwatch (the one place wall time is read).
//! - [`memory`]: process resident set size, as a cross-check of the engine's own accounting.
//!
//! A new benchmark is a module with an `Args` struct and a `run` function, plus one variant of
//! [`Benchmark`]; the listing is generated from that enum.

mod e2e;
mod fanout;
mod limits;
mod memory;
mod rest;
mod revalue;
mod risk;
mod stack;
mod stopwatch;
mod sync;
mod synthetic;

use clap::{Parser, Subcommand};
use std::fmt;
use std::time::Duration;
use stopwatch::Lap;

/// The allocator the shipping `drawbridge` uses (mimalloc), so that the benchmarks measure
/// the server as it runs there, memory figures included.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `drawbridge-bench [--list] [NAME [OPTIONS]]`, also run as `drawbridge bench …`.
#[derive(Debug, Parser)]
#[command(
    name = "drawbridge-bench",
    version,
    about = "drawbridge's performance benchmarks (also run as `drawbridge bench`)",
    args_conflicts_with_subcommands = true
)]
struct BenchArgs {
    /// List the available benchmarks (also what `drawbridge bench` alone does).
    #[arg(long)]
    list: bool,
    #[command(subcommand)]
    benchmark: Option<Benchmark>,
}

/// The benchmarks; each variant's doc line is its entry in the listing.
#[derive(Debug, Subcommand)]
enum Benchmark {
    /// Full mark-to-market sweep vs. the memory floor, the incremental per-symbol path, and
    /// memory per account and per position (1M accounts, 2M positions by default).
    Revalue(revalue::RevalueArgs),
    /// GET account-information with auth, full stack vs. a bare axum handler returning the same
    /// bytes: throughput ratio and open-loop p99 latency (256 connections by default).
    Rest(rest::RestArgs),
    /// A full CPU-credit check (3 scopes × their windows) vs. governor's keyed check, on one
    /// and two threads, and the limiter's bytes per account.
    Limits(limits::LimitsArgs),
    /// Quote fan-out to socket.io clients vs. a raw WebSocket broadcast of the same bytes:
    /// delivered packets per second (1000 clients × 10 symbols by default).
    Fanout(fanout::FanoutArgs),
    /// 1M accounts with 2 trackers each, market feed at 100 ticks/s over 30 symbols: memory
    /// per account, tick-to-tracker-event p99 and the highest sustained tick rate.
    Risk(risk::RiskArgs),
    /// Initial synchronization over the streaming API of an account with 1,000 positions and
    /// 10,000 deals: milliseconds to `dealSynchronizationFinished` (median of 7 runs).
    Sync(sync::SyncArgs),
    /// The whole server at 25,000 accounts (trackers, streaming subscriptions, a moving
    /// market): open-loop API latency p50 / p99.
    E2e(e2e::E2eArgs),
}

fn main() -> anyhow::Result<()> {
    run(BenchArgs::parse())
}

/// Runs the chosen benchmark, or lists them.
fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.benchmark {
        Some(Benchmark::Revalue(a)) => revalue::run(&a),
        Some(Benchmark::Rest(a)) => rest::run(&a),
        Some(Benchmark::Limits(a)) => limits::run(&a),
        Some(Benchmark::Fanout(a)) => fanout::run(&a),
        Some(Benchmark::Risk(a)) => risk::run(&a),
        Some(Benchmark::Sync(a)) => sync::run(&a),
        Some(Benchmark::E2e(a)) => e2e::run(&a),
        None => {
            print!("{}", listing());
            Ok(())
        }
    }
}

/// One line per benchmark: its name and what it measures.
fn listing() -> String {
    let cmd = Benchmark::augment_subcommands(clap::Command::new("bench"));
    let mut out = String::from("available benchmarks:\n");
    for sub in cmd.get_subcommands() {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let first_line = about.lines().next().unwrap_or_default();
        out.push_str(&format!("  {:<10} {first_line}\n", sub.get_name()));
    }
    out
}

/// How a figure is compared with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AtMost,
    AtLeast,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Self::AtMost => "<=",
            Self::AtLeast => ">=",
        }
    }
}

/// A target's bound and how many decimals it is printed with (`2.0`, `256`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    decimals: usize,
}

impl Bound {
    const fn new(value: f64, decimals: usize) -> Self {
        Self { value, decimals }
    }
}

/// One reported figure: `BENCH <id> <value> <unit> target <op><bound>`.
#[derive(Debug, Clone)]
struct Figure {
    id: &'static str,
    value: f64,
    /// Decimals the value is printed with.
    decimals: usize,
    unit: &'static str,
    op: Op,
    bound: Bound,
}

impl Figure {
    fn at_most(
        id: &'static str,
        value: f64,
        decimals: usize,
        unit: &'static str,
        bound: Bound,
    ) -> Self {
        Self {
            id,
            value,
            decimals,
            unit,
            op: Op::AtMost,
            bound,
        }
    }

    fn at_least(
        id: &'static str,
        value: f64,
        decimals: usize,
        unit: &'static str,
        bound: Bound,
    ) -> Self {
        Self {
            id,
            value,
            decimals,
            unit,
            op: Op::AtLeast,
            bound,
        }
    }

    fn met(&self) -> bool {
        match self.op {
            Op::AtMost => self.value <= self.bound.value,
            Op::AtLeast => self.value >= self.bound.value,
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, bd) = (self.decimals, self.bound.decimals);
        write!(
            f,
            "BENCH {} {:.d$} {} target {}{:.bd$}",
            self.id,
            self.value,
            self.unit,
            self.op.symbol(),
            self.bound.value
        )
    }
}

/// Prints a summary of which targets were met, then the `BENCH` lines, last.
fn print_figures(figures: &[Figure]) {
    let missed: Vec<&str> = figures.iter().filter(|f| !f.met()).map(|f| f.id).collect();
    if missed.is_empty() {
        println!("all {} targets met", figures.len());
    } else {
        println!("targets missed: {}", missed.join(", "));
    }
    for f in figures {
        println!("{f}");
    }
}

/// The median of a non-empty sample (the mean of the two middle values for an even count).
fn median(sample: &[f64]) -> f64 {
    assert!(!sample.is_empty(), "a median needs at least one sample");
    let mut s = sample.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

/// Milliseconds with three decimals, for human-readable lines.
fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Median wall time of the laps.
fn median_wall(laps: &[Lap]) -> Duration {
    Duration::from_secs_f64(median(
        &laps
            .iter()
            .map(|l| l.wall.as_secs_f64())
            .collect::<Vec<_>>(),
    ))
}

/// Below this much wall time the thread's CPU time (sampled at scheduler ticks) says little.
const CPU_SHARE_MIN_WALL: Duration = Duration::from_millis(50);

/// `, on CPU 45% of it` when the laps were long enough to tell, else nothing.
fn cpu_share(laps: &[Lap]) -> String {
    let wall: Duration = laps.iter().map(|l| l.wall).sum();
    let cpu: Option<Duration> = laps.iter().map(|l| l.cpu).sum();
    match cpu {
        Some(cpu) if wall >= CPU_SHARE_MIN_WALL => {
            format!(
                ", on CPU {:.0}% of it",
                100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
            )
        }
        _ => String::new(),
    }
}

/// `1234.567 ms wall, on CPU 45% of it`, for a one-off lap.
fn describe_lap(lap: Lap) -> String {
    format!("{} wall{}", ms(lap.wall), cpu_share(&[lap]))
}

/// `median 12.345 ms wall over 7 reps, on CPU 98% of it`.
fn describe(laps: &[Lap]) -> String {
    format!(
        "median {} wall over {} reps{}",
        ms(median_wall(laps)),
        laps.len(),
        cpu_share(laps)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_line_has_the_exact_format() {
        let f = Figure::at_most("P1.sweep_vs_floor", 1.7349, 2, "x", Bound::new(2.0, 1));
        assert_eq!(f.to_string(), "BENCH P1.sweep_vs_floor 1.73 x target <=2.0");
        assert!(f.met());
        let g = Figure::at_least(
            "P1.incremental_positions_per_s",
            999.0,
            0,
            "positions/s",
            Bound::new(1000.0, 0),
        );
        assert_eq!(
            g.to_string(),
            "BENCH P1.incremental_positions_per_s 999 positions/s target >=1000"
        );
        assert!(!g.met());
    }

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn listing_names_every_benchmark() {
        assert!(listing().contains("revalue"));
        assert!(listing().contains("rest"));
    }
}
