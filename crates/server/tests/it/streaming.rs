//! Market data over a real socket.io client (Engine.IO 3 over a WebSocket, what the SDK
//! speaks), the simulated feed moving on the virtual clock the test moves.

use crate::support::{Fixture, Socket, eventually_within};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// A `prices` packet's EURUSD bid and the account equity it carries (top level and in the
/// price), if it holds an EURUSD price.
fn eurusd(packet: &Value) -> Option<(f64, f64, f64)> {
    let price = (packet["prices"].as_array()?.iter()).find(|p| p["symbol"] == "EURUSD")?;
    Some((
        price["bid"].as_f64()?,
        packet["equity"].as_f64()?,
        price["equity"].as_f64()?,
    ))
}

/// An account whose only position is 1 lot of EURUSD bought has an equity of
/// `bid × 100,000 + c` for one constant `c` (a USD account: 1.00 a point), whatever the bid.
/// Every `prices` packet must carry the equity of its own bid: the account's margin fields
/// are read in the same step of the desk as the quote, and a quote the feed makes in that
/// step has its accounts' revaluation announced to the reader (once the market-data hub took
/// the announcements before its read, so a new quote went out with the equity of the one
/// before, and nothing corrected it until the next quote).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prices_packet_carries_the_equity_of_its_own_quote() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account().await;
    let id = &account.id;
    // A first quote to trade at; the feed moves on from there.
    api.quote(1.1, 1.10002).await;
    api.buy(&account.path, 1.0).await;
    let positions = api.read(&account.at("positions")).await;
    assert_eq!(positions.as_array().map(Vec::len), Some(1), "{positions}");

    let socket = Socket::open(fx.addr(), &api.token).await;
    socket.subscribe(id, 0).await;
    let since = Instant::now();
    socket
        .request(
            json!({"type": "subscribeToMarketData", "accountId": id, "requestId": "m",
                        "instanceIndex": 0, "symbol": "EURUSD",
                        "subscriptions": [{"type": "quotes", "intervalInMilliseconds": 0}]}),
        )
        .await;
    // The market runs ten times as fast as the wall clock (the feed quotes EURUSD about once
    // a second of market time): wait for six bids, at most 20 seconds.
    let clock = (fx.running().state.virtual_clock)
        .clone()
        .expect("a virtual clock");
    let mover = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            clock.advance(200);
        }
    });
    let seen = eventually_within(
        Duration::from_secs(20),
        "six EURUSD bids in the prices packets",
        async || {
            let seen: Vec<_> = (socket.packets("prices", since).iter())
                .filter_map(eurusd)
                .collect();
            (quotes(&seen) >= 6).then_some(seen)
        },
    )
    .await;
    mover.abort();
    let (bid0, equity0, _) = seen[0];
    for &(bid, equity, in_price) in &seen {
        let expected = equity0 + (points(bid) - points(bid0)) as f64;
        assert!(
            (equity - expected).abs() < 0.015,
            "a packet with bid {bid} carries equity {equity}, expected {expected:.2} \
             (the first: bid {bid0}, equity {equity0}); all: {seen:?}"
        );
        assert_eq!(equity, in_price, "the price carries the packet's equity");
    }
    fx.stop().await;
}

/// How many bids the packets carried (each different from the one before).
fn quotes(seen: &[(f64, f64, f64)]) -> usize {
    let mut bids: Vec<i64> = seen.iter().map(|(b, _, _)| points(*b)).collect();
    bids.dedup();
    bids.len()
}

/// A bid in points (0.00001).
fn points(bid: f64) -> i64 {
    (bid * 100_000.0).round() as i64
}

/// The two replicas of a high-reliability account asked to synchronize at once are
/// synchronized one after the other, the second at least a second after the first was sent
/// (the official SDK, taking every packet of an account in one queue, drops a second
/// replica's packets sent while it takes in the first's), and both completely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_of_an_account_synchronize_in_turns() {
    let fx = Fixture::start().await;
    let api = &fx.api;
    let account = api.demo_account_with(json!({"reliability": "high"})).await;
    let id = &account.id;
    let doc = api.read(&account.path).await;
    assert_eq!(doc["reliability"], "high", "{doc}");

    let sockets = [
        Socket::open(fx.addr(), &api.token).await,
        Socket::open(fx.addr(), &api.token).await,
    ];
    for (instance, socket) in sockets.iter().enumerate() {
        socket.subscribe(id, instance).await;
    }
    let synchronize = |instance: usize| {
        json!({"type": "synchronize", "accountId": id, "requestId": format!("sync-{instance}"),
               "instanceIndex": instance, "host": "ps-mpa-1"})
    };
    tokio::join!(
        sockets[0].request(synchronize(0)),
        sockets[1].request(synchronize(1))
    );
    let mut span = Vec::new();
    for socket in &sockets {
        socket
            .wait("a complete synchronization", |e, d| {
                e == "synchronization" && d["type"] == "dealSynchronizationFinished"
            })
            .await;
        let at = |kind: &str| {
            let seen = socket.seen.lock().unwrap();
            (seen.iter())
                .find(|(_, e, d)| e == "synchronization" && d["type"] == kind)
                .map(|(at, _, _)| *at)
                .unwrap()
        };
        span.push((
            at("synchronizationStarted"),
            at("dealSynchronizationFinished"),
        ));
    }
    span.sort();
    let gap = span[1].0.duration_since(span[0].1);
    assert!(
        gap >= Duration::from_millis(900),
        "the second replica started {gap:?} after the first finished"
    );
    fx.stop().await;
}
