//! What every handler shares: configuration, store, tokens, the desk, the clock, the vault,
//! and the broker sessions of deployed accounts.

use crate::auth::Tokens;
use crate::config::Config;
use crate::desk::{Desk, Sessions};
use crate::metrics::Metrics;
use crate::vault::Vault;
use drawbridge_broker::broker::Session;
use drawbridge_model::{SharedClock, Timestamp, VirtualClock};
use drawbridge_store::Store;
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
    sessions: RwLock<Sessions>,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        tokens: Tokens,
        desk: Desk,
        clock: SharedClock,
        virtual_clock: Option<VirtualClock>,
        vault: Vault,
    ) -> Self {
        Self {
            config,
            store,
            tokens,
            desk,
            clock,
            virtual_clock,
            vault,
            metrics: Metrics::default(),
            sessions: RwLock::new(Sessions::new()),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn session(&self, account_id: &str) -> Option<Session> {
        self.sessions.read().ok()?.get(account_id).copied()
    }

    /// How many accounts have a broker session.
    pub fn session_count(&self) -> usize {
        self.sessions.read().map_or(0, |s| s.len())
    }

    pub fn set_session(&self, account_id: &str, session: Option<Session>) {
        if let Ok(mut s) = self.sessions.write() {
            match session {
                Some(session) => s.insert(account_id.to_owned(), session),
                None => s.remove(account_id),
            };
        }
    }
}
