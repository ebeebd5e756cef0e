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

use drawbridge_broker::broker::{AccountRef, BrokerError, BrokerEvent, Session};
use drawbridge_broker::engine::Event;
use drawbridge_broker::sim::{DemoAccount, DemoRequest, SimBroker, SimConfig};
use drawbridge_broker::symbol::Currency;
use drawbridge_broker::wire as bw;
use drawbridge_model::wire as w;
use drawbridge_model::{Money, Price, SharedClock, Timestamp};
use drawbridge_store::{JournalEntry, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

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
    /// The broker failed on this request; it changed nothing durable.
    #[error("{0}")]
    Internal(String),
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
    changes: broadcast::Sender<Changes>,
    moves: broadcast::Sender<Changes>,
}

/// Accounts whose positions, orders or history changed, announced once durable.
pub type Changes = Arc<[AccountRef]>;

/// Change announcements a slow listener may fall behind by before it is told it lagged.
const CHANGES_QUEUE: usize = 1_024;

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

    /// Announcements of accounts whose positions, orders or history changed (trades,
    /// fills, SL/TP, stop-outs, balance operations), sent once the change is durable.
    pub fn changes(&self) -> broadcast::Receiver<Changes> {
        self.changes.subscribe()
    }

    /// Announcements of accounts whose balance, equity or history moved — everything
    /// [`Self::changes`] announces plus revaluations by prices — once durable: what the
    /// risk engine follows.
    pub fn moves(&self) -> broadcast::Receiver<Changes> {
        self.moves.subscribe()
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
    cfg: SimConfig,
    broker: SimBroker,
    store: Arc<dyn Store>,
    clock: SharedClock,
    seq: u64,
    events: Vec<BrokerEvent>,
    changes: broadcast::Sender<Changes>,
    moves: broadcast::Sender<Changes>,
    /// Set when the journal can no longer be trusted or rebuilt: every job is refused.
    failed: Option<String>,
}

/// Builds the broker from `cfg`, replays the journal, and starts the desk task.
pub async fn start(
    cfg: SimConfig,
    store: Arc<dyn Store>,
    clock: SharedClock,
) -> Result<(Desk, tokio::task::JoinHandle<()>), StoreError> {
    let mut room = Room {
        cfg,
        broker: SimBroker::new(cfg),
        store,
        clock,
        seq: 0,
        events: Vec::new(),
        changes: broadcast::channel(CHANGES_QUEUE).0,
        moves: broadcast::channel(CHANGES_QUEUE).0,
        failed: None,
    };
    let replayed = room.replay().await?;
    tracing::info!(ops = replayed, "journal replayed");
    let (tx, rx) = mpsc::channel(QUEUE_JOBS_MAX);
    let changes = room.changes.clone();
    let moves = room.moves.clone();
    let task = tokio::spawn(room.run(rx));
    Ok((Desk { tx, changes, moves }, task))
}

/// A change executed but not yet durable, with the caller waiting for it.
struct Pending {
    reply: oneshot::Sender<Result<Outcome, DeskError>>,
    outcome: Result<Outcome, DeskError>,
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

    /// Throws the in-memory broker away and rebuilds it from the journal: after a panic
    /// inside the broker, or a failed append, memory no longer matches what is durable.
    /// Time is then moved to `at` again (which changes nothing a split would: the broker is
    /// deterministic in time), so the rest of a batch applies at its recorded instant.
    async fn rebuild(&mut self, why: &str, at: Timestamp) {
        tracing::error!(reason = why, "rebuilding the broker from the journal");
        // The batch's changes so far go with the old broker's events: they are announced once
        // the new one holds what of them is durable (readers read those accounts again).
        let (changed, moved) = (self.changed_accounts(), self.moved_accounts());
        self.broker = SimBroker::new(self.cfg);
        self.seq = 0;
        self.events.clear();
        if let Err(e) = self.replay().await {
            tracing::error!(error = %e, "the journal cannot be replayed; the desk stops");
            self.failed = Some(format!("{why}; the journal cannot be replayed: {e}"));
            return;
        }
        tracing::info!(seq = self.seq, "broker rebuilt from the journal");
        self.announce(changed, moved);
        if !self.advance(at) {
            self.failed = Some(format!("{why}; the broker fails again when time passes"));
        }
    }

    /// Moves the broker to `at`; false when it panicked doing so.
    fn advance(&mut self, at: Timestamp) -> bool {
        let ok = catch_unwind(AssertUnwindSafe(|| {
            self.broker.advance(at, &mut self.events);
        }))
        .is_ok();
        // Time passing is not journaled (the broker is deterministic in time): its changes
        // are as durable as the ops before them.
        let changed = self.changed_accounts();
        let moved = self.moved_accounts();
        self.events.clear();
        self.announce(changed, moved);
        ok
    }

    /// The accounts the events since the last clear changed, beyond revaluation.
    fn changed_accounts(&self) -> Vec<AccountRef> {
        let mut changed: Vec<AccountRef> = Vec::new();
        for e in &self.events {
            let account = match e.event {
                Event::PositionUpdated { account, .. }
                | Event::PositionClosed { account, .. }
                | Event::OrderUpdated { account, .. }
                | Event::OrderDone { account, .. }
                | Event::DealAdded { account, .. }
                | Event::StopOut { account, .. } => account,
                Event::Quote { .. } | Event::AccountChanged { .. } | Event::MarginCall { .. } => {
                    continue;
                }
            };
            let engine = &self.broker.server(e.server).engine;
            if let Some(acc) = engine.accounts().get(account.index()) {
                let r = AccountRef {
                    server: e.server,
                    login: acc.login,
                };
                if !changed.contains(&r) {
                    changed.push(r);
                }
            }
        }
        changed
    }

    /// Every account the events since the last clear touched, revaluations included.
    fn moved_accounts(&self) -> Vec<AccountRef> {
        let mut moved: Vec<AccountRef> = Vec::new();
        for e in &self.events {
            let account = match e.event {
                Event::AccountChanged { account }
                | Event::PositionUpdated { account, .. }
                | Event::PositionClosed { account, .. }
                | Event::OrderUpdated { account, .. }
                | Event::OrderDone { account, .. }
                | Event::DealAdded { account, .. }
                | Event::StopOut { account, .. }
                | Event::MarginCall { account } => account,
                Event::Quote { .. } => continue,
            };
            let engine = &self.broker.server(e.server).engine;
            if let Some(acc) = engine.accounts().get(account.index()) {
                moved.push(AccountRef {
                    server: e.server,
                    login: acc.login,
                });
            }
        }
        moved.sort_unstable_by_key(|r| (r.server, r.login));
        moved.dedup();
        moved
    }

    /// Tells the listeners (nobody listening is fine).
    fn announce(&self, changed: Vec<AccountRef>, moved: Vec<AccountRef>) {
        if !changed.is_empty() {
            let _ = self.changes.send(changed.into());
        }
        if !moved.is_empty() {
            let _ = self.moves.send(moved.into());
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
                    if self.failed.is_none() {
                        let now = self.now();
                        if !self.advance(now) {
                            let before = self.broker.now();
                            self.rebuild("the broker panicked while time passed", before).await;
                        }
                    }
                }
            }
        }
    }

    /// Executes a batch: changes first (each journaled), one append for all of them, then
    /// the answers, then the reads — so a reader never sees a change that is not durable.
    async fn process(&mut self, batch: Vec<Job>) {
        if let Some(why) = &self.failed {
            for job in batch {
                if let Job::Apply { reply, .. } = job {
                    let _ = reply.send(Err(DeskError::Stopped(why.clone())));
                }
                // A dropped read job answers its caller with `Stopped`.
            }
            return;
        }
        let now = self.now();
        if !self.advance(now) {
            let why = "the broker panicked while time passed";
            self.failed = Some(why.into());
            tracing::error!("{why}; the desk stops");
            return;
        }
        let mut entries = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut reads = Vec::new();
        for job in batch {
            let (op, reply) = match job {
                Job::Read(f) => {
                    reads.push(f);
                    continue;
                }
                Job::Apply { op, reply } => (op, reply),
            };
            let run = catch_unwind(AssertUnwindSafe(|| {
                execute(&mut self.broker, &op, &mut self.events)
            }));
            let Ok(outcome) = run else {
                // The op is never journaled, so a rebuild from what is durable is sound:
                // first make the ops before it durable, then replay everything.
                tracing::error!(?op, "the broker panicked on an op; it is refused");
                let _ = reply.send(Err(DeskError::Internal(
                    "the broker failed on this request".into(),
                )));
                self.commit(&mut entries, &mut pending).await;
                self.rebuild("the broker panicked", now).await;
                if self.failed.is_some() {
                    break;
                }
                continue;
            };
            // A request refused before it reached the broker changed nothing: no record.
            if matches!(outcome, Err(DeskError::Request(_))) {
                let _ = reply.send(outcome);
                continue;
            }
            let record = Record {
                at: now.millis(),
                op,
            };
            match serde_json::to_string(&record) {
                Ok(input) => {
                    self.seq += 1;
                    entries.push(JournalEntry {
                        seq: self.seq,
                        input,
                    });
                    pending.push(Pending { reply, outcome });
                }
                Err(e) => {
                    // Cannot happen for these types; if it does, memory is ahead of the journal.
                    let _ = reply.send(Err(DeskError::Internal(format!(
                        "the change could not be recorded: {e}"
                    ))));
                    self.commit(&mut entries, &mut pending).await;
                    self.rebuild("an op could not be serialized", now).await;
                    if self.failed.is_some() {
                        break;
                    }
                }
            }
        }
        let changed = self.changed_accounts();
        let moved = self.moved_accounts();
        self.events.clear();
        self.commit(&mut entries, &mut pending).await;
        if self.failed.is_some() {
            return; // dropping the reads answers them with `Stopped`
        }
        self.announce(changed, moved);
        for f in reads {
            if catch_unwind(AssertUnwindSafe(|| f(&self.broker))).is_err() {
                // A read changes nothing; its caller sees `Stopped` (the reply was dropped).
                tracing::error!("a read of the broker panicked");
            }
        }
    }

    /// Appends `entries` in one transaction, then answers their callers. On failure nobody
    /// is told Ok, and the broker is rebuilt from what the journal does hold.
    async fn commit(&mut self, entries: &mut Vec<JournalEntry>, pending: &mut Vec<Pending>) {
        if entries.is_empty() {
            return;
        }
        let result = self.store.append_journal(entries).await;
        entries.clear();
        match result {
            Ok(()) => {
                for p in pending.drain(..) {
                    let _ = p.reply.send(p.outcome);
                }
            }
            Err(e) => {
                let why = format!("the journal could not be written: {e}");
                for p in pending.drain(..) {
                    let _ = p.reply.send(Err(DeskError::Stopped(why.clone())));
                }
                let at = self.broker.now();
                self.rebuild(&why, at).await;
            }
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
            if usize::from(*server) >= b.server_count() {
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
            if usize::from(*server) >= b.server_count() {
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
