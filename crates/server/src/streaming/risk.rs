//! Risk events pushed to the streaming sockets: every event the risk engine stores (a
//! tracker's breach, a rule's breach or pass, a halt lift) reaches each instance this socket
//! subscribed of the event's account, as it is stored, as a `synchronization` packet
//! `{type: "trackerEvent", accountId, instanceIndex, host, trackerEvent}` where
//! `trackerEvent` is the event as the tracker-event routes answer it (`sequenceNumber`
//! included).
//!
//! The packet carries no `sequenceNumber` of the instance's own: the SDK's packet orderer
//! passes packets without one straight through (numbered packets must follow each other
//! exactly, so a risk event may not take a number the synchronization expects), and its
//! `_process_synchronization_packet` ignores a type it does not know. The tracker-event
//! sequence number is inside `trackerEvent`. A socket that falls behind skips events: the
//! tracker-event routes keep every one.

use super::{Connection, HOST};
use crate::state::{Shared, lock};
use serde_json::json;
use socketioxide::extract::SocketRef;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// The `synchronization` packet type of a pushed risk event.
const PACKET_TYPE: &str = "trackerEvent";

/// Forwards the user's stored risk events to the socket's subscribed instances while the
/// socket lives.
pub(super) async fn follow_risk_events(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut pushed = state.risk.pushed();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = pushed.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        let event = match next {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "streaming: risk events skipped");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if *event.user_id != *conn.caller.user_id {
            continue;
        }
        let instances: Vec<u64> = (lock(&conn.subscribed).iter())
            .filter(|(a, _)| *a == event.account_id)
            .map(|(_, i)| *i)
            .collect();
        for instance in instances {
            let host = (lock(&conn.synced).get(&(event.account_id.clone(), instance)))
                .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
            let packet = json!({"type": PACKET_TYPE, "accountId": event.account_id,
                "instanceIndex": instance, "host": host, "trackerEvent": event.doc});
            // A full socket resynchronizes through its numbered packets; this one is lost.
            let _ = s.emit("synchronization", &packet);
        }
    }
}
