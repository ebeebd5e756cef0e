//! Scenario tests of `AccountRisk` with trackers, and the JSON it produces.

use drawbridge_model::{Money, ServerZone, Timestamp};
use drawbridge_risk::wire::EventNames;
use drawbridge_risk::{
    AccountRisk, BalanceKind, BreachAction, ChartItem, EquityChartItem, Exposure, Input,
    NewTracker, Output, Period, PeriodStatistics, Snapshot, ThresholdType, TrackerEvent,
};
use proptest::prelude::*;

fn iso(s: &str) -> Timestamp {
    Timestamp::parse_iso(s).unwrap()
}

fn sample(t: &str, balance: i64, equity: i64) -> Input {
    Input::Sample(Snapshot {
        time: iso(t),
        balance: Money(balance),
        equity: Money(equity),
    })
}

fn zone() -> ServerZone {
    ServerZone::parse("Europe/Athens").unwrap()
}

fn feed(a: &mut AccountRisk, inputs: &[Input]) -> Vec<Output> {
    let mut out = vec![];
    for i in inputs {
        a.apply(i, &mut out);
    }
    out
}

/// A `date` tracker with a 5 % relative drawdown threshold (1 000.00 balance → 50.00) and
/// the `halt` action, fed through a day boundary (midnight Athens = 22:00Z in January).
#[test]
fn date_tracker_breaches_once_per_period_and_carries_floating_loss() {
    let tracker: NewTracker = serde_json::from_str(
        r#"{"name":"daily","period":"date","relativeDrawdownThreshold":0.05,"breachAction":"halt"}"#,
    )
    .unwrap();
    let spec = tracker
        .validate(zone(), iso("2026-01-07T08:00:00Z"))
        .unwrap();
    let mut a = AccountRisk::new(zone());
    a.add_tracker(7, spec);
    let out = feed(
        &mut a,
        &[
            sample("2026-01-07T09:00:00Z", 100_000, 100_000),
            sample("2026-01-07T10:00:00Z", 100_000, 95_000), // 5.00 % = threshold: no event
            sample("2026-01-07T11:00:00Z", 100_000, 94_999), // 5.001 % > 5 %: event
            sample("2026-01-07T12:00:00Z", 100_000, 90_000), // latched: no second event
            // A deposit of 100.00 nets out: no profit.
            Input::BalanceOperation {
                kind: BalanceKind::Balance,
                amount: Money(10_000),
                after: Snapshot {
                    time: iso("2026-01-07T13:00:00Z"),
                    balance: Money(110_000),
                    equity: Money(100_000),
                },
            },
            // Next day: balance 1 100.00 carried, equity 1 000.00 → 9.09 % at 00:00 at once.
            sample("2026-01-08T06:00:00Z", 110_000, 100_100),
        ],
    );
    let breaches: Vec<_> = out
        .iter()
        .filter_map(|o| {
            if let Output::Breach(b) = o {
                Some(*b)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(breaches.len(), 2, "{breaches:?}");
    assert_eq!(breaches[0].time, iso("2026-01-07T11:00:00Z"));
    assert_eq!(
        (breaches[0].kind, breaches[0].absolute_drawdown),
        (ThresholdType::Drawdown, Money(5_001))
    );
    assert_eq!(breaches[0].action, BreachAction::Halt);
    assert_eq!(
        breaches[1].time,
        iso("2026-01-07T22:00:00Z"),
        "at the new period's start"
    );
    assert_eq!(breaches[1].absolute_drawdown, Money(10_000));
    assert!(!a.permits(Exposure::Increases));

    let completed: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::PeriodCompleted { tracker: 7, stats } => Some(*stats),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    let day1 = PeriodStatistics::new(&completed[0], Period::Date, zone());
    let json = serde_json::to_value(&day1).unwrap();
    assert_eq!(
        json["startBrokerTime"], "2026-01-07 10:00:00.000",
        "clipped to tracker creation"
    );
    assert_eq!(json["endBrokerTime"], "2026-01-07 23:59:59.999");
    assert_eq!(json["initialBalance"], 1000.0);
    assert_eq!(
        json["maxAbsoluteDrawdown"], 50.01,
        "frozen at the breach, not 100.00"
    );
    assert_eq!(json["maxDrawdownTime"], "2026-01-07 13:00:00.000");
    assert_eq!(json["thresholdExceeded"], true);
    assert_eq!(json["exceededThresholdType"], "drawdown");
    assert_eq!(json["balanceAdjustment"], 100.0);
    assert_eq!(json["maxAbsoluteProfit"], 0.0);
    assert!(json.get("maxProfitTime").is_none());

    let event = TrackerEvent::new(
        &breaches[1],
        EventNames {
            sequence_number: 42,
            account_id: "acc",
            tracker_id: "trk",
            tracker_name: Some("daily"),
            period: Period::Date,
        },
        zone(),
    );
    let json = serde_json::to_value(&event).unwrap();
    for (k, v) in [
        ("sequenceNumber", serde_json::json!(42)),
        ("accountId", "acc".into()),
        ("trackerId", "trk".into()),
        ("trackerName", "daily".into()),
        ("startBrokerTime", "2026-01-08 00:00:00.000".into()),
        ("endBrokerTime", "2026-01-08 23:59:59.999".into()),
        ("period", "date".into()),
        ("brokerTime", "2026-01-08 00:00:00.000".into()),
        ("absoluteDrawdown", 100.0.into()),
        ("absoluteProfit", 0.0.into()),
        ("exceededThresholdType", "drawdown".into()),
        ("action", "halt".into()),
    ] {
        assert_eq!(json[k], v, "{k}");
    }
    assert!((json["relativeDrawdown"].as_f64().unwrap() - 10_000.0 / 110_000.0).abs() < 1e-12);
}

#[test]
fn tracker_completes_at_its_end_and_counts_trade_days() {
    let tracker = NewTracker {
        name: "week".into(),
        period: Some(Period::Lifetime),
        start_broker_time: Some("2026-01-07 00:00:00.000".into()),
        end_broker_time: Some("2026-01-09 00:00:00.000".into()),
        absolute_profit_threshold: Some(10.0),
        ..NewTracker::default()
    };
    let spec = tracker
        .validate(zone(), iso("2026-01-01T00:00:00Z"))
        .unwrap();
    let mut a = AccountRisk::new(zone());
    a.add_tracker(1, spec);
    let trade = |t: &str, b: i64| Input::Trade {
        after: Snapshot {
            time: iso(t),
            balance: Money(b),
            equity: Money(b),
        },
    };
    let out = feed(
        &mut a,
        &[
            sample("2026-01-06T12:00:00Z", 100_000, 100_000), // before the window: nothing
            trade("2026-01-07T08:00:00Z", 100_500),
            trade("2026-01-07T20:00:00Z", 100_900),
            trade("2026-01-07T22:30:00Z", 101_001), // 00:30 Athens on the 8th; profit 10.01 > 10
            Input::Clock(iso("2026-01-08T22:00:00Z")),
        ],
    );
    let stats = out
        .iter()
        .find_map(|o| match o {
            Output::PeriodCompleted { stats, .. } => Some(*stats),
            _ => None,
        })
        .unwrap();
    assert_eq!(stats.trade_day_count, 2);
    assert_eq!(
        stats.initial_balance,
        Money(100_000),
        "carried from before the window"
    );
    assert_eq!(stats.exceeded, Some(ThresholdType::Profit));
    assert!(matches!(
        out.last(),
        Some(Output::TrackerCompleted { tracker: 1 })
    ));
    assert!(a.tracker(1).unwrap().state.is_completed());
    assert!(
        a.permits(Exposure::Increases),
        "a profit event halts nothing"
    );
}

/// The chart's time-weighted sums equal a brute-force integral of the step function.
fn integral(points: &[(i64, i64)], from: i64, to: i64) -> i128 {
    let mut sum = 0i128;
    for (i, &(t, v)) in points.iter().enumerate() {
        let next = points.get(i + 1).map_or(to, |p| p.0.min(to));
        let (a, b) = (t.max(from), next);
        if b > a {
            sum += i128::from(v) * i128::from(b - a);
        }
    }
    sum
}

proptest! {
    #[test]
    fn chart_items_equal_brute_force(steps in proptest::collection::vec((0i64..5_400_000, -5_000i64..5_000), 1..80)) {
        let mut a = AccountRisk::new(ServerZone::parse("Asia/Kolkata").unwrap());
        let mut t = iso("2026-01-07T10:07:00Z").0;
        let (mut equity, mut out, mut points) = (1_000_000i64, vec![], vec![]);
        for (gap, d) in steps {
            t += gap;
            equity += d;
            points.push((t, equity));
            a.apply(&Input::Sample(Snapshot { time: Timestamp(t), balance: Money(1_000_000), equity: Money(equity) }), &mut out);
        }
        let mut items: Vec<ChartItem> = out.iter().filter_map(|o| if let Output::ChartItemCompleted(c) = o { Some(*c) } else { None }).collect();
        items.push(*a.chart().current().unwrap());
        let first = points[0].0;
        for (n, item) in items.iter().enumerate() {
            let from = item.start.0.max(first);
            let to = if n + 1 == items.len() { t } else { item.end.0 };
            prop_assert_eq!(item.duration_ms, to - from);
            prop_assert_eq!(item.equity.sum, integral(&points, from, to));
            // Values held in the hour: the one carried in, then those set inside it.
            let held: Vec<i64> = points.iter().enumerate()
                .filter(|(i, p)| (p.0 >= item.start.0 && p.0 < item.end.0) || (p.0 < item.start.0 && points.get(i + 1).is_none_or(|q| q.0 > item.start.0)))
                .map(|(_, p)| p.1).collect();
            prop_assert_eq!(item.equity.min.0, *held.iter().min().unwrap());
            prop_assert_eq!(item.equity.max.0, *held.iter().max().unwrap());
            prop_assert_eq!(item.equity.last.0, *held.last().unwrap());
            let wire = EquityChartItem::new(item, ServerZone::parse("Asia/Kolkata").unwrap());
            prop_assert!(wire.start_broker_time.ends_with(":00:00.000"));
            prop_assert!(wire.end_broker_time.ends_with(":59:59.999"));
        }
        for w in items.windows(2) {
            prop_assert!(w[0].end <= w[1].start);
        }
    }
}
