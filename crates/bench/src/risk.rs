//! `drawbridge bench risk`: a million accounts with two trackers each, fed by a market at a
//! fixed tick rate, in one process.
//!
//! Setup: the synthetic [`SyntheticServer`] (1M accounts, 2 positions each over 30 symbols) and,
//! per
//! account, an [`AccountRisk`] with two trackers added as the server adds them: `day`
//! (absolute drawdown) and `lifetime` (relative drawdown, absolute profit). Each threshold is
//! the account's drawdown or profit at creation plus a random margin, so no tracker starts
//! breached and a share of the accounts breach as prices walk. Every account is then fed one
//! sample (the server starting to follow it), which opens its periods.
//!
//! The pipeline is the server's desk → risk engine, as two threads joined by a bounded queue:
//! the feed stage sends the quotes through the engine's incremental per-symbol path and passes
//! the balance and equity of every account it changed (its `AccountChanged` events) to the
//! risk stage, which sorts the samples by account (states visited in address order;
//! `--arrival-order` keeps the engine's order, which is account order too) and applies each
//! as an `Input::Sample`, warming 16 states at a time. Tick `i` of a run is due `i / rate`
//! seconds after its start and moves one random symbol one random-walk step; the schedule is
//! open loop (a late tick keeps its due time). When the feed stage gets to a tick, it takes
//! every tick due by then together (`Engine::on_quotes`: the quotes in order, then each
//! affected account revalued once, as a desk conflating a feed it fell behind on would;
//! `--one-by-one` sends each tick alone), and passes the changed accounts on in parts of
//! about 8,192 as the engine revalues them (`on_quotes_in_parts`), so the risk stage works on
//! the first while the engine works on the rest.
//!
//! - `P5.bytes_per_account`: resident-set growth over building the trade server and the risk states
//!   (warmed), per account: broker and risk state together, what the process holds for an
//!   account. The risk state alone is printed too, by size accounting
//!   (`AccountRisk::heap_bytes`) and by its own RSS growth.
//! - `P5.tick_to_event_p99_ms`: at `--rate` (the 100 ticks/s), the time from a tick's
//!   due time to the moment each breach event it caused comes out of `AccountRisk::apply`,
//!   read per event (for ticks taken together, from the earliest one's due time). A run stops
//!   when a tick starts more than `--max-lag-ms` late; the ticks then due but never processed
//!   count as late as they were at the stop, and the figure is a lower bound.
//! - `P5.max_ticks_per_s`: the highest rate at which the p99, over a run's ticks, of the time
//!   from a tick's due time until its last sample was applied (which bounds each of its
//!   events) is at most 100 ms, without the run stopping; doubling, then bisecting, with
//!   `--step-ms` of feed per rate. Target: at least the feed rate, 100 ticks/s.

use super::memory::resident_bytes;
use super::stopwatch::Stopwatch;
use super::synthetic::{SYMBOLS, SyntheticArgs, SyntheticServer};
use super::{Bound, Figure, describe_lap, print_figures};
use anyhow::{anyhow, bail};
use drawbridge_broker::account::AccountIdx;
use drawbridge_broker::engine::{Engine, Event};
use drawbridge_model::{Money, Rng, Timestamp};
use drawbridge_risk::tracker::threshold_cents;
use drawbridge_risk::{
    AccountRisk, BreachAction, Input, Output, Period, Snapshot, ThresholdType, Thresholds,
    TrackerKey, TrackerSpec, Window,
};
use std::mem::{size_of, size_of_val};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// The budget for an account with its two trackers.
const BYTES_PER_ACCOUNT_MAX: Bound = Bound::new(2048.0, 0);
/// The latency target, from a tick to its tracker events.
const TICK_TO_EVENT_P99_MAX_MS: Bound = Bound::new(100.0, 0);
/// The feed rate: the pipeline should sustain at least that.
const MAX_TICKS_PER_S_MIN: Bound = Bound::new(100.0, 0);
/// The latency a sustained rate keeps its p99 under.
const LATENCY_MAX: Duration = Duration::from_millis(100);
/// Parts of ticks in flight between the stages at most, so backpressure reaches the feed soon.
const QUEUE_PARTS: usize = 16;
/// The feed stage passes a tick's changed accounts on in parts of about this many, as the
/// engine revalues them: the risk stage starts on the first while the engine works on the rest.
const PART_ACCOUNTS: usize = 8_192;
/// A tick moves its symbol's bid by 1 to this many points, up or down.
const WALK_POINTS: u64 = 10;
/// The walk turns back this many points from the base bid, far from any stop-out.
const WALK_POINTS_MAX: i64 = 3_000;
/// Margins beyond the account's state at creation, in account currency, drawn log-uniformly:
/// `day` drawdown, `lifetime` drawdown (set as a fraction of the balance), `lifetime` profit.
const DAY_DRAWDOWN_MARGIN: (f64, f64) = (0.5, 50.0);
const LIFETIME_DRAWDOWN_MARGIN: (f64, f64) = (2.0, 200.0);
const LIFETIME_PROFIT_MARGIN: (f64, f64) = (2.0, 200.0);
/// The trackers' keys.
const DAY: TrackerKey = 0;
const LIFETIME: TrackerKey = 1;
/// A heap block's allocator header, as `crates/risk/tests/layout.rs` counts it.
const ALLOC_HEADER_BYTES: usize = 16;
/// Samples whose account states the risk stage warms together before applying them.
const WARM_SAMPLES: usize = 16;
/// The rate search stops when its bracket is this narrow relative to the rate that passed.
const SEARCH_PRECISION: f64 = 0.05;

/// Options of `drawbridge bench risk`.
#[derive(Debug, clap::Args)]
pub(super) struct RiskArgs {
    #[command(flatten)]
    server: SyntheticArgs,
    /// Tick rate of the latency run, in ticks per second over all symbols.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// Milliseconds of feed in the latency run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    run_ms: u64,
    /// Milliseconds of feed at each rate the search tries.
    #[arg(long, default_value_t = 4_000, value_parser = clap::value_parser!(u64).range(1..))]
    step_ms: u64,
    /// The first rate the search tries, in ticks per second.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    search_from: u32,
    /// Rates the search tries at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    search_steps: u32,
    /// A run stops when a tick starts this many milliseconds late (the pipeline fell behind).
    #[arg(long, default_value_t = 1_000)]
    max_lag_ms: u64,
    /// Apply each tick's samples in the order the engine changed the accounts, instead of
    /// sorting them by account first.
    #[arg(long)]
    arrival_order: bool,
    /// Send every tick through `on_quote` on its own, even when more are due (no batching).
    #[arg(long)]
    one_by_one: bool,
}

pub(super) fn run(args: &RiskArgs) -> anyhow::Result<()> {
    let rss_before = resident_bytes();
    let mut server = SyntheticServer::build(&args.server)?;
    let rss_book = resident_bytes();
    let rng = Rng::seeded(args.server.seed).fork(2);
    let mut risks = build_risks(&server.engine, &mut rng.fork(1));
    let rss_risk = resident_bytes();
    let memory = Memory::of(&server.engine, &risks, [rss_before, rss_book, rss_risk]);
    memory.print();
    let mut pipeline = Pipeline {
        feed: Feed {
            server: &mut server,
            walk: Walk::new(rng.fork(2)),
            max_lag: Duration::from_millis(args.max_lag_ms),
            one_by_one: args.one_by_one,
        },
        risks: &mut risks,
        arrival_order: args.arrival_order,
    };
    let latency = pipeline.run(f64::from(args.rate), Duration::from_millis(args.run_ms))?;
    latency.print("latency run");
    let max_rate = search(&mut pipeline, args)?;
    print_breaches(&risks);
    print_figures(&[
        Figure::at_most(
            "P5.bytes_per_account",
            memory.per_account(),
            1,
            "B",
            BYTES_PER_ACCOUNT_MAX,
        ),
        Figure::at_most(
            "P5.tick_to_event_p99_ms",
            latency.event_p99().as_secs_f64() * 1e3,
            3,
            "ms",
            TICK_TO_EVENT_P99_MAX_MS,
        ),
        Figure::at_least(
            "P5.max_ticks_per_s",
            max_rate,
            0,
            "ticks/s",
            MAX_TICKS_PER_S_MIN,
        ),
    ]);
    Ok(())
}

/// One `AccountRisk` per account with its `day` and `lifetime` trackers, each fed the
/// account as it is now (which opens their periods; nothing breaches yet).
fn build_risks(engine: &Engine, rng: &mut Rng) -> Vec<AccountRisk> {
    let sw = Stopwatch::start();
    let (zone, now) = (engine.config().zone, engine.now());
    let window = Window {
        start: now,
        end: None,
    };
    let spec = |period, thresholds| TrackerSpec {
        period,
        window,
        thresholds,
        action: BreachAction::Notify,
    };
    let mut margin = |(lo, hi): (f64, f64)| lo * (hi / lo).powf(rng.unit());
    let n = engine.accounts().len();
    let mut risks = Vec::with_capacity(n);
    let mut out = Vec::new();
    for a in 0..n {
        let snapshot = snapshot(engine, AccountIdx(a as u32), now);
        let drawdown = ((snapshot.balance - snapshot.equity).0.max(0)) as f64 / 100.0;
        let profit = ((snapshot.equity - snapshot.balance).0.max(0)) as f64 / 100.0;
        let balance = snapshot.balance.0 as f64 / 100.0;
        let day = Thresholds {
            absolute_drawdown: Some(threshold_cents(drawdown + margin(DAY_DRAWDOWN_MARGIN))),
            ..Thresholds::default()
        };
        let lifetime = Thresholds {
            relative_drawdown: Some((drawdown + margin(LIFETIME_DRAWDOWN_MARGIN)) / balance),
            absolute_profit: Some(threshold_cents(profit + margin(LIFETIME_PROFIT_MARGIN))),
            ..Thresholds::default()
        };
        let mut risk = AccountRisk::new(zone);
        risk.add_tracker(DAY, spec(Period::Day, day));
        risk.add_tracker(LIFETIME, spec(Period::Lifetime, lifetime));
        out.clear();
        risk.apply(&Input::Sample(snapshot), &mut out);
        debug_assert!(
            !out.iter().any(|o| matches!(o, Output::Breach(_))),
            "invariant: thresholds lie beyond the account's state at creation"
        );
        risks.push(risk);
    }
    println!(
        "AccountRisk x {n} with 2 trackers each, fed one sample: {}",
        describe_lap(sw.lap())
    );
    risks
}

fn snapshot(engine: &Engine, a: AccountIdx, time: Timestamp) -> Snapshot {
    Snapshot {
        time,
        balance: engine.accounts()[a.index()].balance,
        equity: engine.equity(a),
    }
}

/// The random walk of every symbol's bid, in points from its base bid.
#[derive(Debug)]
struct Walk {
    rng: Rng,
    offsets: [i64; SYMBOLS],
}

impl Walk {
    fn new(rng: Rng) -> Self {
        Self {
            rng,
            offsets: [0; SYMBOLS],
        }
    }

    /// The next tick: a random symbol and its new offset, never the old one.
    fn next(&mut self) -> (usize, i64) {
        let s = self.rng.range(0, SYMBOLS as u64) as usize;
        let mut step = self.rng.range(1, WALK_POINTS + 1) as i64;
        if self.rng.next_u64() & 1 == 0 {
            step = -step;
        }
        let o = &mut self.offsets[s];
        *o = if (*o + step).abs() > WALK_POINTS_MAX {
            *o - step
        } else {
            *o + step
        };
        (s, *o)
    }
}

/// An account a tick changed, as the desk reads it for the risk engine.
#[derive(Debug, Clone, Copy)]
struct Sample {
    account: u32,
    balance: Money,
    equity: Money,
}

/// A part of the changed accounts of the ticks the engine took together, on their way to the
/// risk stage.
#[derive(Debug)]
struct TickBatch {
    /// When each tick was due, since the run's start; the first is the earliest.
    dues: Vec<Duration>,
    /// The last quote's engine time: the samples' time.
    time: Timestamp,
    samples: Vec<Sample>,
    /// Whether this part ends the ticks (its samples are empty).
    last: bool,
}

/// The two stages' state: the feed with the trade server, and the risk states.
#[derive(Debug)]
struct Pipeline<'a> {
    feed: Feed<'a>,
    risks: &'a mut [AccountRisk],
    /// Whether the risk stage keeps the engine's order of a tick's samples.
    arrival_order: bool,
}

/// The feed stage's state: the trade server it ticks and the walk it follows.
#[derive(Debug)]
struct Feed<'a> {
    server: &'a mut SyntheticServer,
    walk: Walk,
    /// How late a tick may start before the run stops.
    max_lag: Duration,
    /// Whether every tick goes through the engine alone.
    one_by_one: bool,
}

impl Pipeline<'_> {
    /// Feeds `rate` ticks a second for `length` (or until it falls behind) through both
    /// stages, on two threads.
    fn run(&mut self, rate: f64, length: Duration) -> anyhow::Result<Run> {
        let ticks = (length.as_secs_f64() * rate).ceil().max(1.0) as usize;
        let sw = Stopwatch::start();
        let (tx, rx) = sync_channel(QUEUE_PARTS);
        let (spare_tx, spare_rx) = sync_channel(QUEUE_PARTS + 2);
        let (feed, risks, arrival_order) = (&mut self.feed, &mut *self.risks, self.arrival_order);
        std::thread::scope(|scope| {
            let stage = RiskStage {
                risks,
                arrival_order,
                sw,
            };
            let risk = scope.spawn(move || stage.run(&rx, &spare_tx));
            let feed = feed.stage(rate, ticks, sw, tx, &spare_rx);
            let risk = risk
                .join()
                .map_err(|_| anyhow!("the risk stage panicked"))?;
            Ok(Run {
                rate,
                ticks,
                feed: feed?,
                risk,
            })
        })
    }
}

impl Feed<'_> {
    /// Sends each tick through the engine when it is due, together with every later tick
    /// due by then (unless `one_by_one`), and their changed accounts on.
    fn stage(
        &mut self,
        rate: f64,
        ticks: usize,
        sw: Stopwatch,
        tx: SyncSender<TickBatch>,
        spare: &Receiver<Vec<Sample>>,
    ) -> anyhow::Result<FeedReport> {
        let due = |i: usize| Duration::from_secs_f64(i as f64 / rate);
        let on_cpu = Stopwatch::start();
        let mut report = FeedReport::default();
        let mut moves = Vec::new();
        let mut i = 0;
        while i < ticks {
            let start = wait_until(sw, due(i));
            if start > due(i) + self.max_lag {
                report.abandoned = (i..ticks)
                    .map(due)
                    .take_while(|&d| d <= start)
                    .map(|d| start - d)
                    .collect();
                break;
            }
            let mut end = i + 1;
            while !self.one_by_one && end < ticks && due(end) <= start {
                end += 1;
            }
            moves.clear();
            moves.extend((i..end).map(|_| self.walk.next()));
            let dues: Vec<Duration> = (i..end).map(due).collect();
            let (mut stopped, mut blocked) = (false, Duration::ZERO);
            let mut send = |part: TickBatch| {
                let before = sw.elapsed();
                stopped |= tx.send(part).is_err();
                blocked += sw.elapsed().saturating_sub(before);
            };
            let alarms = &mut report.alarms;
            self.server.ticks(&moves, PART_ACCOUNTS, |engine, events| {
                let mut samples = spare.try_recv().unwrap_or_default();
                samples.clear();
                for e in events.drain(..) {
                    match e {
                        Event::AccountChanged { account: a } => samples.push(Sample {
                            account: a.0,
                            balance: engine.accounts()[a.index()].balance,
                            equity: engine.equity(a),
                        }),
                        Event::MarginCall { .. } | Event::StopOut { .. } => *alarms += 1,
                        _ => {}
                    }
                }
                send(TickBatch {
                    dues: dues.clone(),
                    time: engine.now(),
                    samples,
                    last: false,
                });
            })?;
            send(TickBatch {
                dues,
                time: self.server.engine.now(),
                samples: Vec::new(),
                last: true,
            });
            if stopped {
                bail!("the risk stage stopped");
            }
            report.fed += end - i;
            report.batches += 1;
            report.busy += sw.elapsed().saturating_sub(start).saturating_sub(blocked);
            i = end;
        }
        report.cpu = on_cpu.lap().cpu;
        Ok(report)
    }
}

/// Sleeps until `due` (since the stopwatch's start); returns the time it woke.
fn wait_until(sw: Stopwatch, due: Duration) -> Duration {
    loop {
        let now = sw.elapsed();
        if now >= due {
            return now;
        }
        std::thread::sleep(due - now);
    }
}

/// The risk stage: the account states, and how it orders a tick's samples.
#[derive(Debug)]
struct RiskStage<'a> {
    risks: &'a mut [AccountRisk],
    arrival_order: bool,
    sw: Stopwatch,
}

impl RiskStage<'_> {
    /// Applies every sample; reads the stopwatch at each breach and at each tick's end.
    fn run(self, rx: &Receiver<TickBatch>, spare: &SyncSender<Vec<Sample>>) -> RiskReport {
        let RiskStage {
            risks,
            arrival_order,
            sw,
        } = self;
        let on_cpu = Stopwatch::start();
        let mut report = RiskReport::default();
        let mut out = Vec::new();
        for mut batch in rx {
            let start = sw.elapsed();
            if !arrival_order {
                // In account order the states are visited in address order: each page once.
                batch.samples.sort_unstable_by_key(|s| s.account);
            }
            for chunk in batch.samples.chunks(WARM_SAMPLES) {
                // The chunk's states first, their cache misses overlapped; then each from cache.
                std::hint::black_box(chunk.iter().fold(0, |h, s| {
                    h ^ risks[s.account as usize].warm_for(batch.time, s.equity)
                }));
                for s in chunk {
                    let input = Input::Sample(Snapshot {
                        time: batch.time,
                        balance: s.balance,
                        equity: s.equity,
                    });
                    out.clear();
                    risks[s.account as usize].apply(&input, &mut out);
                    for o in &out {
                        if let Output::Breach(b) = o {
                            // From the earliest tick of the batch: the latest it can be.
                            report
                                .events
                                .push(sw.elapsed().saturating_sub(batch.dues[0]));
                            report.count(b.tracker, b.kind);
                        }
                    }
                }
            }
            let end = sw.elapsed();
            if batch.last {
                report
                    .ticks
                    .extend(batch.dues.iter().map(|&d| end.saturating_sub(d)));
            }
            report.busy += end.saturating_sub(start);
            report.samples += batch.samples.len();
            // Back to the feed for reuse; dropped when enough are waiting.
            let _ = spare.try_send(batch.samples);
        }
        report.cpu = on_cpu.lap().cpu;
        report
    }
}

/// What the feed stage did in a run.
#[derive(Debug, Default)]
struct FeedReport {
    fed: usize,
    /// Engine calls the fed ticks took (fewer than ticks when they were batched).
    batches: usize,
    /// How late each tick was, when the run stopped, that was due but never fed.
    abandoned: Vec<Duration>,
    /// Time spent in the engine and reading its changed accounts.
    busy: Duration,
    /// The stage thread's time on a CPU (it sleeps between ticks).
    cpu: Option<Duration>,
    /// Margin calls and stop-outs (the trade server is built to have none).
    alarms: usize,
}

/// What the risk stage saw in a run.
#[derive(Debug, Default)]
struct RiskReport {
    /// From each breach's tick's due time to the breach.
    events: Vec<Duration>,
    /// From each tick's due time to its last sample applied.
    ticks: Vec<Duration>,
    samples: usize,
    /// Breaches by `[day drawdown, lifetime drawdown, lifetime profit, other]`.
    kinds: [usize; 4],
    busy: Duration,
    /// The stage thread's time on a CPU (it waits between ticks).
    cpu: Option<Duration>,
}

impl RiskReport {
    fn count(&mut self, tracker: TrackerKey, kind: ThresholdType) {
        let i = match (tracker, kind) {
            (DAY, ThresholdType::Drawdown) => 0,
            (LIFETIME, ThresholdType::Drawdown) => 1,
            (LIFETIME, ThresholdType::Profit) => 2,
            _ => 3,
        };
        self.kinds[i] += 1;
    }
}

/// One run at one rate.
#[derive(Debug)]
struct Run {
    rate: f64,
    /// Ticks the run would have fed had it kept up.
    ticks: usize,
    feed: FeedReport,
    risk: RiskReport,
}

impl Run {
    fn fell_behind(&self) -> bool {
        !self.feed.abandoned.is_empty() || self.feed.fed < self.ticks
    }

    /// Tick latencies, the abandoned ticks' included; sorted.
    fn tick_latencies(&self) -> Vec<Duration> {
        let mut all = self.risk.ticks.clone();
        all.extend(&self.feed.abandoned);
        all.sort_unstable();
        all
    }

    fn tick_p99(&self) -> Duration {
        percentile(&self.tick_latencies(), 99.0)
    }

    fn sustained(&self) -> bool {
        !self.fell_behind() && self.tick_p99() <= LATENCY_MAX
    }

    /// The p99 of the event latencies; when the run fell behind, at least the ticks' p99
    /// (the abandoned ticks' events would have come later still). With no event at all, the
    /// ticks' p99, which bounds any event's.
    fn event_p99(&self) -> Duration {
        let mut events = self.risk.events.clone();
        events.sort_unstable();
        if events.is_empty() {
            return self.tick_p99();
        }
        let p99 = percentile(&events, 99.0);
        if self.fell_behind() {
            p99.max(self.tick_p99())
        } else {
            p99
        }
    }

    fn print(&self, name: &str) {
        let (feed, risk) = (&self.feed, &self.risk);
        let per_tick = |d: Duration| d.as_secs_f64() * 1e3 / feed.fed.max(1) as f64;
        let on_cpu = |d: Option<Duration>| {
            d.map_or(String::new(), |d| {
                format!(" ({:.3} ms on CPU)", per_tick(d))
            })
        };
        println!(
            "{name} at {:.0} ticks/s: {} of {} ticks fed in {} engine calls, {:.0} changed \
             accounts per call, {} margin calls or stop-outs",
            self.rate,
            feed.fed,
            self.ticks,
            feed.batches,
            risk.samples as f64 / feed.batches.max(1) as f64,
            feed.alarms,
        );
        let slower = feed.busy.max(risk.busy);
        println!(
            "  per tick (batches shared out): engine {:.3} ms wall{}, risk {:.3} ms wall{}: at \
             most {:.1} ticks/s through the slower stage at this batching",
            per_tick(feed.busy),
            on_cpu(feed.cpu),
            per_tick(risk.busy),
            on_cpu(risk.cpu),
            1e3 / per_tick(slower).max(f64::MIN_POSITIVE),
        );
        if self.fell_behind() {
            println!(
                "  fell behind: stopped with a tick {} ms late, {} due ticks never fed (counted \
                 as late as they were then: latencies below are lower bounds)",
                self.max_lag_ms(),
                feed.abandoned.len(),
            );
        }
        let [day, lifetime_dd, lifetime_profit, other] = risk.kinds;
        println!(
            "  {} breach events (day drawdown {day}, lifetime drawdown {lifetime_dd}, \
             lifetime profit {lifetime_profit}, other {other}); tick to event: {}",
            risk.events.len(),
            spread(&risk.events),
        );
        println!(
            "  tick to its last sample applied: {}",
            spread(&self.tick_latencies())
        );
    }

    fn max_lag_ms(&self) -> u128 {
        self.feed.abandoned.first().map_or(0, Duration::as_millis)
    }
}

/// `p50 1.234 ms, p99 …, max …` of a sample, or `none`.
fn spread(sample: &[Duration]) -> String {
    let mut s = sample.to_vec();
    s.sort_unstable();
    if s.is_empty() {
        return "none".into();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {}",
        ms(percentile(&s, 50.0)),
        ms(percentile(&s, 99.0)),
        ms(s[s.len() - 1]),
        s.len()
    )
}

/// The nearest-rank percentile `q` (in (0, 100]) of a sorted sample; zero when empty.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

/// The highest rate the pipeline sustains: doubling from `--search-from` until a rate fails,
/// then bisecting, at most `--search-steps` runs. Zero when even the first rate fails and
/// halving finds none in the steps left.
fn search(pipeline: &mut Pipeline<'_>, args: &RiskArgs) -> anyhow::Result<f64> {
    let step = Duration::from_millis(args.step_ms);
    let (mut passed, mut failed) = (0.0_f64, f64::INFINITY);
    let mut rate = f64::from(args.search_from);
    for _ in 0..args.search_steps {
        let run = pipeline.run(rate, step)?;
        let ok = run.sustained();
        println!(
            "search: {rate:.0} ticks/s: tick p99 {:.3} ms, {} → {}",
            run.tick_p99().as_secs_f64() * 1e3,
            if run.fell_behind() {
                "fell behind"
            } else {
                "kept up"
            },
            if ok { "sustained" } else { "not sustained" },
        );
        if ok {
            passed = rate;
        } else {
            failed = rate;
        }
        let next = if failed.is_infinite() {
            2.0 * rate
        } else {
            ((passed + failed) / 2.0).round()
        };
        if failed - passed <= passed * SEARCH_PRECISION || next <= passed || next >= failed {
            break;
        }
        rate = next;
    }
    println!("highest sustained rate found: {passed:.0} ticks/s (lowest failed: {failed:.0})");
    Ok(passed)
}

/// How many accounts ended the benchmark with a tracker breached.
fn print_breaches(risks: &[AccountRisk]) {
    let breached = |key| {
        risks
            .iter()
            .filter(|r| {
                r.tracker(key)
                    .and_then(|t| t.state.current())
                    .is_some_and(|s| s.threshold_exceeded())
            })
            .count()
    };
    let n = risks.len() as f64;
    let (day, lifetime) = (breached(DAY), breached(LIFETIME));
    println!(
        "accounts breached by the end: day {day} ({:.1}%), lifetime {lifetime} ({:.1}%)",
        100.0 * day as f64 / n,
        100.0 * lifetime as f64 / n,
    );
}

/// Memory per account: resident-set growth over the builds, and the engine's and the risk
/// state's own accounting.
#[derive(Debug)]
struct Memory {
    accounts: usize,
    /// RSS before the trade server, after it, and after the risk states.
    rss: [Option<u64>; 3],
    /// `Engine::memory_footprint`: accounts plus positions, histories excluded.
    engine_bytes: usize,
    /// Σ `size_of::<AccountRisk>()` + its heap bytes + one allocator header per heap block.
    risk_bytes: usize,
    /// Heap bytes beyond the tracker slots in use (spare capacity of the buffers).
    risk_slack_bytes: usize,
}

impl Memory {
    fn of(engine: &Engine, risks: &[AccountRisk], rss: [Option<u64>; 3]) -> Self {
        let (accounts_bytes, positions_bytes) = engine.memory_footprint();
        let risk_bytes = risks
            .iter()
            .map(|r| {
                let heap = r.heap_bytes();
                let header = if heap > 0 { ALLOC_HEADER_BYTES } else { 0 };
                size_of::<AccountRisk>() + heap + header
            })
            .sum();
        let risk_slack_bytes = risks
            .iter()
            .map(|r| r.heap_bytes() - size_of_val(r.trackers()))
            .sum();
        Self {
            accounts: risks.len(),
            rss,
            engine_bytes: accounts_bytes + positions_bytes,
            risk_bytes,
            risk_slack_bytes,
        }
    }

    /// RSS growth between two readings, per account.
    fn growth(&self, from: usize, to: usize) -> Option<f64> {
        let (a, b) = self.rss[from].zip(self.rss[to])?;
        Some(b.saturating_sub(a) as f64 / self.accounts as f64)
    }

    /// Broker and risk state per account: RSS growth, or the accounting where there is no RSS.
    fn per_account(&self) -> f64 {
        self.growth(0, 2)
            .unwrap_or((self.engine_bytes + self.risk_bytes) as f64 / self.accounts as f64)
    }

    fn print(&self) {
        let per = |b: usize| b as f64 / self.accounts as f64;
        let rss = |g: Option<f64>| g.map_or("unavailable".into(), |g| format!("{g:.1} B"));
        println!(
            "per account, broker: {} RSS growth ({:.1} B by the engine's accounting, \
             histories excluded)",
            rss(self.growth(0, 1)),
            per(self.engine_bytes),
        );
        println!(
            "per account, risk: {} RSS growth ({:.1} B by accounting: AccountRisk {} B + \
             heap by capacity + allocator header; {:.1} B of it spare buffer capacity)",
            rss(self.growth(1, 2)),
            per(self.risk_bytes),
            size_of::<AccountRisk>(),
            per(self.risk_slack_bytes),
        );
        println!("per account, both (reported): {}", rss(self.growth(0, 2)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_zero_when_empty() {
        let ms = |n: u64| Duration::from_millis(n);
        let sample: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sample, 50.0), ms(50));
        assert_eq!(percentile(&sample, 99.0), ms(99));
        assert_eq!(percentile(&[ms(7)], 99.0), ms(7));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn the_walk_always_moves_and_stays_in_bounds() {
        let mut walk = Walk::new(Rng::seeded(1));
        let mut last = [0; SYMBOLS];
        for _ in 0..100_000 {
            let (s, offset) = walk.next();
            assert_ne!(offset, last[s], "every tick moves its symbol");
            assert!(offset.abs() <= WALK_POINTS_MAX);
            last[s] = offset;
        }
    }
}
