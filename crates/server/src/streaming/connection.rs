//! What one socket knows ([`Connection`]: who it is, what it subscribed and synchronized,
//! its market data) and how packets to an instance are numbered and sent.

use super::{FastMap, hub, market, sync, sync::Known};
use crate::auth::Caller;
use crate::state::{Shared, lock};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use std::sync::{Arc, Mutex};

/// What one socket knows: who it is, and which (account, instance) it subscribed.
pub(super) struct Connection {
    pub(super) caller: Caller,
    /// The socket's token, for the REST routes its RPC requests run through.
    pub(super) token: String,
    pub(super) client_id: String,
    /// The REST router, called in-process for RPC requests.
    pub(super) api: axum::Router,
    pub(super) subscribed: Mutex<Vec<(String, u64)>>,
    /// The last packet's `(sequenceNumber, sequenceTimestamp)` per (account, instance): the
    /// SDK orders each instance's packets by them and wants every number exactly one more.
    pub(super) sequence: Mutex<FastMap<(String, u64), (u64, i64)>>,
    /// Requests being answered now (at most `requests_in_processing_per_session`).
    pub(super) in_flight: std::sync::atomic::AtomicU64,
    /// Set when the socket closed: its tasks end.
    pub(super) closed: tokio::sync::watch::Sender<bool>,
    /// What each synchronized (account, instance) was last sent, for its `update` packets.
    pub(super) synced: Mutex<FastMap<(String, u64), Known>>,
    /// Held while an `update` is read and sent: each starts from where the last one left
    /// off, so two cannot interleave (a catch-up after a synchronization and a change).
    pub(super) updating: tokio::sync::Mutex<()>,
    /// Market-data subscriptions per (account, instance), by symbol.
    pub(super) market: Mutex<market::Subscriptions>,
    /// Where the socket's market data comes from, shared by every socket.
    pub(super) hub: Arc<hub::Hub>,
    /// When each account's instances may synchronize, shared by every socket.
    pub(super) turns: Arc<sync::Turns>,
}

impl Connection {
    /// The next `(sequenceNumber, sequenceTimestamp)` of an instance: numbers count up from
    /// its last `synchronizationStarted` (`restart`), timestamps never go back and always
    /// move on (each `synchronizationStarted` must be strictly later than the last).
    pub(super) fn next_sequence(
        &self,
        account: &str,
        instance: u64,
        now_ms: i64,
        restart: bool,
    ) -> (u64, i64) {
        self.next_sequence_of(&(account.to_owned(), instance), now_ms, restart)
    }

    /// [`Self::next_sequence`] of an instance's key, allocating nothing once it has one.
    pub(super) fn next_sequence_of(
        &self,
        key: &(String, u64),
        now_ms: i64,
        restart: bool,
    ) -> (u64, i64) {
        let mut all = lock(&self.sequence);
        let seq = match all.get_mut(key) {
            Some(seq) => seq,
            None => all.entry(key.clone()).or_insert((0, 0)),
        };
        seq.0 = if restart { 1 } else { seq.0 + 1 };
        seq.1 = now_ms.max(seq.1 + 1);
        tracing::debug!(account = %key.0, instance = key.1, number = seq.0, at = seq.1, "numbered");
        *seq
    }

    /// Forgets an instance (unsubscribed, disconnected, or a packet to it was lost); only its
    /// sequence is kept. True when it was the socket's last instance of the account: the
    /// account's subscription, counted once per socket in the limits, is then to be released
    /// ([`forget_and_release`]).
    pub(super) fn forget(&self, account: &str, instance: Option<u64>) -> bool {
        let matches = |(a, i): &(String, u64)| a == account && instance.is_none_or(|x| x == *i);
        let left = {
            let mut subscribed = lock(&self.subscribed);
            let held = subscribed.iter().any(|(a, _)| a == account);
            subscribed.retain(|k| !matches(k));
            held && !subscribed.iter().any(|(a, _)| a == account)
        };
        lock(&self.synced).retain(|k, _| !matches(k));
        lock(&self.market).retain(|k, _| !matches(k));
        // The sequence stays: the SDK drops a `synchronizationStarted` whose timestamp is not
        // past every packet it had of the instance, and the clock may stand still (virtual).
        left
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Connection")
            .field("user_id", &self.caller.user_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Numbers `packet` in its instance's sequence (`restart` for `synchronizationStarted`) and
/// emits it; if it cannot be sent, the instance is forgotten, so that the client, missing a
/// sequence number, resubscribes and synchronizes afresh.
pub(super) fn emit_sequenced(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    (account, instance): (&str, u64),
    mut packet: Value,
    restart: bool,
) -> bool {
    let (number, at) = conn.next_sequence(account, instance, state.now().0, restart);
    packet["sequenceNumber"] = json!(number);
    packet["sequenceTimestamp"] = json!(at);
    emit_or_forget(state, s, conn, account, instance, &packet)
}

/// Emits a `synchronization` packet of an instance; if it cannot be sent, the instance is
/// forgotten. Every packet to an instance goes out here, numbered or not.
pub(super) fn emit_or_forget(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
    packet: &impl serde::Serialize,
) -> bool {
    let sent = emit(s, account, instance, packet);
    if !sent {
        forget_and_release(state, conn, account, Some(instance));
    }
    sent
}

/// Emits a `synchronization` packet of an instance; false when it cannot be sent (the socket
/// closed, or its buffer is full), and the caller is to forget the instance.
pub(super) fn emit(
    s: &SocketRef,
    account: &str,
    instance: u64,
    packet: &impl serde::Serialize,
) -> bool {
    let sent = s.emit("synchronization", packet).is_ok();
    tracing::debug!(account, instance, sent, "emitted");
    sent
}

/// Forgets an instance ([`Connection::forget`]) and, when it was the socket's last of its
/// account, releases the account's subscription in the limits: exactly once, by whichever
/// forgetting emptied it (a disconnect takes the whole list at once).
pub(super) fn forget_and_release(
    state: &Shared,
    conn: &Connection,
    account: &str,
    instance: Option<u64>,
) {
    if conn.forget(account, instance) {
        crate::limits::streaming::unsubscribe(state, &conn.caller, account);
    }
}

/// Numbers a packet given as its JSON text without the closing brace (`{"type":…,…`) in its
/// instance's sequence and emits it as it is: what [`emit_sequenced`] does, without a
/// `Value` tree for a large packet.
pub(super) fn emit_sequenced_text(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    (account, instance): (&str, u64),
    mut open: String,
    restart: bool,
) -> bool {
    let (number, at) = conn.next_sequence(account, instance, state.now().0, restart);
    open.push_str(&format!(
        ",\"sequenceNumber\":{number},\"sequenceTimestamp\":{at}}}"
    ));
    emit_or_forget(state, s, conn, account, instance, &Prebuilt(&open))
}

/// JSON text serialized as it is, without parsing it again as
/// [`serde_json::value::RawValue::from_string`] does: the packets are assembled from
/// renderings serde_json made. serde_json writes a struct of this name as raw text (its
/// `RawValue` does the same; the test below holds it to that).
pub(super) struct Prebuilt<'a>(pub(super) &'a str);

/// The struct name serde_json's serializer writes as raw JSON text.
const RAW_JSON_TOKEN: &str = "$serde_json::private::RawValue";

impl serde::Serialize for Prebuilt<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        debug_assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(self.0).is_ok(),
            "invariant: a prebuilt packet is JSON"
        );
        let mut s = serializer.serialize_struct(RAW_JSON_TOKEN, 1)?;
        s.serialize_field(RAW_JSON_TOKEN, self.0)?;
        s.end()
    }
}

pub(super) fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prebuilt_is_written_as_it_is() {
        let text = r#"{"type":"prices","prices":[{"symbol":"EURUSD","bid":1.1}],"x":"a\"b"}"#;
        let framed = serde_json::to_string(&("synchronization", Prebuilt(text))).unwrap();
        assert_eq!(framed, format!(r#"["synchronization",{text}]"#));
    }

    #[test]
    fn json_strings_are_escaped_only_when_needed() {
        let mut out = String::new();
        push_json_str(&mut out, "plain-id");
        push_json_str(&mut out, "q\"uote\n");
        assert_eq!(out, r#""plain-id""q\"uote\n""#);
    }
}
