//! Terminal synchronization: the `synchronize` answer's packets, then an `update` packet
//! whenever the desk says the account changed.

use super::connection::{emit_sequenced_text, push_json_str};
use super::{Connection, HOST, emit_sequenced, hashes};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::rest::client::terminal::{Terminal, read_terminal};
use crate::state::{Shared, lock};
use drawbridge_model::Timestamp;
use drawbridge_model::wire as w;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::time::Instant;

/// How long after one instance of an account was sent its synchronization another instance's
/// may start (wall time: this paces a client, not the market).
pub(super) const REPLICA_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// The instances (replicas) of one account synchronize in turns, [`REPLICA_GAP`] apart.
///
/// The official SDK handles every packet of an account, whatever its instance, in one queue
/// per account, and the handler of a `dealSynchronizationFinished` replaces that queue while
/// the loop draining it still runs: packets queued meanwhile (another instance's
/// synchronization sent right behind) are dropped unseen, and that instance never completes
/// its synchronization in the client. Replicas in the cloud are separate terminals and
/// rarely synchronize within milliseconds of each other; here both answer at once, so the
/// second waits until the first was sent and the client had time to take it in.
#[derive(Debug, Default)]
pub(super) struct Turns {
    /// Per (user, account): the instance last given a turn, and when its packets were all
    /// sent (`None` while they are being read and sent).
    held: std::sync::Mutex<super::FastMap<(String, String), LastTurn>>,
    /// Woken whenever a turn ends.
    ended: tokio::sync::Notify,
}

/// The instance of an account last given a turn, and when its packets were all sent (`None`
/// while they are being read and sent).
type LastTurn = (u64, Option<Instant>);

/// A turn of [`Turns`]: until it is dropped, no other instance of the account synchronizes.
#[derive(Debug)]
pub(super) struct Turn {
    turns: Arc<Turns>,
    key: (String, String),
}

impl Turns {
    /// Waits for the account's turn for `instance`: until no other instance's
    /// synchronization is being sent, or was sent within the last [`REPLICA_GAP`].
    pub(super) async fn take(self: &Arc<Self>, user: &str, account: &str, instance: u64) -> Turn {
        let key = (user.to_owned(), account.to_owned());
        loop {
            let ended = self.ended.notified();
            let now = Instant::now();
            let wait = {
                let mut held = lock(&self.held);
                // Only turns that still keep someone waiting are worth keeping.
                if held.len() > TURNS_PRUNE_AT {
                    held.retain(|_, (_, done)| done.is_none_or(|at| now < at + REPLICA_GAP));
                }
                let wait = match held.get(&key) {
                    Some((_, None)) => Some(None),
                    Some((other, Some(at))) if *other != instance && now < *at + REPLICA_GAP => {
                        Some(Some(*at + REPLICA_GAP))
                    }
                    _ => None,
                };
                if wait.is_none() {
                    held.insert(key.clone(), (instance, None));
                }
                wait
            };
            match wait {
                None => {
                    return Turn {
                        turns: Arc::clone(self),
                        key,
                    };
                }
                Some(None) => ended.await,
                Some(Some(until)) => tokio::time::sleep_until(until).await,
            }
        }
    }
}

/// Turns kept before those no longer holding anyone back are dropped.
const TURNS_PRUNE_AT: usize = 1_024;

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some((_, done)) = lock(&self.turns.held).get_mut(&self.key) {
            *done = Some(Instant::now());
        }
        self.turns.ended.notify_waiters();
    }
}

/// The ids a synchronized instance holds: updates send what changed against them.
#[derive(Debug, Default)]
pub(super) struct Known {
    pub(super) host: String,
    positions: HashSet<String>,
    orders: HashSet<String>,
    /// The time of the newest deal sent, and the ids of those sent at or after it: the next
    /// update reads from there and skips them (so neither the read nor the set grows).
    deals_since: Timestamp,
    deals: HashSet<String>,
    /// The same for history orders, by their done time.
    orders_since: Timestamp,
    history_orders: HashSet<String>,
    /// The [`fingerprint`] of the account, positions and orders last sent.
    last: u64,
}

/// The newest time among `times` (or `floor`), and the ids at or after it.
pub(super) fn newest<'a>(
    floor: Timestamp,
    items: impl Iterator<Item = (&'a str, Timestamp)> + Clone,
) -> (Timestamp, HashSet<String>) {
    let since = items.clone().map(|(_, t)| t).fold(floor, Timestamp::max);
    let ids = (items.filter(|(_, t)| *t >= since))
        .map(|(id, _)| id.to_owned())
        .collect();
    (since, ids)
}

/// Sends an `update` to every synchronized instance whose account the desk says changed.
pub(super) async fn follow_changes(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut changes = state.desk.trading_changes();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = changes.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        let changed = match next {
            Ok(c) => Some(c),
            // Fell behind: bring every synchronized instance up to date.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if !s.connected() {
            return;
        }
        let keys: Vec<(String, u64)> = lock(&conn.synced).keys().cloned().collect();
        for (account, instance) in keys {
            let hit = state.session(&account).is_some_and(|session| {
                changed
                    .as_ref()
                    .is_none_or(|c| c.contains(&session.account))
            });
            if hit {
                send_update(&state, &s, &conn, &account, instance).await;
            }
        }
    }
}

/// One `update` packet: the account information, positions and orders that changed or went,
/// and the deals and history orders not sent before.
pub(super) async fn send_update(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
) {
    let _one_at_a_time = conn.updating.lock().await;
    let (deals_since, orders_since) = {
        let synced = lock(&conn.synced);
        let known = synced.get(&(account.to_owned(), instance));
        known.map_or((Timestamp::EPOCH, Timestamp::EPOCH), |k| {
            (k.deals_since, k.orders_since)
        })
    };
    let read = read_terminal(
        state,
        &conn.caller,
        account,
        Terminal::WITHOUT_SPECIFICATIONS,
        deals_since,
        orders_since,
    );
    let Ok(Terminal {
        information: info,
        positions,
        orders,
        deals,
        history_orders,
        ..
    }) = read.await
    else {
        return;
    };
    let packet = {
        let mut synced = lock(&conn.synced);
        let Some(known) = synced.get_mut(&(account.to_owned(), instance)) else {
            return;
        };
        let removed = gone(&mut known.positions, positions.iter().map(|p| p.id.clone()));
        let completed = gone(&mut known.orders, orders.iter().map(|o| o.id.clone()));
        let order_time = |o: &w::Order| o.done_time.unwrap_or(Timestamp::EPOCH);
        let (deals_since, deal_ids) = newest(
            known.deals_since,
            deals.iter().map(|d| (d.id.as_str(), d.time)),
        );
        let (orders_since, order_ids) = newest(
            known.orders_since,
            history_orders
                .iter()
                .map(|o| (o.id.as_str(), order_time(o))),
        );
        let deals: Vec<_> = (deals.into_iter())
            .filter(|d| !known.deals.contains(&d.id))
            .collect();
        let history_orders: Vec<_> = (history_orders.into_iter())
            .filter(|o| !known.history_orders.contains(&o.id))
            .collect();
        (known.deals_since, known.deals) = (deals_since, deal_ids);
        (known.orders_since, known.history_orders) = (orders_since, order_ids);
        // Nothing new (a catch-up after a synchronization, or after falling behind the
        // desk's announcements): no packet.
        let current = fingerprint(&info, &positions, &orders);
        let nothing = removed.is_empty()
            && completed.is_empty()
            && deals.is_empty()
            && history_orders.is_empty()
            && known.last == current;
        if nothing {
            return;
        }
        known.last = current;
        let mut packet = json!({
            "type": "update",
            "accountId": account,
            "instanceIndex": instance,
            "host": known.host,
            "updatedPositions": positions,
            "removedPositionIds": removed,
            "updatedOrders": orders,
            "completedOrderIds": completed,
            "historyOrders": history_orders,
            "deals": deals,
        });
        if let Some(i) = info {
            packet["accountInformation"] = json!(i);
        }
        packet
    };
    emit_sequenced(state, s, conn, (account, instance), packet, false);
}

/// A digest of what an `update` packet would say of the account, its positions and orders:
/// equal digests, nothing to send.
fn fingerprint(
    info: &Option<w::AccountInformation>,
    positions: &[w::Position],
    orders: &[w::Order],
) -> u64 {
    use std::hash::Hasher;
    /// Feeds what serde_json writes straight into the hasher: no tree, no string.
    struct Feed<H>(H);
    impl<H: Hasher> std::io::Write for Feed<H> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut feed = Feed(std::collections::hash_map::DefaultHasher::new());
    // Writing into the hasher cannot fail; the wire types always serialize.
    let _ = serde_json::to_writer(&mut feed, &(info, positions, orders));
    feed.0.finish()
}

/// The ids of `known` missing from `now`, which then replaces it.
pub(super) fn gone(known: &mut HashSet<String>, now: impl Iterator<Item = String>) -> Vec<String> {
    let now: HashSet<String> = now.collect();
    let mut removed: Vec<String> = known.difference(&now).cloned().collect();
    removed.sort_unstable();
    *known = now;
    removed
}

/// One `synchronize` request: the account's whole terminal state, read when the request
/// came, sent as the SDK expects it (specifications before orders, history after).
#[derive(Debug)]
pub(super) struct Synchronization {
    pub(super) account: String,
    pub(super) instance: u64,
    host: String,
    id: String,
    specifications: Vec<w::SymbolSpecification>,
    information: Option<w::AccountInformation>,
    positions: Vec<w::Position>,
    orders: Vec<w::Order>,
    deals: Vec<w::Deal>,
    history_orders: Vec<w::Order>,
    /// The times the history was read from.
    deals_from: Timestamp,
    orders_from: Timestamp,
    /// The client's `specificationsHashes`, `positionsHashes` and `ordersHashes`.
    offered: [Option<Value>; 3],
    /// The account's turn, given back once the packets are sent.
    _turn: Turn,
}

impl Synchronization {
    pub(super) async fn of(
        state: &Shared,
        caller: &Caller,
        req: &Value,
        account: &str,
        turn: Turn,
    ) -> Result<Self, ApiError> {
        let text = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let since = |k: &str| {
            req.get(k)
                .and_then(Value::as_str)
                .and_then(|t| Timestamp::parse_iso(t).ok())
                .unwrap_or(Timestamp::EPOCH)
        };
        let host = Some(text("host")).filter(|h| !h.is_empty());
        let (deals_from, orders_from) =
            (since("startingDealTime"), since("startingHistoryOrderTime"));
        let terminal = read_terminal(
            state,
            caller,
            account,
            Terminal::WITH_SPECIFICATIONS,
            deals_from,
            orders_from,
        )
        .await?;
        Ok(Self {
            account: account.to_owned(),
            instance: req
                .get("instanceIndex")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            host: host.unwrap_or_else(|| HOST.to_owned()),
            id: text("requestId"),
            specifications: terminal.specifications,
            information: terminal.information,
            positions: terminal.positions,
            orders: terminal.orders,
            deals: terminal.deals,
            history_orders: terminal.history_orders,
            deals_from,
            orders_from,
            offered: ["specificationsHashes", "positionsHashes", "ordersHashes"]
                .map(|k| req.get(k).cloned()),
            _turn: turn,
        })
    }

    /// Emits the packets, each with the envelope the SDK matches them by, and remembers what
    /// the instance now holds.
    pub(super) fn send(self, state: &Shared, s: &SocketRef, conn: &Connection) {
        let (deals_since, deals) = newest(
            self.deals_from,
            self.deals.iter().map(|d| (d.id.as_str(), d.time)),
        );
        let (orders_since, history_orders) = newest(
            self.orders_from,
            (self.history_orders.iter())
                .map(|o| (o.id.as_str(), o.done_time.unwrap_or(Timestamp::EPOCH))),
        );
        let known = Known {
            host: self.host.clone(),
            positions: self.positions.iter().map(|p| p.id.clone()).collect(),
            orders: self.orders.iter().map(|o| o.id.clone()).collect(),
            deals_since,
            deals,
            orders_since,
            history_orders,
            last: fingerprint(&self.information, &self.positions, &self.orders),
        };
        lock(&conn.synced).insert((self.account.clone(), self.instance), known);
        // Each of specifications, positions and orders is sent unless the client holds it
        // already: then `synchronizationStarted` names which of its hashes matched. Packets
        // are written as text straight from the wire types (no `Value` trees: a long
        // history is megabytes).
        let mut started = String::new();
        let mut state_packets = Vec::new();
        let [specs, positions, orders] = &self.offered;
        state_part(
            ("specifications", "specificationsHashIndex"),
            &self.specifications,
            (hashes::SPECIFICATIONS, specs.as_ref()),
            &mut started,
            &mut state_packets,
        );
        state_part(
            ("positions", "positionsHashIndex"),
            &self.positions,
            (hashes::POSITIONS, positions.as_ref()),
            &mut started,
            &mut state_packets,
        );
        state_part(
            ("orders", "ordersHashIndex"),
            &self.orders,
            (hashes::ORDERS, orders.as_ref()),
            &mut started,
            &mut state_packets,
        );
        let information = self.information.map_or(json!({}), |i| json!(i));
        let mut packets = vec![("synchronizationStarted", started)];
        let mut state_packets = state_packets.into_iter().peekable();
        // Specifications before the account information, positions and orders after it.
        if let Some(p) = state_packets.next_if(|(k, _)| *k == "specifications") {
            packets.push(p);
        }
        packets.push((
            "accountInformation",
            format!(",\"accountInformation\":{information}"),
        ));
        packets.extend(state_packets);
        // A long history goes in several packets, none over HISTORY_PACKET_ITEMS items.
        packets.extend(
            chunks(&self.history_orders).map(|c| ("historyOrders", field("historyOrders", c))),
        );
        packets.extend(chunks(&self.deals).map(|c| ("deals", field("deals", c))));
        packets.push(("orderSynchronizationFinished", String::new()));
        packets.push(("dealSynchronizationFinished", String::new()));
        let mut envelope = String::new();
        push_json_str(&mut envelope, &self.account);
        envelope.push_str(&format!(",\"instanceIndex\":{},\"host\":", self.instance));
        push_json_str(&mut envelope, &self.host);
        envelope.push_str(",\"synchronizationId\":");
        push_json_str(&mut envelope, &self.id);
        for (kind, body) in packets {
            let restart = kind == "synchronizationStarted";
            let packet = format!("{{\"type\":\"{kind}\",\"accountId\":{envelope}{body}");
            let to = (self.account.as_str(), self.instance);
            if !emit_sequenced_text(state, s, conn, to, packet, restart) {
                return;
            }
        }
    }
}

/// History items per `deals` or `historyOrders` packet of a synchronization.
pub(super) const HISTORY_PACKET_ITEMS: usize = 1_000;

/// `items` in packets of at most [`HISTORY_PACKET_ITEMS`]; one empty packet for none.
fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let empty: &[T] = &[];
    let none = items.is_empty().then_some(empty);
    none.into_iter().chain(items.chunks(HISTORY_PACKET_ITEMS))
}

/// `,"<name>":<items>`: one field of a packet's text.
fn field<T: serde::Serialize>(name: &str, items: &[T]) -> String {
    let items = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    format!(",\"{name}\":{items}")
}

/// Specifications, positions or orders in a synchronization: skipped, with its index added to
/// `synchronizationStarted` (`started`), when the client offered their hash; else a packet.
fn state_part<T: serde::Serialize>(
    (kind, index_field): (&'static str, &str),
    items: &[T],
    (hashing, offered): (hashes::Kind, Option<&Value>),
    started: &mut String,
    packets: &mut Vec<(&'static str, String)>,
) {
    // The SDK hashes what it received in the order it received it: these go out as `Value`s
    // (serde_json writes their keys sorted), and are hashed in that same order.
    let values: Vec<Value> = items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect();
    // Hashed only when the client holds something to compare with.
    let offered = offered.filter(|o| o.as_array().is_some_and(|a| !a.is_empty()));
    let matched = offered.and_then(|offers| {
        hashes::offered_index(Some(offers), hashes::set_hash(hashing, &values).as_deref())
    });
    match matched {
        Some(i) => started.push_str(&format!(",\"{index_field}\":{i}")),
        None => packets.push((kind, field(kind, &values))),
    }
}
