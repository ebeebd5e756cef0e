//! What the handle tells the engine task (`Command`, private: [`crate::Risk`]'s methods
//! send them), and the descriptions of accounts, trackers and rules the callers hand it.

use drawbridge_broker::broker::AccountRef;
use drawbridge_broker::sim::SimBroker;
use drawbridge_model::ServerZone;
use drawbridge_risk::{ChartItem, Period, PeriodStats, RuleSpec, RuleState, TrackerSpec};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A followed account as the caller resolved it: its id, owner, broker account and
/// trade-server time zone.
#[derive(Clone, Debug)]
pub struct AccountKey {
    pub id: Arc<str>,
    pub user_id: Arc<str>,
    pub aref: AccountRef,
    pub zone: ServerZone,
}

/// A tracker handed to the engine.
#[derive(Clone, Debug)]
pub struct TrackerMeta {
    pub id: Arc<str>,
    pub name: String,
    pub period: Period,
    pub spec: TrackerSpec,
}

/// A rule set attached to a followed account: its attachment id (the store's) and name.
#[derive(Clone, Debug)]
pub struct RulesMeta {
    pub id: Arc<str>,
    pub name: String,
}

/// What the engine's current state says about a tracker: its current period, if one is
/// open.
pub type CurrentPeriod = Option<(PeriodStats, Period, ServerZone)>;

/// What the engine's current state says about an account's rules.
pub type RulesProgress = Option<(RuleSpec, RuleState, ServerZone)>;

/// The broker account of `login` on the trade server named `server`, with the server's time
/// zone; `None` when the broker does not know it there. Run inside a desk read.
pub fn find_account(
    b: &SimBroker,
    server: &str,
    login: Option<u64>,
) -> Option<(AccountRef, ServerZone)> {
    let i = b.server_index(server)?;
    let e = &b.server(i).engine;
    let login = login?;
    e.find_login(login)?;
    Some((AccountRef { server: i, login }, e.config().zone))
}

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
        reply: oneshot::Sender<CurrentPeriod>,
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
        reply: oneshot::Sender<RulesProgress>,
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
