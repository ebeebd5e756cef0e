//! The desk: one task that owns the simulated broker, and the only way to reach it.
//!
//! Its contract is one sentence: [`Desk::apply`] applies a change and answers once it is
//! durable. Handlers send [`Op`]s (changes) and read closures through a bounded channel; the
//! task runs them in arrival order. It executes a batch of ops, appends them to the store's
//! journal in one transaction, and only then answers their callers — so an acknowledged
//! change is durable, and a crash loses only what nobody was told happened.
//!
//! At start the journal is replayed into a fresh broker built from the same seed and start
//! time. The broker is deterministic, and its feed is a function of time alone, so each op
//! re-applied at its recorded instant rebuilds the state exactly.
//!
//! Broker sessions (which provisioned account is connected, with master or investor access)
//! are not the desk's: the server derives them and re-connects deployed accounts at start.
//!
//! # Layout
//! - [`Desk`] (here): the handle every caller shares — apply a change, read the broker, and
//!   follow the two announcement streams ([`Desk::trading_changes`],
//!   [`Desk::equity_changes`]).
//! - [`op`]: [`Op`], the changes the journal records, and how each executes on the broker.
//! - `task`: the task — batches, the journal append before the answers, replay at start, a
//!   rebuild from the journal after a panic or a failed append.

pub mod op;
mod task;

pub use op::{Op, Outcome};
pub use task::start;

use drawbridge_broker::broker::{AccountRef, BrokerError, Session};
use drawbridge_broker::metaapi as bw;
use drawbridge_broker::sim::SimBroker;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Why the desk did not apply a change or run a read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// Fields of a trade request that cannot be executed as given.
    #[error("invalid trade request")]
    Request(Vec<bw::FieldProblem>),
    #[error("the desk has stopped: {0}")]
    Stopped(String),
    /// The broker failed on this request; it changed nothing durable.
    #[error("{0}")]
    Internal(String),
}

/// The accounts one durable step changed, each named once.
pub type ChangedAccounts = Arc<[AccountRef]>;

/// Sends work to the desk; cheap to clone.
#[derive(Clone, Debug)]
pub struct Desk {
    jobs: mpsc::Sender<Job>,
    trading: broadcast::Sender<ChangedAccounts>,
    equity: broadcast::Sender<ChangedAccounts>,
}

type ReadJob = Box<dyn FnOnce(&SimBroker) + Send>;

/// What the task is asked to do.
enum Job {
    Apply {
        op: Op,
        reply: oneshot::Sender<Result<Outcome, DeskError>>,
    },
    Read(ReadJob),
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Apply { op, .. } => write!(f, "Apply({op:?})"),
            Self::Read(_) => f.write_str("Read"),
        }
    }
}

impl Desk {
    /// Applies a change; answers once it is durable.
    pub async fn apply(&self, op: Op) -> Result<Outcome, DeskError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Apply { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `f` on the broker's current state, which holds every acknowledged change.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SimBroker) -> R + Send + 'static,
    ) -> Result<R, DeskError> {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |broker| {
            let _ = reply.send(f(broker));
        });
        self.jobs
            .send(Job::Read(job))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Announcements of accounts whose positions, orders or history changed (trades,
    /// fills, SL/TP, stop-outs, balance operations), sent once the change is durable: what
    /// the streaming API turns into `update` packets.
    pub fn trading_changes(&self) -> broadcast::Receiver<ChangedAccounts> {
        self.trading.subscribe()
    }

    /// Announcements of accounts whose balance, equity or history moved — everything
    /// [`Self::trading_changes`] announces plus revaluations by prices — once durable: what
    /// the risk engine and the streaming hub's equity figures follow.
    pub fn equity_changes(&self) -> broadcast::Receiver<ChangedAccounts> {
        self.equity.subscribe()
    }

    /// Opens a session: checks the password against the broker.
    pub async fn connect(
        &self,
        server: String,
        login: u64,
        password: String,
    ) -> Result<Session, DeskError> {
        self.read(move |broker| broker.connect(&server, login, &password))
            .await?
            .map_err(DeskError::Broker)
    }
}

fn stopped() -> DeskError {
    DeskError::Stopped("the broker task is gone".into())
}
