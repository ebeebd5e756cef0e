//! Protection of the server from its sockets: the message-flood close (CQG 110) and the
//! unready-socket close (CQG 100), each announced with a user message.

use super::Connection;
use crate::messages;
use crate::state::{Shared, lock};
use drawbridge_limits::window::{Ring, Span};
use drawbridge_model::Clock as _;
use serde_json::json;
use socketioxide::extract::SocketRef;
use std::sync::Arc;
use std::time::Duration;

/// Client messages counted on wall time over 10 s (CQG limit 110): past the limit the socket
/// gets a user message and is closed.
#[derive(Debug)]
pub(super) struct Flood {
    span: Span,
    ring: Ring<u32, 11>,
    pub(super) allowed: u64,
}

impl Flood {
    pub(super) fn new(state: &Shared) -> Self {
        let id = drawbridge_limits::catalog::id::CLIENT_MESSAGES_RATE;
        let period_s = (state.limits.catalogue.get(id))
            .and_then(|l| l.period_secs)
            .unwrap_or(10);
        Self {
            span: Span::new(i64::from(period_s) * 1_000, 10),
            ring: Ring::default(),
            allowed: state.limits.catalogue.value(id),
        }
    }

    /// Counts one message; true when it is one too many.
    pub(super) fn count(&mut self) -> bool {
        let now = drawbridge_model::SystemClock.now().0;
        self.ring.advance(self.span.bucket(now));
        self.ring.add(1);
        self.ring.live() > self.allowed
    }
}

/// Sends the socket a critical user message (queued for its user's REST reads too), then
/// closes it.
pub(super) fn close_with(
    state: &Shared,
    s: &SocketRef,
    conn: Option<&Connection>,
    m: &'static messages::Message,
    params: &[&dyn std::fmt::Display],
) {
    let text = m.with(params);
    let kind = crate::user_messages::MessageType::CriticalError;
    let message = match conn {
        Some(conn) => json!(state.user_messages.push(
            &conn.caller.user_id,
            kind,
            text,
            state.now()
        )),
        // Not authenticated yet: for this socket alone.
        None => {
            json!({"type": kind as u8, "message": text.text, "text": text, "time": state.now()})
        }
    };
    let _ = s.emit("userMessage", &message);
    let _ = s.clone().disconnect();
}

/// Closes a socket that has not subscribed any account within `unready_socket_close_secs`
/// (CQG limit 100).
pub(super) async fn close_if_unready(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let secs = (state.limits.catalogue).value(drawbridge_limits::catalog::id::UNREADY_SOCKET_CLOSE);
    let mut closed = conn.closed.subscribe();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(secs)) => {}
        _ = closed.wait_for(|c| *c) => return,
    }
    if lock(&conn.subscribed).is_empty() && s.connected() {
        close_with(
            &state,
            &s,
            Some(&conn),
            &messages::CONNECTION_UNREADY,
            &[&secs],
        );
    }
}
