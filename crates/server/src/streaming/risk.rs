//! Risk updates pushed to the streaming sockets, to each instance this socket subscribed of
//! the update's account, as `synchronization` packets:
//! - `{type: "trackerEvent", accountId, instanceIndex, host, trackerEvent}`: every event the
//!   risk engine stores (a tracker's breach, a rule's breach or pass, a halt lift), as it is
//!   stored, `trackerEvent` as the tracker-event routes answer it (`sequenceNumber`
//!   included);
//! - `{type: "periodStatistics", accountId, instanceIndex, host, trackerId,
//!   periodStatistics}`: a tracker's period statistics as they change, `periodStatistics`
//!   the item `GET …/trackers/{trackerId}/statistics` answers for that period;
//! - `{type: "equityChart", accountId, instanceIndex, host, equityChart: [item]}`: the
//!   account's chart hour as it changes, the item as `GET …/equity-chart` answers it.
//!
//! Statistics and chart updates are coalesced by the engine: at most one per tracker (and
//! one chart item per account) per [`drawbridge_risk_service::PUSH_EVERY`], the final values
//! of a period or an hour pushed as it ends (the rule is in the engine's `push` module). This
//! task tells the engine which accounts the socket subscribed
//! ([`drawbridge_risk_service::Risk::watch`]), looking every [`WATCH_CHECK_EVERY`]; a socket
//! that starts watching gets the current statistics and chart item at the next push.
//!
//! The packets carry no `sequenceNumber` of the instance's own: the SDK's packet orderer
//! passes packets without one straight through (numbered packets must follow each other
//! exactly, so a risk update may not take a number the synchronization expects), and its
//! `_process_synchronization_packet` ignores a type it does not know. A socket that falls
//! behind skips updates: the REST routes keep every event, period and hour.

use super::{Connection, HOST};
use crate::state::{Shared, lock};
use drawbridge_risk_service::{Push, PushKind, Pushed};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often the socket's subscribed accounts are compared with those it watches.
const WATCH_CHECK_EVERY: Duration = Duration::from_millis(500);

/// Forwards the user's risk updates to the socket's subscribed instances while the socket
/// lives, and keeps the engine told which accounts it watches.
pub(super) async fn follow_risk_events(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut pushed = state.risk.pushed();
    let mut closed = conn.closed.subscribe();
    let mut check = tokio::time::interval(WATCH_CHECK_EVERY);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watching: Vec<String> = Vec::new();
    loop {
        let next = tokio::select! {
            next = pushed.recv() => Some(next),
            _ = check.tick() => None,
            _ = closed.wait_for(|c| *c) => break,
        };
        let Some(next) = next else {
            rewatch(&state, &conn, &mut watching).await;
            continue;
        };
        match next {
            Ok(batch) => forward(&s, &conn, &batch),
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "streaming: risk updates skipped");
            }
            Err(RecvError::Closed) => break,
        }
    }
    for account in watching {
        state.risk.watch(&account, false).await;
    }
}

/// Watches the accounts the socket subscribed now, and no others.
async fn rewatch(state: &Shared, conn: &Connection, watching: &mut Vec<String>) {
    let mut now: Vec<String> = (lock(&conn.subscribed).iter())
        .map(|(a, _)| a.clone())
        .collect();
    now.sort_unstable();
    now.dedup();
    if now == *watching {
        return;
    }
    for account in now.iter().filter(|a| watching.binary_search(a).is_err()) {
        state.risk.watch(account, true).await;
    }
    for account in watching.iter().filter(|a| now.binary_search(a).is_err()) {
        state.risk.watch(account, false).await;
    }
    *watching = now;
}

/// Sends the batch's updates of the caller's subscribed accounts.
fn forward(s: &SocketRef, conn: &Connection, batch: &Pushed) {
    let subscribed: Vec<(String, u64)> = lock(&conn.subscribed).clone();
    for (account, instance) in subscribed {
        let pushes = batch.of(&account);
        let mine = pushes.iter().filter(|p| *p.user_id == *conn.caller.user_id);
        let mut host = None;
        for push in mine {
            let host = host.get_or_insert_with(|| {
                (lock(&conn.synced).get(&(account.clone(), instance)))
                    .map_or_else(|| HOST.to_owned(), |k| k.host.clone())
            });
            let packet = packet(push, &account, instance, host);
            // A full socket resynchronizes through its numbered packets; this one is lost.
            let _ = s.emit("synchronization", &packet);
        }
    }
}

/// The `synchronization` packet of one update to one instance.
fn packet(push: &Push, account: &str, instance: u64, host: &str) -> Value {
    let mut packet = json!({"accountId": account, "instanceIndex": instance, "host": host});
    let (kind, key, doc) = match &push.kind {
        PushKind::TrackerEvent => ("trackerEvent", "trackerEvent", push.doc.clone()),
        PushKind::PeriodStatistics { tracker_id } => {
            packet["trackerId"] = json!(tracker_id);
            ("periodStatistics", "periodStatistics", push.doc.clone())
        }
        PushKind::EquityChart => ("equityChart", "equityChart", json!([push.doc])),
    };
    packet["type"] = json!(kind);
    packet[key] = doc;
    packet
}
