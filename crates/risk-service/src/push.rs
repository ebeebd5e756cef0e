//! What the engine announces to the streaming sockets: batches of updates by account
//! ([`Pushed`]) on a bounded broadcast ([`crate::Risk::pushed`]). When statistics and chart
//! items are pushed is the engine's rule (`engine::push`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the changed period statistics and chart items of watched accounts are pushed:
/// at most one update per tracker, and one chart item per account, per this interval.
pub const PUSH_EVERY: Duration = Duration::from_secs(1);
/// Push batches waiting for the streaming sockets; a lagging socket skips (REST has them).
pub(crate) const PUSHED_MAX: usize = 4_096;

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
