//! What every handler shares: configuration, store, tokens, the desk, the clock, the vault,
//! and the broker sessions of deployed accounts.

use crate::auth::Tokens;
use crate::config::Config;
use crate::directory::Directory;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::user_messages::UserMessages;
use crate::vault::Vault;
use drawbridge_broker::broker::Session;
use drawbridge_desk::Desk;
use drawbridge_model::{AccountId, SharedClock, Timestamp, UserId, VirtualClock};
use drawbridge_risk_service::Risk;
use drawbridge_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub tokens: Tokens,
    pub desk: Desk,
    pub clock: SharedClock,
    /// Set under `--clock virtual`: the control API moves it.
    pub virtual_clock: Option<VirtualClock>,
    pub vault: Vault,
    pub metrics: Metrics,
    /// Account rows by id, read through from the store.
    pub directory: Directory,
    /// The limit catalogue, credit ledgers and gates.
    pub limits: Limits,
    /// Notices queued for users.
    pub user_messages: UserMessages,
    /// Account creations in flight, for the account limit.
    pub creating: crate::directory::Creating,
    /// The risk engine: trackers, tracker events, halts.
    pub risk: Risk,
    sessions: RwLock<Sessions>,
    /// Announces each account whose broker session was dropped: its streaming instances get
    /// `disconnected`.
    dropped: tokio::sync::broadcast::Sender<Arc<str>>,
}

pub type Shared = Arc<AppState>;

/// The parts of the shared state that are built at start, outside it.
#[derive(Debug)]
pub struct Parts {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub tokens: Tokens,
    pub desk: Desk,
    pub clock: SharedClock,
    pub virtual_clock: Option<VirtualClock>,
    pub vault: Vault,
    pub risk: Risk,
}

impl AppState {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            config,
            store,
            tokens,
            desk,
            clock,
            virtual_clock,
            vault,
            risk,
        } = parts;
        Self {
            limits: Limits::new(config.limits.clone()),
            config,
            store,
            tokens,
            desk,
            clock,
            virtual_clock,
            vault,
            metrics: Metrics::default(),
            directory: Directory::default(),
            user_messages: UserMessages::default(),
            creating: Default::default(),
            risk,
            sessions: RwLock::new(Sessions::default()),
            dropped: tokio::sync::broadcast::channel(1_024).0,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The broker session of the account a request names `account_id`, if it has one.
    pub fn session(&self, account_id: &str) -> Option<Session> {
        self.sessions
            .read()
            .ok()?
            .by_account
            .get(account_id)
            .map(|(_, s)| *s)
    }

    /// How many accounts have a broker session.
    pub fn session_count(&self) -> usize {
        self.sessions.read().map_or(0, |s| s.by_account.len())
    }

    /// How many of `user_id`'s accounts have a broker session (are deployed and connected).
    pub fn user_session_count(&self, user_id: &str) -> u32 {
        self.sessions
            .read()
            .map_or(0, |s| s.per_user.get(user_id).copied().unwrap_or(0))
    }

    /// Records the broker session of `user_id`'s account.
    pub fn connect_session(&self, account_id: &AccountId, user_id: &UserId, session: Session) {
        if let Ok(mut s) = self.sessions.write() {
            s.remove(account_id);
            *s.per_user.entry(user_id.clone()).or_insert(0) += 1;
            s.by_account
                .insert(account_id.clone(), (user_id.clone(), session));
        }
    }

    /// Forgets an account's broker session (undeployed, deleted).
    pub fn drop_session(&self, account_id: &AccountId) {
        if let Ok(mut s) = self.sessions.write() {
            s.remove(account_id);
        }
        // No receiver (no streaming connection) is no error.
        let _ = self.dropped.send(Arc::from(account_id.as_str()));
    }

    /// The accounts whose broker sessions are dropped from now on (lagging receivers miss
    /// some: they check every subscribed account against [`Self::session`]).
    pub fn dropped_sessions(&self) -> tokio::sync::broadcast::Receiver<Arc<str>> {
        self.dropped.subscribe()
    }
}

/// Broker sessions of connected accounts, by provisioned account id, and their count per user
/// (the multiplier of the user's CPU-credit quotas).
#[derive(Debug, Default)]
struct Sessions {
    by_account: HashMap<AccountId, (UserId, Session)>,
    per_user: HashMap<UserId, u32>,
}

impl Sessions {
    fn remove(&mut self, account_id: &AccountId) {
        let Some((user, _)) = self.by_account.remove(account_id) else {
            return;
        };
        if let Some(n) = self.per_user.get_mut(&user) {
            *n -= 1;
            if *n == 0 {
                self.per_user.remove(&user);
            }
        }
    }
}

/// Locks `m`; a panic elsewhere while it was held does not make its data unusable here
/// (every structure behind the server's mutexes is updated in single steps).
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
