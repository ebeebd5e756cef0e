//! The desk's task: batches of jobs, the journal before the answers, replay and rebuild.

use crate::op::{Record, execute};
use crate::{ChangedAccounts, Desk, DeskError, Job, Outcome};
use drawbridge_broker::broker::{AccountRef, BrokerEvent};
use drawbridge_broker::engine::Event;
use drawbridge_broker::sim::{SimBroker, SimConfig};
use drawbridge_model::{SharedClock, Timestamp};
use drawbridge_store::{JournalEntry, Store, StoreError};
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
/// Change announcements a slow listener may fall behind by before it is told it lagged.
const ANNOUNCEMENTS_QUEUE: usize = 1_024;

/// What the desk's task owns.
struct DeskTask {
    cfg: SimConfig,
    broker: SimBroker,
    store: Arc<dyn Store>,
    clock: SharedClock,
    seq: u64,
    events: Vec<BrokerEvent>,
    trading: broadcast::Sender<ChangedAccounts>,
    equity: broadcast::Sender<ChangedAccounts>,
    /// Set when the journal can no longer be trusted or rebuilt: every job is refused.
    failed: Option<String>,
}

/// Builds the broker from `cfg`, replays the journal, and starts the desk task.
pub async fn start(
    cfg: SimConfig,
    store: Arc<dyn Store>,
    clock: SharedClock,
) -> Result<(Desk, tokio::task::JoinHandle<()>), StoreError> {
    let mut task = DeskTask {
        cfg,
        broker: SimBroker::new(cfg),
        store,
        clock,
        seq: 0,
        events: Vec::new(),
        trading: broadcast::channel(ANNOUNCEMENTS_QUEUE).0,
        equity: broadcast::channel(ANNOUNCEMENTS_QUEUE).0,
        failed: None,
    };
    let replayed = task.replay().await?;
    tracing::info!(ops = replayed, "journal replayed");
    let (jobs, queue) = mpsc::channel(QUEUE_JOBS_MAX);
    let desk = Desk {
        jobs,
        trading: task.trading.clone(),
        equity: task.equity.clone(),
    };
    Ok((desk, tokio::spawn(task.run(queue))))
}

/// A change executed but not yet durable, with the caller waiting for it.
struct Pending {
    reply: oneshot::Sender<Result<Outcome, DeskError>>,
    outcome: Result<Outcome, DeskError>,
}

impl DeskTask {
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
        let (trading, equity) = (self.trading_changed(), self.equity_changed());
        self.broker = SimBroker::new(self.cfg);
        self.seq = 0;
        self.events.clear();
        if let Err(e) = self.replay().await {
            tracing::error!(error = %e, "the journal cannot be replayed; the desk stops");
            self.failed = Some(format!("{why}; the journal cannot be replayed: {e}"));
            return;
        }
        tracing::info!(seq = self.seq, "broker rebuilt from the journal");
        self.announce(trading, equity);
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
        let trading = self.trading_changed();
        let equity = self.equity_changed();
        self.events.clear();
        self.announce(trading, equity);
        ok
    }

    /// The accounts the events since the last clear changed, beyond revaluation.
    fn trading_changed(&self) -> Vec<AccountRef> {
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
    fn equity_changed(&self) -> Vec<AccountRef> {
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
    fn announce(&self, trading: Vec<AccountRef>, equity: Vec<AccountRef>) {
        if !trading.is_empty() {
            let _ = self.trading.send(trading.into());
        }
        if !equity.is_empty() {
            let _ = self.equity.send(equity.into());
        }
    }

    /// The broker time now: never before what the journal already holds.
    fn now(&self) -> Timestamp {
        self.clock.now().max(self.broker.now())
    }

    async fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        let mut idle = tokio::time::interval(IDLE_ADVANCE);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                job = queue.recv() => {
                    let Some(job) = job else { return };
                    let mut batch = vec![job];
                    while batch.len() < BATCH_OPS_MAX {
                        match queue.try_recv() {
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
        let trading = self.trading_changed();
        let equity = self.equity_changed();
        self.events.clear();
        self.commit(&mut entries, &mut pending).await;
        if self.failed.is_some() {
            return; // dropping the reads answers them with `Stopped`
        }
        self.announce(trading, equity);
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
