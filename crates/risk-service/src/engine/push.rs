//! Live updates for the streaming sockets: the period statistics and the chart hour of the
//! accounts some socket watches ([`crate::Risk::watch`]), coalesced.
//!
//! Rule. A tracker whose statistics changed (a maximum moved, a trading day counted, a
//! threshold latched) and an account whose chart hour changed (any input with the account's
//! balance and equity) are marked; every [`PUSH_EVERY`] the marked items of watched accounts
//! are pushed as they are then — the documents the REST routes answer at that moment — so a
//! tracker gets at most one update per interval however often the equity moves, and a quiet
//! account none. Boundaries are not left to the tick:
//! - a period that ends with changes not pushed yet has its final values pushed at once
//!   (once they are durable), and the period that opens is marked;
//! - a chart hour's final item is always pushed as it ends (holding it to the hour's end
//!   changes its average), and the next hour is marked;
//! - a latch is a change like another (its tracker event is pushed as it is stored, and the
//!   latched figures no longer move, so the next update carries the final ones).
//!
//! A period that opened and ended within one interval with no change of its own (the flat
//! periods of a long gap) is not pushed: the statistics route has it. A socket that starts
//! watching gets the account's current statistics and chart item at the next tick. Nothing
//! is marked for an account no socket watches: the cost is one flag test per input.

use super::{Engine, Followed, Sink, Tracked};
use crate::command::AccountKey;
use crate::push::{Push, PushKind, Pushed};
use drawbridge_risk::{ChartItem, EquityChartItem, PeriodStatistics, PeriodStats};
use std::sync::Arc;

pub(super) use crate::push::PUSH_EVERY;

/// What a tracker has for the next push.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Mark {
    #[default]
    Clean,
    /// A new period opened (or a socket started watching): its current values are due.
    Opened,
    /// The current period's figures changed since the last push.
    Changed,
}

fn doc<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl Followed {
    /// Queues the account for the next push tick (once).
    pub(super) fn queue_push(&mut self, sink: &mut Sink) {
        if self.watched && !self.push_queued {
            self.push_queued = true;
            sink.due.push(Arc::clone(&self.key.id));
        }
    }
}

/// A tracker's statistics as the statistics route answers the item.
fn statistics_push(key: &AccountKey, t: &Tracked, stats: &PeriodStats) -> Push {
    Push {
        user_id: Arc::clone(&key.user_id),
        kind: PushKind::PeriodStatistics {
            tracker_id: Arc::clone(&t.id),
        },
        doc: doc(&PeriodStatistics::new(stats, t.period, key.zone)),
    }
}

/// A chart hour as the equity chart route answers the item.
fn chart_push(key: &AccountKey, item: &ChartItem) -> Push {
    Push {
        user_id: Arc::clone(&key.user_id),
        kind: PushKind::EquityChart,
        doc: doc(&EquityChartItem::new(item, key.zone)),
    }
}

/// A tracker's period ended: its final values go out with the next write when a socket has
/// not seen them yet; the period that opens is due.
pub(super) fn period_completed(
    key: &AccountKey,
    watched: bool,
    t: &mut Tracked,
    stats: &PeriodStats,
    sink: &mut Sink,
) {
    if !watched {
        return;
    }
    if t.push == Mark::Changed {
        sink.pushed.add(&key.id, statistics_push(key, t, stats));
    }
    t.push = Mark::Opened;
}

/// The account's chart hour ended: its final item goes out with the next write.
pub(super) fn hour_completed(f: &mut Followed, item: &ChartItem, sink: &mut Sink) {
    if f.watched {
        sink.pushed.add(&f.key.id, chart_push(&f.key, item));
        f.push_chart = true;
    }
}

/// A tracker's figures changed.
pub(super) fn changed(watched: bool, t: &mut Tracked) {
    if watched {
        t.push = Mark::Changed;
    }
}

impl Engine {
    /// A socket started (`on`) or stopped watching the account. A new watcher gets the
    /// current statistics and chart item at the next tick.
    pub(super) fn watch(&mut self, id: Arc<str>, on: bool) {
        let n = self.watchers.entry(Arc::clone(&id)).or_insert(0);
        *n = if on {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        let watched = *n > 0;
        if !watched {
            self.watchers.remove(&id);
        }
        let Some(f) = self.accounts.get_mut(&id) else {
            return;
        };
        f.watched = watched;
        if on {
            for t in &mut f.trackers {
                t.push = t.push.max(Mark::Opened);
            }
            f.push_chart = true;
            f.queue_push(&mut self.sink);
        }
    }

    /// Pushes the marked statistics and chart items of the queued accounts, as they are now;
    /// the chart's hour in progress as the route answers it, held up to the clock.
    pub(super) fn push_due(&mut self) {
        let now = self.clock.now();
        let mut batch = Pushed::default();
        for id in std::mem::take(&mut self.sink.due) {
            let Some(f) = self.accounts.get_mut(&id) else {
                continue;
            };
            f.push_queued = false;
            let chart = std::mem::take(&mut f.push_chart);
            for t in &mut f.trackers {
                let due = std::mem::take(&mut t.push) != Mark::Clean && f.watched;
                if due
                    && let Some(slot) = f.risk.tracker(t.key)
                    && let Some(stats) = slot.state.current()
                {
                    batch.add(&id, statistics_push(&f.key, t, stats));
                }
            }
            if chart
                && f.watched
                && let Some(item) = f.risk.chart().current()
            {
                batch.add(&id, chart_push(&f.key, &item.as_of(now)));
            }
        }
        self.send(batch);
    }

    /// Announces a batch to the streaming sockets (nobody listening: nothing to do).
    pub(super) fn send(&self, batch: Pushed) {
        if batch.is_empty() || self.shared.pushed.receiver_count() == 0 {
            return;
        }
        let _ = self.shared.pushed.send(Arc::new(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drawbridge_broker::broker::AccountRef;
    use drawbridge_model::{Money, ServerZone, Timestamp};
    use drawbridge_risk::{AccountRisk, Span};

    fn account(watched: bool) -> (Followed, Tracked) {
        let zone = ServerZone::parse("EET").unwrap();
        let key = AccountKey {
            id: Arc::from("a"),
            user_id: Arc::from("u"),
            aref: AccountRef {
                server: 0,
                login: 1,
            },
            zone,
        };
        let mut f = Followed::new(key, AccountRisk::new(zone), 0);
        f.watched = watched;
        let t = Tracked {
            key: 0,
            id: Arc::from("t"),
            name: "t".into(),
            period: "day".parse().unwrap(),
            dirty: false,
            push: Mark::Clean,
        };
        (f, t)
    }

    fn period(day: i64) -> PeriodStats {
        let start = Timestamp(day * 86_400_000);
        let span = Span {
            start,
            end: Some(start.plus_millis(86_400_000)),
        };
        PeriodStats::open(span, Money(1_000_000))
    }

    #[test]
    fn a_period_ending_with_unpushed_changes_is_pushed_final_and_the_next_is_due() {
        let (mut f, mut t) = account(true);
        let mut sink = Sink::default();
        // Pushed already: the final values are what the socket has; the new period is due.
        period_completed(&f.key, f.watched, &mut t, &period(0), &mut sink);
        assert!(sink.pushed.is_empty());
        assert_eq!(t.push, Mark::Opened);
        // Opened and ended with no change of its own (a flat period of a gap): not pushed.
        period_completed(&f.key, f.watched, &mut t, &period(1), &mut sink);
        assert!(sink.pushed.is_empty());
        // Changed, then ended before the tick: its final values go out with the write.
        changed(f.watched, &mut t);
        let last = period(2);
        period_completed(&f.key, f.watched, &mut t, &last, &mut sink);
        let pushed = sink.pushed.of("a");
        assert_eq!(pushed.len(), 1);
        assert_eq!(
            pushed[0].kind,
            PushKind::PeriodStatistics {
                tracker_id: Arc::from("t")
            }
        );
        let zone = f.key.zone;
        assert_eq!(
            pushed[0].doc,
            doc(&PeriodStatistics::new(&last, t.period, zone))
        );
        assert_eq!(t.push, Mark::Opened);
        f.queue_push(&mut sink);
        f.queue_push(&mut sink);
        assert_eq!(sink.due.len(), 1, "queued once");
    }

    #[test]
    fn nothing_is_marked_or_queued_for_an_unwatched_account() {
        let (mut f, mut t) = account(false);
        let mut sink = Sink::default();
        changed(f.watched, &mut t);
        period_completed(&f.key, f.watched, &mut t, &period(0), &mut sink);
        assert_eq!(t.push, Mark::Clean);
        f.queue_push(&mut sink);
        assert!(sink.pushed.is_empty() && sink.due.is_empty());
    }
}
