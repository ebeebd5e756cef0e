//! The tick generator: determinism, sessions, and what every generated tick must satisfy.

use crate::support::{eet, px, spec, t};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::feed::{Generator, Tick};
use drawbridge_broker::symbol::SymbolIdx;
use drawbridge_model::time::{MS_PER_HOUR, MS_PER_MINUTE};
use drawbridge_model::{Rng, Timestamp};

/// Runs `g` to `until` in steps of `step_ms`, as a server's clock would drive it.
fn drive(g: &mut Generator, until: Timestamp, step_ms: i64) -> Vec<Tick> {
    let mut out = Vec::new();
    let mut now = g.now();
    while now < until {
        now = now.plus_millis(step_ms).min(until);
        g.advance_to(now, &mut out);
    }
    out
}

#[test]
fn same_seed_and_calls_give_the_same_ticks() {
    let specs = default_catalog();
    let start = t("2026-01-07T10:00:00Z");
    let run = |seed| {
        let mut g = Generator::new(&specs, eet(), &Rng::seeded(seed), start);
        drive(&mut g, start.plus_millis(10 * MS_PER_MINUTE), 1_000)
    };
    let a = run(42);
    assert!(a.len() > 10_000, "{} ticks", a.len());
    assert_eq!(a, run(42));
    assert_ne!(a, run(43));
    // Advancing in one call or in many gives the same ticks.
    let mut g = Generator::new(&specs, eet(), &Rng::seeded(42), start);
    let mut once = Vec::new();
    g.advance_to(start.plus_millis(10 * MS_PER_MINUTE), &mut once);
    assert_eq!(a, once);
}

#[test]
fn forks_of_one_seed_quote_differently() {
    let specs = ["EURUSD"].map(spec);
    let start = t("2026-01-07T10:00:00Z");
    let root = Rng::seeded(1);
    let mut a = Generator::new(&specs, eet(), &root.fork(1), start);
    let mut b = Generator::new(&specs, eet(), &root.fork(2), start);
    let until = start.plus_millis(MS_PER_MINUTE);
    assert_ne!(drive(&mut a, until, 1_000), drive(&mut b, until, 1_000));
}

#[test]
fn every_tick_is_ordered_valid_and_on_the_tick_grid() {
    let specs = default_catalog();
    let start = t("2026-01-07T00:00:00Z");
    let mut g = Generator::new(&specs, eet(), &Rng::seeded(7), start);
    let ticks = drive(&mut g, start.plus_millis(6 * MS_PER_HOUR), 60_000);
    let mut seen = vec![0usize; specs.len()];
    for w in ticks.windows(2) {
        assert!(w[0].time <= w[1].time, "out of order: {w:?}");
    }
    for k in &ticks {
        let s = &specs[k.symbol.index()];
        assert!(
            k.time > start && k.bid.0 > 0 && k.ask > k.bid,
            "{}: {k:?}",
            s.name
        );
        assert!(
            k.bid.is_multiple_of(s.tick_size) && k.ask.is_multiple_of(s.tick_size),
            "{}: {k:?}",
            s.name
        );
        assert!((k.ask - k.bid).0 >= s.point.0, "{}: {k:?}", s.name);
        seen[k.symbol.index()] += 1;
    }
    // Wednesday 00:00–06:00 UTC is 02:00–08:00 EET: everything quotes but the European cash
    // indices, which open later (GER40 02:10 quotes, UK100 02:55).
    for (s, n) in specs.iter().zip(&seen) {
        assert!(*n > 1_000, "{}: {n} ticks", s.name);
    }
}

#[test]
fn no_fx_ticks_at_the_weekend_but_crypto_trades_on() {
    let specs = ["EURUSD", "BTCUSD", "US30"].map(spec);
    let (eurusd, btcusd, us30) = (SymbolIdx(0), SymbolIdx(1), SymbolIdx(2));
    // Friday 2026-01-09 12:00 UTC to Monday 2026-01-12 12:00 UTC.
    let start = t("2026-01-09T12:00:00Z");
    let mut g = Generator::new(&specs, eet(), &Rng::seeded(9), start);
    let ticks = drive(&mut g, t("2026-01-12T12:00:00Z"), 15 * MS_PER_MINUTE);
    let of = |s: SymbolIdx| ticks.iter().filter(move |k| k.symbol == s);
    // Quotes end Friday 23:57 EET = 21:57 UTC and restart Monday 00:00 EET = Sunday 22:00 UTC.
    let (closed_from, closed_to) = (t("2026-01-09T21:57:00Z"), t("2026-01-11T22:00:00Z"));
    assert!(of(eurusd).all(|k| k.time < closed_from || k.time >= closed_to));
    assert!(
        of(eurusd)
            .any(|k| k.time >= closed_from.plus_millis(-MS_PER_MINUTE) && k.time < closed_from)
    );
    assert!(
        of(eurusd).any(|k| k.time >= closed_to && k.time < closed_to.plus_millis(MS_PER_MINUTE))
    );
    // US30 quotes restart an hour later, Monday 01:00 EET = Sunday 23:00 UTC.
    let us30_opens = t("2026-01-11T23:00:00Z");
    assert!(of(us30).all(|k| k.time < closed_from || k.time >= us30_opens));
    assert!(
        of(us30).any(|k| k.time >= us30_opens && k.time < us30_opens.plus_millis(MS_PER_MINUTE))
    );
    let weekend =
        |k: &&Tick| k.time >= t("2026-01-10T00:00:00Z") && k.time < t("2026-01-11T00:00:00Z");
    assert!(of(btcusd).filter(weekend).count() > 50_000);
}

#[test]
fn pause_stops_ticks_and_set_price_moves_the_walk() {
    let specs = ["EURUSD"].map(spec);
    let start = t("2026-01-07T10:00:00Z");
    let mut g = Generator::new(&specs, eet(), &Rng::seeded(5), start);
    let first = g.quote(SymbolIdx(0)).unwrap();
    assert_eq!((first.time, first.bid), (start, specs[0].feed.start_bid));
    g.pause();
    assert!(g.is_paused());
    assert!(drive(&mut g, start.plus_millis(MS_PER_HOUR), 60_000).is_empty());
    assert_eq!(g.now(), start.plus_millis(MS_PER_HOUR));
    let (bid, ask) = (px(1.25000), px(1.25003));
    g.set_price(SymbolIdx(0), bid, ask);
    assert_eq!(
        (
            g.quote(SymbolIdx(0)).unwrap().bid,
            g.quote(SymbolIdx(0)).unwrap().ask
        ),
        (bid, ask)
    );
    g.resume();
    let after = drive(
        &mut g,
        start.plus_millis(MS_PER_HOUR + MS_PER_MINUTE),
        1_000,
    );
    assert!(after.len() > 30);
    assert!(
        after
            .iter()
            .all(|k| k.time > start.plus_millis(MS_PER_HOUR))
    );
    // The walk continues from the pushed price: a minute later it is within 0.2 %.
    let last = after.last().unwrap();
    assert!((last.bid.to_f64() / 1.25 - 1.0).abs() < 0.002, "{last:?}");
    // Unknown symbols and bad prices are ignored.
    g.set_price(SymbolIdx(9), bid, ask);
    g.set_price(SymbolIdx(0), ask, bid);
    assert_eq!(g.quote(SymbolIdx(0)).unwrap().bid, last.bid);
}
