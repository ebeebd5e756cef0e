//! Terminal-synchronization limits: who may subscribe to which account, how often, and how
//! many synchronizations may run at once.
//!
//! From the MetaApi rate-limiting docs, with the catalogue's values (defaults in parentheses):
//! - subscribe requests: (10) per minute per deployed account of the user (a rate, in the same
//!   bucketed window as the credit ledgers, so its retry instant is exact);
//! - account subscriptions per user on one front-end server: at most (300)
//!   (`LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER_PER_SERVER`);
//! - account subscriptions per user: at most (10) × its deployed accounts
//!   (`LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER`);
//! - account subscriptions on one front-end server, all users: its capacity (25000)
//!   (`LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SERVER`, with `changeClientIdHeader`: another
//!   `client-id` picks another server);
//! - concurrent synchronizations per user: at most ⌈(10)% of its subscribed accounts⌉, at
//!   least one (`LIMIT_CONCURRENT_SYNCHRONIZATIONS_PER_USER`).
//!
//! A refused request changes nothing. Count limits have no window to wait out, so their
//! `retry_at` is a suggestion, [`COUNT_RETRY_MS`] later; the SDK waits for it or, for the
//! per-server limits, moves the account to another socket.

use crate::catalog::{Catalogue, id};
use crate::window::{Ring, Span};
use drawbridge_model::Timestamp;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Buckets of the subscribe-rate window.
const RATE_BUCKETS: usize = 60;
const RATE_SLOTS: usize = RATE_BUCKETS + 1;
/// Suggested wait after a refusal by a count limit.
pub const COUNT_RETRY_MS: i64 = 60_000;

/// The values of the synchronization limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncQuotas {
    pub subscribe_per_minute_per_deployed: u64,
    pub per_user_per_server: u32,
    pub per_deployed_account: u32,
    pub per_server: u32,
    pub concurrent_sync_pct: u32,
}

impl SyncQuotas {
    pub fn from_catalogue(c: &Catalogue) -> Self {
        let u32_of = |i| u32::try_from(c.value(i)).unwrap_or(u32::MAX);
        Self {
            subscribe_per_minute_per_deployed: c.value(id::SUBSCRIBE_RATE),
            per_user_per_server: u32_of(id::SUBSCRIPTIONS_PER_USER_PER_SERVER),
            per_deployed_account: u32_of(id::SUBSCRIPTIONS_PER_DEPLOYED_ACCOUNT),
            per_server: u32_of(id::SUBSCRIPTIONS_PER_SERVER),
            concurrent_sync_pct: u32_of(id::CONCURRENT_SYNCHRONIZATIONS_PCT),
        }
    }

    /// Concurrent synchronizations allowed with `subscribed` accounts.
    pub fn concurrent_syncs(&self, subscribed: u32) -> u32 {
        let pct = u64::from(self.concurrent_sync_pct);
        let n = (u64::from(subscribed) * pct).div_ceil(100);
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }
}

/// Which limit refused, with what the docs' metadata carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyncRefusal {
    #[error("subscribe requests: {allowed} per minute used up")]
    SubscribeRate { allowed: u64, retry_at: Timestamp },
    #[error("{subscribed} of {allowed} account subscriptions per user on this server")]
    PerUserPerServer {
        allowed: u32,
        subscribed: u32,
        retry_at: Timestamp,
    },
    #[error("{subscribed} of {allowed} account subscriptions per user")]
    PerUser {
        allowed: u32,
        subscribed: u32,
        retry_at: Timestamp,
    },
    #[error("{subscribed} of {allowed} account subscriptions on this server")]
    PerServer {
        allowed: u32,
        subscribed: u32,
        retry_at: Timestamp,
    },
    #[error("{running} of {allowed} concurrent synchronizations")]
    ConcurrentSyncs {
        allowed: u32,
        running: u32,
        retry_at: Timestamp,
    },
}

impl SyncRefusal {
    /// The docs' error `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SubscribeRate { .. } => "LIMIT_SUBSCRIBE_REQUESTS_PER_USER",
            Self::PerUserPerServer { .. } => "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER_PER_SERVER",
            Self::PerUser { .. } => "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER",
            Self::PerServer { .. } => "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SERVER",
            Self::ConcurrentSyncs { .. } => "LIMIT_CONCURRENT_SYNCHRONIZATIONS_PER_USER",
        }
    }

    pub fn retry_at(&self) -> Timestamp {
        match *self {
            Self::SubscribeRate { retry_at, .. }
            | Self::PerUserPerServer { retry_at, .. }
            | Self::PerUser { retry_at, .. }
            | Self::PerServer { retry_at, .. }
            | Self::ConcurrentSyncs { retry_at, .. } => retry_at,
        }
    }

    /// Whether another `client-id` (another front-end server) may succeed.
    pub fn change_client_id(&self) -> bool {
        matches!(self, Self::PerServer { .. })
    }
}

/// Where an account is subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Subscription {
    user: u64,
    server: u64,
    syncing: bool,
}

/// Per user: subscribe requests, subscriptions, running synchronizations.
#[derive(Debug, Default)]
struct UserState {
    requests: Ring<u32, RATE_SLOTS>,
    subscribed: u32,
    syncing: u32,
}

/// The subscriptions of every account and their counts, as one state machine.
#[derive(Debug)]
pub struct Subscriptions {
    quotas: SyncQuotas,
    span: Span,
    accounts: HashMap<u64, Subscription>,
    users: HashMap<u64, UserState>,
    per_user_server: HashMap<(u64, u64), u32>,
    per_server: HashMap<u64, u32>,
}

fn retry_after_count(now: Timestamp) -> Timestamp {
    Timestamp(now.0.saturating_add(COUNT_RETRY_MS))
}

impl Subscriptions {
    pub fn new(quotas: SyncQuotas) -> Self {
        Self {
            quotas,
            span: Span::new(60_000, RATE_BUCKETS),
            accounts: HashMap::new(),
            users: HashMap::new(),
            per_user_server: HashMap::new(),
            per_server: HashMap::new(),
        }
    }

    /// A subscribe request by `user` (with `deployed` deployed accounts) for `account` through
    /// front-end `server`. Every request counts against the rate; only a new subscription
    /// (or a move to another server) counts against the subscription limits.
    ///
    /// An account key must name one user's account (key it by user and account id, as the
    /// credit ledger does): a subscribe for a key held by another user moves it.
    pub fn subscribe(
        &mut self,
        user: u64,
        server: u64,
        account: u64,
        deployed: u32,
        now: Timestamp,
    ) -> Result<(), SyncRefusal> {
        let deployed = deployed.max(1);
        let bucket = self.span.bucket(now.0);
        let state = self.users.entry(user).or_default();
        state.requests.advance(bucket);
        let allowed = self
            .quotas
            .subscribe_per_minute_per_deployed
            .saturating_mul(u64::from(deployed));
        if let Some(retry) = state.requests.retry_at(self.span, now.0, 1, allowed)
            && retry > now.0
        {
            return Err(SyncRefusal::SubscribeRate {
                allowed,
                retry_at: Timestamp(retry),
            });
        }
        if allowed == 0 {
            return Err(SyncRefusal::SubscribeRate {
                allowed,
                retry_at: retry_after_count(now),
            });
        }
        let current = self.accounts.get(&account).copied();
        let moving = current.is_some_and(|s| s.user != user || s.server != server);
        if current.is_none() || moving {
            self.check_counts(user, server, deployed, current, now)?;
        }
        self.users
            .get_mut(&user)
            .expect("inserted above")
            .requests
            .add(1);
        if current.is_none() || moving {
            if moving {
                self.unsubscribe(account);
            }
            self.add(user, server, account);
        }
        Ok(())
    }

    fn check_counts(
        &self,
        user: u64,
        server: u64,
        deployed: u32,
        current: Option<Subscription>,
        now: Timestamp,
    ) -> Result<(), SyncRefusal> {
        // A move frees its old place first.
        let freed = |same: bool| u32::from(same);
        let on_user_server = (self.per_user_server.get(&(user, server)).copied())
            .unwrap_or(0)
            .saturating_sub(freed(
                current.is_some_and(|s| s.user == user && s.server == server),
            ));
        let q = &self.quotas;
        if on_user_server >= q.per_user_per_server {
            return Err(SyncRefusal::PerUserPerServer {
                allowed: q.per_user_per_server,
                subscribed: on_user_server,
                retry_at: retry_after_count(now),
            });
        }
        let of_user = (self.users.get(&user).map_or(0, |u| u.subscribed))
            .saturating_sub(freed(current.is_some_and(|s| s.user == user)));
        let per_user = q.per_deployed_account.saturating_mul(deployed);
        if of_user >= per_user {
            return Err(SyncRefusal::PerUser {
                allowed: per_user,
                subscribed: of_user,
                retry_at: retry_after_count(now),
            });
        }
        let on_server = (self.per_server.get(&server).copied().unwrap_or(0))
            .saturating_sub(freed(current.is_some_and(|s| s.server == server)));
        if on_server >= q.per_server {
            return Err(SyncRefusal::PerServer {
                allowed: q.per_server,
                subscribed: on_server,
                retry_at: retry_after_count(now),
            });
        }
        Ok(())
    }

    fn add(&mut self, user: u64, server: u64, account: u64) {
        self.accounts.insert(
            account,
            Subscription {
                user,
                server,
                syncing: false,
            },
        );
        self.users.entry(user).or_default().subscribed += 1;
        *self.per_user_server.entry((user, server)).or_insert(0) += 1;
        *self.per_server.entry(server).or_insert(0) += 1;
    }

    /// Ends `account`'s subscription (and its synchronization, if one runs).
    pub fn unsubscribe(&mut self, account: u64) {
        let Some(s) = self.accounts.remove(&account) else {
            return;
        };
        if let Some(u) = self.users.get_mut(&s.user) {
            u.subscribed = u.subscribed.saturating_sub(1);
            u.syncing = u.syncing.saturating_sub(u32::from(s.syncing));
        }
        decrement(&mut self.per_user_server, (s.user, s.server));
        decrement(&mut self.per_server, s.server);
    }

    /// Starts a synchronization of a subscribed `account`; starting one that runs already is
    /// a no-op. `Ok(false)` when the account is not subscribed.
    pub fn start_sync(&mut self, account: u64, now: Timestamp) -> Result<bool, SyncRefusal> {
        let Some(s) = self.accounts.get(&account).copied() else {
            return Ok(false);
        };
        if s.syncing {
            return Ok(true);
        }
        let user = self.users.entry(s.user).or_default();
        let allowed = self.quotas.concurrent_syncs(user.subscribed);
        if user.syncing >= allowed {
            return Err(SyncRefusal::ConcurrentSyncs {
                allowed,
                running: user.syncing,
                retry_at: retry_after_count(now),
            });
        }
        user.syncing += 1;
        if let Some(a) = self.accounts.get_mut(&account) {
            a.syncing = true;
        }
        Ok(true)
    }

    /// Ends `account`'s synchronization.
    pub fn finish_sync(&mut self, account: u64) {
        if let Some(a) = self.accounts.get_mut(&account)
            && a.syncing
        {
            a.syncing = false;
            if let Some(u) = self.users.get_mut(&a.user) {
                u.syncing = u.syncing.saturating_sub(1);
            }
        }
    }

    /// Subscribed accounts of `user`.
    pub fn subscribed(&self, user: u64) -> u32 {
        self.users.get(&user).map_or(0, |u| u.subscribed)
    }

    /// Running synchronizations of `user`.
    pub fn syncing(&self, user: u64) -> u32 {
        self.users.get(&user).map_or(0, |u| u.syncing)
    }

    /// Subscriptions on front-end `server`, all users.
    pub fn on_server(&self, server: u64) -> u32 {
        self.per_server.get(&server).copied().unwrap_or(0)
    }

    /// Where `account` is subscribed: `(user, server)`.
    pub fn location(&self, account: u64) -> Option<(u64, u64)> {
        self.accounts.get(&account).map(|s| (s.user, s.server))
    }

    /// Drops per-user state with nothing subscribed and no request in the rate window.
    pub fn evict_idle(&mut self, now: Timestamp) {
        let bucket = self.span.bucket(now.0);
        self.users
            .retain(|_, u| u.subscribed > 0 || !u.requests.idle_at(bucket));
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) {
    if let Entry::Occupied(mut e) = map.entry(key) {
        *e.get_mut() = e.get().saturating_sub(1);
        if *e.get() == 0 {
            e.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    fn quotas() -> SyncQuotas {
        SyncQuotas {
            subscribe_per_minute_per_deployed: 10,
            per_user_per_server: 3,
            per_deployed_account: 2,
            per_server: 5,
            concurrent_sync_pct: 10,
        }
    }

    #[test]
    fn concurrent_synchronizations_are_a_tenth_rounded_up_at_least_one() {
        let q = quotas();
        assert_eq!(q.concurrent_syncs(0), 1);
        assert_eq!(q.concurrent_syncs(9), 1);
        assert_eq!(q.concurrent_syncs(10), 1);
        assert_eq!(q.concurrent_syncs(11), 2);
        assert_eq!(q.concurrent_syncs(300), 30);
    }

    #[test]
    fn each_count_limit_refuses_with_its_type_and_changes_nothing() {
        let mut s = Subscriptions::new(quotas());
        // User 1 with 2 deployed accounts may hold 4 subscriptions, 3 on one server.
        for a in 0..3 {
            s.subscribe(1, 7, a, 2, T0).expect("within limits");
        }
        let e = s.subscribe(1, 7, 3, 2, T0).unwrap_err();
        assert_eq!(e.kind(), "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER_PER_SERVER");
        assert!(!e.change_client_id());
        s.subscribe(1, 8, 3, 2, T0)
            .expect("another server has room");
        let e = s.subscribe(1, 9, 4, 2, T0).unwrap_err();
        assert_eq!(e.kind(), "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER");
        assert_eq!(s.subscribed(1), 4);
        // Server 8 holds 1 of user 1; users 2 (3) and 3 (1) fill it to its capacity of 5.
        for a in 10..13 {
            s.subscribe(2, 8, a, 100, T0).expect("room on server 8");
        }
        s.subscribe(3, 8, 13, 100, T0).expect("the fifth place");
        let e = s.subscribe(3, 8, 14, 100, T0).unwrap_err();
        assert_eq!(e.kind(), "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SERVER");
        assert!(e.change_client_id());
        assert_eq!(e.retry_at(), Timestamp(T0.0 + COUNT_RETRY_MS));
        assert_eq!(s.on_server(8), 5);
        // Re-subscribing where it is changes nothing but the request count.
        s.subscribe(3, 8, 13, 100, T0).expect("already there");
        assert_eq!(s.on_server(8), 5);
        s.unsubscribe(13);
        s.subscribe(3, 8, 14, 100, T0).expect("a place was freed");
        assert_eq!(s.location(14), Some((3, 8)));
    }

    #[test]
    fn the_subscribe_rate_is_per_deployed_account_and_retries_exactly() {
        let mut s = Subscriptions::new(SyncQuotas {
            per_user_per_server: 1_000,
            per_deployed_account: 1_000,
            per_server: 1_000,
            ..quotas()
        });
        for a in 0..10 {
            s.subscribe(1, 7, a, 1, T0).expect("10 per minute");
        }
        let e = s.subscribe(1, 7, 10, 1, T0).unwrap_err();
        // The 10 requests sit in the bucket of T0 (1 s wide): it leaves at 61 s after its start.
        let bucket_start = T0.0 - T0.0.rem_euclid(1_000);
        assert_eq!(
            e,
            SyncRefusal::SubscribeRate {
                allowed: 10,
                retry_at: Timestamp(bucket_start + 61_000),
            }
        );
        assert!(
            s.subscribe(1, 7, 10, 1, Timestamp(bucket_start + 60_999))
                .is_err()
        );
        s.subscribe(1, 7, 10, 1, Timestamp(bucket_start + 61_000))
            .expect("at the retry instant");
        // With 2 deployed accounts the rate doubles.
        let mut s2 = Subscriptions::new(quotas());
        for a in 0..20 {
            s2.subscribe(5, 7, a % 2, 2, T0).expect("20 per minute");
        }
        assert!(s2.subscribe(5, 7, 0, 2, T0).is_err());
    }

    #[test]
    fn synchronizations_wait_for_a_place() {
        let mut s = Subscriptions::new(SyncQuotas {
            per_user_per_server: 100,
            per_deployed_account: 100,
            per_server: 100,
            subscribe_per_minute_per_deployed: 100,
            ..quotas()
        });
        for a in 0..11 {
            s.subscribe(1, 7, a, 1, T0).unwrap();
        }
        assert_eq!(s.start_sync(0, T0), Ok(true));
        assert_eq!(s.start_sync(1, T0), Ok(true), "11 subscribed: 2 at once");
        let e = s.start_sync(2, T0).unwrap_err();
        assert_eq!(e.kind(), "LIMIT_CONCURRENT_SYNCHRONIZATIONS_PER_USER");
        assert_eq!(s.start_sync(1, T0), Ok(true), "already running");
        s.finish_sync(0);
        assert_eq!(s.start_sync(2, T0), Ok(true));
        s.unsubscribe(2);
        assert_eq!(s.syncing(1), 1);
        assert_eq!(s.start_sync(99, T0), Ok(false), "not subscribed");
    }
}
