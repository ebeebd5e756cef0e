//! The limits the server applies at its edges, over the ledgers, gates and catalogue of
//! `drawbridge-limits`: the REST API's CPU-credit charge and the streaming API's gates.
//!
//! # Layout
//! - [`Limits`] (here): one server's catalogue, credit ledgers and gates, shared by both APIs.
//!   The server's state holds it, so this module imports nothing of the server; the
//!   functions that apply it to requests and sockets are in the two below.
//! - [`charge`](mod@charge): what a route costs ([`Cost`] on a [`CreditLedger`], plus
//!   [`ResultSize`] items after it ran) and the middleware that charges it before and after
//!   its handler, or answers the refusal (429 `TooManyRequestsError`, or 403 when waiting
//!   cannot help).
//! - [`streaming`]: the streaming API's gates — account subscriptions and synchronizations,
//!   the streaming credits of sent market data, new sessions per address.
//!
//! What a caller may still spend (`…/credits`, `/users/current/api-limits`) is answered by
//! [`crate::rest::limits`].

pub mod charge;
pub mod streaming;

pub use charge::{Cost, CostTable, CreditLedger, Listed, ResultSize, charge};

use drawbridge_limits::catalog::id;
use drawbridge_limits::connections::{ConnectionQuotas, Connections};
use drawbridge_limits::ledger::{Keys, Scope, WindowUsage, key_of};
use drawbridge_limits::streaming::{StreamingBudget, StreamingQuotas};
use drawbridge_limits::sync::{Subscriptions, SyncQuotas};
use drawbridge_limits::{Busy, Catalogue, Gate, Ledger, MemoryLedger, Permit};
use drawbridge_model::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The limits of one server: the catalogue, the ledgers and the gates.
#[derive(Debug)]
pub struct Limits {
    pub catalogue: Catalogue,
    /// Account subscriptions of streaming connections and their synchronizations.
    subscriptions: Mutex<SubscriptionTable>,
    /// The streaming-credit windows of accounts that received market data.
    pub(crate) streaming_quotas: StreamingQuotas,
    /// By account key ([`streaming::streaming_key`]), in [`STREAMING_SHARDS`] shards: every
    /// packet of market data is charged here, from each of the hub's tasks at once.
    streaming: Box<[Mutex<StreamingShard>]>,
    /// The [`CreditLedger::Cpu`] ledger.
    cpu: Box<dyn Ledger>,
    /// The [`CreditLedger::History`] ledger.
    history: Box<dyn Ledger>,
    history_in_processing: Arc<Gate>,
    api_limits_in_processing: Arc<Gate>,
    /// Streaming sessions opened per address, on wall time (CQG limit 1).
    sessions: Mutex<Connections>,
}

impl Limits {
    pub fn new(catalogue: Catalogue) -> Self {
        let gate = |limit| Gate::new(u32::try_from(catalogue.value(limit)).unwrap_or(u32::MAX));
        Self {
            cpu: Box::new(MemoryLedger::new(&catalogue.cpu_quotas())),
            history: Box::new(MemoryLedger::new(&catalogue.history_quotas())),
            history_in_processing: gate(id::HISTORY_CONCURRENT_PER_ACCOUNT),
            api_limits_in_processing: gate(id::API_LIMIT_REQUESTS_IN_PROCESSING),
            subscriptions: Mutex::new(SubscriptionTable {
                table: Subscriptions::new(SyncQuotas::from_catalogue(&catalogue)),
                holders: HashMap::new(),
            }),
            streaming_quotas: StreamingQuotas::from_catalogue(&catalogue),
            streaming: (0..STREAMING_SHARDS).map(|_| Default::default()).collect(),
            sessions: Mutex::new(Connections::new(ConnectionQuotas {
                // Only the rate: open connections per address are the listener's.
                open_max: u32::MAX,
                ..ConnectionQuotas::from_catalogue(&catalogue)
            })),
            catalogue,
        }
    }

    /// The virtual front-end server a `client-id` selects.
    fn server_of(&self, client_id: &str) -> u64 {
        key_of(&[client_id]) % self.catalogue.value(id::FRONT_END_SERVERS).max(1)
    }

    /// The CPU-credit windows of one scope of `keys`, as of `now`.
    pub(crate) fn cpu_usage(&self, keys: &Keys, scope: Scope, now: Timestamp) -> Vec<WindowUsage> {
        self.cpu.usage(keys, scope, now)
    }

    /// Enters a request for the limit catalogue by the user whose key is `user`, if fewer
    /// than `api_limit_requests_in_processing` of its requests are in processing.
    pub(crate) fn enter_api_limits(&self, user: u64) -> Result<Permit, Busy> {
        self.api_limits_in_processing.enter(user)
    }
}

/// The subscriptions and, per subscribed account, how many sockets hold it: one lock, so a
/// subscribe and the last socket's unsubscribe cannot interleave.
#[derive(Debug)]
struct SubscriptionTable {
    table: Subscriptions,
    holders: HashMap<u64, u32>,
}

/// Shards of the streaming budgets.
const STREAMING_SHARDS: usize = 16;

/// One shard of the streaming budgets.
type StreamingShard = HashMap<u64, StreamingBudget, foldhash::fast::RandomState>;
