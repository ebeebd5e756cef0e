//! The risk engine task: one owner of every followed account's `AccountRisk`.
//!
//! Feed. The desk announces the accounts whose balance, equity or history moved
//! ([`Desk::equity_changes`]); the engine keeps the followed ones (one hash lookup per announced
//! account) and reads them in one desk read: balance, equity, and the deals booked since the
//! account's deal cursor. Deals become `Trade` / `BalanceOperation` inputs (the account
//! after each is rebuilt backwards from the current balance and equity), then one `Sample`.
//! Cost per account change: that lookup, `O(new deals)` in the read, one `apply` over the
//! account's trackers, and one deadline update (`O(log n)`). Nothing sweeps the accounts that
//! did not move.
//!
//! Time. Each account has one deadline: the earliest end of its chart hour or of a tracker's
//! period (or a tracker window's start). A timer pops the due ones and feeds them a `Clock`
//! input, so periods and hours close on time without ticks.
//!
//! Durability. Events, completed periods and chart hours are written (with the states of
//! everything touched) before the events are published to waiters and before a close-out
//! they order runs; a halt takes effect at once (refusing trades before the event is durable
//! is the safe side; the halt is written in the same transaction as its event). A close-out
//! is stored as pending with its event and cleared once it closed everything, so one cut
//! short by a stop runs again at start. Other state changes are written at most
//! [`FLUSH_EVERY`] later. At start everything is restored from the
//! store and the deals booked since each account's cursor are fed first, so statistics resume
//! where they were (a restart loses at most the last second of maxima).
//!
//! Push. Stored events, and for watched accounts the period statistics and chart items as
//! they change (coalesced per [`crate::PUSH_EVERY`]), are announced to the streaming sockets;
//! the rule is in `push`.
//!
//! Parts: `command` (what each command from the handle does), `feed` (what a desk read
//! sees, and its inputs), `outputs` (events, halts and records from an account's outputs;
//! the push of stored events), `push` (live statistics and chart updates), `restore`
//! (start), `closeout` (the close-and-halt action).

use crate::command::{AccountKey, Command, RulesMeta, TrackerMeta};
use crate::persist::{AccountSaved, RulesSaved, TrackerSaved};
use crate::{RiskError, Shared};
use drawbridge_broker::broker::AccountRef;
use drawbridge_desk::Desk;
use drawbridge_model::{SharedClock, Timestamp};
use drawbridge_risk::{AccountRisk, BreachAction, Input, Output, Period, TrackerKey};
use drawbridge_store::{RiskWrite, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

mod closeout;
mod command;
mod feed;
mod outputs;
mod push;
mod restore;

use closeout::close_out;
use feed::{inputs, read};
use outputs::{push_event, take_outputs};
use push::{Mark, PUSH_EVERY};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// How often due deadlines are looked for.
const CLOCK_EVERY: Duration = Duration::from_millis(200);
/// How long a state change may wait before it is written.
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Deal cursor of an account followed from now on: its past deals are not fed.
const FROM_NOW: usize = usize::MAX;
/// Move announcements merged into one desk read at most.
const MOVES_MERGED_MAX: usize = 64;
/// Finished close-outs waiting for the engine; their tasks wait when it is full.
const CLOSED_MAX: usize = 1_024;

struct Tracked {
    key: TrackerKey,
    id: Arc<str>,
    name: String,
    period: Period,
    dirty: bool,
    /// What the next push owes the streaming sockets.
    push: Mark,
}

struct Followed {
    key: AccountKey,
    risk: AccountRisk,
    trackers: Vec<Tracked>,
    next_key: TrackerKey,
    deals: usize,
    /// A close-and-halt breach ordered a close-out that has not closed everything yet
    /// (stored with the breach event; run again at start while set).
    closeout_pending: bool,
    /// The broker account is not found (its server was edited): not read until re-pointed.
    detached: bool,
    deadline: Option<Timestamp>,
    dirty: bool,
    /// The attached rule set, and whether its state changed since the last write.
    rules: Option<RulesMeta>,
    rules_dirty: bool,
    /// A streaming socket watches the account: its statistics and chart are pushed.
    watched: bool,
    /// The chart hour changed since the last push.
    push_chart: bool,
    /// The account is in [`Sink::due`].
    push_queued: bool,
}

impl Followed {
    fn new(key: AccountKey, risk: AccountRisk, deals: usize) -> Self {
        Self {
            key,
            risk,
            trackers: Vec::new(),
            next_key: 0,
            deals,
            closeout_pending: false,
            detached: false,
            deadline: None,
            dirty: false,
            rules: None,
            rules_dirty: false,
            watched: false,
            push_chart: false,
            push_queued: false,
        }
    }

    /// Whether a halting breach stopped the account: the core's latch is the one source of
    /// truth; [`Shared::halted`] mirrors it for the trade route.
    fn halted(&self) -> bool {
        self.risk.halted().is_some()
    }

    /// Publishes the halt the core latched: only exposure-reducing trades pass from now on.
    fn halt(&self, shared: &Shared, action: BreachAction) {
        debug_assert!(self.halted(), "invariant: the core latched the halt first");
        let new = shared
            .halted
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(Arc::clone(&self.key.id));
        if new {
            tracing::info!(account_id = %self.key.id, ?action, "risk: account halted");
        }
    }

    fn track(&mut self, t: &TrackerMeta, state: drawbridge_risk::TrackerState) {
        let key = self.next_key;
        self.next_key += 1;
        self.risk.add_tracker_state(key, t.spec, state);
        self.trackers.push(Tracked {
            key,
            id: Arc::clone(&t.id),
            name: t.name.clone(),
            period: t.period,
            dirty: true,
            push: if self.watched {
                Mark::Opened
            } else {
                Mark::Clean
            },
        });
    }

    fn tracked(&self, id: &str) -> Option<&Tracked> {
        self.trackers.iter().find(|t| &*t.id == id)
    }

    /// The earliest boundary after `now`: the chart hour's end, a period's end, a window's
    /// start, the rules' trading day's end.
    fn next_deadline(&self, now: Timestamp) -> Option<Timestamp> {
        let chart = self.risk.chart().current().map(|c| c.end);
        let day = (self.risk.rules())
            .filter(|(_, state)| state.parts().started && state.outcome().is_none())
            .map(|(_, state)| state.day_end);
        let trackers = self
            .risk
            .trackers()
            .iter()
            .filter_map(|slot| match slot.state.current() {
                Some(stats) => stats.span.end,
                None if slot.state.is_completed() => None,
                None => Some(slot.spec.window.start),
            });
        (chart.into_iter().chain(day).chain(trackers))
            .filter(|t| *t > now)
            .min()
    }
}

/// What the engine will write next, and what waits for that write.
#[derive(Default)]
struct Sink {
    write: RiskWrite,
    /// Accounts whose state changed since the last write.
    dirty: Vec<Arc<str>>,
    /// Accounts to close out once their event is durable.
    closeouts: Vec<(Arc<str>, AccountRef)>,
    /// Halt lifts to answer once their event is durable.
    lifts: Vec<tokio::sync::oneshot::Sender<bool>>,
    /// Final statistics and chart items to push once durable (events join them then).
    pushed: crate::Pushed,
    /// Watched accounts with updates for the next push tick.
    due: Vec<Arc<str>>,
}

impl Sink {
    fn has_results(&self) -> bool {
        !(self.write.events.is_empty()
            && self.write.periods.is_empty()
            && self.write.chart.is_empty())
    }

    /// Puts back a write that failed, ahead of what came since.
    fn restore(&mut self, mut failed: RiskWrite) {
        let later = std::mem::take(&mut self.write);
        failed.events.extend(later.events);
        failed.periods.extend(later.periods);
        failed.chart.extend(later.chart);
        failed.tracker_states.extend(later.tracker_states);
        failed.account_states.extend(later.account_states);
        failed.rule_states.extend(later.rule_states);
        self.write = failed;
    }
}

struct Engine {
    desk: Desk,
    store: Arc<dyn Store>,
    clock: SharedClock,
    shared: Arc<Shared>,
    accounts: HashMap<Arc<str>, Followed>,
    by_ref: HashMap<AccountRef, Arc<str>>,
    deadlines: BTreeSet<(Timestamp, Arc<str>)>,
    sink: Sink,
    out: Vec<Output>,
    /// Close-outs that closed everything report here.
    closed: mpsc::Sender<Arc<str>>,
    /// Streaming sockets watching each account (see [`push`]).
    watchers: HashMap<Arc<str>, u32>,
}

/// Restores the engine from the store and spawns its task.
pub(crate) async fn start(
    desk: Desk,
    store: Arc<dyn Store>,
    clock: SharedClock,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Command>,
) -> Result<(), RiskError> {
    // Subscribed before restoring: no move between the restore and the task is missed.
    let moves = desk.equity_changes();
    let (closed, closed_rx) = mpsc::channel(CLOSED_MAX);
    let mut engine = Engine {
        desk,
        store,
        clock,
        shared,
        accounts: HashMap::new(),
        by_ref: HashMap::new(),
        deadlines: BTreeSet::new(),
        sink: Sink::default(),
        out: Vec::new(),
        closed,
        watchers: HashMap::new(),
    };
    engine.restore().await?;
    tokio::spawn(engine.run(rx, moves, closed_rx));
    Ok(())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl Engine {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut moves: tokio::sync::broadcast::Receiver<drawbridge_desk::ChangedAccounts>,
        mut closed: mpsc::Receiver<Arc<str>>,
    ) {
        let mut clock = tokio::time::interval(CLOCK_EVERY);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut push = tokio::time::interval(PUSH_EVERY);
        push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => {
                    let Some(command) = command else { break };
                    self.command(command).await;
                }
                moved = moves.recv() => {
                    let ids = match moved {
                        Ok(first) => self.moved(first, &mut moves),
                        // Announcements were lost: read everyone once.
                        Err(RecvError::Lagged(_)) => self.accounts.keys().cloned().collect(),
                        Err(RecvError::Closed) => break,
                    };
                    self.feed(ids).await;
                }
                Some(id) = closed.recv() => self.closed_out(&id),
                _ = clock.tick() => self.clock_due().await,
                _ = flush.tick() => self.flush().await,
                _ = push.tick() => self.push_due(),
            }
        }
        self.flush().await;
    }

    /// The followed accounts of one announcement and of those queued behind it.
    fn moved(
        &self,
        first: drawbridge_desk::ChangedAccounts,
        moves: &mut tokio::sync::broadcast::Receiver<drawbridge_desk::ChangedAccounts>,
    ) -> Vec<Arc<str>> {
        let mut ids: Vec<Arc<str>> = Vec::new();
        let mut batch = Some(first);
        let mut merged = 0;
        while let Some(refs) = batch.take() {
            ids.extend(refs.iter().filter_map(|r| self.by_ref.get(r).cloned()));
            merged += 1;
            if merged < MOVES_MERGED_MAX {
                batch = moves.try_recv().ok();
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// A close-out closed everything: it is no longer run at start.
    fn closed_out(&mut self, id: &Arc<str>) {
        let Some(f) = self.accounts.get_mut(id).filter(|f| f.closeout_pending) else {
            return;
        };
        f.closeout_pending = false;
        if !f.dirty {
            f.dirty = true;
            self.sink.dirty.push(Arc::clone(id));
        }
    }

    /// Runs a close-out (its pending flag is durable).
    fn spawn_close_out(&self, id: Arc<str>, r: AccountRef) {
        tokio::spawn(close_out(self.desk.clone(), r, id, self.closed.clone()));
    }

    /// Reads the accounts from the desk and feeds what happened to them.
    async fn feed(&mut self, ids: Vec<Arc<str>>) {
        let (ids, asks): (Vec<Arc<str>>, Vec<(AccountRef, usize)>) = ids
            .into_iter()
            .filter_map(|id| {
                let f = self.accounts.get(&id).filter(|f| !f.detached)?;
                let ask = (f.key.aref, f.deals);
                Some((id, ask))
            })
            .unzip();
        if ids.is_empty() {
            return;
        }
        let reads = self
            .desk
            .read(move |b| {
                asks.iter()
                    .map(|&(r, cursor)| read(b, r, cursor))
                    .collect::<Vec<_>>()
            })
            .await;
        let reads = match reads {
            Ok(reads) => reads,
            Err(e) => {
                tracing::warn!(error = %e, "risk: the desk cannot be read");
                return;
            }
        };
        let mut batch = Vec::new();
        for (id, read) in ids.iter().zip(reads) {
            let Some(read) = read else { continue };
            batch.clear();
            inputs(&read, &mut batch);
            self.apply(id, &batch, Some(read.count), read.now);
        }
        self.settle().await;
    }

    /// Feeds `Clock` inputs to the accounts whose deadline passed.
    async fn clock_due(&mut self) {
        let now = self.clock.now();
        let mut due = Vec::new();
        while let Some((at, _)) = self.deadlines.first()
            && *at <= now
        {
            if let Some((_, id)) = self.deadlines.pop_first() {
                due.push(id);
            }
        }
        for id in due {
            if let Some(f) = self.accounts.get_mut(&id) {
                f.deadline = None;
            }
            self.apply(&id, &[Input::Clock(now)], None, now);
        }
        self.settle().await;
    }

    /// Feeds inputs to one account and takes in its outputs.
    fn apply(&mut self, id: &Arc<str>, inputs: &[Input], deals: Option<usize>, now: Timestamp) {
        let Some(f) = self.accounts.get_mut(id) else {
            return;
        };
        self.out.clear();
        for input in inputs {
            f.risk.apply(input, &mut self.out);
        }
        if let Some(n) = deals {
            f.deals = n;
        }
        if f.rules.is_some() {
            f.rules_dirty = true;
        }
        take_outputs(f, &self.out, &mut self.sink, &self.shared);
        if f.watched && inputs.iter().any(|i| i.after().is_some()) {
            f.push_chart = true;
            f.queue_push(&mut self.sink);
        }
        if !f.dirty {
            f.dirty = true;
            self.sink.dirty.push(Arc::clone(id));
        }
        let next = f.next_deadline(now);
        if next != f.deadline {
            if let Some(old) = f.deadline {
                self.deadlines.remove(&(old, Arc::clone(id)));
            }
            if let Some(new) = next {
                self.deadlines.insert((new, Arc::clone(id)));
            }
            f.deadline = next;
        }
    }

    /// Writes now when there are events, periods or chart hours; state alone waits for the
    /// next flush.
    async fn settle(&mut self) {
        if self.sink.has_results() {
            self.flush().await;
        }
    }

    /// Writes everything pending in one transaction, then publishes the events and runs the
    /// close-outs they asked for.
    async fn flush(&mut self) {
        for id in std::mem::take(&mut self.sink.dirty) {
            let Some(f) = self.accounts.get_mut(&id) else {
                continue;
            };
            f.dirty = false;
            let saved = AccountSaved::of(
                f.deals,
                f.halted(),
                f.closeout_pending,
                f.risk.last(),
                f.risk.chart(),
            );
            self.sink
                .write
                .account_states
                .push((id.to_string(), json(&saved)));
            if f.rules_dirty
                && let (Some(meta), Some((_, state))) = (&f.rules, f.risk.rules())
            {
                f.rules_dirty = false;
                let state = json(&RulesSaved::of(state));
                self.sink
                    .write
                    .rule_states
                    .push((meta.id.to_string(), state));
            }
            for t in f.trackers.iter_mut().filter(|t| t.dirty) {
                t.dirty = false;
                if let Some(slot) = f.risk.tracker(t.key) {
                    let state = json(&TrackerSaved::of(&slot.state));
                    self.sink
                        .write
                        .tracker_states
                        .push((t.id.to_string(), state));
                }
            }
        }
        if self.sink.write.is_empty() {
            return;
        }
        let write = std::mem::take(&mut self.sink.write);
        match self.store.write_risk(&write).await {
            Ok(seqs) => {
                let mut batch = std::mem::take(&mut self.sink.pushed);
                for (e, seq) in write.events.iter().zip(seqs) {
                    self.shared.waiters.publish(&e.user_id, seq);
                    push_event(&mut batch, e, seq);
                }
                self.send(batch);
                for (id, r) in std::mem::take(&mut self.sink.closeouts) {
                    self.spawn_close_out(id, r);
                }
                for reply in std::mem::take(&mut self.sink.lifts) {
                    let _ = reply.send(true);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "risk: results could not be written; retrying");
                self.sink.restore(write);
            }
        }
    }
}
