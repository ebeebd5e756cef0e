//! `drawbridge bench limits`: what a full CPU-credit check costs, against the `governor`
//! crate's keyed check of one quota, and what the limiter keeps per account.
//!
//! One check here is what the REST limiter does per request: read the clock, then charge a
//! cost to three scopes (application: 4 windows, front-end server: 4 windows, account: 1
//! window) all-or-nothing under their locks. Quotas are raised out of reach so every check
//! admits (the common path); keys cycle over 1 user, 12 servers and `--accounts` accounts.
//! `governor` checks one quota keyed by account with its default keyed store and clock. Both
//! run `--checks` checks, `--reps` times, interleaved; medians are reported.
//!
//! - `P2.check_vs_governor_1t`: ns per check, one thread, ours over governor's.
//! - `P2.check_vs_governor_2t`: two threads sharing one application key (the user and server
//!   windows contend), each on its own `--contention-accounts` accounts; governor's two
//!   threads share one key. This figure isolates contention on the shared key: both sides'
//!   state stays in cache. With a million accounts per thread each of our checks would also
//!   pay a cache and TLB miss on the account table (about 300–400 ns here) that governor's
//!   one shared key never pays; the 1-thread figure, where both sides cycle over
//!   `--accounts` keys, carries that cost for both.
//! - `P2.bytes_per_account`: the account table's bytes (slots at capacity) over the accounts
//!   it tracks, after `--accounts` accounts were charged once.

use super::stopwatch::{Lap, Stopwatch};
use super::{Bound, Figure, describe, median_wall, print_figures};
use drawbridge_limits::{Catalogue, Credits, Keys, Ledger, MemoryLedger};
use drawbridge_model::{Clock, SystemClock};
use governor::{Quota, RateLimiter};
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

const CHECK_VS_GOVERNOR_MAX_X: Bound = Bound::new(3.0, 1);
const BYTES_PER_ACCOUNT_MAX: Bound = Bound::new(128.0, 0);
/// Quotas no benchmark reaches, in credits.
const UNREACHED: u64 = 1_000_000_000_000;
/// Credits per check (getAccountInformation).
const COST: Credits = Credits::whole(50);
const SERVERS: u64 = 12;

/// Options of `drawbridge bench limits`.
#[derive(Debug, clap::Args)]
pub(super) struct LimitsArgs {
    /// Checks per timed run.
    #[arg(long, default_value_t = 2_000_000)]
    checks: u64,
    /// Distinct accounts the checks cycle over (and the memory figure's population).
    #[arg(long, default_value_t = 1_000_000)]
    accounts: u64,
    /// Distinct accounts per thread of the 2-thread contention figure.
    #[arg(long, default_value_t = 1_000)]
    contention_accounts: u64,
    /// Timed repetitions of each measurement; medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
}

fn ledger() -> MemoryLedger {
    let mut quotas = Catalogue::default().cpu_quotas();
    for q in quotas
        .per_user
        .iter_mut()
        .chain(quotas.per_server.iter_mut())
        .chain(quotas.per_account.iter_mut())
    {
        q.credits = Credits::whole(UNREACHED);
    }
    MemoryLedger::new(&quotas)
}

type Governor = RateLimiter<
    u64,
    governor::state::keyed::DefaultKeyedStateStore<u64>,
    governor::clock::DefaultClock,
>;

fn governor() -> Governor {
    RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX))
}

/// `checks` full credit checks by thread `t`; keys `(user, server, account)` cycle.
fn run_ours(ledger: &MemoryLedger, checks: u64, accounts: u64, t: u64) {
    let clock = SystemClock;
    for i in 0..checks {
        let keys = Keys {
            user: 1,
            user_multiplier: 1,
            server: 100 + i % SERVERS,
            account: Some(t * accounts + i % accounts),
        };
        let admitted = ledger.try_charge(&keys, COST, clock.now());
        black_box(admitted.is_ok());
    }
}

fn run_governor(g: &Governor, checks: u64, shared: bool, accounts: u64, t: u64) {
    for i in 0..checks {
        let key = if shared {
            1
        } else {
            t * accounts + i % accounts
        };
        black_box(g.check_key(&key).is_ok());
    }
}

/// Wall time of `threads` threads each running `f(t)`.
fn timed(threads: u64, f: impl Fn(u64) + Sync) -> Lap {
    let sw = Stopwatch::start();
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || f(t));
        }
    });
    sw.lap()
}

fn ns_per_check(lap: Duration, checks: u64) -> f64 {
    lap.as_secs_f64() * 1e9 / checks as f64
}

/// Median ns per check of ours and governor's with `threads` threads.
fn compare(args: &LimitsArgs, threads: u64, accounts: u64) -> (f64, f64) {
    let per_thread = args.checks / threads;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..args.reps {
        let l = ledger();
        // Warm: every account key exists, as in a running server.
        timed(threads, |t| run_ours(&l, accounts, accounts, t));
        ours.push(timed(threads, |t| run_ours(&l, per_thread, accounts, t)));
        let g = governor();
        let shared = threads > 1;
        timed(threads, |t| run_governor(&g, accounts, shared, accounts, t));
        theirs.push(timed(threads, |t| {
            run_governor(&g, per_thread, shared, accounts, t);
        }));
    }
    let (a, b) = (median_wall(&ours), median_wall(&theirs));
    println!(
        "{threads} thread(s), {accounts} accounts each: full check {} = {:.1} ns/check; \
        governor {} = {:.1} ns/check",
        describe(&ours),
        ns_per_check(a, per_thread),
        describe(&theirs),
        ns_per_check(b, per_thread),
    );
    (ns_per_check(a, per_thread), ns_per_check(b, per_thread))
}

pub(super) fn run(args: &LimitsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.accounts > 0 && args.contention_accounts > 0 && args.checks > 0,
        "--accounts, --contention-accounts and --checks must be positive"
    );
    let (ours1, gov1) = compare(args, 1, args.accounts);
    let (ours2, gov2) = compare(args, 2, args.contention_accounts);
    let l = ledger();
    run_ours(&l, args.accounts, args.accounts, 0);
    let tracked = l.tracked()[2];
    let per_account = l.account_bytes() as f64 / tracked.max(1) as f64;
    println!(
        "account table: {tracked} accounts, {:.1} MB = {per_account:.1} B/account (slots at \
        capacity)",
        l.account_bytes() as f64 / 1e6
    );
    print_figures(&[
        Figure::at_most(
            "P2.check_vs_governor_1t",
            ours1 / gov1,
            2,
            "x",
            CHECK_VS_GOVERNOR_MAX_X,
        ),
        Figure::at_most(
            "P2.check_vs_governor_2t",
            ours2 / gov2,
            2,
            "x",
            CHECK_VS_GOVERNOR_MAX_X,
        ),
        Figure::at_most(
            "P2.bytes_per_account",
            per_account,
            1,
            "B",
            BYTES_PER_ACCOUNT_MAX,
        ),
    ]);
    Ok(())
}
