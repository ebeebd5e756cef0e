//! Candle aggregation on hand-made ticks, in `EET` broker time (UTC+2, UTC+3 in summer).

use crate::support::{eet, px, spec, t};
use drawbridge_broker::feed::{Candle, CandleBuilder, Tick};
use drawbridge_broker::symbol::SymbolIdx;
use drawbridge_model::{Timeframe, Timestamp};

fn builder(name: &str, capacity: usize) -> CandleBuilder {
    CandleBuilder::with_capacity(&spec(name), eet(), capacity)
}

/// Pushes `(time, bid, ask)` ticks.
fn feed(b: &mut CandleBuilder, ticks: &[(&str, f64, f64)]) {
    for &(time, bid, ask) in ticks {
        b.push(&Tick {
            symbol: SymbolIdx(0),
            time: t(time),
            bid: px(bid),
            ask: px(ask),
        });
    }
}

/// `(time, open, high, low, close, tick volume, spread)`.
fn bar(time: &str, o: f64, h: f64, l: f64, c: f64, tick_volume: u64, spread: u32) -> Candle {
    Candle {
        time: t(time),
        open: px(o),
        high: px(h),
        low: px(l),
        close: px(c),
        tick_volume,
        spread,
    }
}

fn times(b: &CandleBuilder, tf: Timeframe) -> Vec<Timestamp> {
    b.candles(tf, None, usize::MAX)
        .iter()
        .map(|c| c.time)
        .collect()
}

fn ts(isos: &[&str]) -> Vec<Timestamp> {
    isos.iter().map(|s| t(s)).collect()
}

/// Wednesday 2026-01-07, 12:00 EET = 10:00 UTC.
const WEDNESDAY: &[(&str, f64, f64)] = &[
    ("2026-01-07T10:00:05Z", 1.10000, 1.10002),
    ("2026-01-07T10:00:30Z", 1.10010, 1.10013),
    ("2026-01-07T10:00:59.999Z", 1.09990, 1.09991),
    ("2026-01-07T10:01:00Z", 1.10005, 1.10007),
    ("2026-01-07T10:04:59Z", 1.10020, 1.10025),
    ("2026-01-07T10:05:00Z", 1.10015, 1.10017),
    ("2026-01-07T10:59:59Z", 1.09950, 1.09952),
    ("2026-01-07T11:00:00Z", 1.09960, 1.09962),
];

#[test]
fn minute_hour_and_day_bars_add_up() {
    let mut b = builder("EURUSD", 100);
    feed(&mut b, WEDNESDAY);
    let m1 = b.candles(Timeframe::M1, None, 10);
    assert_eq!(m1.len(), 6);
    assert_eq!(
        m1[0],
        bar(
            "2026-01-07T11:00:00Z",
            1.09960,
            1.09960,
            1.09960,
            1.09960,
            1,
            2
        )
    );
    assert_eq!(
        m1[5],
        bar(
            "2026-01-07T10:00:00Z",
            1.10000,
            1.10010,
            1.09990,
            1.09990,
            3,
            1
        )
    );
    assert_eq!(
        m1[4],
        bar(
            "2026-01-07T10:01:00Z",
            1.10005,
            1.10005,
            1.10005,
            1.10005,
            1,
            2
        )
    );
    assert_eq!(m1[3].time, t("2026-01-07T10:04:00Z"));
    let m5 = b.candles(Timeframe::M5, None, 10);
    assert_eq!(
        m5.iter().map(|c| c.time).collect::<Vec<_>>(),
        ts(&[
            "2026-01-07T11:00:00Z",
            "2026-01-07T10:55:00Z",
            "2026-01-07T10:05:00Z",
            "2026-01-07T10:00:00Z"
        ])
    );
    assert_eq!(
        m5[3],
        bar(
            "2026-01-07T10:00:00Z",
            1.10000,
            1.10020,
            1.09990,
            1.10020,
            5,
            1
        )
    );
    let h1 = b.candles(Timeframe::H1, None, 10);
    assert_eq!(
        h1[1],
        bar(
            "2026-01-07T10:00:00Z",
            1.10000,
            1.10020,
            1.09950,
            1.09950,
            7,
            1
        )
    );
    assert_eq!(
        b.current(Timeframe::H1).unwrap().time,
        t("2026-01-07T11:00:00Z")
    );
    // One day from EET midnight (22:00 UTC the evening before), all eight ticks.
    assert_eq!(
        b.current(Timeframe::D1),
        Some(bar(
            "2026-01-06T22:00:00Z",
            1.10000,
            1.10020,
            1.09950,
            1.09960,
            8,
            1
        ))
    );
    // Longer fixed spans are aligned to EET midnight too: 12:00–16:00, 08:00–16:00, 12:00–24:00.
    assert_eq!(times(&b, Timeframe::H4), ts(&["2026-01-07T10:00:00Z"]));
    assert_eq!(times(&b, Timeframe::H8), ts(&["2026-01-07T06:00:00Z"]));
    assert_eq!(times(&b, Timeframe::H12), ts(&["2026-01-07T10:00:00Z"]));
    assert_eq!(
        times(&b, Timeframe::M12),
        ts(&[
            "2026-01-07T11:00:00Z",
            "2026-01-07T10:48:00Z",
            "2026-01-07T10:00:00Z"
        ])
    );
}

#[test]
fn queries_are_newest_first_up_to_a_start_time() {
    let mut b = builder("EURUSD", 100);
    feed(&mut b, WEDNESDAY);
    let before = b.candles(Timeframe::M1, Some(t("2026-01-07T10:04:30Z")), 10);
    assert_eq!(
        before.iter().map(|c| c.time).collect::<Vec<_>>(),
        ts(&[
            "2026-01-07T10:04:00Z",
            "2026-01-07T10:01:00Z",
            "2026-01-07T10:00:00Z"
        ])
    );
    assert_eq!(
        b.candles(Timeframe::M1, Some(t("2026-01-07T10:01:00Z")), 1)[0].time,
        t("2026-01-07T10:01:00Z")
    );
    assert_eq!(b.candles(Timeframe::M1, None, 2).len(), 2);
    assert!(
        b.candles(Timeframe::M1, Some(t("2026-01-07T09:00:00Z")), 10)
            .is_empty()
    );
    assert!(b.candles(Timeframe::M1, None, 0).is_empty());
    assert_eq!(builder("EURUSD", 10).current(Timeframe::D1), None);
}

#[test]
fn completed_bars_are_kept_in_a_bounded_ring() {
    let mut b = builder("EURUSD", 2);
    feed(&mut b, WEDNESDAY);
    assert_eq!(
        times(&b, Timeframe::M1),
        ts(&[
            "2026-01-07T11:00:00Z",
            "2026-01-07T10:59:00Z",
            "2026-01-07T10:05:00Z"
        ])
    );
}

#[test]
fn a_spring_forward_day_has_23_hours_and_a_3_hour_h4_bar() {
    // 2026-03-29: 03:00 EET jumps to 04:00 EEST at 01:00 UTC.
    let mut b = builder("BTCUSD", 100);
    feed(
        &mut b,
        &[
            ("2026-03-28T23:00:00Z", 90_000.0, 90_020.0), // 01:00 EET
            ("2026-03-29T00:59:59Z", 90_100.0, 90_120.0), // 02:59:59 EET
            ("2026-03-29T01:00:00Z", 90_200.0, 90_220.0), // 04:00 EEST
            ("2026-03-29T20:59:00Z", 90_300.0, 90_320.0), // 23:59 EEST
            ("2026-03-29T21:00:00Z", 90_400.0, 90_420.0), // 00:00 EEST, 30 March
        ],
    );
    assert_eq!(
        times(&b, Timeframe::H1),
        ts(&[
            "2026-03-29T21:00:00Z",
            "2026-03-29T20:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T00:00:00Z",
            "2026-03-28T23:00:00Z"
        ])
    );
    assert_eq!(
        times(&b, Timeframe::H4),
        ts(&[
            "2026-03-29T21:00:00Z",
            "2026-03-29T17:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-28T22:00:00Z"
        ])
    );
    let d1 = b.candles(Timeframe::D1, None, 10);
    assert_eq!(
        d1[1],
        bar(
            "2026-03-28T22:00:00Z",
            90_000.0,
            90_300.0,
            90_000.0,
            90_300.0,
            4,
            2_000
        )
    );
    assert_eq!(d1[0].time, t("2026-03-29T21:00:00Z"));
}

#[test]
fn a_fall_back_hour_never_makes_bar_times_run_backwards() {
    // 2026-10-25: 04:00 EEST falls back to 03:00 EET at 01:00 UTC; 03:00–04:00 happens twice.
    let mut b = builder("BTCUSD", 100);
    feed(
        &mut b,
        &[
            ("2026-10-25T00:30:00Z", 90_000.0, 90_020.0), // 03:30 EEST
            ("2026-10-25T00:59:00Z", 90_100.0, 90_120.0), // 03:59 EEST
            ("2026-10-25T01:00:00Z", 90_200.0, 90_220.0), // 03:00 EET
            ("2026-10-25T01:30:00Z", 89_900.0, 89_920.0), // 03:30 EET
            ("2026-10-25T02:00:00Z", 90_400.0, 90_420.0), // 04:00 EET
        ],
    );
    // The 03:00 hour bar spans both passes; the repeated minutes join the 03:59 bar.
    let h1 = b.candles(Timeframe::H1, None, 10);
    assert_eq!(
        h1[1],
        bar(
            "2026-10-25T00:00:00Z",
            90_000.0,
            90_200.0,
            89_900.0,
            89_900.0,
            4,
            2_000
        )
    );
    assert_eq!(h1[0].time, t("2026-10-25T02:00:00Z"));
    let m1 = b.candles(Timeframe::M1, None, 10);
    assert_eq!(
        m1.iter()
            .map(|c| (c.time, c.tick_volume))
            .collect::<Vec<_>>(),
        vec![
            (t("2026-10-25T02:00:00Z"), 1),
            (t("2026-10-25T00:59:00Z"), 3),
            (t("2026-10-25T00:30:00Z"), 1)
        ]
    );
    // The day has 25 hours: it starts at 21:00 UTC the day before.
    assert_eq!(
        b.current(Timeframe::D1).unwrap().time,
        t("2026-10-24T21:00:00Z")
    );
    assert_eq!(b.current(Timeframe::D1).unwrap().tick_volume, 5);
}

#[test]
fn weeks_start_on_monday_and_months_on_the_first_in_broker_time() {
    let mut b = builder("BTCUSD", 100);
    feed(
        &mut b,
        &[
            ("2026-01-04T21:59:00Z", 90_000.0, 90_020.0), // Sunday 23:59 EET
            ("2026-01-04T22:00:00Z", 90_100.0, 90_120.0), // Monday 00:00 EET
            ("2026-01-31T21:59:59.999Z", 90_200.0, 90_220.0), // Saturday 31 January 23:59 EET
            ("2026-01-31T22:00:00Z", 90_300.0, 90_320.0), // Sunday 1 February 00:00 EET
            ("2026-04-15T12:00:00Z", 90_400.0, 90_420.0), // Wednesday 15 April, EEST
        ],
    );
    assert_eq!(
        times(&b, Timeframe::W1),
        ts(&[
            "2026-04-12T21:00:00Z",
            "2026-01-25T22:00:00Z",
            "2026-01-04T22:00:00Z",
            "2025-12-28T22:00:00Z"
        ])
    );
    assert_eq!(
        times(&b, Timeframe::MN1),
        ts(&[
            "2026-03-31T21:00:00Z",
            "2026-01-31T22:00:00Z",
            "2025-12-31T22:00:00Z"
        ])
    );
    let jan = b.candles(Timeframe::MN1, Some(t("2026-01-15T00:00:00Z")), 1)[0];
    assert_eq!(
        jan,
        bar(
            "2025-12-31T22:00:00Z",
            90_000.0,
            90_200.0,
            90_000.0,
            90_200.0,
            3,
            2_000
        )
    );
    assert_eq!(b.candles(Timeframe::W1, None, 3)[1].tick_volume, 2);
}
