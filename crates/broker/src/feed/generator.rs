//! The seeded tick generator: a random walk per symbol, quoted only in its quote sessions.
//!
//! Each symbol has its own RNG stream, named by a hash of its symbol name, so adding or
//! reordering symbols leaves every other path unchanged. Ticks arrive at exponential gaps; the
//! mid price moves by a log-normal step whose variance is the profile's daily volatility scaled
//! to the gap (a mild pull back to the start price keeps a long-running server realistic); the
//! spread varies around the profile's typical spread with rare widenings. Prices are rounded to
//! the tick size, the spread is at least one tick and a point, and a tick is emitted only when
//! the bid or the ask changes. Memory is fixed: one state per symbol and a heap of their next
//! tick times.

use super::Tick;
use super::session::SessionClock;
use crate::symbol::{AssetClass, SymbolIdx, SymbolSpec};
use drawbridge_model::num::FIXED_SCALE;
use drawbridge_model::time::{MS_PER_DAY, MS_PER_HOUR};
use drawbridge_model::{Price, Rng, ServerZone, Timestamp};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The walk never moves by more than this much time's worth of variance in one step, so a
/// reopening after a weekend or a resumed pause gaps modestly.
const STEP_MS_MAX: i64 = MS_PER_HOUR;
/// Half-life of the pull of the log price back towards the start price.
const REVERSION_HALF_LIFE_DAYS: f64 = 120.0;
/// Chance that a tick's spread widens to 2–4 times the typical spread.
const SPREAD_SPIKE_P: f64 = 0.002;
/// A drawn tick gap is capped at this many mean gaps.
const GAP_MEANS_MAX: f64 = 20.0;

/// Mean milliseconds between two ticks of a symbol of `class`.
fn mean_gap_ms(class: AssetClass) -> f64 {
    match class {
        AssetClass::ForexMajor => 800.0,
        AssetClass::Metal => 700.0,
        AssetClass::Index | AssetClass::Crypto => 900.0,
        AssetClass::ForexCross | AssetClass::Energy => 1_000.0,
    }
}

#[derive(Clone, Debug)]
struct Stream {
    rng: Rng,
    session: SessionClock,
    /// Tick size, raw.
    tick: i64,
    /// The smallest spread, raw: a whole number of ticks, at least one point.
    spread_min: i64,
    /// Typical spread, raw.
    spread_typical: f64,
    /// Volatility of the log price per √ms.
    sigma: f64,
    /// Pull of the log price towards `anchor`, per ms.
    kappa: f64,
    mean_gap: f64,
    /// Log of the start mid, the walk's anchor.
    anchor: f64,
    /// The mid, raw, and its logarithm (of the mid as a number).
    mid: f64,
    log_mid: f64,
    bid: Price,
    ask: Price,
    /// When the walk last moved.
    moved: Timestamp,
    /// When the current bid/ask was quoted (the start, or the last emitted tick).
    quoted: Timestamp,
    next: Timestamp,
}

impl Stream {
    fn new(spec: &SymbolSpec, zone: ServerZone, key: &Rng, start: Timestamp) -> Self {
        let tick = spec.tick_size.0.max(1);
        let spread_min = (spec.point.0.max(tick) + tick - 1) / tick * tick;
        let spread_typical =
            (f64::from(spec.feed.spread_points) * spec.point.0 as f64).max(spread_min as f64);
        let bid = spec
            .feed
            .start_bid
            .round_to(spec.tick_size)
            .max(Price(tick));
        let ask = Price(bid.0 + round_spread(spread_typical, tick, spread_min));
        let mid = (bid.0 + ask.0) as f64 / 2.0;
        let anchor = (mid / FIXED_SCALE as f64).ln();
        let mut s = Self {
            rng: key.fork(super::name_hash(&spec.name)),
            session: SessionClock::new(spec.quote_sessions.clone(), zone),
            tick,
            spread_min,
            spread_typical,
            sigma: spec.feed.daily_volatility / (MS_PER_DAY as f64).sqrt(),
            kappa: std::f64::consts::LN_2 / (REVERSION_HALF_LIFE_DAYS * MS_PER_DAY as f64),
            mean_gap: mean_gap_ms(spec.class),
            anchor,
            mid,
            log_mid: anchor,
            bid,
            ask,
            moved: start,
            quoted: start,
            next: start,
        };
        s.next = start.plus_millis(s.gap());
        s
    }

    /// An exponential gap in whole milliseconds, at least one.
    fn gap(&mut self) -> i64 {
        let u = 1.0 - unit(self.rng.next_u64());
        let g = (-u.ln() * (self.mean_gap - 1.0)).min(self.mean_gap * GAP_MEANS_MAX);
        1 + g as i64
    }

    /// Moves the walk to `t` and requotes; true when the bid or the ask changed.
    fn step(&mut self, t: Timestamp) -> bool {
        let dt = (t.0 - self.moved.0).clamp(0, STEP_MS_MAX) as f64;
        self.moved = t;
        let pull = -self.kappa * dt * (self.log_mid - self.anchor);
        let d = pull + self.sigma * dt.sqrt() * normal(self.rng.next_u64());
        self.log_mid += d;
        // exp(d) to fourth order: |d| stays below 1 % and the error below 1e-10 of a price.
        self.mid *= 1.0 + d * (1.0 + d * (0.5 + d * (1.0 / 6.0 + d / 24.0)));
        let bits = self.rng.next_u64();
        let spike = unit(bits << 32);
        let widen = if spike < SPREAD_SPIKE_P {
            2.0 + spike / SPREAD_SPIKE_P * 2.0
        } else {
            1.0
        };
        let jitter = 0.75 + 0.5 * unit(bits);
        let spread = round_spread(
            self.spread_typical * jitter * widen,
            self.tick,
            self.spread_min,
        );
        let bid_ticks = ((self.mid - spread as f64 / 2.0) / self.tick as f64 + 0.5) as i64;
        let bid = Price(bid_ticks.max(1) * self.tick);
        let ask = Price(bid.0 + spread);
        debug_assert!(
            ask > bid && bid.0 > 0,
            "invariant: a generated quote has 0 < bid < ask"
        );
        let changed = (bid, ask) != (self.bid, self.ask);
        (self.bid, self.ask) = (bid, ask);
        changed
    }

    fn set_mid(&mut self, mid_raw: f64) {
        self.mid = mid_raw;
        self.log_mid = (mid_raw / FIXED_SCALE as f64).ln();
    }
}

/// Uniform in `[0, 1)` from the top 53 bits.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal, approximately: the sum of four uniform 16-bit draws (Irwin–Hall),
/// centred and scaled to unit variance. No logarithm or cosine; tails end at ±3.46.
fn normal(bits: u64) -> f64 {
    const MEAN: f64 = 4.0 * 65_535.0 / 2.0;
    // Each draw's variance is (65 536² − 1) / 12.
    const SD: f64 = 37_837.23;
    let sum = (bits & 0xffff) + (bits >> 16 & 0xffff) + (bits >> 32 & 0xffff) + (bits >> 48);
    (sum as f64 - MEAN) / SD
}

/// A spread rounded to whole ticks, never below `min`.
fn round_spread(spread: f64, tick: i64, min: i64) -> i64 {
    ((spread / tick as f64 + 0.5) as i64 * tick).max(min)
}

/// The simulated feed of one trade server: deterministic for a given seed, catalogue, start
/// and sequence of calls.
#[derive(Clone, Debug)]
pub struct Generator {
    streams: Vec<Stream>,
    /// Next tick time and symbol of every stream; ties go to the lower index.
    queue: BinaryHeap<Reverse<(Timestamp, u32)>>,
    now: Timestamp,
    paused: bool,
}

impl Generator {
    /// A generator for `catalog` starting at `start`. Streams derive from `rng` and each
    /// symbol's name.
    pub fn new(catalog: &[SymbolSpec], zone: ServerZone, rng: &Rng, start: Timestamp) -> Self {
        // A fresh key drawn from the caller's stream, so two forks of one seed quote differently.
        let key = Rng::seeded(rng.clone().next_u64());
        let streams: Vec<Stream> = catalog
            .iter()
            .map(|s| Stream::new(s, zone, &key, start))
            .collect();
        let mut g = Self {
            streams,
            queue: BinaryHeap::new(),
            now: start,
            paused: false,
        };
        g.rebuild_queue();
        g
    }

    fn rebuild_queue(&mut self) {
        self.queue = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| Reverse((s.next, i as u32)))
            .collect();
    }

    /// Stretches every symbol's mean gap between ticks by `scale` (≥ 1.0 thins the feed, for
    /// long virtual-time runs; 1.0 is the realistic rate). Applies from each symbol's next
    /// tick on.
    pub fn with_gap_scale(mut self, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        for s in &mut self.streams {
            s.mean_gap = (s.mean_gap * scale).max(1.0);
        }
        self
    }

    /// Emits, in time order, every tick after the previous call up to and including `until`.
    /// Nothing is emitted while paused or while a symbol's quote session is closed.
    pub fn advance_to(&mut self, until: Timestamp, out: &mut Vec<Tick>) {
        if until <= self.now {
            return;
        }
        self.now = until;
        if self.paused {
            self.skip_to(until);
            return;
        }
        while let Some(&Reverse((t, i))) = self.queue.peek() {
            if t > until {
                break;
            }
            let s = &mut self.streams[i as usize];
            let (open, change) = s.session.state(t);
            if open {
                if s.step(t) {
                    s.quoted = t;
                    out.push(Tick {
                        symbol: SymbolIdx(i),
                        time: t,
                        bid: s.bid,
                        ask: s.ask,
                    });
                }
                s.next = t.plus_millis(s.gap());
            } else {
                s.next = change.plus_millis(s.gap());
            }
            let next = s.next;
            // Replacing the top in place keeps the heap at one sift per tick.
            if let Some(mut top) = self.queue.peek_mut() {
                *top = Reverse((next, i));
            }
        }
    }

    /// While paused, time passes without moving prices: every stream resumes after `until`.
    fn skip_to(&mut self, until: Timestamp) {
        for s in &mut self.streams {
            s.moved = s.moved.max(until);
            if s.next <= until {
                s.next = until.plus_millis(s.gap());
            }
        }
        self.rebuild_queue();
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The time the generator has advanced to.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Continues the walk of `symbol` from `bid`/`ask` (a pushed tick). Unknown symbols and
    /// non-positive bids are ignored.
    pub fn set_price(&mut self, symbol: SymbolIdx, bid: Price, ask: Price) {
        let Some(s) = self.streams.get_mut(symbol.index()) else {
            return;
        };
        if bid.0 <= 0 || ask < bid {
            return;
        }
        (s.bid, s.ask) = (bid, ask);
        s.set_mid((bid.0 + ask.0) as f64 / 2.0);
        s.quoted = s.quoted.max(self.now);
    }

    /// The current quote of `symbol`, timed at its last tick (or the start): what a server
    /// shows before the first tick of a session.
    pub fn quote(&self, symbol: SymbolIdx) -> Option<Tick> {
        let s = self.streams.get(symbol.index())?;
        Some(Tick {
            symbol,
            time: s.quoted,
            bid: s.bid,
            ask: s.ask,
        })
    }

    /// How many symbols this generator quotes.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{default_catalog, find};

    fn t(iso: &str) -> Timestamp {
        Timestamp::parse_iso(iso).unwrap()
    }

    fn run(specs: &[SymbolSpec], seed: u64, from: &str, to: &str) -> Vec<Tick> {
        let zone = ServerZone::parse("EET").unwrap();
        let mut g = Generator::new(specs, zone, &Rng::seeded(seed), t(from));
        let mut out = Vec::new();
        g.advance_to(t(to), &mut out);
        out
    }

    #[test]
    fn a_symbols_path_does_not_depend_on_its_neighbours() {
        let all = default_catalog();
        let eurusd = &all[find(&all, "EURUSD").unwrap().index()];
        let alone = run(
            std::slice::from_ref(eurusd),
            3,
            "2026-01-07T10:00:00Z",
            "2026-01-07T10:10:00Z",
        );
        let mixed = run(&all, 3, "2026-01-07T10:00:00Z", "2026-01-07T10:10:00Z");
        let from_mixed: Vec<_> = mixed
            .iter()
            .filter(|k| k.symbol == SymbolIdx(0))
            .map(|k| (k.time, k.bid, k.ask))
            .collect();
        let from_alone: Vec<_> = alone.iter().map(|k| (k.time, k.bid, k.ask)).collect();
        assert!(from_alone.len() > 100);
        assert_eq!(from_alone, from_mixed);
    }

    #[test]
    fn spreads_round_to_ticks_and_respect_the_minimum() {
        // (spread, tick, min) → rounded spread
        let cases = [
            (2.4, 1, 1, 2),
            (0.2, 1, 1, 1),
            (15.0, 10, 10, 20),
            (4.0, 10, 10, 10),
            (0.0, 5, 5, 5),
        ];
        for (spread, tick, min, want) in cases {
            assert_eq!(
                round_spread(spread, tick, min),
                want,
                "{spread} {tick} {min}"
            );
        }
    }

    #[test]
    fn the_walk_moves_about_as_volatile_as_the_profile_says() {
        let all = default_catalog();
        for name in ["BTCUSD", "XAUUSD"] {
            let spec = &all[find(&all, name).unwrap().index()];
            // Realized variance of the mid over six hours, scaled to a day.
            let ticks = run(
                std::slice::from_ref(spec),
                11,
                "2026-01-07T06:00:00Z",
                "2026-01-07T12:00:00Z",
            );
            let mids: Vec<f64> = ticks
                .iter()
                .map(|k| ((k.bid.0 + k.ask.0) as f64).ln())
                .collect();
            let var: f64 = mids.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
            let daily = (var * 4.0).sqrt();
            let want = spec.feed.daily_volatility;
            assert!(
                (daily / want - 1.0).abs() < 0.1,
                "{name}: daily volatility {daily}, want {want}"
            );
        }
    }
}
