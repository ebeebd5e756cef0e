//! The desk: one task that owns the simulated broker, and the only way to reach it.
//!
//! Handlers send [`Op`]s (changes) and read closures through a bounded channel; the task runs
//! them in arrival order. Every change is journaled: the task executes a batch of ops, appends
//! them to the store's journal in one transaction, and only then answers their callers — so
//! an acknowledged change is durable, and a crash loses only what nobody was told happened.
//!
//! At start the journal is replayed into a fresh broker built from the same seed and start
//! time. The broker is deterministic, and its feed is a function of time alone, so each op
//! re-applied at its recorded instant rebuilds the state exactly.
//!
//! Broker sessions (which provisioned account is connected, with master or investor access)
//! are derived state: the server re-connects deployed accounts at start.

use drawbridge_broker::broker::{Broker, BrokerError, BrokerEvent, Session};
use drawbridge_broker::sim::{DemoAccount, DemoRequest, SimBroker, SimConfig};
use drawbridge_broker::symbol::Currency;
use drawbridge_broker::wire as bw;
use drawbridge_model::wire as w;
use drawbridge_model::{Money, Price, SharedClock, Timestamp};
use drawbridge_store::{JournalEntry, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Jobs waiting for the desk; senders wait when it is full.
const QUEUE_JOBS_MAX: usize = 4_096;
/// Ops committed in one journal transaction at most.
const BATCH_OPS_MAX: usize = 512;
/// Journal entries read per query while replaying.
const REPLAY_CHUNK: u32 = 10_000;
/// How often the desk moves the broker to the clock's time when idle (real clock).
const IDLE_ADVANCE: Duration = Duration::from_millis(100);

/// A change to the simulated broker: what the journal records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// Only time passes (a virtual-clock advance).
    Advance,
    #[serde(rename_all = "camelCase")]
    OpenDemo {
        server: String,
        name: String,
        currency: String,
        leverage: u32,
        balance_cents: i64,
    },
    #[serde(rename_all = "camelCase")]
    Trade {
        server: u16,
        login: u64,
        investor: bool,
        request: Box<w::TradeRequest>,
    },
    #[serde(rename_all = "camelCase")]
    Balance {
        server: u16,
        login: u64,
        amount_cents: i64,
        comment: Option<String>,
        credit: bool,
    },
    #[serde(rename_all = "camelCase")]
    Tick {
        server: u16,
        symbol: String,
        bid: f64,
        ask: f64,
    },
    #[serde(rename_all = "camelCase")]
    Feed { server: u16, paused: bool },
}

/// One journal record: the op and the broker time it applied at.
#[derive(Serialize, Deserialize)]
struct Record {
    at: i64,
    #[serde(flatten)]
    op: Op,
}

/// What an op did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Demo(DemoAccount),
    Trade(w::TradeResponse),
    /// The id of the balance or credit deal booked.
    Deal(u64),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// Fields of a trade request that cannot be executed as given.
    #[error("invalid trade request")]
    Request(Vec<bw::FieldProblem>),
    #[error("the desk has stopped: {0}")]
    Stopped(String),
}

type ReadJob = Box<dyn FnOnce(&SimBroker) + Send>;

enum Job {
    Apply {
        op: Op,
        reply: oneshot::Sender<Result<Outcome, DeskError>>,
    },
    Read(ReadJob),
}

/// Sends work to the desk; cheap to clone.
#[derive(Clone, Debug)]
pub struct Desk {
    tx: mpsc::Sender<Job>,
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Apply { op, reply })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Runs `f` on the broker's current state.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SimBroker) -> R + Send + 'static,
    ) -> Result<R, DeskError> {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |b| {
            let _ = tx.send(f(b));
        });
        self.tx.send(Job::Read(job)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    /// Opens a session: checks the password against the broker.
    pub async fn connect(
        &self,
        server: String,
        login: u64,
        password: String,
    ) -> Result<Session, DeskError> {
        self.read(move |b| b.connect(&server, login, &password))
            .await?
            .map_err(DeskError::Broker)
    }
}

fn stopped() -> DeskError {
    DeskError::Stopped("the broker task is gone".into())
}

/// The task's state.
struct Room {
    broker: SimBroker,
    store: Arc<dyn Store>,
    clock: SharedClock,
    seq: u64,
    events: Vec<BrokerEvent>,
    failed: Option<String>,
}

/// Builds the broker from `cfg`, replays the journal, and starts the desk task.
pub async fn start(
    cfg: SimConfig,
    store: Arc<dyn Store>,
    clock: SharedClock,
) -> Result<(Desk, tokio::task::JoinHandle<()>), StoreError> {
    let mut room = Room {
        broker: SimBroker::new(cfg),
        store,
        clock,
        seq: 0,
        events: Vec::new(),
        failed: None,
    };
    let replayed = room.replay().await?;
    tracing::info!(ops = replayed, "journal replayed");
    let (tx, rx) = mpsc::channel(QUEUE_JOBS_MAX);
    let task = tokio::spawn(room.run(rx));
    Ok((Desk { tx }, task))
}

impl Room {
    async fn replay(&mut self) -> Result<u64, StoreError> {
        let mut n = 0;
        loop {
            let chunk = self.store.journal(self.seq, REPLAY_CHUNK).await?;
            let Some(last) = chunk.last() else {
                return Ok(n);
            };
            self.seq = last.seq;
            for entry in &chunk {
                let record: Record = serde_json::from_str(&entry.input).map_err(|e| {
                    StoreError::Backend(format!("journal entry {} is unreadable: {e}", entry.seq))
                })?;
                let at = Timestamp::from_millis(record.at);
                self.broker.advance(at, &mut self.events);
                // The outcome was answered before the crash; replay only rebuilds state.
                let _ = execute(&mut self.broker, &record.op, &mut self.events);
                self.events.clear();
                n += 1;
            }
        }
    }

    /// The broker time now: never before what the journal already holds.
    fn now(&self) -> Timestamp {
        self.clock.now().max(self.broker.now())
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut idle = tokio::time::interval(IDLE_ADVANCE);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                job = rx.recv() => {
                    let Some(job) = job else { return };
                    let mut batch = vec![job];
                    while batch.len() < BATCH_OPS_MAX {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    self.process(batch).await;
                }
                _ = idle.tick() => {
                    let now = self.now();
                    self.broker.advance(now, &mut self.events);
                    self.events.clear();
                }
            }
        }
    }

    async fn process(&mut self, batch: Vec<Job>) {
        let now = self.now();
        self.broker.advance(now, &mut self.events);
        let mut entries = Vec::new();
        let mut replies = Vec::new();
        for job in batch {
            match job {
                Job::Read(f) => f(&self.broker),
                Job::Apply { op, reply } => {
                    if let Some(why) = &self.failed {
                        let _ = reply.send(Err(DeskError::Stopped(why.clone())));
                        continue;
                    }
                    let outcome = execute(&mut self.broker, &op, &mut self.events);
                    self.seq += 1;
                    let record = Record {
                        at: now.millis(),
                        op,
                    };
                    entries.push(JournalEntry {
                        seq: self.seq,
                        input: serde_json::to_string(&record).unwrap_or_default(),
                    });
                    replies.push((reply, outcome));
                }
            }
        }
        self.events.clear();
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self.store.append_journal(&entries).await {
            // Memory is now ahead of the journal: stop changing anything, answer nobody Ok.
            tracing::error!(error = %e, "journal append failed; the desk refuses changes");
            let why = format!("the journal could not be written: {e}");
            for (reply, _) in replies {
                let _ = reply.send(Err(DeskError::Stopped(why.clone())));
            }
            self.failed = Some(why);
            return;
        }
        for (reply, outcome) in replies {
            let _ = reply.send(outcome);
        }
    }
}

fn money(cents: i64) -> Money {
    Money(cents)
}

fn execute(
    b: &mut SimBroker,
    op: &Op,
    events: &mut Vec<BrokerEvent>,
) -> Result<Outcome, DeskError> {
    match op {
        Op::Advance => Ok(Outcome::Done),
        Op::OpenDemo {
            server,
            name,
            currency,
            leverage,
            balance_cents,
        } => {
            let currency = Currency::new(currency)
                .ok_or_else(|| BrokerError::Invalid(format!("unknown currency {currency}")))?;
            let req = DemoRequest {
                name: name.clone(),
                currency,
                leverage: *leverage,
                balance: money(*balance_cents),
            };
            Ok(Outcome::Demo(b.open_demo_account(server, req, events)?))
        }
        Op::Trade {
            server,
            login,
            investor,
            request,
        } => {
            let session = Session {
                account: drawbridge_broker::broker::AccountRef {
                    server: *server,
                    login: *login,
                },
                access: if *investor {
                    drawbridge_broker::account::Access::Investor
                } else {
                    drawbridge_broker::account::Access::Master
                },
            };
            if usize::from(*server) >= b.servers().len() {
                return Err(BrokerError::ServerNotFound(server.to_string()).into());
            }
            let cmd = bw::trade_command(&b.server(*server).engine, request)
                .map_err(DeskError::Request)?;
            let result = match b.trade(&session, cmd, events) {
                Ok(outcome) => Ok(outcome),
                Err(BrokerError::Trade(code)) => Err(code),
                Err(e) => return Err(e.into()),
            };
            Ok(Outcome::Trade(bw::trade_response(result)))
        }
        Op::Balance {
            server,
            login,
            amount_cents,
            comment,
            credit,
        } => {
            let r = drawbridge_broker::broker::AccountRef {
                server: *server,
                login: *login,
            };
            let amount = money(*amount_cents);
            let deal = if *credit {
                b.credit(r, amount, comment.as_deref(), events)?
            } else {
                b.deposit(r, amount, comment.as_deref(), events)?
            };
            Ok(Outcome::Deal(deal))
        }
        Op::Tick {
            server,
            symbol,
            bid,
            ask,
        } => {
            let price = |v: f64| {
                Price::from_f64(v).ok_or_else(|| BrokerError::Invalid(format!("bad price {v}")))
            };
            b.push_tick(*server, symbol, price(*bid)?, price(*ask)?, events)?;
            Ok(Outcome::Done)
        }
        Op::Feed { server, paused } => {
            if usize::from(*server) >= b.servers().len() {
                return Err(BrokerError::ServerNotFound(server.to_string()).into());
            }
            if *paused {
                b.pause_feed(*server);
            } else {
                b.resume_feed(*server);
            }
            Ok(Outcome::Done)
        }
    }
}

/// Sessions of connected accounts, by provisioned account id.
pub type Sessions = HashMap<String, Session>;
