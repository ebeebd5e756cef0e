//! CPU-credit ledgers: per application (user), per user on one front-end server, per account.
//!
//! A charge names one key in each scope and is decided in one atomic step: every window of
//! every scope is checked under the three keys' locks, and only if all pass is the cost added
//! to all of them. A refusal consumes nothing anywhere. A post-charge (the result-size part of
//! a cost, known only after execution) is added unconditionally and may put a window into
//! debt; later charges then wait until it drains.
//!
//! [`Ledger`] is the trait a multi-node implementation (Redis) will also implement; the
//! in-process [`MemoryLedger`] shards each scope's keys over mutexes, never held across an
//! await. Idle keys (nothing live in any window) are swept when a shard grows, and a shard
//! never holds more than its share of `max_keys`: past that, a new key is refused
//! ([`Refusal::Full`]) rather than an active key forgotten.

use crate::credits::Credits;
use crate::tally::{Tally, Windows};
use crate::window::{Ring, Span};
use drawbridge_model::Timestamp;
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// The three scopes of the MetaApi CPU-credit limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// All requests of one application (user), quota × its deployed accounts.
    User,
    /// One user's requests on one front-end server.
    Server,
    /// Requests about one account.
    Account,
}

impl Scope {
    pub const ALL: [Self; 3] = [Self::User, Self::Server, Self::Account];
}

/// A quota of credits per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub period_ms: i64,
    pub credits: Credits,
}

impl Quota {
    pub const fn per_secs(credits: u64, secs: i64) -> Self {
        Self {
            period_ms: secs * 1_000,
            credits: Credits::whole(credits),
        }
    }
}

/// Buckets per window of the user and server scopes (few keys, long windows: a charge counts
/// at most 2% of the period longer than the period).
pub const USER_BUCKETS: usize = 50;
/// Buckets of the account window (a million keys: 10 one-second buckets of `u32`).
pub const ACCOUNT_BUCKETS: usize = 10;
const USER_SLOTS: usize = USER_BUCKETS + 1;
const ACCOUNT_SLOTS: usize = ACCOUNT_BUCKETS + 1;

/// Windows per scope: four for user and server (1 s, 1 min, 1 h, 6 h), one per account.
pub const USER_WINDOWS: usize = 4;
pub const ACCOUNT_WINDOWS: usize = 1;

/// The quotas of one ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerQuotas {
    pub per_user: [Quota; USER_WINDOWS],
    pub per_server: [Quota; USER_WINDOWS],
    pub per_account: [Quota; ACCOUNT_WINDOWS],
    /// Keys tracked per scope at most; a new key past it is refused.
    pub max_keys: usize,
}

/// Which key of each scope a charge touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub user: u64,
    /// The user's quotas are multiplied by this (its deployed accounts, at least 1).
    pub user_multiplier: u64,
    /// The user on one virtual front-end server.
    pub server: u64,
    /// `None` for requests about no account.
    pub account: Option<u64>,
}

/// The window that refused a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub scope: Scope,
    pub period_ms: i64,
    /// The window's quota (multiplied, for the user scope).
    pub total: Credits,
    /// Live consumption in the window.
    pub used: Credits,
    pub required: Credits,
    /// The first instant the same charge would pass; `None` if it never can (it costs more
    /// than the quota).
    pub retry_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{:?} window of {} ms exhausted", .0.scope, .0.period_ms)]
    Exhausted(Exceeded),
    #[error("too many {0:?} keys tracked")]
    Full(Scope),
}

/// One window's state for the credit-usage endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUsage {
    pub period_ms: i64,
    pub total: Credits,
    pub used: Credits,
}

impl WindowUsage {
    pub fn available(&self) -> Credits {
        self.total.saturating_sub(self.used)
    }
}

/// A credit ledger. Every method is one atomic step.
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// Charges `cost` to every scope of `keys`, or refuses and charges nothing.
    fn try_charge(&self, keys: &Keys, cost: Credits, now: Timestamp) -> Result<(), Refusal>;
    /// Adds `cost` to every scope of `keys` without checking (may leave debt).
    fn post_charge(&self, keys: &Keys, cost: Credits, now: Timestamp);
    /// The windows of one scope for `keys`, as of `now`.
    fn usage(&self, keys: &Keys, scope: Scope, now: Timestamp) -> Vec<WindowUsage>;
}

/// Keys are already hashes ([`key_of`]) or small ids: the map only mixes them once more.
#[derive(Debug, Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0xD6E8_FEB8_6659_FD93)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The ledger key of an identifier (a user id, an account id, …).
///
/// Hashed with keys drawn once per process, so that nobody can choose identifiers that
/// crowd one shard.
pub fn key_of(parts: &[&str]) -> u64 {
    static KEYS: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    KEYS.get_or_init(std::hash::RandomState::new)
        .hash_one(parts)
}

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// A shard sweeps idle keys when it reaches this many, then at twice what survives.
const SWEEP_MIN: usize = 256;

type Map<V> = HashMap<u64, V, BuildHasherDefault<Mix>>;

#[derive(Debug)]
struct Shard<K> {
    map: Map<K>,
    sweep_at: usize,
    /// At its maximum, a shard sweeps again only once time has moved a bucket on (nothing
    /// can turn idle sooner), so a flood of new keys does not rescan it for each.
    next_full_sweep_ms: i64,
}

/// A shard's lock alone on its cache lines: two threads locking neighbouring shards do not
/// pass one line back and forth (128 bytes: adjacent-line prefetchers fetch lines in pairs).
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// One scope's keys and windows.
#[derive(Debug)]
struct Table<K, const W: usize> {
    spans: [Span; W],
    quotas: [Credits; W],
    /// Thousandths of a credit per counted unit: 1 unless a quota would not fit `K`'s sums, in
    /// which case charges are counted in coarser units, rounded up (never undercharged).
    unit: u64,
    shards: Box<[Padded<Mutex<Shard<K>>>]>,
    max_per_shard: usize,
}

fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    // parking_lot: spins briefly before parking, which suits critical sections this short.
    m.lock()
}

impl<K: Windows<W>, const W: usize> Table<K, W> {
    fn new(quotas: &[Quota; W], buckets: usize, max_keys: usize) -> Self {
        let largest = quotas.iter().map(|q| q.credits.0).max().unwrap_or(0);
        Self {
            spans: quotas.map(|q| Span::new(q.period_ms, buckets)),
            quotas: quotas.map(|q| q.credits),
            unit: largest.div_ceil(K::MAX).max(1),
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        map: Map::default(),
                        sweep_at: SWEEP_MIN,
                        next_full_sweep_ms: i64::MIN,
                    }))
                })
                .collect(),
            max_per_shard: max_keys.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: u64) -> MutexGuard<'_, Shard<K>> {
        // Multiplicative hashing spreads any keys (raw ids too) over the shards; the map
        // mixes with another constant, so a shard's keys still spread over its buckets.
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let i = usize::try_from(mixed >> (u64::BITS - SHARD_BITS)).unwrap_or(0);
        lock(&self.shards[i].0)
    }

    /// The key's windows advanced to `now`, inserted (after a sweep if due) when new.
    fn entry<'s>(&self, shard: &'s mut Shard<K>, key: u64, now_ms: i64) -> Option<&'s mut K> {
        // Only a shard due for a sweep (or full) looks the key up twice; the common path is
        // the one lookup of `entry`.
        let threshold = shard.sweep_at.min(self.max_per_shard);
        if shard.map.len() >= threshold && !shard.map.contains_key(&key) {
            let full = shard.map.len() >= self.max_per_shard;
            if !full || now_ms >= shard.next_full_sweep_ms {
                shard
                    .map
                    .retain(|_, windows| !windows.idle_at(&self.spans, now_ms));
                if shard.map.capacity() > 4 * shard.map.len() + 64 {
                    shard.map.shrink_to(2 * shard.map.len());
                }
                shard.sweep_at = (2 * shard.map.len()).max(SWEEP_MIN);
                let step = self.spans.iter().map(|s| s.width_ms).min().unwrap_or(1);
                shard.next_full_sweep_ms = now_ms.saturating_add(step);
            }
            if shard.map.len() >= self.max_per_shard {
                return None;
            }
        }
        let windows = shard.map.entry(key).or_insert_with(K::empty);
        windows.advance(&self.spans, now_ms);
        Some(windows)
    }

    /// The binding refusal of `cost` against `windows` (advanced to `now`), if any.
    fn check(
        &self,
        scope: Scope,
        windows: &K,
        multiplier: u64,
        cost: Credits,
        now_ms: i64,
        worst: &mut Option<Exceeded>,
    ) {
        let cost_units = self.units(cost);
        for (w, (span, quota)) in self.spans.iter().zip(&self.quotas).enumerate() {
            let total = quota.saturating_mul(multiplier);
            let total_units = self.units_down(total);
            let used = windows.live(w);
            if used.saturating_add(cost_units) <= total_units {
                continue;
            }
            let retry_at =
                (windows.retry_at(w, *span, now_ms, cost_units, total_units)).map(Timestamp);
            let e = Exceeded {
                scope,
                period_ms: span.period_ms,
                total,
                used: Credits(used.saturating_mul(self.unit)),
                required: cost,
                retry_at,
            };
            let later = match (worst.and_then(|w| w.retry_at), retry_at) {
                (_, None) => true,
                (None, Some(_)) => worst.is_none(),
                (Some(a), Some(b)) => b > a,
            };
            if later {
                *worst = Some(e);
            }
        }
    }

    /// `cost` in counted units, rounded up (no division in the common case of one unit).
    fn units(&self, cost: Credits) -> u64 {
        if self.unit == 1 {
            cost.0
        } else {
            cost.0.div_ceil(self.unit)
        }
    }

    /// A quota in counted units, rounded down.
    fn units_down(&self, quota: Credits) -> u64 {
        if self.unit == 1 {
            quota.0
        } else {
            quota.0 / self.unit
        }
    }

    /// Adds `cost` to every window of `key` (a key that no longer fits was never charged
    /// before either: nothing to add to).
    fn add(&self, key: u64, cost: Credits, now_ms: i64) {
        let mut shard = self.shard(key);
        if let Some(windows) = self.entry(&mut shard, key, now_ms) {
            self.charge(windows, cost);
        }
    }

    /// Adds `cost` to every window of `windows`.
    fn charge(&self, windows: &mut K, cost: Credits) {
        windows.add(self.units(cost));
    }

    fn usage(&self, key: u64, multiplier: u64, now_ms: i64) -> Vec<WindowUsage> {
        let shard = self.shard(key);
        let mut windows = shard.map.get(&key).copied().unwrap_or_else(K::empty);
        drop(shard);
        windows.advance(&self.spans, now_ms);
        (self.spans.iter().zip(&self.quotas).enumerate())
            .map(|(w, (span, quota))| WindowUsage {
                period_ms: span.period_ms,
                total: quota.saturating_mul(multiplier),
                used: Credits(windows.live(w).saturating_mul(self.unit)),
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).map.len()).sum()
    }

    fn bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u64, K)>() + 1;
        self.shards
            .iter()
            .map(|s| lock(&s.0).map.capacity() * slot)
            .sum::<usize>()
            + self.shards.len() * std::mem::size_of::<Padded<Mutex<Shard<K>>>>()
    }
}

/// The in-process ledger.
#[derive(Debug)]
pub struct MemoryLedger {
    user: Table<Tally<USER_WINDOWS, USER_SLOTS>, USER_WINDOWS>,
    server: Table<Tally<USER_WINDOWS, USER_SLOTS>, USER_WINDOWS>,
    account: Table<[Ring<u32, ACCOUNT_SLOTS>; ACCOUNT_WINDOWS], ACCOUNT_WINDOWS>,
}

impl MemoryLedger {
    pub fn new(q: &LedgerQuotas) -> Self {
        Self {
            user: Table::new(&q.per_user, USER_BUCKETS, q.max_keys),
            server: Table::new(&q.per_server, USER_BUCKETS, q.max_keys),
            account: Table::new(&q.per_account, ACCOUNT_BUCKETS, q.max_keys),
        }
    }

    /// Keys tracked per scope (user, server, account).
    pub fn tracked(&self) -> [usize; 3] {
        [self.user.len(), self.server.len(), self.account.len()]
    }

    /// Bytes held by the account scope's table (its slots at capacity).
    pub fn account_bytes(&self) -> usize {
        self.account.bytes()
    }
}

impl Ledger for MemoryLedger {
    fn try_charge(&self, keys: &Keys, cost: Credits, now: Timestamp) -> Result<(), Refusal> {
        let now_ms = now.0;
        let mult = keys.user_multiplier.max(1);
        let mut worst = None;
        // Locked from the least to the most shared key (every charge locks in this order, so
        // no two wait on each other), each scope checked as soon as it is locked: the
        // application's lock, which all of its requests contend for, covers only its own
        // check and charge.
        let mut account = keys.account.map(|a| (a, self.account.shard(a)));
        let a = match &mut account {
            Some((key, shard)) => {
                let rings = (self.account.entry(shard, *key, now_ms))
                    .ok_or(Refusal::Full(Scope::Account))?;
                self.account
                    .check(Scope::Account, rings, 1, cost, now_ms, &mut worst);
                Some(rings)
            }
            None => None,
        };
        let mut server = self.server.shard(keys.server);
        let s = (self.server.entry(&mut server, keys.server, now_ms))
            .ok_or(Refusal::Full(Scope::Server))?;
        self.server
            .check(Scope::Server, s, 1, cost, now_ms, &mut worst);
        {
            let mut user = self.user.shard(keys.user);
            let u = (self.user.entry(&mut user, keys.user, now_ms))
                .ok_or(Refusal::Full(Scope::User))?;
            // Checked even when another scope refused: the retry instant is the latest.
            self.user
                .check(Scope::User, u, mult, cost, now_ms, &mut worst);
            if let Some(e) = worst {
                return Err(Refusal::Exhausted(e));
            }
            self.user.charge(u, cost);
        }
        // Still under their locks: no charge sees the application's part without these.
        self.server.charge(s, cost);
        if let Some(a) = a {
            self.account.charge(a, cost);
        }
        Ok(())
    }

    fn post_charge(&self, keys: &Keys, cost: Credits, now: Timestamp) {
        // An unconditional add needs no decision across scopes: each is charged on its own.
        if let Some(a) = keys.account {
            self.account.add(a, cost, now.0);
        }
        self.server.add(keys.server, cost, now.0);
        self.user.add(keys.user, cost, now.0);
    }

    fn usage(&self, keys: &Keys, scope: Scope, now: Timestamp) -> Vec<WindowUsage> {
        match scope {
            Scope::User => self
                .user
                .usage(keys.user, keys.user_multiplier.max(1), now.0),
            Scope::Server => self.server.usage(keys.server, 1, now.0),
            Scope::Account => keys
                .account
                .map(|a| self.account.usage(a, 1, now.0))
                .unwrap_or_default(),
        }
    }
}
