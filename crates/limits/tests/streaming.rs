//! The streaming-credit planner: golden scenarios with the arithmetic written out, and a
//! property over random subscription sets, activity and quotas.
//!
//! The property applies each plan the way the official SDK does (`on_subscription_downgraded`
//! unsubscribes `unsubscriptions`, matching type and, when given, timeframe; then re-subscribes
//! `updates`, each replacing the entry of its type, and timeframe for candles) and checks:
//! - a plan is empty exactly when the subscriptions already fit;
//! - the applied subscriptions' projection is the plan's and fits every window;
//! - nothing is removed when every interval at the maximum alone would have fit;
//! - updates and removals name existing entries; intervals only grow, up to the maximum;
//! - one packet per symbol, none empty.

use drawbridge_limits::Catalogue;
use drawbridge_limits::streaming::{
    Downgrade, MAX_INTERVAL_MS, Plan, StreamingQuotas, SymbolLoad, Unsubscription, plan, project,
};
use drawbridge_model::Timeframe;
use drawbridge_model::wire::{MarketDataSubscription, MarketDataType};
use proptest::prelude::*;
use serde_json::json;

fn entry(kind: MarketDataType, tf: Option<Timeframe>, ms: Option<f64>) -> MarketDataSubscription {
    MarketDataSubscription {
        data_type: kind,
        timeframe: tf,
        interval_in_milliseconds: ms,
    }
}

fn load(symbol: &str, subscriptions: Vec<MarketDataSubscription>, tpm: u64) -> SymbolLoad {
    SymbolLoad {
        symbol: symbol.to_owned(),
        subscriptions,
        ticks_per_min: tpm,
        book_entries: 0,
    }
}

fn defaults() -> StreamingQuotas {
    StreamingQuotas::from_catalogue(&Catalogue::default())
}

#[test]
fn quotes_at_100ms_on_100_symbols_lengthen_to_800ms() {
    // 6000 price changes per minute: every 100 ms interval has an update to send.
    // Per symbol a quotes update costs 2 + 2 = 4; at 100 ms the counted stretches 10.5 s,
    // 63 s and 315 s hold 105, 630 and 3150 updates: 100 symbols cost 42000 (> 31500),
    // 252000 (> 126000) and 1260000 (> 315000).
    // 200 ms: 53·400 = 21200, 315·400 = 126000, 1575·400 = 630000 (> 315000).
    // 400 ms: 27·400 = 10800, 158·400 = 63200, 788·400 = 315200 (> 315000, just).
    // 800 ms: 14·400 = 5600, 79·400 = 31600, 394·400 = 157600: fits.
    let q = defaults();
    let loads: Vec<_> = (0..100)
        .map(|i| {
            // Half name 100 ms, half stream at the account's interval (100 ms here).
            let ms = (i % 2 == 0).then_some(100.0);
            let e = entry(MarketDataType::Quotes, None, ms);
            load(&format!("S{i:02}"), vec![e], 6_000)
        })
        .collect();
    assert_eq!(project(&q, 100, &loads), [42_000, 252_000, 1_260_000]);
    let p = plan(&q, 100, &loads);
    assert_eq!(p.projected_credits, [5_600, 31_600, 157_600]);
    assert_eq!(p.downgrades.len(), 100);
    for (d, l) in p.downgrades.iter().zip(&loads) {
        assert_eq!(d.symbol, l.symbol);
        let quotes_800 = entry(MarketDataType::Quotes, None, Some(800.0));
        assert_eq!(
            (d.updates.as_slice(), d.unsubscriptions.len()),
            (&[quotes_800][..], 0)
        );
    }
}

#[test]
fn what_fits_is_left_alone() {
    // 10 symbols of quotes at 100 ms: 4200, 25200, 126000, within every quota.
    let loads: Vec<_> = (0..10)
        .map(|i| {
            let e = entry(MarketDataType::Quotes, None, Some(100.0));
            load(&format!("S{i}"), vec![e], 6_000)
        })
        .collect();
    let p = plan(&defaults(), 100, &loads);
    assert_eq!(
        p,
        Plan {
            downgrades: vec![],
            projected_credits: [4_200, 25_200, 126_000]
        }
    );
}

#[test]
fn ticks_that_no_interval_saves_are_removed_and_quotes_kept() {
    // 240000 ticks per minute: 42000 ticks in 10.5 s. A ticks stream pays each tick, so
    // even at 60 s (one packet) it costs 2 + 42000 > 31500: lengthening cannot fit it.
    // Without it, quotes at 100 ms cost 105·4 = 420, 630·4 = 2520, 3150·4 = 12600: they
    // keep their interval.
    let loads = [load(
        "XAUUSD",
        vec![
            entry(MarketDataType::Quotes, None, Some(100.0)),
            entry(MarketDataType::Ticks, None, Some(100.0)),
        ],
        240_000,
    )];
    let p = plan(&defaults(), 2_500, &loads);
    assert_eq!(p.projected_credits, [420, 2_520, 12_600]);
    let d = &p.downgrades;
    assert_eq!(
        serde_json::to_value(d).ok(),
        Some(json!([{"symbol": "XAUUSD", "unsubscriptions": [{"type": "ticks"}]}]))
    );
}

fn eurusd() -> SymbolLoad {
    let (s, tf) = (Some(1_000.0), Some(Timeframe::M1));
    SymbolLoad {
        symbol: "EURUSD".to_owned(),
        subscriptions: vec![
            entry(MarketDataType::MarketDepth, None, s),
            entry(MarketDataType::Candles, tf, s),
            entry(MarketDataType::Quotes, None, s),
        ],
        ticks_per_min: 600,
        book_entries: 200,
    }
}

#[test]
fn market_depth_goes_first_then_the_rest_lengthens() {
    // Quotas 60 / 600 / 3000; 600 changes per minute: 105, 630, 3150 in the stretches.
    // All at 60 s (1, 2, 6 updates): depth 202·(1, 2, 6), candles and quotes 4·(1, 2, 6)
    // each: 210 > 60. Removing depth leaves 8, 16, 48. At 1 s (11, 63, 315 updates)
    // candles + quotes cost 88 > 60; at 2 s (6, 32, 158): 48, 256, 1264: fits.
    let q = StreamingQuotas::new([(10_000, 60), (60_000, 600), (300_000, 3_000)], 60_000);
    let p = plan(&q, 2_500, &[eurusd()]);
    assert_eq!(p.projected_credits, [48, 256, 1_264]);
    assert_eq!(
        serde_json::to_value(&p.downgrades).ok(),
        Some(json!([{
            "symbol": "EURUSD",
            "updates": [
                {"type": "candles", "timeframe": "1m", "intervalInMilliseconds": 2000.0},
                {"type": "quotes", "intervalInMilliseconds": 2000.0}
            ],
            "unsubscriptions": [{"type": "marketDepth"}]
        }]))
    );
}

#[test]
fn candles_go_before_quotes_and_name_their_timeframe() {
    // Quota 5 per 10 s: without depth, candles + quotes at 60 s cost 8 > 5; without
    // candles, quotes cost 4. Quotes need one update per 10.5 s: 8 s gives 2 (8 > 5),
    // 16 s gives 1, 4, 20 updates: 4, 16, 80.
    let q = StreamingQuotas::new([(10_000, 5), (60_000, 600), (300_000, 3_000)], 60_000);
    let p = plan(&q, 2_500, &[eurusd()]);
    assert_eq!(p.projected_credits, [4, 16, 80]);
    let d = p.downgrades.first().cloned();
    let unsubscribed = d.as_ref().map(|d| d.unsubscriptions.clone());
    let candles_1m = Unsubscription {
        data_type: MarketDataType::Candles,
        timeframe: Some(Timeframe::M1),
    };
    let depth = Unsubscription {
        data_type: MarketDataType::MarketDepth,
        timeframe: None,
    };
    assert_eq!(unsubscribed, Some(vec![depth, candles_1m]));
    let updates = d.map(|d| d.updates);
    let quotes = entry(MarketDataType::Quotes, None, Some(16_000.0));
    assert_eq!(updates, Some(vec![quotes]));
}

#[test]
fn downgrades_read_back_as_the_sdk_sends_them() {
    let d: Downgrade = serde_json::from_value(json!({
        "symbol": "EURUSD",
        "updates": [{"type": "quotes", "intervalInMilliseconds": 5000}]
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.unsubscriptions, vec![]);
    assert_eq!(d.updates[0].interval_in_milliseconds, Some(5_000.0));
}

#[test]
fn hostile_inputs_neither_panic_nor_overrun() {
    let odd = [f64::NAN, -1.0, f64::INFINITY, 1e300, 0.0, 0.4];
    let subs: Vec<_> = odd
        .iter()
        .zip(MarketDataType::ALL.iter().cycle())
        .map(|(&ms, &k)| entry(k, None, Some(ms)))
        .collect();
    let loads = [SymbolLoad {
        symbol: "X".to_owned(),
        subscriptions: subs,
        ticks_per_min: u64::MAX,
        book_entries: u64::MAX,
    }];
    for quota in [0, 1, 31_500, u64::MAX / 4] {
        let q = StreamingQuotas::new([(1, quota), (60_000, quota), (i64::MAX, quota)], 0);
        for default_ms in [0, 1, u64::MAX] {
            let p = plan(&q, default_ms, &loads);
            assert!(q.fits(&p.projected_credits), "quota {quota}: {p:?}");
        }
    }
    let q = StreamingQuotas::new([(10_000, 0); 3], MAX_INTERVAL_MS);
    let gone = plan(&q, 100, &loads).downgrades;
    assert_eq!(
        gone.iter().map(|d| d.unsubscriptions.len()).sum::<usize>(),
        6
    );
}

/// Applies `downgrades` as the SDK's `on_subscription_downgraded` does.
fn apply(loads: &[SymbolLoad], downgrades: &[Downgrade]) -> Vec<SymbolLoad> {
    let mut out = loads.to_vec();
    for d in downgrades {
        let Some(l) = out.iter_mut().find(|l| l.symbol == d.symbol) else {
            panic!("a downgrade of an unknown symbol {}", d.symbol);
        };
        let removed = |s: &MarketDataSubscription| {
            d.unsubscriptions.iter().any(|u| {
                u.data_type == s.data_type && (u.timeframe.is_none() || u.timeframe == s.timeframe)
            })
        };
        l.subscriptions.retain(|s| !removed(s));
        for u in &d.updates {
            let candles = u.data_type == MarketDataType::Candles;
            let same = |s: &&mut MarketDataSubscription| {
                s.data_type == u.data_type && (!candles || s.timeframe == u.timeframe)
            };
            match l.subscriptions.iter_mut().find(same) {
                Some(s) => *s = u.clone(),
                None => l.subscriptions.push(u.clone()),
            }
        }
    }
    out
}

/// The interval an entry streams at, as documented: its own when finite and non-negative.
fn effective_ms(e: &MarketDataSubscription, default_ms: u64) -> f64 {
    match e.interval_in_milliseconds {
        Some(v) if v.is_finite() && v >= 0.0 => v,
        _ => default_ms as f64,
    }
}

/// Every interval lengthened to the maximum, nothing removed.
fn all_at_max(loads: &[SymbolLoad], default_ms: u64, max_ms: u64) -> Vec<SymbolLoad> {
    let mut out = loads.to_vec();
    for e in out.iter_mut().flat_map(|l| l.subscriptions.iter_mut()) {
        e.interval_in_milliseconds = Some(effective_ms(e, default_ms).max(max_ms as f64));
    }
    out
}

/// The entry of `l` that a downgrade entry names.
fn original(
    l: &SymbolLoad,
    kind: MarketDataType,
    tf: Option<Timeframe>,
) -> Option<&MarketDataSubscription> {
    l.subscriptions
        .iter()
        .find(|s| s.data_type == kind && s.timeframe == tf)
}

/// Milliseconds spread over orders of magnitude.
fn ms() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..=100, 100u64..=2_000, 2_000u64..=120_000]
}

fn interval() -> impl Strategy<Value = Option<f64>> {
    let odd = vec![f64::NAN, -1.0, f64::INFINITY, 0.5, 59_999.5, 1e300];
    prop_oneof![
        6 => ms().prop_map(|ms| Some(ms as f64)),
        3 => Just(None),
        1 => prop::sample::select(odd).prop_map(Some),
    ]
}

/// Entry keys: quotes, ticks, marketDepth, candles 1m, 1h, 1d; each at most once.
fn entry_of(key: usize, ms: Option<f64>) -> MarketDataSubscription {
    let (kind, tf) = match key {
        0 => (MarketDataType::Quotes, None),
        1 => (MarketDataType::Ticks, None),
        2 => (MarketDataType::MarketDepth, None),
        3 => (MarketDataType::Candles, Some(Timeframe::M1)),
        4 => (MarketDataType::Candles, Some(Timeframe::H1)),
        _ => (MarketDataType::Candles, Some(Timeframe::D1)),
    };
    entry(kind, tf, ms)
}

fn symbol_load() -> impl Strategy<Value = (Vec<MarketDataSubscription>, u64, u64)> {
    let keys = prop::sample::subsequence((0..6).collect::<Vec<usize>>(), 0..=6);
    let intervals = prop::collection::vec(interval(), 6);
    let tpm = prop_oneof![8 => 0u64..=20_000, 1 => 0u64..=300_000, 1 => Just(u64::MAX)];
    let book = prop_oneof![19 => 0u64..=500, 1 => Just(u64::MAX)];
    (keys, intervals, tpm, book).prop_map(|(keys, ms, tpm, book)| {
        let subs = keys.iter().map(|&k| entry_of(k, ms[k])).collect();
        (subs, tpm, book)
    })
}

fn loads() -> impl Strategy<Value = Vec<SymbolLoad>> {
    prop::collection::vec(symbol_load(), 0..=10).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(
                |(i, (subscriptions, ticks_per_min, book_entries))| SymbolLoad {
                    symbol: format!("S{i}"),
                    subscriptions,
                    ticks_per_min,
                    book_entries,
                },
            )
            .collect()
    })
}

/// Quotas of a random period at a random rate (log-spread), so plans of every kind occur.
fn quotas() -> impl Strategy<Value = StreamingQuotas> {
    let per_s = || prop_oneof![0u64..=10, 10u64..=1_000, 1_000u64..=50_000];
    let window = || {
        (1i64..=600, per_s()).prop_map(|(secs, per_s)| (secs * 1_000, per_s * secs.unsigned_abs()))
    };
    let max_ms = prop_oneof![Just(MAX_INTERVAL_MS), 1u64..=200_000];
    ((window(), window(), window()), max_ms)
        .prop_map(|((a, b, c), max_ms)| StreamingQuotas::new([a, b, c], max_ms))
}

fn check_entries(p: &Plan, loads: &[SymbolLoad], default_ms: u64, max_ms: u64) {
    let mut seen = Vec::new();
    for d in &p.downgrades {
        assert!(!seen.contains(&&d.symbol), "{} twice", d.symbol);
        seen.push(&d.symbol);
        assert!(!d.updates.is_empty() || !d.unsubscriptions.is_empty());
        let l = loads.iter().find(|l| l.symbol == d.symbol).expect("known");
        for u in &d.updates {
            let o = original(l, u.data_type, u.timeframe).expect("an update names an entry");
            let new_ms = u
                .interval_in_milliseconds
                .expect("an update sets its interval");
            assert!(
                new_ms > effective_ms(o, default_ms),
                "{o:?} shrank to {new_ms}"
            );
            assert!(
                new_ms <= max_ms as f64,
                "{new_ms} past the maximum {max_ms}"
            );
        }
        for &Unsubscription {
            data_type,
            timeframe,
        } in &d.unsubscriptions
        {
            assert!(original(l, data_type, timeframe).is_some());
        }
    }
}

proptest! {
    // About 7% of cases only lengthen, 16% already fit, the rest remove something.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn plans_fit_lengthen_before_removing_and_never_shorten(
        q in quotas(),
        default_ms in ms(),
        loads in loads(),
    ) {
        let p = plan(&q, default_ms, &loads);
        prop_assert_eq!(p.downgrades.is_empty(), q.fits(&project(&q, default_ms, &loads)));
        let applied = apply(&loads, &p.downgrades);
        let after = project(&q, default_ms, &applied);
        prop_assert_eq!(after, p.projected_credits);
        prop_assert!(q.fits(&after), "{:?} over {:?}", after, q);
        let lengthened = all_at_max(&loads, default_ms, q.max_interval_ms);
        if q.fits(&project(&q, default_ms, &lengthened)) {
            prop_assert!(p.downgrades.iter().all(|d| d.unsubscriptions.is_empty()));
        }
        check_entries(&p, &loads, default_ms, q.max_interval_ms);
    }
}
