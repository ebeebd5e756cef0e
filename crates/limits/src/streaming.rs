//! Streaming credits per account, and the downgrade of market-data subscriptions over budget.
//!
//! # Credits
//! Every packet streamed to an account costs [`PACKET_CREDITS`] (2), plus 2 per quote or candle
//! and 1 per tick or book entry it carries ([`cost_of`], [`Packet::credits`]). An account may
//! spend 31500 per 10 s, 126000 per 1 min and 315000 per 5 min (catalogue ids 1301–1303).
//! [`StreamingBudget`] holds one account's three windows as rings of [`STREAMING_BUCKETS`]
//! buckets ([`crate::window`], the semantics of the CPU ledger): a charge counts for at most
//! one bucket (5% of the window) longer than the window. Packets are charged after they are
//! sent, never refused: [`StreamingBudget::charge`] reports a window over its quota, and the
//! caller then [`plan`]s a downgrade.
//!
//! # Projection
//! [`project`] estimates, per window, the most a set of subscriptions can cost in the stretch
//! a window counts a charge ([`StreamingWindow::counted_ms`], `(N + 1)` bucket widths), from
//! each symbol's measured activity ([`SymbolLoad`]): a stream at interval `I` sends at most
//! `⌈L / I⌉` updates in `L` ms, and never more than the symbol's price changes in `L`
//! (`⌈ticks_per_min · L / 60000⌉`). A quotes or candles update costs 2 + 2, a marketDepth
//! update 2 + one per book entry; a ticks stream is not conflated, so it pays 2 per update plus
//! 1 for every tick. Costs only fall as intervals grow. A subscription without (or with a
//! non-finite or negative) `intervalInMilliseconds` streams at the account's interval.
//!
//! # Downgrade order
//! 1. **Lengthen.** Level `k` sets every subscription's interval to `base · 2^k`, capped at
//!    [`StreamingQuotas::max_interval_ms`] (default [`MAX_INTERVAL_MS`], the longest
//!    `quoteStreamingIntervalInSeconds` an account may configure); an interval already longer
//!    is kept, so intervals never shrink. The plan takes the smallest level that fits.
//! 2. **Remove**, only when every interval at its maximum still does not fit: marketDepth
//!    first (a whole book per update), then ticks (lengthening saves them only the packet
//!    cost), then candles, quotes last; within a type the costliest in the most overrun
//!    window first, ties in input order; stop as soon as the rest fits at the maximum. The
//!    plan then takes the smallest level at which the remaining subscriptions fit.
//!
//! # Wire
//! A [`Downgrade`] serializes as the fields of the SDK's `downgradeSubscription` packet:
//! `symbol`, `updates` (entries `{type, timeframe?, intervalInMilliseconds}` that the SDK
//! re-subscribes with, replacing the entry of the same type, and timeframe for candles) and
//! `unsubscriptions` (`{type, timeframe?}`; a candles entry names its timeframe, since one
//! without removes every timeframe). The server adds the envelope (`type`, `accountId`,
//! `instanceIndex`, `host`).

use crate::catalog::{Catalogue, id};
use crate::window::{Ring, Span};
use drawbridge_model::wire::{MarketDataSubscription, MarketDataType};
use drawbridge_model::{Timeframe, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

/// Credits of one streamed packet, whatever it carries.
pub const PACKET_CREDITS: u64 = 2;
pub const QUOTE_CREDITS: u64 = 2;
pub const CANDLE_CREDITS: u64 = 2;
pub const TICK_CREDITS: u64 = 1;
pub const BOOK_ENTRY_CREDITS: u64 = 1;
/// Buckets per streaming window (widths 500 ms, 3 s and 15 s for 10 s, 1 min and 5 min).
pub const STREAMING_BUCKETS: usize = 20;
const SLOTS: usize = STREAMING_BUCKETS + 1;
/// Streaming windows per account: 10 s, 1 min, 5 min.
pub const STREAMING_WINDOWS: usize = 3;
/// The longest interval a downgrade sets by default: 60 s, the longest
/// `quoteStreamingIntervalInSeconds` an account may configure.
pub const MAX_INTERVAL_MS: u64 = 60_000;
const MS_PER_MIN: u64 = 60_000;
/// The longest window (about 73 million years): bucket arithmetic cannot overflow below it.
pub const MAX_PERIOD_MS: i64 = i64::MAX / 4;
/// Lengthening levels at most: `2^64` exceeds every interval.
const MAX_LEVEL: u32 = 64;

/// Credits per item of a stream of `kind` (a book entry for marketDepth).
pub fn item_credits(kind: MarketDataType) -> u64 {
    match kind {
        MarketDataType::Quotes => QUOTE_CREDITS,
        MarketDataType::Candles => CANDLE_CREDITS,
        MarketDataType::Ticks => TICK_CREDITS,
        MarketDataType::MarketDepth => BOOK_ENTRY_CREDITS,
    }
}

/// Credits of a packet carrying `items` items of one `kind`.
pub fn cost_of(kind: MarketDataType, items: u64) -> u64 {
    PACKET_CREDITS.saturating_add(items.saturating_mul(item_credits(kind)))
}

/// What one streamed packet carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Packet {
    pub quotes: u64,
    pub candles: u64,
    pub ticks: u64,
    pub book_entries: u64,
}

impl Packet {
    /// The packet's credits: 2, plus each item's.
    pub fn credits(&self) -> u64 {
        [
            (self.quotes, QUOTE_CREDITS),
            (self.candles, CANDLE_CREDITS),
            (self.ticks, TICK_CREDITS),
            (self.book_entries, BOOK_ENTRY_CREDITS),
        ]
        .iter()
        .fold(PACKET_CREDITS, |acc, &(n, c)| {
            acc.saturating_add(n.saturating_mul(c))
        })
    }
}

/// One streaming window: its buckets and its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingWindow {
    pub span: Span,
    pub quota_credits: u64,
}

impl StreamingWindow {
    /// A window of `period_ms`, clamped to `1..=`[`MAX_PERIOD_MS`].
    pub fn new(period_ms: i64, quota_credits: u64) -> Self {
        Self {
            span: Span::new(period_ms.clamp(1, MAX_PERIOD_MS), STREAMING_BUCKETS),
            quota_credits,
        }
    }

    /// The longest stretch in which charges count together: `N + 1` bucket widths.
    pub fn counted_ms(&self) -> u64 {
        let width_ms = u64::try_from(self.span.width_ms).unwrap_or(1);
        width_ms.saturating_mul(SLOTS as u64)
    }
}

/// The streaming quotas every account shares, and the longest interval a downgrade sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingQuotas {
    pub windows: [StreamingWindow; STREAMING_WINDOWS],
    pub max_interval_ms: u64,
}

impl StreamingQuotas {
    /// `(period_ms, quota_credits)` per window.
    pub fn new(windows: [(i64, u64); STREAMING_WINDOWS], max_interval_ms: u64) -> Self {
        Self {
            windows: windows.map(|(p, q)| StreamingWindow::new(p, q)),
            max_interval_ms,
        }
    }

    /// The catalogue's `streaming_per_account_*` limits, lengthening up to [`MAX_INTERVAL_MS`].
    pub fn from_catalogue(c: &Catalogue) -> Self {
        let window = |limit: u32| {
            let l = c.get(limit);
            let period_ms = l
                .and_then(|l| l.period_secs)
                .map_or(1_000, |s| i64::from(s) * 1_000);
            (period_ms, l.map_or(0, |l| l.value))
        };
        Self::new(
            [
                window(id::STREAMING_PER_ACCOUNT_10S),
                window(id::STREAMING_PER_ACCOUNT_1M),
                window(id::STREAMING_PER_ACCOUNT_5M),
            ],
            MAX_INTERVAL_MS,
        )
    }

    /// True when every window's credits are within its quota.
    pub fn fits(&self, credits: &[u64; STREAMING_WINDOWS]) -> bool {
        self.fits_wide(&credits.map(u128::from))
    }

    fn fits_wide(&self, credits: &[u128; STREAMING_WINDOWS]) -> bool {
        credits
            .iter()
            .zip(&self.windows)
            .all(|(&c, w)| c <= u128::from(w.quota_credits))
    }
}

/// One window's consumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingUsage {
    pub period_ms: i64,
    pub quota_credits: u64,
    pub used_credits: u64,
}

impl StreamingUsage {
    pub fn is_over(&self) -> bool {
        self.used_credits > self.quota_credits
    }
}

/// One account's streaming windows (its quotas are passed in: every account shares them):
/// three rings of 21 sums, under 600 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamingBudget {
    rings: [Ring<u64, SLOTS>; STREAMING_WINDOWS],
}

impl StreamingBudget {
    /// Charges a sent packet's `credits` at `now`; returns the shortest window now over its
    /// quota, if any.
    pub fn charge(
        &mut self,
        quotas: &StreamingQuotas,
        credits: u64,
        now: Timestamp,
    ) -> Option<StreamingUsage> {
        self.advance(quotas, now);
        self.rings.iter_mut().for_each(|r| r.add(credits));
        self.snapshot(quotas)
            .into_iter()
            .find(StreamingUsage::is_over)
    }

    /// Every window's consumption as of `now`.
    pub fn usage(
        &self,
        quotas: &StreamingQuotas,
        now: Timestamp,
    ) -> [StreamingUsage; STREAMING_WINDOWS] {
        let mut b = *self;
        b.advance(quotas, now);
        b.snapshot(quotas)
    }

    /// True when nothing is live in any window at `now`: the owner may forget the account.
    pub fn idle_at(&self, quotas: &StreamingQuotas, now: Timestamp) -> bool {
        self.rings
            .iter()
            .zip(&quotas.windows)
            .all(|(r, w)| r.idle_at(w.span.bucket(now.0)))
    }

    fn advance(&mut self, quotas: &StreamingQuotas, now: Timestamp) {
        for (r, w) in self.rings.iter_mut().zip(&quotas.windows) {
            r.advance(w.span.bucket(now.0));
        }
    }

    fn snapshot(&self, quotas: &StreamingQuotas) -> [StreamingUsage; STREAMING_WINDOWS] {
        std::array::from_fn(|i| StreamingUsage {
            period_ms: quotas.windows[i].span.period_ms,
            quota_credits: quotas.windows[i].quota_credits,
            used_credits: self.rings[i].live(),
        })
    }
}

/// One subscribed symbol of an account, with its measured activity.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolLoad {
    pub symbol: String,
    /// The symbol's subscription entries, each `(type, timeframe)` at most once.
    pub subscriptions: Vec<MarketDataSubscription>,
    /// Price changes per minute: the most updates any conflated stream sends, and the ticks
    /// a ticks stream carries.
    pub ticks_per_min: u64,
    /// Entries of the symbol's book: each marketDepth update carries them all.
    pub book_entries: u64,
}

/// One entry of `unsubscriptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscription {
    #[serde(rename = "type")]
    pub data_type: MarketDataType,
    /// The candles timeframe; absent removes every timeframe.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeframe: Option<Timeframe>,
}

/// The fields of one `downgradeSubscription` packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Downgrade {
    pub symbol: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub updates: Vec<MarketDataSubscription>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub unsubscriptions: Vec<Unsubscription>,
}

/// The downgrades that fit an account's subscriptions into its budget.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// One per changed symbol, in input order; empty when the subscriptions already fit.
    pub downgrades: Vec<Downgrade>,
    /// The projection per window once the downgrades apply (saturating).
    pub projected_credits: [u64; STREAMING_WINDOWS],
}

/// One subscription entry, flattened, with its base interval.
#[derive(Debug, Clone, Copy)]
struct Stream {
    symbol: usize,
    kind: MarketDataType,
    timeframe: Option<Timeframe>,
    base_ms: u64,
    ticks_per_min: u64,
    book_entries: u64,
}

/// The interval an entry streams at: its own when finite and non-negative, else the
/// account's; whole milliseconds rounded down (a shorter interval costs more), at least 1.
fn base_interval_ms(entry: &MarketDataSubscription, default_interval_ms: u64) -> u64 {
    let ms = match entry.interval_in_milliseconds {
        // `as` saturates a finite non-negative float into u64.
        Some(v) if v.is_finite() && v >= 0.0 => v.floor() as u64,
        _ => default_interval_ms,
    };
    ms.max(1)
}

fn streams_of(loads: &[SymbolLoad], default_interval_ms: u64) -> Vec<Stream> {
    let mut out = Vec::new();
    for (symbol, load) in loads.iter().enumerate() {
        out.extend(load.subscriptions.iter().map(|e| Stream {
            symbol,
            kind: e.data_type,
            timeframe: e.timeframe,
            base_ms: base_interval_ms(e, default_interval_ms),
            ticks_per_min: load.ticks_per_min,
            book_entries: load.book_entries,
        }));
    }
    out
}

impl Stream {
    /// The interval at lengthening `level`: `base · 2^level` capped at `max_ms`, never shorter
    /// than the base.
    fn interval_ms(&self, level: u32, max_ms: u64) -> u64 {
        if level == 0 || self.base_ms >= max_ms {
            return self.base_ms;
        }
        let factor = 1u64.checked_shl(level).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(max_ms)
    }

    /// The most credits this stream costs at `interval_ms` within `counted_ms`.
    fn credits(&self, interval_ms: u64, counted_ms: u64) -> u64 {
        let intervals = counted_ms.div_ceil(interval_ms.max(1));
        let wide = u128::from(self.ticks_per_min) * u128::from(counted_ms);
        let ticks = u64::try_from(wide.div_ceil(u128::from(MS_PER_MIN))).unwrap_or(u64::MAX);
        let updates = intervals.min(ticks);
        match self.kind {
            MarketDataType::Ticks => updates
                .saturating_mul(PACKET_CREDITS)
                .saturating_add(ticks.saturating_mul(TICK_CREDITS)),
            MarketDataType::MarketDepth => {
                updates.saturating_mul(cost_of(self.kind, self.book_entries))
            }
            MarketDataType::Quotes | MarketDataType::Candles => {
                updates.saturating_mul(cost_of(self.kind, 1))
            }
        }
    }

    fn credits_per_window(&self, q: &StreamingQuotas, level: u32) -> [u64; STREAMING_WINDOWS] {
        let interval_ms = self.interval_ms(level, q.max_interval_ms);
        q.windows.map(|w| self.credits(interval_ms, w.counted_ms()))
    }

    /// Removal order: marketDepth, ticks, candles, quotes.
    fn removal_rank(&self) -> u8 {
        match self.kind {
            MarketDataType::MarketDepth => 0,
            MarketDataType::Ticks => 1,
            MarketDataType::Candles => 2,
            MarketDataType::Quotes => 3,
        }
    }
}

/// The summed projection of the streams not removed, at `level`.
fn totals(
    q: &StreamingQuotas,
    streams: &[Stream],
    level: u32,
    removed: &[bool],
) -> [u128; STREAMING_WINDOWS] {
    let mut sum = [0u128; STREAMING_WINDOWS];
    for (i, s) in streams.iter().enumerate() {
        if removed.get(i).copied().unwrap_or(false) {
            continue;
        }
        for (acc, c) in sum.iter_mut().zip(s.credits_per_window(q, level)) {
            *acc = acc.saturating_add(u128::from(c));
        }
    }
    sum
}

fn saturate(wide: [u128; STREAMING_WINDOWS]) -> [u64; STREAMING_WINDOWS] {
    wide.map(|c| u64::try_from(c).unwrap_or(u64::MAX))
}

/// The window with the largest `credits / quota`.
fn most_overrun(q: &StreamingQuotas, credits: &[u128; STREAMING_WINDOWS]) -> usize {
    let ratio_above = |a: usize, b: usize| {
        let qa = u128::from(q.windows[a].quota_credits);
        let qb = u128::from(q.windows[b].quota_credits);
        credits[a].saturating_mul(qb) > credits[b].saturating_mul(qa)
    };
    (1..STREAMING_WINDOWS).fold(0, |best, w| if ratio_above(w, best) { w } else { best })
}

/// Which streams to remove so the rest fit with every interval at its maximum: none when
/// lengthening alone fits.
fn removals(q: &StreamingQuotas, streams: &[Stream]) -> Vec<bool> {
    let mut removed = vec![false; streams.len()];
    let mut total = totals(q, streams, MAX_LEVEL, &removed);
    if q.fits_wide(&total) {
        return removed;
    }
    let per: Vec<_> = streams
        .iter()
        .map(|s| s.credits_per_window(q, MAX_LEVEL))
        .collect();
    let w = most_overrun(q, &total);
    let mut order: Vec<usize> = (0..streams.len()).collect();
    order.sort_by_key(|&i| (streams[i].removal_rank(), Reverse(per[i][w]), i));
    for i in order {
        if q.fits_wide(&total) {
            break;
        }
        removed[i] = true;
        for (acc, c) in total.iter_mut().zip(per[i]) {
            *acc = acc.saturating_sub(u128::from(c));
        }
    }
    removed
}

/// The projected credits per window of `loads` as they stand.
pub fn project(
    quotas: &StreamingQuotas,
    default_interval_ms: u64,
    loads: &[SymbolLoad],
) -> [u64; STREAMING_WINDOWS] {
    saturate(totals(
        quotas,
        &streams_of(loads, default_interval_ms),
        0,
        &[],
    ))
}

/// The downgrades that fit `loads` (one account's subscriptions; entries without an interval
/// stream at `default_interval_ms`) into `quotas`, in the documented order.
pub fn plan(quotas: &StreamingQuotas, default_interval_ms: u64, loads: &[SymbolLoad]) -> Plan {
    let streams = streams_of(loads, default_interval_ms);
    let removed = removals(quotas, &streams);
    // Removing everything fits any quota, so some level fits; MAX_LEVEL bounds the search.
    let level = (0..=MAX_LEVEL)
        .find(|&k| quotas.fits_wide(&totals(quotas, &streams, k, &removed)))
        .unwrap_or(MAX_LEVEL);
    Plan {
        downgrades: downgrades(loads, &streams, quotas, level, &removed),
        projected_credits: saturate(totals(quotas, &streams, level, &removed)),
    }
}

/// The per-symbol packets of a plan at `level` with `removed` streams.
fn downgrades(
    loads: &[SymbolLoad],
    streams: &[Stream],
    q: &StreamingQuotas,
    level: u32,
    removed: &[bool],
) -> Vec<Downgrade> {
    let mut out: Vec<(usize, Downgrade)> = Vec::new();
    for (s, &gone) in streams.iter().zip(removed) {
        let interval_ms = s.interval_ms(level, q.max_interval_ms);
        if !gone && interval_ms == s.base_ms {
            continue;
        }
        if out.last().is_none_or(|(i, _)| *i != s.symbol) {
            let symbol = loads.get(s.symbol).map(|l| l.symbol.clone());
            out.push((
                s.symbol,
                Downgrade {
                    symbol: symbol.unwrap_or_default(),
                    updates: Vec::new(),
                    unsubscriptions: Vec::new(),
                },
            ));
        }
        let Some((_, d)) = out.last_mut() else {
            continue;
        };
        if gone {
            d.unsubscriptions.push(Unsubscription {
                data_type: s.kind,
                timeframe: s.timeframe,
            });
        } else {
            // Intervals here are at most `max_interval_ms`; f64 is exact below 2^53 ms.
            d.updates.push(MarketDataSubscription {
                data_type: s.kind,
                timeframe: s.timeframe,
                interval_in_milliseconds: Some(interval_ms as f64),
            });
        }
    }
    out.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(kind: MarketDataType, base_ms: u64, ticks_per_min: u64) -> Stream {
        Stream {
            symbol: 0,
            kind,
            timeframe: None,
            base_ms,
            ticks_per_min,
            book_entries: 10,
        }
    }

    #[test]
    fn intervals_double_up_to_the_cap_and_never_shrink() {
        let s = stream(MarketDataType::Quotes, 2_500, 0);
        let ladder: Vec<_> = (0..7).map(|k| s.interval_ms(k, 60_000)).collect();
        assert_eq!(
            ladder,
            [2_500, 5_000, 10_000, 20_000, 40_000, 60_000, 60_000]
        );
        assert_eq!(s.interval_ms(MAX_LEVEL, 60_000), 60_000);
        let long = stream(MarketDataType::Quotes, 90_000, 0);
        assert_eq!(long.interval_ms(MAX_LEVEL, 60_000), 90_000);
        let odd = |ms| entry_ms(Some(ms));
        assert_eq!(
            [odd(0.4), odd(99.9), odd(-1.0), odd(f64::NAN)],
            [1, 99, 7, 7]
        );
        assert_eq!(entry_ms(None), 7);
    }

    fn entry_ms(ms: Option<f64>) -> u64 {
        let e = MarketDataSubscription {
            data_type: MarketDataType::Quotes,
            timeframe: None,
            interval_in_milliseconds: ms,
        };
        base_interval_ms(&e, 7)
    }

    #[test]
    fn a_stream_costs_its_updates_bounded_by_the_price_changes() {
        // 10.5 s counted; 600 changes per minute are 105 in it.
        let table = [
            // 1 s interval: 11 updates of 2 + 2.
            (MarketDataType::Quotes, 1_000, 600, 44),
            // 10 ms interval: 1050 intervals, but only 105 changes to send.
            (MarketDataType::Candles, 10, 600, 420),
            // 11 book updates of 2 + 10 entries.
            (MarketDataType::MarketDepth, 1_000, 600, 132),
            // 11 packets of 2, plus each of the 105 ticks.
            (MarketDataType::Ticks, 1_000, 600, 127),
            // No activity, nothing streamed.
            (MarketDataType::Ticks, 1, 0, 0),
        ];
        for (kind, interval_ms, tpm, credits) in table {
            let got = stream(kind, interval_ms, tpm).credits(interval_ms, 10_500);
            assert_eq!(got, credits, "{kind} at {interval_ms} ms");
        }
    }

    fn defaults() -> StreamingQuotas {
        StreamingQuotas::from_catalogue(&Catalogue::default())
    }

    #[test]
    fn packets_cost_two_plus_their_items() {
        assert_eq!(cost_of(MarketDataType::Quotes, 1), 4);
        assert_eq!(cost_of(MarketDataType::Candles, 3), 8);
        assert_eq!(cost_of(MarketDataType::Ticks, 10), 12);
        assert_eq!(cost_of(MarketDataType::MarketDepth, 20), 22);
        assert_eq!(cost_of(MarketDataType::Ticks, u64::MAX), u64::MAX);
        // 2 + 3 quotes·2 + 1 candle·2 + 5 ticks + 20 book entries.
        let p = Packet {
            quotes: 3,
            candles: 1,
            ticks: 5,
            book_entries: 20,
        };
        assert_eq!(p.credits(), 35);
    }

    #[test]
    fn the_catalogue_gives_three_windows_counted_a_bucket_longer() {
        let q = defaults();
        let got: Vec<_> = q
            .windows
            .iter()
            .map(|w| {
                (
                    w.span.period_ms,
                    w.span.width_ms,
                    w.counted_ms(),
                    w.quota_credits,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (10_000, 500, 10_500, 31_500),
                (60_000, 3_000, 63_000, 126_000),
                (300_000, 15_000, 315_000, 315_000),
            ]
        );
        assert_eq!(q.max_interval_ms, MAX_INTERVAL_MS);
    }

    #[test]
    fn a_budget_is_three_rings_of_21_sums() {
        let ring = std::mem::size_of::<Ring<u64, SLOTS>>();
        assert_eq!(std::mem::size_of::<StreamingBudget>(), 3 * ring);
        // 21 sums of 8 bytes and the ring's bookkeeping: a million accounts in 600 MB.
        assert!(std::mem::size_of::<StreamingBudget>() <= 600);
    }

    #[test]
    fn a_burst_overruns_the_10s_window_until_its_bucket_leaves() {
        let q = defaults();
        let mut b = StreamingBudget::default();
        assert_eq!(b.charge(&q, 31_000, Timestamp(0)), None);
        // 31000 + 600 = 31600 > 31500 in the 10 s window; 1 min and 5 min have room.
        let over = b.charge(&q, 600, Timestamp(100));
        assert_eq!(
            over,
            Some(StreamingUsage {
                period_ms: 10_000,
                quota_credits: 31_500,
                used_credits: 31_600
            })
        );
        // Bucket 0 (500 ms wide) is live through bucket 20 and gone at 21 · 500 = 10.5 s.
        assert_eq!(b.usage(&q, Timestamp(10_499))[0].used_credits, 31_600);
        let later = b.usage(&q, Timestamp(10_500));
        assert_eq!(later.map(|u| u.used_credits), [0, 31_600, 31_600]);
        // The 5 min ring (15 s buckets) forgets bucket 0 at 21 · 15 s = 315 s.
        assert!(!b.idle_at(&q, Timestamp(314_999)));
        assert!(b.idle_at(&q, Timestamp(315_000)));
    }

    #[test]
    fn a_steady_stream_overruns_the_5min_window_first() {
        let q = defaults();
        let mut b = StreamingBudget::default();
        // 1100 credits every second. At 286 s: 10 s holds 11 charges (12100), 1 min holds
        // 62 (68200), 5 min holds all 287 since 0 s (315700 > 315000); at 285 s 314600 fit.
        let first =
            (0..400).find_map(|s| b.charge(&q, 1_100, Timestamp(s * 1_000)).map(|u| (s, u)));
        assert_eq!(
            first,
            Some((
                286,
                StreamingUsage {
                    period_ms: 300_000,
                    quota_credits: 315_000,
                    used_credits: 315_700
                }
            ))
        );
    }
}
