//! The ledger against a brute-force reference on a virtual clock.
//!
//! The reference keeps every charge as `(time, cost)` per scope key. On each random operation
//! it decides, from that log alone, what the documented bucket rule says (a charge made in
//! bucket `b` counts until bucket `b + N + 1` begins) and checks that:
//! - the ledger admits exactly when the rule does (so a refusal consumes nothing: the next
//!   decision still agrees);
//! - every admission also fits the exact sliding window: the charges in `(t − P, t]` plus the
//!   cost are within the quota, for every window of every scope (zero over-admissions);
//! - a refusal's retry instant `r` is the first at which the same request passes: the rule
//!   refuses it at `r − 1 ms` and admits it at `r`; and the ledger agrees when asked then.

use drawbridge_limits::ledger::{ACCOUNT_BUCKETS, USER_BUCKETS};
use drawbridge_limits::{Credits, Keys, Ledger, LedgerQuotas, MemoryLedger, Quota, Refusal};
use drawbridge_model::{Rng, Timestamp};
use proptest::prelude::*;
use std::collections::HashMap;

const USERS: u64 = 6;
const SERVERS: u64 = 3;
const ACCOUNTS_PER_USER: u64 = 4;

fn quotas(rng: &mut Rng) -> LedgerQuotas {
    let q = |rng: &mut Rng, base: u64, secs: i64| Quota::per_secs(base + rng.range(0, base), secs);
    LedgerQuotas {
        per_user: [
            q(rng, 100, 1),
            q(rng, 300, 5),
            q(rng, 900, 20),
            q(rng, 2_000, 60),
        ],
        per_server: [
            q(rng, 80, 1),
            q(rng, 250, 5),
            q(rng, 700, 20),
            q(rng, 1_500, 60),
        ],
        per_account: [q(rng, 200, 10)],
        max_keys: 1_000,
    }
}

/// One scope key's charges and its windows.
struct Log {
    charges: Vec<(i64, u64)>,
    windows: Vec<(i64, i64, u64)>, // (period, bucket width, quota)
    buckets: i64,
}

impl Log {
    fn new(quotas: &[Quota], buckets: usize, multiplier: u64) -> Self {
        let n = buckets as i64;
        Self {
            charges: Vec::new(),
            windows: quotas
                .iter()
                .map(|q| {
                    let width = (q.period_ms + n - 1) / n;
                    (q.period_ms, width, q.credits.0 * multiplier)
                })
                .collect(),
            buckets: n,
        }
    }

    /// What the bucket rule says of `cost` at `t`.
    fn rule_admits(&self, t: i64, cost: u64) -> bool {
        self.windows.iter().all(|&(_, w, quota)| {
            let first_live = t.div_euclid(w) - self.buckets;
            let live: u64 = self
                .charges
                .iter()
                .filter(|(at, _)| at.div_euclid(w) >= first_live)
                .map(|(_, c)| c)
                .sum();
            live + cost <= quota
        })
    }

    /// The exact sliding window: charges in `(t − P, t]` plus `cost` within every quota.
    fn exact_admits(&self, t: i64, cost: u64) -> bool {
        self.windows.iter().all(|&(p, _, quota)| {
            let used: u64 = self
                .charges
                .iter()
                .filter(|(at, _)| *at > t - p && *at <= t)
                .map(|(_, c)| c)
                .sum();
            used + cost <= quota
        })
    }

    fn prune(&mut self, t: i64) {
        let keep = self
            .windows
            .iter()
            .map(|&(_, w, _)| (self.buckets + 2) * w)
            .max()
            .unwrap_or(0);
        self.charges.retain(|(at, _)| *at > t - keep);
    }
}

struct Reference {
    logs: HashMap<(u8, u64), Log>,
    quotas: LedgerQuotas,
}

impl Reference {
    fn scopes(keys: &Keys) -> Vec<(u8, u64)> {
        let mut s = vec![(0, keys.user), (1, keys.server)];
        s.extend(keys.account.map(|a| (2, a)));
        s
    }

    fn log(&mut self, scope: (u8, u64), multiplier: u64) -> &mut Log {
        let q = &self.quotas;
        self.logs.entry(scope).or_insert_with(|| match scope.0 {
            0 => Log::new(&q.per_user, USER_BUCKETS, multiplier),
            1 => Log::new(&q.per_server, USER_BUCKETS, 1),
            _ => Log::new(&q.per_account, ACCOUNT_BUCKETS, 1),
        })
    }

    fn admits(&mut self, keys: &Keys, t: i64, cost: u64, rule: bool) -> bool {
        Self::scopes(keys).into_iter().all(|s| {
            let log = self.log(s, keys.user_multiplier);
            if rule {
                log.rule_admits(t, cost)
            } else {
                log.exact_admits(t, cost)
            }
        })
    }

    fn charge(&mut self, keys: &Keys, t: i64, cost: u64) {
        for s in Self::scopes(keys) {
            let log = self.log(s, keys.user_multiplier);
            log.charges.push((t, cost));
            log.prune(t);
        }
    }
}

fn random_keys(rng: &mut Rng) -> Keys {
    let user = rng.range(0, USERS);
    Keys {
        user,
        // Fixed per user: the multiplier is the user's deployed accounts.
        user_multiplier: 1 + user % 3,
        server: user * 100 + rng.range(0, SERVERS),
        account: (rng.range(0, 5) > 0).then(|| user * 1_000 + rng.range(0, ACCOUNTS_PER_USER)),
    }
}

/// Runs `ops` random operations from `seed`; returns how many charges were refused.
fn run(seed: u64, ops: usize) -> usize {
    let mut rng = Rng::seeded(seed);
    let quotas = quotas(&mut rng);
    let ledger = MemoryLedger::new(&quotas);
    let mut reference = Reference {
        logs: HashMap::new(),
        quotas,
    };
    let mut now: i64 = 1_700_000_000_000 + rng.range(0, 100_000) as i64;
    let mut refused = 0;
    let mut op = 0;
    while op < ops {
        op += 1;
        now += match rng.range(0, 100) {
            0 => rng.range(0, 120_000) as i64,
            1..=30 => 0,
            _ => rng.range(0, 150) as i64,
        };
        let keys = random_keys(&mut rng);
        // Whole and fractional costs; sometimes a post-charge (result size) that may overdraw.
        let cost = if rng.range(0, 4) == 0 {
            rng.range(1, 60_000)
        } else {
            rng.range(1, 40) * 1_000
        };
        if rng.range(0, 20) == 0 {
            ledger.post_charge(&keys, Credits(cost * 5), Timestamp(now));
            reference.charge(&keys, now, cost * 5);
            continue;
        }
        let rule = reference.admits(&keys, now, cost, true);
        match ledger.try_charge(&keys, Credits(cost), Timestamp(now)) {
            Ok(()) => {
                assert!(
                    rule,
                    "seed {seed} op {op}: admitted what the bucket rule refuses"
                );
                assert!(
                    reference.admits(&keys, now, cost, false),
                    "seed {seed} op {op}: over-admission against the exact sliding window"
                );
                reference.charge(&keys, now, cost);
            }
            Err(Refusal::Exhausted(e)) => {
                refused += 1;
                assert!(
                    !rule,
                    "seed {seed} op {op}: refused what the bucket rule admits"
                );
                assert_eq!(e.required, Credits(cost));
                assert!(e.used.0 + cost > e.total.0, "seed {seed} op {op}: {e:?}");
                let Some(Timestamp(r)) = e.retry_at else {
                    continue;
                };
                assert!(r > now, "seed {seed} op {op}: retry {r} not after {now}");
                assert!(
                    !reference.admits(&keys, r - 1, cost, true),
                    "seed {seed} op {op}: passes before {r}"
                );
                assert!(
                    reference.admits(&keys, r, cost, true),
                    "seed {seed} op {op}: still refused at {r}"
                );
                if rng.range(0, 3) == 0 {
                    op += 2;
                    let early = ledger.try_charge(&keys, Credits(cost), Timestamp(r - 1));
                    assert!(
                        early.is_err(),
                        "seed {seed} op {op}: ledger admits before its retry time"
                    );
                    now = r;
                    ledger
                        .try_charge(&keys, Credits(cost), Timestamp(r))
                        .unwrap_or_else(|e| {
                            panic!("seed {seed} op {op}: refused at its retry time: {e:?}")
                        });
                    assert!(
                        reference.admits(&keys, r, cost, false),
                        "seed {seed} op {op}: over-admission"
                    );
                    reference.charge(&keys, r, cost);
                }
            }
            Err(Refusal::Full(s)) => panic!("seed {seed} op {op}: {s:?} full with few keys"),
        }
    }
    refused
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, failure_persistence: None, ..ProptestConfig::default() })]

    /// 20 seeds × 50,000 operations: 1,000,000 in all.
    #[test]
    fn ledger_matches_the_reference(seed in any::<u64>()) {
        let refused = run(seed, 50_000);
        // The costs are chosen so that both outcomes are common.
        prop_assert!(refused > 1_000 && refused < 45_000, "refused {refused}");
    }
}
