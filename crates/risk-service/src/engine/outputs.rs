//! What the engine does with one account's outputs: events to write (tracker breaches,
//! rule outcomes), halts and close-outs to order, periods and chart hours to persist, the
//! statistics and chart updates they owe the streaming sockets (see `push`); and the
//! announcement of stored events.

use super::push::{changed, hour_completed, period_completed};
use super::{Followed, Sink};
use crate::Shared;
use crate::push::{Push, PushKind, Pushed};
use crate::rules::{RULES_TRACKER_ID, rule_event_doc};
use drawbridge_risk::wire::EventNames;
use drawbridge_risk::{BreachAction, EquityChartItem, Output, PeriodStatistics, TrackerEvent};
use drawbridge_store::{RiskRecord, TrackerEventRow};
use std::sync::Arc;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Takes one account's outputs: events, completed periods and hours to write, halts, the
/// updates to push.
pub(super) fn take_outputs(f: &mut Followed, out: &[Output], sink: &mut Sink, shared: &Shared) {
    let zone = f.key.zone;
    let watched = f.watched;
    let mut marked = false;
    for o in out {
        match o {
            Output::Breach(b) => {
                let Some(t) = f.trackers.iter_mut().find(|t| t.key == b.tracker) else {
                    continue;
                };
                t.dirty = true;
                changed(watched, t);
                marked = true;
                let names = EventNames {
                    sequence_number: 0,
                    account_id: &f.key.id,
                    tracker_id: &t.id,
                    tracker_name: Some(&t.name),
                    period: t.period,
                };
                let event = TrackerEvent::new(b, names, zone);
                let row = TrackerEventRow {
                    user_id: f.key.user_id.to_string(),
                    seq: 0,
                    account_id: f.key.id.to_string(),
                    tracker_id: t.id.to_string(),
                    broker_time: event.broker_time.clone(),
                    doc: json(&event),
                };
                sink.write.events.push(row);
                if b.action.halts() {
                    f.halt(shared, b.action);
                }
                if b.action == BreachAction::CloseAndHalt {
                    f.order_close_out(sink);
                }
            }
            Output::StatisticsUpdated { tracker } => {
                if let Some(t) = f.trackers.iter_mut().find(|t| t.key == *tracker) {
                    t.dirty = true;
                    changed(watched, t);
                    marked = true;
                }
            }
            Output::TrackerCompleted { tracker } => {
                if let Some(t) = f.trackers.iter_mut().find(|t| t.key == *tracker) {
                    t.dirty = true;
                }
            }
            Output::PeriodCompleted { tracker, stats } => {
                let Some(t) = f.trackers.iter_mut().find(|t| t.key == *tracker) else {
                    continue;
                };
                t.dirty = true;
                sink.write.periods.push(RiskRecord {
                    owner: t.id.to_string(),
                    start: stats.span.start,
                    doc: json(&PeriodStatistics::new(stats, t.period, zone)),
                });
                period_completed(&f.key, watched, t, stats, sink);
                marked = true;
            }
            Output::ChartItemCompleted(item) => {
                sink.write.chart.push(RiskRecord {
                    owner: f.key.id.to_string(),
                    start: item.start,
                    doc: json(&EquityChartItem::new(item, zone)),
                });
                hour_completed(f, item, sink);
                marked = true;
            }
            Output::Rule(e) => {
                f.rules_dirty = true;
                let name = f.rules.as_ref().map_or("", |r| r.name.as_str());
                let doc = rule_event_doc(&f.key.id, name, e, zone);
                sink.write.events.push(event_row(f, RULES_TRACKER_ID, doc));
                if e.action.halts() {
                    f.halt(shared, e.action);
                }
                if e.action == BreachAction::CloseAndHalt {
                    f.order_close_out(sink);
                }
            }
        }
    }
    if marked {
        f.queue_push(sink);
    }
}

impl Followed {
    /// Orders a close-out: pending in the account's state, written (the account is dirty
    /// after any apply) in the same transaction as the breach event, run after it.
    fn order_close_out(&mut self, sink: &mut Sink) {
        self.closeout_pending = true;
        sink.closeouts
            .push((Arc::clone(&self.key.id), self.key.aref));
    }
}

/// An event row of the account; `doc` carries `brokerTime`.
pub(super) fn event_row(f: &Followed, tracker_id: &str, doc: serde_json::Value) -> TrackerEventRow {
    let broker_time = doc["brokerTime"].as_str().unwrap_or_default().to_owned();
    TrackerEventRow {
        user_id: f.key.user_id.to_string(),
        seq: 0,
        account_id: f.key.id.to_string(),
        tracker_id: tracker_id.to_owned(),
        broker_time,
        doc: doc.to_string(),
    }
}

/// Adds a stored event, with its sequence number, to the batch announced after the write.
pub(super) fn push_event(batch: &mut Pushed, e: &TrackerEventRow, seq: u64) {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(&e.doc) else {
        return;
    };
    doc["sequenceNumber"] = serde_json::json!(seq);
    let push = Push {
        user_id: Arc::from(e.user_id.as_str()),
        kind: PushKind::TrackerEvent,
        doc,
    };
    batch.add(&Arc::from(e.account_id.as_str()), push);
}
