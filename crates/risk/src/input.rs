//! What the engine is fed and what it answers.

use crate::chart::ChartItem;
use crate::rules::RuleEvent;
use crate::stats::{PeriodStats, TrackerBreach};
use drawbridge_model::{Money, Timestamp};

/// The caller's handle for one tracker of an account (its dense index or a store row id);
/// the engine never sees tracker ids or names.
pub type TrackerKey = u32;

/// The account as of `time`: balance and equity (equity includes credit and floating P/L).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub time: Timestamp,
    pub balance: Money,
    pub equity: Money,
}

/// The deal types that move money in or out instead of trading (MT5 `DEAL_TYPE_BALANCE`,
/// `DEAL_TYPE_CREDIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalanceKind {
    /// A deposit (amount > 0) or withdrawal (amount < 0): balance and equity move together.
    Balance,
    /// Credit granted (> 0) or removed (< 0): equity moves, balance does not.
    Credit,
}

/// One thing that happened on the account. Every input carries the account right after it,
/// so an operation and the equity it changed are seen in one step. Inputs come in time order;
/// one older than the last is taken as happening at the last input's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// New equity and balance: a price tick revalued the account, or account information.
    Sample(Snapshot),
    /// A balance or credit operation of `amount`; `after` includes it.
    BalanceOperation {
        kind: BalanceKind,
        amount: Money,
        after: Snapshot,
    },
    /// A trading deal (entry or exit, any deal that is not balance or credit) at `after.time`.
    Trade { after: Snapshot },
    /// Time passed with nothing new: closes the periods, chart hours and days that ended.
    Clock(Timestamp),
}

impl Input {
    pub fn time(&self) -> Timestamp {
        match self {
            Input::Sample(s)
            | Input::BalanceOperation { after: s, .. }
            | Input::Trade { after: s } => s.time,
            Input::Clock(t) => *t,
        }
    }

    /// The account after the input (`None` for a clock input).
    pub fn after(&self) -> Option<Snapshot> {
        match self {
            Input::Sample(s)
            | Input::BalanceOperation { after: s, .. }
            | Input::Trade { after: s } => Some(*s),
            Input::Clock(_) => None,
        }
    }

    /// The account just before the input, as far as the input itself tells.
    pub fn before(&self) -> Option<Snapshot> {
        match *self {
            Input::BalanceOperation {
                kind,
                amount,
                after,
            } => Some(Snapshot {
                balance: match kind {
                    BalanceKind::Balance => after.balance - amount,
                    BalanceKind::Credit => after.balance,
                },
                equity: after.equity - amount,
                ..after
            }),
            _ => self.after(),
        }
    }

    /// The same input at another time (used to keep time monotonic).
    pub fn at(mut self, t: Timestamp) -> Self {
        match &mut self {
            Input::Sample(s)
            | Input::BalanceOperation { after: s, .. }
            | Input::Trade { after: s } => s.time = t,
            Input::Clock(c) => *c = t,
        }
        self
    }
}

/// What the engine tells the caller. The caller persists, pushes and enforces.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A tracker's threshold was strictly exceeded: the first time in its period.
    Breach(TrackerBreach),
    /// The tracker's current period statistics changed (read them with
    /// [`crate::AccountRisk::tracker`]); push them to period-statistics listeners.
    StatisticsUpdated { tracker: TrackerKey },
    /// A period ended: its final statistics, to persist for the "loads backwards" API.
    PeriodCompleted {
        tracker: TrackerKey,
        stats: PeriodStats,
    },
    /// The tracker's window ended (`endBrokerTime` passed): no more periods.
    TrackerCompleted { tracker: TrackerKey },
    /// An hour of the equity chart ended: persist it.
    ChartItemCompleted(ChartItem),
    /// A prop-firm rule was breached or the challenge passed.
    Rule(RuleEvent),
}
