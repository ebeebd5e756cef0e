//! Bars of every MT5 timeframe, built from one symbol's ticks as MetaTrader does.
//!
//! Bars are built on the bid: open, high, low and close; `tick_volume` counts ticks; `spread`
//! is the smallest spread seen in the bar, in points. Bars are aligned on the broker's wall
//! clock: fixed spans from local midnight, `W1` from Monday 00:00, `MN1` from the 1st. A bar's
//! `time` is the instant its wall-clock slot starts, so across a DST switch a bar can be an
//! hour shorter or longer. When the clock falls back, ticks of the repeated hour whose slot
//! was already closed go to the bar being built, so bar times never run backwards. No bar is
//! made for a slot without ticks.

use super::Tick;
use super::session::instant_of;
use crate::symbol::SymbolSpec;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use drawbridge_model::timeframe::Span;
use drawbridge_model::{Price, ServerZone, Timeframe, Timestamp};
use std::collections::VecDeque;

/// Completed bars kept per timeframe unless a builder is made with another capacity.
pub const CANDLES_PER_TIMEFRAME_MAX: usize = 1_000;

/// One bar. (MetaApi's `volume`, the real volume, is always zero for simulated symbols.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    pub time: Timestamp,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub tick_volume: u64,
    /// The smallest spread of the bar's ticks, in points.
    pub spread: u32,
}

impl Candle {
    fn new(time: Timestamp, bid: Price, spread: u32) -> Self {
        Self {
            time,
            open: bid,
            high: bid,
            low: bid,
            close: bid,
            tick_volume: 1,
            spread,
        }
    }

    fn add(&mut self, bid: Price, spread: u32) {
        self.high = self.high.max(bid);
        self.low = self.low.min(bid);
        self.close = bid;
        self.tick_volume += 1;
        self.spread = self.spread.min(spread);
    }
}

/// The broker-local wall-clock slot of `tf` containing `local`.
fn slot(tf: Timeframe, local: NaiveDateTime) -> NaiveDateTime {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default();
    let date = local.date();
    match tf.span() {
        Span::Fixed(ms) => {
            let span_s = ms / 1_000;
            let secs = i64::from(local.num_seconds_from_midnight());
            midnight(date) + Duration::seconds(secs / span_s * span_s)
        }
        Span::Week => {
            midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
        }
        Span::Month => midnight(date.with_day(1).unwrap_or(date)),
    }
}

/// The wall-clock slot after `slot`.
fn next_slot(tf: Timeframe, slot: NaiveDateTime) -> NaiveDateTime {
    match tf.span() {
        Span::Fixed(ms) => slot + Duration::milliseconds(ms),
        Span::Week => slot + Duration::days(7),
        Span::Month => {
            let d = slot.date();
            let (y, m) = if d.month() == 12 {
                (d.year() + 1, 1)
            } else {
                (d.year(), d.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or(slot)
        }
    }
}

/// One timeframe: the bar being built and a ring of completed bars, oldest first.
#[derive(Clone, Debug)]
struct Series {
    /// The wall-clock slot of the bar being built.
    slot: NaiveDateTime,
    /// The instants the current bar covers, `[start, end)`.
    start: Timestamp,
    end: Timestamp,
    bar: Option<Candle>,
    done: VecDeque<Candle>,
}

impl Series {
    fn contains(&self, t: Timestamp) -> bool {
        self.bar.is_some() && self.start <= t && t < self.end
    }

    fn push(
        &mut self,
        tf: Timeframe,
        zone: ServerZone,
        capacity: usize,
        local: NaiveDateTime,
        tick: &Tick,
        spread: u32,
    ) {
        let slot = slot(tf, local);
        match &mut self.bar {
            Some(bar) if self.start <= tick.time && tick.time < self.end => {
                bar.add(tick.bid, spread)
            }
            // An earlier tick or a repeated DST hour: the current bar takes it.
            Some(bar) if slot <= self.slot => bar.add(tick.bid, spread),
            _ => {
                if let Some(done) = self.bar.take() {
                    if self.done.len() == capacity {
                        self.done.pop_front();
                    }
                    self.done.push_back(done);
                }
                self.slot = slot;
                self.start = instant_of(zone, slot);
                self.end = instant_of(zone, next_slot(tf, slot));
                self.bar = Some(Candle::new(self.start, tick.bid, spread));
            }
        }
    }
}

/// The candles of one symbol for all 21 timeframes.
#[derive(Clone, Debug)]
pub struct CandleBuilder {
    zone: ServerZone,
    point: Price,
    capacity: usize,
    series: Vec<Series>,
    /// Every current bar holds the last tick.
    aligned: bool,
}

impl CandleBuilder {
    /// Keeps [`CANDLES_PER_TIMEFRAME_MAX`] completed bars per timeframe.
    pub fn new(spec: &SymbolSpec, zone: ServerZone) -> Self {
        Self::with_capacity(spec, zone, CANDLES_PER_TIMEFRAME_MAX)
    }

    /// Keeps `capacity` completed bars per timeframe (at least one).
    pub fn with_capacity(spec: &SymbolSpec, zone: ServerZone, capacity: usize) -> Self {
        let empty = Series {
            slot: NaiveDateTime::default(),
            start: Timestamp(i64::MAX),
            end: Timestamp(i64::MIN),
            bar: None,
            done: VecDeque::new(),
        };
        Self {
            zone,
            point: spec.point,
            capacity: capacity.max(1),
            series: vec![empty; Timeframe::ALL.len()],
            aligned: false,
        }
    }

    /// Adds one tick to every timeframe.
    pub fn push(&mut self, tick: &Tick) {
        let spread =
            u32::try_from((tick.ask - tick.bid).in_points(self.point).max(0)).unwrap_or(u32::MAX);
        // Every larger bar ends on a minute boundary, so when all bars held the previous tick
        // and the minute bar holds this one, they all do.
        if self.aligned && self.series[0].contains(tick.time) {
            for bar in self.series.iter_mut().filter_map(|s| s.bar.as_mut()) {
                bar.add(tick.bid, spread);
            }
            return;
        }
        // Only the bars that end before this tick need the (costly) wall-clock conversion.
        let zone = self.zone;
        let mut local = None;
        let mut aligned = true;
        for (tf, s) in Timeframe::ALL.into_iter().zip(&mut self.series) {
            match &mut s.bar {
                Some(bar) if s.start <= tick.time && tick.time < s.end => {
                    bar.add(tick.bid, spread);
                    continue;
                }
                _ => {}
            }
            let local = *local.get_or_insert_with(|| zone.local(tick.time));
            s.push(tf, zone, self.capacity, local, tick, spread);
            aligned &= s.contains(tick.time);
        }
        self.aligned = aligned;
    }

    /// The bar of `tf` being built.
    pub fn current(&self, tf: Timeframe) -> Option<Candle> {
        self.series[index(tf)].bar
    }

    /// Up to `limit` bars of `tf` whose time is at or before `start_before` (all when `None`),
    /// newest first, the bar being built included: MetaApi's historical candles.
    pub fn candles(
        &self,
        tf: Timeframe,
        start_before: Option<Timestamp>,
        limit: usize,
    ) -> Vec<Candle> {
        let s = &self.series[index(tf)];
        let until = start_before.unwrap_or(Timestamp(i64::MAX));
        s.bar
            .iter()
            .chain(s.done.iter().rev())
            .filter(|c| c.time <= until)
            .take(limit)
            .copied()
            .collect()
    }
}

fn index(tf: Timeframe) -> usize {
    tf as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn timeframes_index_in_declaration_order() {
        for (i, tf) in Timeframe::ALL.into_iter().enumerate() {
            assert_eq!(index(tf), i);
        }
    }

    #[test]
    fn slots_align_on_the_wall_clock() {
        // (timeframe, local time, slot, next slot)
        let cases = [
            (
                Timeframe::M1,
                "2026-01-07 12:34:56",
                "2026-01-07 12:34:00",
                "2026-01-07 12:35:00",
            ),
            (
                Timeframe::M12,
                "2026-01-07 12:34:56",
                "2026-01-07 12:24:00",
                "2026-01-07 12:36:00",
            ),
            (
                Timeframe::H3,
                "2026-01-07 02:59:59",
                "2026-01-07 00:00:00",
                "2026-01-07 03:00:00",
            ),
            (
                Timeframe::H8,
                "2026-01-07 23:00:00",
                "2026-01-07 16:00:00",
                "2026-01-08 00:00:00",
            ),
            (
                Timeframe::D1,
                "2026-01-07 23:59:59",
                "2026-01-07 00:00:00",
                "2026-01-08 00:00:00",
            ),
            (
                Timeframe::W1,
                "2026-01-11 23:00:00",
                "2026-01-05 00:00:00",
                "2026-01-12 00:00:00",
            ),
            (
                Timeframe::W1,
                "2026-01-05 00:00:00",
                "2026-01-05 00:00:00",
                "2026-01-12 00:00:00",
            ),
            (
                Timeframe::MN1,
                "2026-12-31 23:59:59",
                "2026-12-01 00:00:00",
                "2027-01-01 00:00:00",
            ),
            (
                Timeframe::MN1,
                "2028-02-29 10:00:00",
                "2028-02-01 00:00:00",
                "2028-03-01 00:00:00",
            ),
        ];
        for (tf, at, start, next) in cases {
            let s = slot(tf, local(at));
            assert_eq!(
                (s, next_slot(tf, s)),
                (local(start), local(next)),
                "{tf:?} at {at}"
            );
        }
    }
}
