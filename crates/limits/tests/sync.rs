//! The synchronization limits against a brute-force model: every decision is recomputed from
//! the full list of subscriptions and the log of subscribe requests, and a refusal changes
//! nothing.

use drawbridge_limits::sync::{Subscriptions, SyncQuotas};
use drawbridge_model::{Rng, Timestamp};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Default)]
struct Model {
    /// account → (user, server, syncing)
    subs: BTreeMap<u64, (u64, u64, bool)>,
    /// user → admitted subscribe request times
    requests: BTreeMap<u64, Vec<i64>>,
}

impl Model {
    fn count(&self, f: impl Fn(u64, u64) -> bool) -> u32 {
        self.subs.values().filter(|(u, s, _)| f(*u, *s)).count() as u32
    }

    /// The bucket rule of a 60 s window of 60 one-second buckets (see window.rs).
    fn requests_live(&self, user: u64, t: i64) -> u64 {
        let first = t.div_euclid(1_000) - 60;
        self.requests.get(&user).map_or(0, |v| {
            v.iter().filter(|&&r| r.div_euclid(1_000) >= first).count() as u64
        })
    }

    fn exact_requests(&self, user: u64, t: i64) -> u64 {
        self.requests.get(&user).map_or(0, |v| {
            v.iter().filter(|&&r| r > t - 60_000 && r <= t).count() as u64
        })
    }

    fn admits(
        &self,
        q: &SyncQuotas,
        user: u64,
        server: u64,
        account: u64,
        deployed: u32,
        t: i64,
    ) -> bool {
        let rate = q.subscribe_per_minute_per_deployed * u64::from(deployed);
        if self.requests_live(user, t) + 1 > rate {
            return false;
        }
        let current = self.subs.get(&account).copied();
        if current.is_some_and(|(u, s, _)| u == user && s == server) {
            return true;
        }
        let mut without = self.subs.clone();
        without.remove(&account);
        let m = Model {
            subs: without,
            requests: BTreeMap::new(),
        };
        m.count(|u, s| u == user && s == server) < q.per_user_per_server
            && m.count(|u, _| u == user) < q.per_deployed_account * deployed
            && m.count(|_, s| s == server) < q.per_server
    }
}

fn run(seed: u64, ops: usize) -> (usize, usize) {
    let mut rng = Rng::seeded(seed);
    let q = SyncQuotas {
        subscribe_per_minute_per_deployed: 2 + rng.range(0, 6),
        per_user_per_server: 2 + rng.range(0, 4) as u32,
        per_deployed_account: 1 + rng.range(0, 3) as u32,
        per_server: 4 + rng.range(0, 6) as u32,
        concurrent_sync_pct: 10 + rng.range(0, 40) as u32,
    };
    let mut subs = Subscriptions::new(q);
    let mut model = Model::default();
    let deployed = |user: u64| 1 + (user % 3) as u32;
    let mut t: i64 = 1_700_000_000_000;
    let (mut admitted, mut refused) = (0, 0);
    for op in 0..ops {
        t += rng.range(0, 4_000) as i64;
        let (user, server, account) = (rng.range(0, 4), rng.range(0, 3), rng.range(0, 30));
        match rng.range(0, 10) {
            0..=4 => {
                let expect = model.admits(&q, user, server, account, deployed(user), t);
                let got = subs.subscribe(user, server, account, deployed(user), Timestamp(t));
                assert_eq!(got.is_ok(), expect, "seed {seed} op {op}: {got:?}");
                if got.is_ok() {
                    admitted += 1;
                    let rate = q.subscribe_per_minute_per_deployed * u64::from(deployed(user));
                    assert!(
                        model.exact_requests(user, t) < rate,
                        "seed {seed} op {op}: over the exact rate"
                    );
                    model.requests.entry(user).or_default().push(t);
                    let syncing = model
                        .subs
                        .get(&account)
                        .is_some_and(|&(u, s, sy)| u == user && s == server && sy);
                    model.subs.insert(account, (user, server, syncing));
                } else {
                    refused += 1;
                }
            }
            5 => {
                subs.unsubscribe(account);
                model.subs.remove(&account);
            }
            6..=8 => {
                let Some(&(u, s, syncing)) = model.subs.get(&account) else {
                    assert_eq!(subs.start_sync(account, Timestamp(t)), Ok(false));
                    continue;
                };
                let syncing_now = model
                    .subs
                    .values()
                    .filter(|(uu, _, sy)| *uu == u && *sy)
                    .count() as u32;
                let allowed = q.concurrent_syncs(model.count(|uu, _| uu == u));
                let expect = syncing || syncing_now < allowed;
                let got = subs.start_sync(account, Timestamp(t));
                assert_eq!(got.is_ok(), expect, "seed {seed} op {op}: {got:?}");
                if got.is_ok() {
                    model.subs.insert(account, (u, s, true));
                }
            }
            _ => {
                subs.finish_sync(account);
                if let Some(e) = model.subs.get_mut(&account) {
                    e.2 = false;
                }
            }
        }
        for user in 0..4 {
            assert_eq!(
                subs.subscribed(user),
                model.count(|u, _| u == user),
                "seed {seed} op {op}"
            );
            let syncing = model
                .subs
                .values()
                .filter(|(u, _, sy)| *u == user && *sy)
                .count() as u32;
            assert_eq!(subs.syncing(user), syncing, "seed {seed} op {op}");
        }
        for server in 0..3 {
            assert_eq!(
                subs.on_server(server),
                model.count(|_, s| s == server),
                "seed {seed} op {op}"
            );
            assert!(subs.on_server(server) <= q.per_server);
        }
    }
    (admitted, refused)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn subscriptions_match_the_model(seed in any::<u64>()) {
        let (admitted, refused) = run(seed, 5_000);
        prop_assert!(admitted > 100 && refused > 100, "admitted {admitted}, refused {refused}");
    }
}
