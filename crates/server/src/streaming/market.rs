//! Market data over the socket: `subscribeToMarketData` / `unsubscribeFromMarketData`,
//! the `prices` packets they start, and their streaming credits with downgrade.

use super::{Connection, HOST, emit_sequenced, instances};
use crate::client;
use crate::error::ApiError;
use crate::state::{Shared, lock};
use drawbridge_limits::streaming::{SymbolLoad, cost_of, plan};
use drawbridge_model::wire::{self as w, MarketDataType};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A connection's market-data subscriptions, per (account, instance) and symbol.
pub(super) type Subscriptions = HashMap<(String, u64), HashMap<String, Quotes>>;

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
    let entry = crate::provisioning::owned_entry(state, caller, account).await?;
    if kind == "refreshMarketDataSubscriptions" {
        return Ok(json!({}));
    }
    let default = entry.doc.quote_streaming_interval_in_seconds;
    let subscribe = kind == "subscribeToMarketData";
    if subscribe {
        let symbol = req.get("symbol").and_then(Value::as_str).unwrap_or("");
        if !client::symbol_exists(state, caller, account, symbol).await? {
            return Err(client::unknown_symbol(symbol));
        }
    }
    market_data(conn, req, account, subscribe, default);
    Ok(json!({}))
}

/// A symbol's quote subscription: `prices` packets at most every `interval`, when the price
/// moved.
#[derive(Debug, Clone)]
pub(super) struct Quotes {
    interval: Duration,
    /// When the price was last looked at (sent or not: an unmoved price waits a whole
    /// interval too).
    tried: Option<tokio::time::Instant>,
    /// The last price sent.
    sent: Option<(f64, f64)>,
}

/// `subscribeToMarketData` / `unsubscribeFromMarketData` for quotes: the subscription's
/// interval is the shortest `intervalInMilliseconds` asked for, else the account's quote
/// streaming interval. (Candles, ticks and books follow.)
pub(super) fn market_data(
    conn: &Connection,
    req: &Value,
    account: &str,
    subscribe: bool,
    default_s: f64,
) {
    let Some(symbol) = req.get("symbol").and_then(Value::as_str) else {
        return;
    };
    let asked: Vec<&Value> = req
        .get("subscriptions")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let quotes = asked.is_empty()
        || asked
            .iter()
            .any(|sub| sub.get("type").and_then(Value::as_str) == Some("quotes"));
    if !quotes {
        return;
    }
    let interval_ms = (asked.iter())
        .filter_map(|sub| sub.get("intervalInMilliseconds").and_then(Value::as_f64))
        .fold(default_s * 1_000.0, f64::min)
        .clamp(MIN_PRICE_INTERVAL.as_millis() as f64, 3_600_000.0);
    let interval = Duration::from_millis(interval_ms as u64);
    let mut market = lock(&conn.market);
    for instance in instances(conn, req, account) {
        let symbols = market.entry((account.to_owned(), instance)).or_default();
        if subscribe {
            if symbols.len() < MARKET_SYMBOLS_MAX || symbols.contains_key(symbol) {
                let quotes = Quotes {
                    interval,
                    tried: None,
                    sent: None,
                };
                symbols.insert(symbol.to_owned(), quotes);
            }
        } else {
            symbols.remove(symbol);
        }
    }
}

/// Symbols with market-data subscriptions per (account, instance) at most.
const MARKET_SYMBOLS_MAX: usize = 100;

/// The shortest interval between two `prices` packets of one symbol.
const MIN_PRICE_INTERVAL: Duration = Duration::from_millis(100);

/// Sends `prices` packets for the socket's quote subscriptions, each at its interval and
/// only when the price moved, with the account's equity and margin.
pub(super) async fn stream_prices(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut tick = tokio::time::interval(MIN_PRICE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while s.connected() {
        tick.tick().await;
        let now = tokio::time::Instant::now();
        let due: Vec<((String, u64), Vec<String>)> = lock(&conn.market)
            .iter()
            .map(|(key, symbols)| {
                let due = (symbols.iter())
                    .filter(|(_, q)| q.tried.is_none_or(|at| now >= at + q.interval))
                    .map(|(sym, _)| sym.clone())
                    .collect();
                (key.clone(), due)
            })
            .filter(|(_, due): &(_, Vec<String>)| !due.is_empty())
            .collect();
        for ((account, instance), symbols) in due {
            send_prices(&state, &s, &conn, &account, instance, &symbols, now).await;
        }
    }
}

pub(super) async fn send_prices(
    state: &Shared,
    s: &SocketRef,
    conn: &Connection,
    account: &str,
    instance: u64,
    symbols: &[String],
    now: tokio::time::Instant,
) {
    let read = client::read_quotes(state, &conn.caller, account, symbols.to_vec()).await;
    let (read, info) = read.unwrap_or_default();
    let mut prices = Vec::new();
    {
        let mut market = lock(&conn.market);
        let Some(subscribed) = market.get_mut(&(account.to_owned(), instance)) else {
            return;
        };
        for (symbol, price) in symbols
            .iter()
            .zip(read.into_iter().chain(std::iter::repeat(None)))
        {
            let Some(q) = subscribed.get_mut(symbol) else {
                continue;
            };
            q.tried = Some(now);
            let Some(Some(price)) = price else { continue };
            if q.sent == Some((price.bid, price.ask)) {
                continue;
            }
            q.sent = Some((price.bid, price.ask));
            prices.push(price);
        }
    }
    if prices.is_empty() {
        return;
    }
    let host = lock(&conn.synced)
        .get(&(account.to_owned(), instance))
        .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
    let mut packet = json!({"type": "prices", "accountId": account, "instanceIndex": instance,
        "host": host, "prices": prices});
    if let Some(info) = info {
        packet["equity"] = json!(info.equity);
        packet["margin"] = json!(info.margin);
        packet["freeMargin"] = json!(info.free_margin);
        if let Some(level) = info.margin_level {
            packet["marginLevel"] = json!(level);
        }
    }
    let quotes = prices.len() as u64;
    if !emit_sequenced(state, s, conn, (account, instance), packet, false) {
        return;
    }
    let credits = cost_of(MarketDataType::Quotes, quotes);
    if crate::limits::charge_streaming(state, &conn.caller, account, credits) {
        downgrade(state, s, conn, account, instance);
    }
}

/// Price changes per minute a quote subscription is assumed to see when planning a
/// downgrade: high enough that only the interval bounds the projected rate.
const PLANNING_TICKS_PER_MIN: u64 = 60_000;

/// The account's streaming credits ran out: lengthen the instance's quote intervals (or, at
/// the longest, drop subscriptions) as the planner says, and tell the client with
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
        .map(|symbols| {
            symbols
                .iter()
                .map(|(symbol, q)| SymbolLoad {
                    symbol: symbol.clone(),
                    subscriptions: vec![w::MarketDataSubscription {
                        data_type: MarketDataType::Quotes,
                        timeframe: None,
                        interval_in_milliseconds: Some(q.interval.as_millis() as f64),
                    }],
                    ticks_per_min: PLANNING_TICKS_PER_MIN,
                    book_entries: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let shortest = loads
        .iter()
        .filter_map(|l| l.subscriptions[0].interval_in_milliseconds)
        .fold(f64::INFINITY, f64::min);
    let default_ms = if shortest.is_finite() {
        shortest as u64
    } else {
        1_000
    };
    let planned = plan(quotas, default_ms, &loads);
    for d in planned.downgrades {
        {
            let mut market = lock(&conn.market);
            let Some(symbols) = market.get_mut(&key) else {
                return;
            };
            if !d.unsubscriptions.is_empty() {
                symbols.remove(&d.symbol);
            } else if let Some(ms) = d.updates.iter().find_map(|u| u.interval_in_milliseconds)
                && let Some(q) = symbols.get_mut(&d.symbol)
            {
                q.interval = Duration::from_millis(ms as u64);
            }
        }
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
}
