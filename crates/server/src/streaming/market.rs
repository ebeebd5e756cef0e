//! Market data over the socket: `subscribeToMarketData`, `unsubscribeFromMarketData` and
//! `refreshMarketDataSubscriptions`, the `prices` packets they start, subscription expiry,
//! and streaming credits with downgrade.
//!
//! A subscription is kept per (account, instance) and symbol as a list of streams, one per
//! `type` (and timeframe, for candles): `quotes` fill `prices`, `candles` fill `candles`,
//! `ticks` fill `ticks` and `marketDepth` fills `books`, each at most every
//! `intervalInMilliseconds` (the account's `quoteStreamingIntervalInSeconds` when absent;
//! ticks are never conflated: every tick since the last packet goes out) and only when it
//! changed. One packet per instance carries whatever is due, with the account's equity,
//! margin, free margin and margin level; the hub's task assembles it from the hub's shared
//! renderings ([`super::hub`]) by concatenation, so a price is serialized once for every
//! socket, and emits the text as it is ([`super::connection::Prebuilt`]: not parsed again).
//!
//! A subscription not refreshed within [`EXPIRY`] on the server's clock is dropped. The SDK
//! (`StreamingMetaApiConnection._refresh_market_data_subscriptions`) sends its whole list for
//! each instance on every `synchronizationStarted` and then every 1–600 s (uniformly random),
//! and ignores the answer (`{}`); a refresh also restores listed subscriptions the server no
//! longer holds (after a reconnect).

use super::connection::{Prebuilt, emit, forget_and_release, push_json_str};
use super::hub::{AccountFrame, Frame, SymbolFrame};
use super::{Connection, HOST, emit_sequenced, instances};
use crate::error::{ApiError, FieldError};
use crate::rest::client::session::unknown_symbol;
use crate::rest::client::symbols::{BOOK_DEPTH, symbol_exists};
use crate::state::{Shared, lock};
use drawbridge_limits::streaming::{Packet, SymbolLoad, plan};
use drawbridge_model::wire::{self as w, MarketDataType};
use drawbridge_model::{Timeframe, Timestamp};
use serde_json::{Value, json};
use smallvec::SmallVec;
use socketioxide::extract::SocketRef;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A connection's market-data subscriptions, per (account, instance) and symbol.
pub(super) type Subscriptions = HashMap<(String, u64), InstanceSubs>;

/// One instance's market-data subscriptions: its streams by symbol, and its account's slot in
/// the hub's frames.
#[derive(Debug, Default)]
pub(super) struct InstanceSubs {
    pub(super) symbols: SymbolMap,
    /// The account's slot in the hub's frames, and the layout it is of.
    account_slot: Option<(u64, usize)>,
    /// The account's key among the streaming budgets (`limits::streaming::streaming_key`), once
    /// known.
    budget: Option<u64>,
}

/// An instance's streams by symbol, in a list: at most [`MARKET_SYMBOLS_MAX`] symbols, found
/// by a short scan, and walked front to back by the hub at every tick (no hash table to
/// probe). The names are kept apart from the streams: the hub's walk reads a name only when
/// the frames' layout changed, so it touches one small block per symbol.
#[derive(Debug, Default)]
pub(super) struct SymbolMap {
    names: Vec<String>,
    subs: Vec<SymbolSubs>,
}

impl SymbolMap {
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn position(&self, symbol: &str) -> Option<usize> {
        self.names.iter().position(|s| s == symbol)
    }

    pub(super) fn contains_key(&self, symbol: &str) -> bool {
        self.position(symbol).is_some()
    }

    fn get_mut(&mut self, symbol: &str) -> Option<&mut SymbolSubs> {
        let at = self.position(symbol)?;
        self.subs.get_mut(at)
    }

    /// The symbol's streams, made by `new` if it has none yet.
    fn get_or_insert_with(
        &mut self,
        symbol: &str,
        new: impl FnOnce() -> SymbolSubs,
    ) -> &mut SymbolSubs {
        let at = match self.position(symbol) {
            Some(at) => at,
            None => {
                self.names.push(symbol.to_owned());
                self.subs.push(new());
                self.subs.len() - 1
            }
        };
        &mut self.subs[at]
    }

    fn remove(&mut self, symbol: &str) {
        if let Some(at) = self.position(symbol) {
            self.names.remove(at);
            self.subs.remove(at);
        }
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&str, &mut SymbolSubs) -> bool) {
        let mut at = 0;
        while at < self.names.len() {
            if keep(&self.names[at], &mut self.subs[at]) {
                at += 1;
            } else {
                self.names.remove(at);
                self.subs.remove(at);
            }
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &SymbolSubs)> {
        self.names.iter().map(String::as_str).zip(&self.subs)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut SymbolSubs)> {
        self.names.iter().map(String::as_str).zip(&mut self.subs)
    }
}

/// How long a subscription lives without a refresh: the SDK refreshes every 600 s at most;
/// MetaApi's documented expiry of unrefreshed market data subscriptions is 12 minutes.
pub(super) const EXPIRY: Duration = Duration::from_secs(12 * 60);
/// Symbols with market-data subscriptions per (account, instance) at most.
const MARKET_SYMBOLS_MAX: usize = 100;
/// The shortest interval between two updates of one stream: none, every change goes out (as
/// MetaApi streams every tick for an account whose `quoteStreamingIntervalInSeconds` is 0),
/// at the hub's pace ([`super::hub::TICK_MIN`] at the fastest).
const MIN_INTERVAL: Duration = Duration::ZERO;
/// The longest interval a client may ask for.
const MAX_INTERVAL: Duration = Duration::from_secs(3_600);
/// Price changes per minute a stream is assumed to see when planning a downgrade: high
/// enough that only the interval bounds the projected rate.
const PLANNING_TICKS_PER_MIN: u64 = 60_000;

/// One symbol's streams on one instance, and when they were last subscribed or refreshed.
#[derive(Debug, Clone)]
pub(super) struct SymbolSubs {
    /// Inline for the usual one (quotes): the hub's walk stays in the list's block of memory.
    streams: SmallVec<[Stream; 1]>,
    refreshed: Timestamp,
    /// The symbol's slot in the hub's frames, and the layout it is of.
    slot: Option<(u64, usize)>,
}

/// One stream: what it sends, how often, and what it sent last.
#[derive(Debug, Clone)]
struct Stream {
    kind: MarketDataType,
    timeframe: Option<Timeframe>,
    interval: Duration,
    /// Not before this may it send again.
    next: Option<Instant>,
    /// The version of the last item sent (for ticks: the newest tick's).
    seen: Option<u64>,
}

impl Stream {
    fn is(&self, kind: MarketDataType, timeframe: Option<Timeframe>) -> bool {
        self.kind == kind && (timeframe.is_none() || self.timeframe == timeframe)
    }
}

impl SymbolSubs {
    pub(super) fn expired(&self, now: Timestamp) -> bool {
        now.0.saturating_sub(self.refreshed.0) > EXPIRY.as_millis() as i64
    }

    /// Adds what the streams need to `wants`, and the shortest interval to `shortest`.
    pub(super) fn add_wants(&self, wants: &mut super::hub::Wants, shortest: &mut Option<Duration>) {
        for s in &self.streams {
            match s.kind {
                MarketDataType::Quotes => wants.quotes = true,
                MarketDataType::Candles => {
                    wants.timeframes.extend(s.timeframe);
                }
                MarketDataType::Ticks => wants.ticks = true,
                MarketDataType::MarketDepth => wants.book = true,
            }
            *shortest = Some(shortest.map_or(s.interval, |x| x.min(s.interval)));
        }
    }

    /// Adds or replaces the streams of `asked` (an entry replaces the one of its type, and
    /// timeframe for candles), keeping what a replaced stream sent.
    fn merge(&mut self, asked: &[w::MarketDataSubscription], default: Duration) {
        for a in asked {
            let interval = interval_of(a, default);
            match self
                .streams
                .iter_mut()
                .find(|s| s.kind == a.data_type && s.timeframe == a.timeframe)
            {
                Some(s) => s.interval = interval,
                None => self.streams.push(Stream {
                    kind: a.data_type,
                    timeframe: a.timeframe,
                    interval,
                    next: None,
                    seen: None,
                }),
            }
        }
    }
}

fn interval_of(a: &w::MarketDataSubscription, default: Duration) -> Duration {
    a.interval_in_milliseconds
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map_or(default, |ms| Duration::from_millis(ms as u64))
        .clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Answers `subscribeToMarketData`, `unsubscribeFromMarketData` and
/// `refreshMarketDataSubscriptions` for an account of the caller's.
pub(super) async fn answer(
    state: &Shared,
    conn: &Connection,
    req: &Value,
    kind: &str,
    account: &str,
) -> Result<Value, ApiError> {
    let caller = &conn.caller;
    let entry = crate::access::owned_entry(state, caller, account).await?;
    // Validated to 0–60 s on create and update; a stored value out of range still must not
    // panic here.
    let default = Duration::try_from_secs_f64(entry.doc.quote_streaming_interval_in_seconds)
        .unwrap_or(Duration::from_secs(60));
    if kind == "refreshMarketDataSubscriptions" {
        // A refresh that only extends the subscriptions' lives changes nothing the hub reads
        // (expiry is checked as it sends): only a restored one makes it look again.
        if refresh(state, conn, req, account, default).await? {
            conn.hub.touch();
        }
        return Ok(json!({}));
    }
    let symbol = req.get("symbol").and_then(Value::as_str).unwrap_or("");
    if symbol.is_empty() {
        return Err(ApiError::field(FieldError::required("symbol")));
    }
    let subscribe = kind == "subscribeToMarketData";
    let asked = entries(req.get("subscriptions"), subscribe)?;
    if subscribe && !symbol_exists(state, caller, account, symbol).await? {
        return Err(unknown_symbol(symbol));
    }
    let now = state.now();
    let mut market = lock(&conn.market);
    for instance in instances(conn, req, account) {
        let symbols = &mut market
            .entry((account.to_owned(), instance))
            .or_default()
            .symbols;
        if !subscribe {
            let named = req.get("subscriptions").filter(|v| !v.is_null());
            unsubscribe(symbols, symbol, named.map(|_| &asked));
        } else if symbols.len() < MARKET_SYMBOLS_MAX || symbols.contains_key(symbol) {
            let subs = symbols.get_or_insert_with(symbol, || SymbolSubs {
                streams: SmallVec::new(),
                refreshed: now,
                slot: None,
            });
            subs.refreshed = now;
            subs.merge(&asked, default);
        }
    }
    drop(market);
    conn.hub.touch();
    Ok(json!({}))
}

/// The `subscriptions` entries of a request; absent: quotes when subscribing, else none.
fn entries(
    raw: Option<&Value>,
    subscribe: bool,
) -> Result<Vec<w::MarketDataSubscription>, ApiError> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        let quotes = w::MarketDataSubscription {
            data_type: MarketDataType::Quotes,
            timeframe: None,
            interval_in_milliseconds: None,
        };
        return Ok(if subscribe { vec![quotes] } else { Vec::new() });
    };
    let list: Vec<w::MarketDataSubscription> =
        serde_json::from_value(raw.clone()).map_err(|e| {
            ApiError::field(FieldError::invalid(
                "subscriptions",
                Some(raw.clone()),
                &e.to_string(),
            ))
        })?;
    if subscribe
        && let Some(bad) = list
            .iter()
            .find(|s| s.data_type == MarketDataType::Candles && s.timeframe.is_none())
    {
        return Err(ApiError::field(FieldError::invalid(
            "subscriptions",
            Some(json!(bad)),
            "a candles subscription needs a timeframe",
        )));
    }
    Ok(list)
}

/// Removes the symbol (no `subscriptions` given) or the streams named (a candles entry
/// without timeframe names every timeframe).
fn unsubscribe(
    symbols: &mut SymbolMap,
    symbol: &str,
    named: Option<&Vec<w::MarketDataSubscription>>,
) {
    let Some(named) = named else {
        symbols.remove(symbol);
        return;
    };
    if let Some(subs) = symbols.get_mut(symbol) {
        subs.streams
            .retain(|s| !named.iter().any(|n| s.is(n.data_type, n.timeframe)));
        if subs.streams.is_empty() {
            symbols.remove(symbol);
        }
    }
}

/// `refreshMarketDataSubscriptions` (`subscriptions: [{symbol, subscriptions?}]` for one
/// instance): the listed subscriptions live another [`EXPIRY`], and are restored if gone;
/// true when some were.
async fn refresh(
    state: &Shared,
    conn: &Connection,
    req: &Value,
    account: &str,
    default: Duration,
) -> Result<bool, ApiError> {
    let list = req
        .get("subscriptions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut asked = Vec::with_capacity(list.len());
    for item in list.iter().take(MARKET_SYMBOLS_MAX) {
        let Some(symbol) = item.get("symbol").and_then(Value::as_str) else {
            continue;
        };
        asked.push((symbol.to_owned(), entries(item.get("subscriptions"), true)?));
    }
    let known: Vec<String> = asked.iter().map(|(s, _)| s.clone()).collect();
    let mut exists = Vec::with_capacity(known.len());
    for symbol in &known {
        let held = (lock(&conn.market).values()).any(|m| m.symbols.contains_key(symbol));
        exists.push(held || symbol_exists(state, &conn.caller, account, symbol).await?);
    }
    let now = state.now();
    let mut restored = false;
    let mut market = lock(&conn.market);
    for instance in instances(conn, req, account) {
        let symbols = &mut market
            .entry((account.to_owned(), instance))
            .or_default()
            .symbols;
        for ((symbol, streams), ok) in asked.iter().zip(&exists) {
            if !ok || (symbols.len() >= MARKET_SYMBOLS_MAX && !symbols.contains_key(symbol)) {
                continue;
            }
            let subs = symbols.get_or_insert_with(symbol, || SymbolSubs {
                streams: SmallVec::new(),
                refreshed: now,
                slot: None,
            });
            subs.refreshed = now;
            let missing: Vec<w::MarketDataSubscription> = (streams.iter())
                .filter(|a| {
                    !subs
                        .streams
                        .iter()
                        .any(|s| s.kind == a.data_type && s.timeframe == a.timeframe)
                })
                .cloned()
                .collect();
            restored |= !missing.is_empty();
            subs.merge(&missing, default);
        }
    }
    Ok(restored)
}

/// What one (account, instance) is sent next: the shared renderings of the hub's frame, in
/// packet order (inline: no allocation per packet for the usual few of each).
#[derive(Debug, Default)]
struct Due<'f> {
    prices: SmallVec<[&'f str; 16]>,
    candles: SmallVec<[&'f str; 4]>,
    ticks: SmallVec<[&'f str; 4]>,
    books: SmallVec<[&'f str; 2]>,
    book_entries: u64,
}

impl Due<'_> {
    fn is_empty(&self) -> bool {
        self.prices.is_empty()
            && self.candles.is_empty()
            && self.ticks.is_empty()
            && self.books.is_empty()
    }

    fn credits(&self) -> u64 {
        Packet {
            quotes: self.prices.len() as u64,
            candles: self.candles.len() as u64,
            ticks: self.ticks.len() as u64,
            book_entries: self.book_entries,
        }
        .credits()
    }
}

/// Registers the socket with the hub, which sends each instance what is due, until the
/// socket closes.
pub(super) async fn stream_prices(_state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let hub = Arc::clone(&conn.hub);
    hub.register(&conn, s);
    let mut closed = conn.closed.subscribe();
    let _ = closed.wait_for(|c| *c).await;
    hub.unregister(&conn);
}

/// Sends every instance's due updates from `frame` at `now` (`packet`: a buffer to build
/// them in); true when a change is held back by its interval. A subscription expired on the
/// server's clock sends nothing, though the hub's scans drop it only about once a second: a
/// virtual clock can pass its expiry in one step.
///
/// Each instance's packet is assembled and emitted in one walk of the socket's
/// subscriptions; what needs them again (forgetting an instance whose packet was lost,
/// downgrading one past its streaming credits) is done after the walk.
pub(super) fn send_due(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    frame: &Frame,
    now: Instant,
    packet: &mut String,
) -> bool {
    let today = state.now();
    let mut held = false;
    let mut lost: SmallVec<[(String, u64); 1]> = SmallVec::new();
    let mut over: SmallVec<[(String, u64); 1]> = SmallVec::new();
    let mut market = lock(&conn.market);
    for (key, instance) in market.iter_mut() {
        let slot = match instance.account_slot {
            Some((layout, slot)) if layout == frame.layout.id => Some(slot),
            _ => {
                let slot = frame.account_slot_of(&key.0);
                instance.account_slot = slot.map(|s| (frame.layout.id, s));
                slot
            }
        };
        let Some(acc) = slot.and_then(|s| frame.account_at(s)) else {
            continue;
        };
        let mut due = Due::default();
        for (symbol, subs) in instance.symbols.iter_mut() {
            if subs.expired(today) {
                continue;
            }
            let slot = match subs.slot {
                Some((layout, slot)) if layout == frame.layout.id => Some(slot),
                _ => {
                    let slot = frame.slot_of(acc.server, symbol);
                    subs.slot = slot.map(|s| (frame.layout.id, s));
                    slot
                }
            };
            let Some(sf) = slot.and_then(|s| frame.symbol_at(s)) else {
                continue;
            };
            for stream in &mut subs.streams {
                held |= take(stream, sf, acc.currency, now, &mut due);
            }
        }
        if due.is_empty() {
            continue;
        }
        if !emit_prices(state, s, conn, key, &due, acc, packet) {
            lost.push(key.clone());
            continue;
        }
        let budget = *(instance.budget)
            .get_or_insert_with(|| crate::limits::streaming::streaming_key(&conn.caller, &key.0));
        if crate::limits::streaming::charge_streaming(state, budget, due.credits()) {
            over.push(key.clone());
        }
    }
    drop(market);
    for (account, instance) in lost {
        forget_and_release(state, conn, &account, Some(instance));
    }
    for (account, instance) in over {
        downgrade(state, s, conn, &account, instance);
    }
    held
}

/// Adds the stream's change to `due` if it is due; true when held back by its interval.
fn take<'f>(
    stream: &mut Stream,
    sf: &'f SymbolFrame,
    currency: drawbridge_broker::symbol::Currency,
    now: Instant,
    due: &mut Due<'f>,
) -> bool {
    let Some(latest) = (match stream.kind {
        MarketDataType::Quotes => sf.price(currency).map(|r| r.version),
        MarketDataType::Candles => stream
            .timeframe
            .and_then(|tf| sf.candle(tf))
            .map(|r| r.version),
        MarketDataType::Ticks => Some(sf.tick_version()),
        MarketDataType::MarketDepth => sf.book.as_ref().map(|(r, _)| r.version),
    }) else {
        return false;
    };
    if stream.kind == MarketDataType::Ticks && stream.seen.is_none() {
        // A ticks stream starts with the next tick.
        stream.seen = Some(latest);
        return false;
    }
    if stream.seen.is_some_and(|seen| seen >= latest) {
        return false;
    }
    if stream.next.is_some_and(|at| now < at) {
        return true;
    }
    match stream.kind {
        MarketDataType::Quotes => due.prices.extend(sf.price(currency).map(|r| &*r.json)),
        MarketDataType::Candles => {
            let candle = stream.timeframe.and_then(|tf| sf.candle(tf));
            due.candles.extend(candle.map(|r| &*r.json));
        }
        MarketDataType::Ticks => {
            let seen = stream.seen.unwrap_or(0);
            let new = sf.ticks.iter().filter(|t| t.version > seen);
            due.ticks.extend(new.map(|t| &*t.json));
        }
        MarketDataType::MarketDepth => {
            if let Some((r, entries)) = &sf.book {
                due.books.push(&r.json);
                due.book_entries += entries;
            }
        }
    }
    stream.seen = Some(latest);
    stream.next = Some(now + stream.interval);
    false
}

/// Assembles one `prices` packet from shared renderings in `out`, numbers it in its
/// instance's sequence and emits it; false when it could not be sent (the caller forgets the
/// instance).
fn emit_prices(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    key: &(String, u64),
    d: &Due,
    acc: &AccountFrame,
    out: &mut String,
) -> bool {
    let (margins, equity) = (&acc.margins, &acc.equity);
    use std::fmt::Write as _;
    let (account, instance) = (&key.0, key.1);
    out.clear();
    out.push_str(r#"{"type":"prices","accountId":"#);
    push_json_str(out, account);
    let _ = write!(out, r#","instanceIndex":{instance},"host":"#);
    match lock(&conn.synced).get(key) {
        Some(k) => push_json_str(out, &k.host),
        None => push_json_str(out, HOST),
    }
    for (name, list) in [
        ("prices", &d.prices[..]),
        ("candles", &d.candles[..]),
        ("ticks", &d.ticks[..]),
        ("books", &d.books[..]),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, r#","{name}":["#);
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match item.strip_suffix('}') {
                // A price is the account's: it carries the account's equity.
                Some(open) if name == "prices" && !equity.is_empty() => {
                    out.push_str(open);
                    out.push_str(equity);
                    out.push('}');
                }
                _ => out.push_str(item),
            }
        }
        out.push(']');
    }
    out.push_str(margins);
    let (number, at) = conn.next_sequence_of(key, state.now().0, false);
    let _ = write!(
        out,
        r#","sequenceNumber":{number},"sequenceTimestamp":{at}}}"#
    );
    emit(s, account, instance, &Prebuilt(out))
}

/// The account's streaming credits ran out: lengthen the instance's intervals (or, at the
/// longest, drop streams) as the planner says, and tell the client with
/// `downgradeSubscription` packets.
pub(super) fn downgrade(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
) {
    let quotas = &state.limits.streaming_quotas;
    let key = (account.to_owned(), instance);
    let loads: Vec<SymbolLoad> = lock(&conn.market)
        .get(&key)
        .map(|instance| {
            (instance.symbols.iter())
                .map(|(symbol, subs)| load_of(symbol, subs))
                .collect()
        })
        .unwrap_or_default();
    let shortest = (loads.iter().flat_map(|l| &l.subscriptions))
        .filter_map(|e| e.interval_in_milliseconds)
        .fold(f64::INFINITY, f64::min);
    let default_ms = if shortest.is_finite() {
        shortest as u64
    } else {
        1_000
    };
    let planned = plan(quotas, default_ms, &loads);
    for d in planned.downgrades {
        apply(conn, &key, &d);
        let host = lock(&conn.synced)
            .get(&key)
            .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
        let mut packet = json!(d);
        packet["type"] = json!("downgradeSubscription");
        packet["accountId"] = json!(account);
        packet["instanceIndex"] = json!(instance);
        packet["host"] = json!(host);
        if !emit_sequenced(state, s, conn, (account, instance), packet, false) {
            return;
        }
    }
    conn.hub.touch();
}

fn load_of(symbol: &str, subs: &SymbolSubs) -> SymbolLoad {
    SymbolLoad {
        symbol: symbol.to_owned(),
        subscriptions: (subs.streams.iter())
            .map(|s| w::MarketDataSubscription {
                data_type: s.kind,
                timeframe: s.timeframe,
                interval_in_milliseconds: Some(s.interval.as_millis() as f64),
            })
            .collect(),
        ticks_per_min: PLANNING_TICKS_PER_MIN,
        book_entries: 2 * BOOK_DEPTH as u64,
    }
}

/// Applies one symbol's downgrade to the instance's streams.
fn apply(conn: &Connection, key: &(String, u64), d: &drawbridge_limits::Downgrade) {
    let mut market = lock(&conn.market);
    let Some(symbols) = market.get_mut(key).map(|i| &mut i.symbols) else {
        return;
    };
    let Some(subs) = symbols.get_mut(&d.symbol) else {
        return;
    };
    for u in &d.unsubscriptions {
        subs.streams.retain(|s| !s.is(u.data_type, u.timeframe));
    }
    for u in &d.updates {
        let ms = u.interval_in_milliseconds.unwrap_or(0.0).max(0.0) as u64;
        for s in subs
            .streams
            .iter_mut()
            .filter(|s| s.kind == u.data_type && s.timeframe == u.timeframe)
        {
            s.interval = Duration::from_millis(ms).max(s.interval);
        }
    }
    if subs.streams.is_empty() {
        symbols.remove(&d.symbol);
    }
}
