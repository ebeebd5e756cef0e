//! Two threads racing on the same keys never get more admitted than a window's quota, and a
//! refusal consumes nothing even while the other thread is charging.
//!
//! Time moves in rounds: in each round both threads charge at the same instant (so the only
//! race is on the ledger's state, not on the clock), then, alone, the test checks every shared
//! window against the admissions both threads recorded:
//! - the exact sliding window: admitted credits in `(t − P, t]` are within the quota;
//! - the ledger's usage equals what the bucket rule says the recorded admissions leave live
//!   (so no admission was lost and no refused charge left anything behind).

use drawbridge_limits::ledger::{ACCOUNT_BUCKETS, USER_BUCKETS};
use drawbridge_limits::{Credits, Keys, Ledger, LedgerQuotas, MemoryLedger, Quota, Scope};
use drawbridge_model::{Rng, Timestamp};
use std::sync::{Barrier, Mutex};

const ROUNDS: usize = 3_000;
const CHARGES_PER_ROUND: usize = 40;
const ACCOUNTS: u64 = 2;

fn quotas() -> LedgerQuotas {
    LedgerQuotas {
        per_user: [
            Quota::per_secs(300, 1),
            Quota::per_secs(1_200, 5),
            Quota::per_secs(3_000, 20),
            Quota::per_secs(6_000, 60),
        ],
        per_server: [
            Quota::per_secs(250, 1),
            Quota::per_secs(1_000, 5),
            Quota::per_secs(2_500, 20),
            Quota::per_secs(5_000, 60),
        ],
        per_account: [Quota::per_secs(400, 10)],
        max_keys: 1_000,
    }
}

/// Both threads share the user; they share one of two servers and one of two accounts.
fn keys(rng: &mut Rng) -> Keys {
    Keys {
        user: 7,
        user_multiplier: 1,
        server: 100 + rng.range(0, 2),
        account: (rng.range(0, 4) > 0).then(|| 1_000 + rng.range(0, ACCOUNTS)),
    }
}

/// The windows of one scope: (period, bucket width, quota), as the ledger builds them.
fn windows(quotas: &[Quota], buckets: i64) -> Vec<(i64, i64, u64)> {
    (quotas.iter())
        .map(|q| {
            (
                q.period_ms,
                (q.period_ms + buckets - 1) / buckets,
                q.credits.0,
            )
        })
        .collect()
}

/// What the bucket rule leaves live at `t` of `charges`, per window.
fn rule_live(
    charges: &[(i64, u64)],
    windows: &[(i64, i64, u64)],
    buckets: i64,
    t: i64,
) -> Vec<u64> {
    (windows.iter())
        .map(|&(_, w, _)| {
            let first_live = t.div_euclid(w) - buckets;
            (charges.iter())
                .filter(|(at, _)| at.div_euclid(w) >= first_live)
                .map(|(_, c)| c)
                .sum()
        })
        .collect()
}

fn check_scope(
    ledger: &MemoryLedger,
    keys: &Keys,
    scope: Scope,
    charges: &[(i64, u64)],
    (windows, buckets): (&[(i64, i64, u64)], i64),
    t: i64,
) {
    for &(p, _, quota) in windows {
        let used: u64 = (charges.iter())
            .filter(|(at, _)| *at > t - p && *at <= t)
            .map(|(_, c)| c)
            .sum();
        assert!(
            used <= quota,
            "{scope:?} window of {p} ms admitted {used} > {quota} at {t}"
        );
    }
    let usage = ledger.usage(keys, scope, Timestamp(t));
    let live = rule_live(charges, windows, buckets, t);
    for (u, l) in usage.iter().zip(live) {
        assert_eq!(
            u.used,
            Credits(l),
            "{scope:?} window of {} ms at {t}",
            u.period_ms
        );
    }
}

/// Every shared window at `t`, against the admissions recorded up to then.
fn check_round(ledger: &MemoryLedger, q: &LedgerQuotas, log: &[(i64, Keys, u64)], t: i64) {
    let of = |f: &dyn Fn(&Keys) -> bool| -> Vec<(i64, u64)> {
        (log.iter())
            .filter(|(_, k, _)| f(k))
            .map(|(at, _, c)| (*at, *c))
            .collect()
    };
    let probe = |server: u64, account: u64| Keys {
        user: 7,
        user_multiplier: 1,
        server,
        account: Some(account),
    };
    let (user, server, account) = (
        windows(&q.per_user, USER_BUCKETS as i64),
        windows(&q.per_server, USER_BUCKETS as i64),
        windows(&q.per_account, ACCOUNT_BUCKETS as i64),
    );
    let all = of(&|_| true);
    let u = (user.as_slice(), USER_BUCKETS as i64);
    check_scope(ledger, &probe(100, 1_000), Scope::User, &all, u, t);
    for s in [100, 101] {
        let sv = (server.as_slice(), USER_BUCKETS as i64);
        let mine = of(&|k| k.server == s);
        check_scope(ledger, &probe(s, 1_000), Scope::Server, &mine, sv, t);
    }
    for a in 1_000..1_000 + ACCOUNTS {
        let ac = (account.as_slice(), ACCOUNT_BUCKETS as i64);
        let mine = of(&|k| k.account == Some(a));
        check_scope(ledger, &probe(100, a), Scope::Account, &mine, ac, t);
    }
}

#[test]
fn two_threads_on_one_key_never_over_admit() {
    let q = quotas();
    let ledger = MemoryLedger::new(&q);
    // Two workers and the checker: the workers charge a round, then wait while it checks.
    let barrier = Barrier::new(3);
    let log = Mutex::new(Vec::new());
    let mut rng = Rng::seeded(0x5EED);
    let mut t = 1_700_000_000_000i64;
    let times: Vec<i64> = (0..ROUNDS)
        .map(|_| {
            t += rng.range(0, 400) as i64;
            t
        })
        .collect();
    let refused = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|thread| {
                let (ledger, barrier, times, log) = (&ledger, &barrier, &times, &log);
                s.spawn(move || {
                    let mut rng = Rng::seeded(thread);
                    let (mut admitted, mut refused) = (Vec::new(), 0usize);
                    for &t in times {
                        for _ in 0..CHARGES_PER_ROUND {
                            let k = keys(&mut rng);
                            let cost = rng.range(1, 30) * 1_000 + rng.range(0, 2) * 500;
                            match ledger.try_charge(&k, Credits(cost), Timestamp(t)) {
                                Ok(()) => admitted.push((t, k, cost)),
                                Err(_) => refused += 1,
                            }
                        }
                        lock(log).append(&mut admitted);
                        barrier.wait();
                        barrier.wait();
                    }
                    refused
                })
            })
            .collect();
        // A failed check is kept until the workers are done: panicking here would leave them
        // waiting at the barrier.
        let mut failure = None;
        for &t in &times {
            barrier.wait();
            let mut log = lock(&log);
            // Nothing older than the longest window and its bucket still counts.
            log.retain(|(at, _, _)| *at > t - 62_000);
            if failure.is_none() {
                let check = || check_round(&ledger, &q, &log, t);
                failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).err();
            }
            drop(log);
            barrier.wait();
        }
        let refused = (workers.into_iter())
            .map(|w| w.join().expect("worker panicked"))
            .sum::<usize>();
        if let Some(panic) = failure {
            std::panic::resume_unwind(panic);
        }
        refused
    });
    let attempts = 2 * ROUNDS * CHARGES_PER_ROUND;
    assert!(
        refused > attempts / 4 && refused < attempts,
        "refused {refused} of {attempts}: quotas should bind, and not always"
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
