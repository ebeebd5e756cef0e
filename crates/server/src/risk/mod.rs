//! Risk management: the MetaApi risk management API (equity tracking) served from the
//! synchronous core in `drawbridge-risk`, fed by the desk, durable in the store, and enforced
//! on the trade route.
//!
//! Layout:
//! - [`Risk`] (here): the handle handlers share — the engine's command channel, the set of
//!   halted accounts the trade route asks ([`Risk::check_trade`]), and the waiters and
//!   cursors of the tracker-event long poll ([`EventWaiters`], [`StreamCursors`]).
//! - [`engine`]: the task that owns every followed account's `AccountRisk`. It follows the
//!   desk's [`drawbridge_desk::Desk::equity_changes`] announcements (only the accounts that moved are read,
//!   in one desk read per announcement), closes periods and chart hours on time from a
//!   deadline queue (only accounts whose boundary passed are touched), makes events,
//!   completed periods and chart hours durable before anyone sees them, and halts or closes
//!   out accounts on a breach.
//! - [`persist`]: the engine's resume state as stored JSON.
//! - [`api`]: the REST routes of trackers, period statistics and the equity chart;
//!   [`events`]: tracker events by broker time and their long poll; [`rules`]: prop-firm
//!   rule sets attached to accounts (presets or full rule sets), their events, and the halt
//!   lift.
//! - Push: the engine announces batches of updates by account on [`Risk::pushed`] (a
//!   bounded broadcast), which the streaming sockets forward to their subscribed instances:
//!   every stored event as it is stored, and for the accounts a socket watches
//!   ([`Risk::watch`]) the period statistics and equity chart as they change, coalesced to at
//!   most one update per tracker (and one chart item) per [`PUSH_EVERY`]; see [`Pushed`].

pub mod api;
mod engine;
pub mod events;
mod persist;
pub mod rules;

use crate::error::ApiError;
use crate::messages;
use drawbridge_broker::broker::AccountRef;
use drawbridge_desk::Desk;
use drawbridge_model::wire as w;
use drawbridge_model::{ServerZone, SharedClock};
use drawbridge_risk::{ChartItem, Period, PeriodStats, RuleSpec, RuleState, TrackerSpec};
use drawbridge_store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long the tracker-event stream holds a request with nothing new (MetaApi: about a
/// minute; the SDK waits 70 s).
pub const STREAM_HOLD_DEFAULT: Duration = Duration::from_secs(60);
/// Commands waiting for the engine; senders wait when it is full.
const COMMANDS_MAX: usize = 4_096;
/// Push batches waiting for the streaming sockets; a lagging socket skips (REST has them).
const PUSHED_MAX: usize = 4_096;
/// How often the changed period statistics and chart items of watched accounts are pushed:
/// at most one update per tracker, and one chart item per account, per this interval.
pub const PUSH_EVERY: Duration = Duration::from_secs(1);

/// What one update is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushKind {
    /// A stored event (tracker breach, rule outcome, halt lift) with its sequence number,
    /// as the event routes answer it.
    TrackerEvent,
    /// The tracker's period statistics (the current period, or a period's final values as
    /// it ended), as `GET …/trackers/{trackerId}/statistics` answers the item.
    PeriodStatistics { tracker_id: Arc<str> },
    /// The account's chart hour (in progress, or final as it ended), as
    /// `GET …/equity-chart` answers the item.
    EquityChart,
}

/// One update of one account.
#[derive(Clone, Debug)]
pub struct Push {
    pub user_id: Arc<str>,
    pub kind: PushKind,
    pub doc: serde_json::Value,
}

/// Updates announced to the streaming sockets at once, by account (a socket looks up only
/// the accounts it subscribed). Within a write's batch an account's final statistics and
/// chart items come first, then its events, each kind in the order it happened.
#[derive(Debug, Default)]
pub struct Pushed {
    by_account: HashMap<Arc<str>, Vec<Push>>,
}

impl Pushed {
    pub(crate) fn add(&mut self, account_id: &Arc<str>, push: Push) {
        (self.by_account)
            .entry(Arc::clone(account_id))
            .or_default()
            .push(push);
    }

    pub fn is_empty(&self) -> bool {
        self.by_account.is_empty()
    }

    /// The account's updates in this batch.
    pub fn of(&self, account_id: &str) -> &[Push] {
        self.by_account.get(account_id).map_or(&[], Vec::as_slice)
    }
}

/// A rule set attached to a followed account: its attachment id (the store's) and name.
#[derive(Clone, Debug)]
pub(crate) struct RulesMeta {
    pub id: Arc<str>,
    pub name: String,
}

/// What the engine's current state says about an account's rules.
pub(crate) type RulesNow = Option<(RuleSpec, RuleState, ServerZone)>;

/// A followed account as the API resolved it.
#[derive(Clone, Debug)]
pub(crate) struct AccountKey {
    pub id: Arc<str>,
    pub user_id: Arc<str>,
    pub aref: AccountRef,
    pub zone: ServerZone,
}

/// A tracker handed to the engine.
#[derive(Clone, Debug)]
pub(crate) struct TrackerMeta {
    pub id: Arc<str>,
    pub name: String,
    pub period: Period,
    pub spec: TrackerSpec,
}

/// What the engine's current state says about a tracker.
pub(crate) type Current = Option<(PeriodStats, Period, ServerZone)>;

pub(crate) enum Command {
    /// Follows the account (from now on) if it is not followed yet; re-points a followed one
    /// whose broker account changed (its server was edited) to the new broker account, its
    /// trackers and rules kept, its deals fed from now on.
    Follow {
        account: AccountKey,
        reply: oneshot::Sender<()>,
    },
    /// Adds a tracker (its row is already durable) to a followed account.
    Track {
        account: AccountKey,
        tracker: TrackerMeta,
        reply: oneshot::Sender<()>,
    },
    /// Stops following a deleted account.
    Forget { account_id: Arc<str> },
    /// Re-points a followed account after its server was edited (nothing for one not
    /// followed): to its new broker account (trackers, rules and halt kept; deals fed from
    /// now on), or, when the broker does not know it there (`None`), it is not read until a
    /// later `Follow` finds it.
    Relocate {
        account_id: Arc<str>,
        to: Option<AccountKey>,
        reply: oneshot::Sender<()>,
    },
    Untrack {
        account_id: Arc<str>,
        tracker_id: Arc<str>,
        reply: oneshot::Sender<()>,
    },
    Rename {
        account_id: Arc<str>,
        tracker_id: Arc<str>,
        name: String,
    },
    /// The tracker's current period.
    Current {
        account_id: Arc<str>,
        tracker_id: Arc<str>,
        reply: oneshot::Sender<Current>,
    },
    /// Attaches rules (their row is already durable), replacing any.
    SetRules {
        account: AccountKey,
        rules: RulesMeta,
        spec: RuleSpec,
        reply: oneshot::Sender<()>,
    },
    /// Detaches the account's rules (a halt they ordered stays).
    ClearRules {
        account_id: Arc<str>,
        reply: oneshot::Sender<()>,
    },
    /// The account's progress through its rules.
    Rules {
        account_id: Arc<str>,
        reply: oneshot::Sender<RulesNow>,
    },
    /// Lifts the account's halt and records it as an event (answered once durable): false
    /// when the account was not halted.
    LiftHalt {
        account_id: Arc<str>,
        reply: oneshot::Sender<bool>,
    },
    /// The account's chart hour in progress.
    Chart {
        account_id: Arc<str>,
        reply: oneshot::Sender<Option<(ChartItem, ServerZone)>>,
    },
    /// A streaming socket subscribed the account (`on`) or no longer does: its statistics
    /// and chart are pushed while at least one socket watches it.
    Watch { account_id: Arc<str>, on: bool },
}

/// Waiters of the tracker-event stream, by user: each user's last sequence number.
#[derive(Debug, Default)]
pub(crate) struct EventWaiters {
    users: Mutex<HashMap<Arc<str>, watch::Sender<u64>>>,
}

impl EventWaiters {
    /// Wakes when one of the user's events is stored from now on.
    pub(crate) fn subscribe(&self, user_id: &str) -> watch::Receiver<u64> {
        let mut users = crate::state::lock(&self.users);
        match users.get(user_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(0);
                users.insert(Arc::from(user_id), tx);
                rx
            }
        }
    }

    /// Tells the user's waiters (and forgets users nobody waits for).
    pub(crate) fn publish(&self, user_id: &str, seq: u64) {
        let mut users = crate::state::lock(&self.users);
        if let Some(tx) = users.get(user_id) {
            if tx.receiver_count() == 0 {
                users.remove(user_id);
            } else {
                tx.send_replace(seq);
            }
        }
    }
}

/// Most stream cursors kept; past it the least recently used half goes (a client whose
/// cursor went starts from the latest event again, as a new one does).
const STREAM_CURSORS_MAX: usize = 10_000;

/// Which stream a cursor belongs to: the token and the request's filters (one token's
/// listeners of different accounts keep their own places).
pub(crate) type CursorKey = (String, Option<String>, Option<String>);

/// Where each tracker-event stream polled without `previousSequenceNumber` is: the last
/// sequence number answered to it, so the next poll answers what was stored in between.
#[derive(Debug, Default)]
pub(crate) struct StreamCursors {
    /// key → (sequence number, last use).
    map: Mutex<HashMap<CursorKey, (u64, u64)>>,
    uses: AtomicU64,
}

impl StreamCursors {
    /// The stream's place, set to `latest()` when it has none.
    pub(crate) fn start(&self, key: &CursorKey, latest: u64) -> u64 {
        let used = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut map = crate::state::lock(&self.map);
        if let Some((seq, at)) = map.get_mut(key) {
            *at = used;
            return *seq;
        }
        Self::insert(&mut map, key.clone(), latest, used);
        latest
    }

    /// Moves the stream's place forward to `seq`.
    pub(crate) fn advance(&self, key: &CursorKey, seq: u64) {
        let used = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut map = crate::state::lock(&self.map);
        match map.get_mut(key) {
            Some((at_seq, at)) => {
                *at_seq = (*at_seq).max(seq);
                *at = used;
            }
            None => Self::insert(&mut map, key.clone(), seq, used),
        }
    }

    fn insert(map: &mut HashMap<CursorKey, (u64, u64)>, key: CursorKey, seq: u64, used: u64) {
        if map.len() >= STREAM_CURSORS_MAX {
            // The least recently used half goes: amortized O(1) per insert.
            let mut uses: Vec<u64> = map.values().map(|&(_, at)| at).collect();
            let mid = uses.len() / 2;
            let (_, median, _) = uses.select_nth_unstable(mid);
            let median = *median;
            map.retain(|_, &mut (_, at)| at > median);
        }
        map.insert(key, (seq, used));
        debug_assert!(
            map.len() <= STREAM_CURSORS_MAX,
            "invariant: cursors bounded"
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        crate::state::lock(&self.map).len()
    }
}

/// What the engine and the handlers share besides the channel.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Accounts a halting breach stopped: only exposure-reducing trades pass. A mirror of
    /// the engine's `AccountRisk::halted` (the one source of truth) for the handlers: written
    /// by the engine on a halt, its lift and a restore; `Risk::forget` removes at once.
    pub halted: RwLock<HashSet<Arc<str>>>,
    pub waiters: EventWaiters,
    pub cursors: StreamCursors,
    /// Update batches for the streaming sockets.
    pub pushed: tokio::sync::broadcast::Sender<Arc<Pushed>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            halted: RwLock::default(),
            waiters: EventWaiters::default(),
            cursors: StreamCursors::default(),
            pushed: tokio::sync::broadcast::channel(PUSHED_MAX).0,
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
    ) -> Result<Self, StoreError> {
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

    pub(crate) fn stream_hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn waiters(&self) -> &EventWaiters {
        &self.shared.waiters
    }

    pub(crate) fn cursors(&self) -> &StreamCursors {
        &self.shared.cursors
    }

    /// The update batches from now on: the events stored (tracker breaches, rule outcomes,
    /// halt lifts) and the statistics and chart updates of watched accounts.
    pub fn pushed(&self) -> tokio::sync::broadcast::Receiver<Arc<Pushed>> {
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

    /// Refuses a trade that would increase exposure on a halted account (ForbiddenError);
    /// closes, reductions, cancels and modifications pass.
    pub fn check_trade(&self, account_id: &str, request: &w::TradeRequest) -> Result<(), ApiError> {
        if increases_exposure(request) && self.is_halted(account_id) {
            return Err(ApiError::forbidden(
                &messages::RISK_TRADING_HALTED,
                &[&account_id],
            ));
        }
        Ok(())
    }

    /// Sends a command and waits for its answer.
    pub(crate) async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, ApiError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| ApiError::internal("the risk engine has stopped"))?;
        rx.await
            .map_err(|_| ApiError::internal("the risk engine has stopped"))
    }

    /// Forgets a deleted account: its trackers stop and its halt is lifted (provisioning
    /// calls this after the store deleted the account, whose risk rows went with it).
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

    pub(crate) async fn tell(&self, command: Command) -> Result<(), ApiError> {
        self.tx
            .send(command)
            .await
            .map_err(|_| ApiError::internal("the risk engine has stopped"))
    }
}

/// The `limit` query parameter of the risk routes: `1..=max`, `default` when absent; zero,
/// a value above `max` or not a whole number is noted in `problems` (and gives `default`).
pub(crate) fn limit_param(
    q: &HashMap<String, String>,
    max: usize,
    default: usize,
    problems: &mut Vec<crate::error::FieldError>,
) -> usize {
    let raw = q.get("limit").map(String::as_str);
    match crate::extract::count_param("limit", raw, max, problems) {
        Some(0) => {
            problems.push(crate::error::FieldError::invalid(
                "limit",
                Some(serde_json::json!(0)),
                "must be at least 1",
            ));
            default
        }
        Some(n) => n,
        None => default,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_cursors_start_at_the_latest_then_follow_answers_and_stay_bounded() {
        let c = StreamCursors::default();
        let key = |n: usize| (format!("token{n}"), None, None);
        assert_eq!(c.start(&key(0), 7), 7, "a new stream starts at the latest");
        assert_eq!(c.start(&key(0), 9), 7, "then where it was");
        c.advance(&key(0), 8);
        c.advance(&key(0), 3);
        assert_eq!(c.start(&key(0), 12), 8, "never backwards");
        for n in 1..=STREAM_CURSORS_MAX + 10 {
            c.start(&key(n), 1);
        }
        assert!(c.len() <= STREAM_CURSORS_MAX);
        assert_eq!(
            c.start(&key(STREAM_CURSORS_MAX + 10), 5),
            1,
            "recent ones stay"
        );
    }
}
