//! The risk service: the MetaApi risk management API's engine (equity tracking, prop-firm
//! rules, halts), served from the synchronous core in `drawbridge-risk`, fed by the desk,
//! durable in the store, pushed to the streaming sockets, and enforced on trades.
//!
//! Its contract: [`Risk::start`] restores every tracker, rule set and account state from the
//! store, catches up with the deals the broker booked since, and spawns the one task that
//! owns them; from then on events, completed periods and chart hours are durable before
//! anyone sees them. The service knows nothing of HTTP: its answers are plain values, its
//! failures a [`RiskError`] that the edge maps to its wire shape once.
//!
//! # Layout
//! - [`Risk`] and [`RiskError`] (here): the handle every caller shares — the engine's
//!   command channel behind typed methods (follow an account, add or drop a tracker, attach
//!   rules, lift a halt, read the current period and chart hour), the set of halted
//!   accounts trades are checked against ([`Risk::check_trade`]), the tracker-event
//!   waiters and stream cursors, and the push broadcast.
//! - [`command`]: what the handle sends the engine, the account, tracker and rules
//!   descriptions callers hand it ([`AccountKey`], [`TrackerMeta`], [`RulesMeta`]), and
//!   [`find_account`], the broker lookup that resolves an account.
//! - `engine`: the task that owns every followed account's `AccountRisk`. It follows the
//!   desk's [`drawbridge_desk::Desk::equity_changes`] announcements (only the accounts that
//!   moved are read, in one desk read per announcement), closes periods and chart hours on
//!   time from a deadline queue (only accounts whose boundary passed are touched), makes
//!   events, completed periods and chart hours durable before anyone sees them, and halts
//!   or closes out accounts on a breach. Its parts: `engine::command` (what each command
//!   does), `engine::feed` (what a desk read sees), `engine::outputs` (events, halts and
//!   records), `engine::push` (when statistics and chart items are pushed),
//!   `engine::restore` (start), `engine::closeout` (the close-and-halt action).
//! - `persist`: the engine's resume state as stored JSON.
//! - [`rules`]: rule sets as stored ([`AttachedRules`]) and the documents of rule and
//!   halt-lift events.
//! - [`push`]: the update batches ([`Pushed`]) announced on [`Risk::pushed`] (a bounded
//!   broadcast), which the streaming sockets forward to their subscribed instances: every
//!   stored event as it is stored, and for the accounts a socket watches ([`Risk::watch`])
//!   the period statistics and equity chart as they change, coalesced to at most one update
//!   per tracker (and one chart item) per [`PUSH_EVERY`].
//! - [`stream`]: the tracker-event long poll's waiters ([`EventWaiters`]) and cursors
//!   ([`StreamCursors`]).

pub mod command;
mod engine;
mod persist;
pub mod push;
pub mod rules;
pub mod stream;

pub use command::{AccountKey, CurrentPeriod, RulesMeta, RulesProgress, TrackerMeta, find_account};
pub use push::{PUSH_EVERY, Push, PushKind, Pushed};
pub use rules::{AttachedRules, RULES_TRACKER_ID};
pub use stream::{CursorKey, EventWaiters, STREAM_HOLD_DEFAULT, StreamCursors};

use command::Command;
use drawbridge_desk::{Desk, DeskError};
use drawbridge_model::wire as w;
use drawbridge_model::{ServerZone, SharedClock};
use drawbridge_risk::{ChartItem, RuleSpec};
use drawbridge_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Commands waiting for the engine; senders wait when it is full.
const COMMANDS_MAX: usize = 4_096;

/// Why the risk service did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// A trade that would increase exposure on an account a breach halted.
    #[error("trading is halted on account {account_id}")]
    Halted { account_id: String },
    /// The engine task has stopped: nothing more is answered.
    #[error("the risk engine has stopped")]
    Stopped,
    /// The store failed while the engine restored its state.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The desk could not be read while the engine restored its state.
    #[error("risk restore: {0}")]
    Desk(#[from] DeskError),
}

/// What the engine and the handle share besides the channel.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Accounts a halting breach stopped: only exposure-reducing trades pass. A mirror of
    /// the engine's `AccountRisk::halted` (the one source of truth) for the callers: written
    /// by the engine on a halt, its lift and a restore; `Risk::forget` removes at once.
    pub halted: RwLock<HashSet<Arc<str>>>,
    pub waiters: EventWaiters,
    pub cursors: StreamCursors,
    /// Update batches for the streaming sockets.
    pub pushed: broadcast::Sender<Arc<Pushed>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            halted: RwLock::default(),
            waiters: EventWaiters::default(),
            cursors: StreamCursors::default(),
            pushed: broadcast::channel(push::PUSHED_MAX).0,
        }
    }
}

/// The risk engine's handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Risk {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    hold_ms: Arc<AtomicU64>,
}

impl Risk {
    /// Restores every tracker and account state from the store, catches up with the deals
    /// the broker booked since, and starts the engine task.
    pub async fn start(
        desk: Desk,
        store: Arc<dyn Store>,
        clock: SharedClock,
    ) -> Result<Self, RiskError> {
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel(COMMANDS_MAX);
        engine::start(desk, store, clock, Arc::clone(&shared), rx).await?;
        Ok(Self {
            tx,
            shared,
            hold_ms: Arc::new(AtomicU64::new(STREAM_HOLD_DEFAULT.as_millis() as u64)),
        })
    }

    /// How long the tracker-event stream holds a request (tests shorten it).
    pub fn set_stream_hold(&self, hold: Duration) {
        let ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX);
        self.hold_ms.store(ms, Ordering::Relaxed);
    }

    /// How long the tracker-event stream holds a request with nothing new.
    pub fn stream_hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms.load(Ordering::Relaxed))
    }

    /// Who waits for a user's next stored event.
    pub fn waiters(&self) -> &EventWaiters {
        &self.shared.waiters
    }

    /// Where the tracker-event streams polled without a sequence number are.
    pub fn cursors(&self) -> &StreamCursors {
        &self.shared.cursors
    }

    /// The update batches from now on: the events stored (tracker breaches, rule outcomes,
    /// halt lifts) and the statistics and chart updates of watched accounts.
    pub fn pushed(&self) -> broadcast::Receiver<Arc<Pushed>> {
        self.shared.pushed.subscribe()
    }

    /// Counts a socket watching the account (or, `on == false`, one that stopped): the
    /// account's statistics and chart updates are pushed while its count is above zero.
    /// Every `watch(id, true)` needs its `watch(id, false)`.
    pub async fn watch(&self, account_id: &str, on: bool) {
        let account_id = Arc::from(account_id);
        // A stopped engine pushes nothing.
        let _ = self.tx.send(Command::Watch { account_id, on }).await;
    }

    /// Whether a halting breach stopped the account.
    pub fn is_halted(&self, account_id: &str) -> bool {
        self.shared
            .halted
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(account_id)
    }

    /// Refuses a trade that would increase exposure on a halted account
    /// ([`RiskError::Halted`]); closes, reductions, cancels and modifications pass.
    pub fn check_trade(
        &self,
        account_id: &str,
        request: &w::TradeRequest,
    ) -> Result<(), RiskError> {
        if increases_exposure(request) && self.is_halted(account_id) {
            return Err(RiskError::Halted {
                account_id: account_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Follows the account from now on (its chart and statistics start now) if it is not
    /// followed yet; re-points a followed one whose broker account changed.
    pub async fn follow(&self, account: AccountKey) -> Result<(), RiskError> {
        self.ask(|reply| Command::Follow { account, reply }).await
    }

    /// Re-points a followed account after its server or credentials changed: to its broker
    /// account `to`, or, when the broker does not know it there (`None`), it is not read
    /// until a later [`Risk::follow`] finds it. Nothing for an account not followed.
    pub async fn relocate(
        &self,
        account_id: &str,
        to: Option<AccountKey>,
    ) -> Result<(), RiskError> {
        let account_id = Arc::from(account_id);
        self.ask(|reply| Command::Relocate {
            account_id,
            to,
            reply,
        })
        .await
    }

    /// Adds a tracker, whose row is already durable, following the account if needed.
    pub async fn track(&self, account: AccountKey, tracker: TrackerMeta) -> Result<(), RiskError> {
        self.ask(|reply| Command::Track {
            account,
            tracker,
            reply,
        })
        .await
    }

    /// Drops a tracker whose row was deleted.
    pub async fn untrack(&self, account_id: &str, tracker_id: &str) -> Result<(), RiskError> {
        let (account_id, tracker_id) = (Arc::from(account_id), Arc::from(tracker_id));
        self.ask(|reply| Command::Untrack {
            account_id,
            tracker_id,
            reply,
        })
        .await
    }

    /// Renames a tracker whose row was renamed (its next events carry the name).
    pub async fn rename(
        &self,
        account_id: &str,
        tracker_id: &str,
        name: String,
    ) -> Result<(), RiskError> {
        self.tell(Command::Rename {
            account_id: Arc::from(account_id),
            tracker_id: Arc::from(tracker_id),
            name,
        })
        .await
    }

    /// The tracker's current period, live.
    pub async fn current_period(
        &self,
        account_id: &str,
        tracker_id: &str,
    ) -> Result<CurrentPeriod, RiskError> {
        let (account_id, tracker_id) = (Arc::from(account_id), Arc::from(tracker_id));
        self.ask(|reply| Command::Current {
            account_id,
            tracker_id,
            reply,
        })
        .await
    }

    /// The account's chart hour in progress.
    pub async fn chart_hour(
        &self,
        account_id: &str,
    ) -> Result<Option<(ChartItem, ServerZone)>, RiskError> {
        let account_id = Arc::from(account_id);
        self.ask(|reply| Command::Chart { account_id, reply }).await
    }

    /// Attaches rules, whose row is already durable, replacing any; their progress starts
    /// from the account now.
    pub async fn set_rules(
        &self,
        account: AccountKey,
        rules: RulesMeta,
        spec: RuleSpec,
    ) -> Result<(), RiskError> {
        self.ask(|reply| Command::SetRules {
            account,
            rules,
            spec,
            reply,
        })
        .await
    }

    /// Detaches the account's rules (a halt they ordered stays).
    pub async fn clear_rules(&self, account_id: &str) -> Result<(), RiskError> {
        let account_id = Arc::from(account_id);
        self.ask(|reply| Command::ClearRules { account_id, reply })
            .await
    }

    /// The account's progress through its rules.
    pub async fn rules(&self, account_id: &str) -> Result<RulesProgress, RiskError> {
        let account_id = Arc::from(account_id);
        self.ask(|reply| Command::Rules { account_id, reply }).await
    }

    /// Lifts the account's halt, recorded as a `haltLifted` event and answered once that is
    /// durable; false when the account was not halted.
    pub async fn lift_halt(&self, account_id: &str) -> Result<bool, RiskError> {
        let account_id = Arc::from(account_id);
        self.ask(|reply| Command::LiftHalt { account_id, reply })
            .await
    }

    /// Forgets a deleted account: its trackers stop and its halt is lifted (called after the
    /// store deleted the account, whose risk rows went with it).
    pub async fn forget(&self, account_id: &str) {
        // Lifted at once; the engine drops the rest when it gets to the command.
        self.shared
            .halted
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(account_id);
        let account_id = Arc::from(account_id);
        // A stopped engine has nothing to forget.
        let _ = self.tx.send(Command::Forget { account_id }).await;
    }

    /// Sends a command and waits for its answer.
    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, RiskError> {
        let (reply, rx) = oneshot::channel();
        self.tell(make(reply)).await?;
        rx.await.map_err(|_| RiskError::Stopped)
    }

    async fn tell(&self, command: Command) -> Result<(), RiskError> {
        self.tx.send(command).await.map_err(|_| RiskError::Stopped)
    }
}

/// Opens or adds to a position, or places a pending order that would.
fn increases_exposure(r: &w::TradeRequest) -> bool {
    use w::ActionType as A;
    matches!(
        r.action_type,
        A::Buy
            | A::Sell
            | A::BuyLimit
            | A::SellLimit
            | A::BuyStop
            | A::SellStop
            | A::BuyStopLimit
            | A::SellStopLimit
    )
}
