//! Property tests on a virtual clock: random equity paths, trades, deposits, withdrawals and
//! credit, fed to `AccountRisk`; every tracker's statistics and events must equal a
//! brute-force recomputation from the full history.

use drawbridge_model::{Money, ServerZone, Timestamp};
use drawbridge_risk::period::{next_period, period_at};
use drawbridge_risk::{
    AccountRisk, BalanceKind, Input, Output, Period, PeriodStats, Snapshot, Span, ThresholdType,
    Thresholds, TrackerSpec, Window,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const ZONES: [&str; 4] = ["Europe/Athens", "America/New_York", "UTC", "Asia/Kolkata"];
/// Starts that put DST switches (EU Mar 29 / Oct 25, US Mar 8 / Nov 1, 2026) in the history.
const STARTS: [&str; 3] = [
    "2026-03-01T05:00:00Z",
    "2026-03-25T17:30:00Z",
    "2026-10-20T09:15:00Z",
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Sample(i64),
    Trade(i64),
    Deposit(i64),
    Credit(i64),
    Clock,
}

fn step() -> impl Strategy<Value = (i64, Step)> {
    let gap = prop_oneof![
        4 => 0i64..600_000,              // up to 10 minutes
        3 => 0i64..14_400_000,           // up to 4 hours
        1 => 0i64..4 * 86_400_000,       // up to 4 days
    ];
    let kind = prop_oneof![
        6 => (-40i64..40).prop_map(|d| Step::Sample(d * 1000)),
        2 => (-20i64..20).prop_map(|d| Step::Trade(d * 3000)),
        1 => (-200i64..300).prop_map(|d| Step::Deposit(d * 1000)),
        1 => (-50i64..50).prop_map(|d| Step::Credit(d * 1000)),
        1 => Just(Step::Clock),
    ];
    (gap, kind)
}

/// Turns steps into inputs: equity wanders by the sample deltas; trades realize part of the
/// floating profit into the balance; deposits and credit move equity with them.
fn inputs(start: Timestamp, steps: &[(i64, Step)]) -> Vec<Input> {
    let (mut t, mut balance, mut equity) = (start, Money(1_000_000), Money(1_000_000));
    let mut out = Vec::new();
    for &(gap, s) in steps {
        t = t.plus_millis(gap);
        let input = match s {
            Step::Sample(d) => {
                equity += Money(d);
                Input::Sample(Snapshot {
                    time: t,
                    balance,
                    equity,
                })
            }
            Step::Trade(pnl) => {
                balance += Money(pnl);
                equity += Money(pnl / 3);
                Input::Trade {
                    after: Snapshot {
                        time: t,
                        balance,
                        equity,
                    },
                }
            }
            Step::Deposit(a) => {
                balance += Money(a);
                equity += Money(a);
                Input::BalanceOperation {
                    kind: BalanceKind::Balance,
                    amount: Money(a),
                    after: Snapshot {
                        time: t,
                        balance,
                        equity,
                    },
                }
            }
            Step::Credit(a) => {
                equity += Money(a);
                Input::BalanceOperation {
                    kind: BalanceKind::Credit,
                    amount: Money(a),
                    after: Snapshot {
                        time: t,
                        balance,
                        equity,
                    },
                }
            }
            Step::Clock => Input::Clock(t),
        };
        out.push(input);
    }
    out
}

fn spec() -> impl Strategy<Value = TrackerSpec> {
    let period = (0usize..11).prop_map(|i| Period::ALL[i]);
    let threshold = |lo: i64, hi: i64| proptest::option::weighted(0.6, lo..hi);
    (
        period,
        -2 * 86_400_000i64..5 * 86_400_000,
        proptest::option::of(86_400_000i64..40 * 86_400_000),
        threshold(1, 300),
        threshold(1, 40),
        threshold(1, 300),
        threshold(1, 40),
    )
        .prop_map(|(period, start, len, ad, rd, ap, rp)| {
            let start = Timestamp(start);
            TrackerSpec {
                period,
                window: Window {
                    start,
                    end: len.map(|l| start.plus_millis(l)),
                },
                thresholds: Thresholds {
                    absolute_drawdown: ad.map(|a| Money(a * 1000)),
                    relative_drawdown: rd.map(|r| r as f64 / 100.0),
                    absolute_profit: ap.map(|a| Money(a * 1000)),
                    relative_profit: rp.map(|r| r as f64 / 100.0),
                },
                action: Default::default(),
            }
        })
}

/// One period recomputed from scratch, and the event it must have produced.
#[derive(Debug, PartialEq)]
struct Expected {
    stats: PeriodStats,
    event: Option<(Timestamp, ThresholdType, Money, Money)>,
}

fn rel(v: Money, base: Money) -> f64 {
    if base.0 > 0 {
        v.0 as f64 / base.0 as f64
    } else {
        0.0
    }
}

/// The brute force: enumerate the periods from the first one on, and for each collect every
/// point (carried equity at the start, then each input net of the period's operations),
/// find the first point beyond a threshold, and take maxima over the points up to it.
fn reference(spec: &TrackerSpec, zone: ServerZone, inputs: &[Input]) -> Vec<Expected> {
    let after = |i: &Input| i.after();
    // The first input in the window once anything is known about the account.
    let known = inputs.iter().position(|i| after(i).is_some());
    let Some(first) = (0..inputs.len())
        .find(|&n| inputs[n].time() >= spec.window.start && known.is_some_and(|k| k <= n))
    else {
        return vec![];
    };
    let before_first = inputs[..first].iter().rev().find_map(after);
    let last_time = inputs.last().unwrap().time();
    let mut span = match before_first {
        Some(_) => period_at(spec.period, zone, spec.window, spec.window.start),
        None => period_at(spec.period, zone, spec.window, inputs[first].time()),
    };
    let mut out = vec![];
    let mut first_span = true;
    while let Some(s) = span {
        if s.start > last_time {
            break;
        }
        out.push(recompute(
            spec,
            zone,
            inputs,
            s,
            first_span && before_first.is_none(),
        ));
        first_span = false;
        if s.end.is_none_or(|e| e > last_time) {
            break;
        }
        span = next_period(spec.period, zone, spec.window, s);
    }
    out
}

fn recompute(
    spec: &TrackerSpec,
    zone: ServerZone,
    inputs: &[Input],
    s: Span,
    fresh: bool,
) -> Expected {
    let inside = |i: &&Input| s.contains(i.time());
    let mut points: Vec<(Timestamp, Money)> = vec![];
    let initial;
    if fresh {
        let i = inputs
            .iter()
            .find(|i| inside(i) && i.after().is_some())
            .unwrap();
        let b = i.before().unwrap();
        initial = b.balance;
        points.push((b.time, b.equity));
    } else {
        let carry = inputs
            .iter()
            .filter(|i| i.time() < s.start)
            .filter_map(|i| i.after())
            .next_back()
            .unwrap();
        initial = carry.balance;
        points.push((s.start, carry.equity));
    }
    let mut adjustment = Money::ZERO;
    let mut dates = BTreeSet::new();
    for i in inputs.iter().filter(inside) {
        match *i {
            Input::BalanceOperation { amount, .. } => adjustment += amount,
            Input::Trade { .. } => {
                dates.insert(zone.local(i.time()).date());
            }
            _ => {}
        }
        if let Some(a) = i.after() {
            points.push((a.time, a.equity - adjustment));
        }
    }
    let dd = |e: Money| Money((initial - e).0.max(0));
    let pr = |e: Money| Money((e - initial).0.max(0));
    // The threshold test written out, strict '>' (not the crate's own helper).
    let th = &spec.thresholds;
    let over = |v: Money, abs: Option<Money>, r: Option<f64>| {
        abs.is_some_and(|a| v.0 > a.0) || r.is_some_and(|r| rel(v, initial) > r)
    };
    let dd_over = |e: Money| over(dd(e), th.absolute_drawdown, th.relative_drawdown);
    let pr_over = |e: Money| over(pr(e), th.absolute_profit, th.relative_profit);
    let latch = points.iter().position(|&(_, e)| dd_over(e) || pr_over(e));
    let upto = &points[..latch.map_or(points.len(), |l| l + 1)];
    let best = |f: &dyn Fn(Money) -> Money| {
        let m = upto.iter().map(|&(_, e)| f(e)).max().unwrap_or(Money::ZERO);
        let at = (m.0 > 0).then(|| upto.iter().find(|&&(_, e)| f(e) == m).unwrap().0);
        (m, at)
    };
    let (max_drawdown, max_drawdown_time) = best(&dd);
    let (max_profit, max_profit_time) = best(&pr);
    let event = latch.map(|l| {
        let (t, e) = points[l];
        let kind = if dd_over(e) {
            ThresholdType::Drawdown
        } else {
            ThresholdType::Profit
        };
        (t, kind, dd(e), pr(e))
    });
    Expected {
        stats: PeriodStats {
            span: s,
            initial_balance: initial,
            balance_adjustment: adjustment,
            max_drawdown,
            max_drawdown_time,
            max_profit,
            max_profit_time,
            exceeded: event.map(|e| e.1),
            trade_day_count: dates.len() as u32,
            last_trade_date: dates.last().copied(),
        },
        event,
    }
}

fn run(zone: ServerZone, specs: &[TrackerSpec], inputs: &[Input]) -> (AccountRisk, Vec<Output>) {
    let mut account = AccountRisk::new(zone);
    for (k, s) in specs.iter().enumerate() {
        account.add_tracker(k as u32, *s);
    }
    let mut out = Vec::new();
    for i in inputs {
        account.apply(i, &mut out);
    }
    (account, out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn statistics_and_events_equal_brute_force(
        zone in 0usize..ZONES.len(),
        start in 0usize..STARTS.len(),
        specs in proptest::collection::vec(spec(), 1..4),
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        let zone = ServerZone::parse(ZONES[zone]).unwrap();
        let t0 = Timestamp::parse_iso(STARTS[start]).unwrap();
        let specs: Vec<TrackerSpec> = specs.into_iter().map(|mut s| {
            s.window.start = t0.plus_millis(s.window.start.0);
            s.window.end = s.window.end.map(|e| t0.plus_millis(e.0));
            s
        }).collect();
        let inputs = inputs(t0, &steps);
        let (account, out) = run(zone, &specs, &inputs);
        for (k, spec) in specs.iter().enumerate() {
            let key = k as u32;
            let mut got: Vec<PeriodStats> = out.iter().filter_map(|o| match o {
                Output::PeriodCompleted { tracker, stats } if *tracker == key => Some(*stats),
                _ => None,
            }).collect();
            let slot = account.tracker(key).unwrap();
            got.extend(slot.state.current().copied());
            let mut events: BTreeMap<Timestamp, Vec<_>> = BTreeMap::new();
            for o in &out {
                if let Output::Breach(b) = o && b.tracker == key {
                    events.entry(b.span.start).or_default().push((b.time, b.kind, b.absolute_drawdown, b.absolute_profit));
                }
            }
            let want = reference(spec, zone, &inputs);
            let want_stats: Vec<_> = want.iter().map(|w| w.stats).collect();
            prop_assert_eq!(&got, &want_stats, "tracker {} {:?}", k, spec);
            for w in &want {
                let fired = events.remove(&w.stats.span.start).unwrap_or_default();
                prop_assert_eq!(fired, w.event.into_iter().collect::<Vec<_>>(), "events of {:?}", w.stats.span);
            }
            prop_assert!(events.is_empty(), "events outside known periods: {:?}", events);
            let completed = out.iter().any(|o| matches!(o, Output::TrackerCompleted { tracker } if *tracker == key));
            let ended = spec.window.end.is_some_and(|e| inputs.iter().any(|i| i.time() >= e && i.time() >= spec.window.start));
            prop_assert_eq!(completed, ended && !want.is_empty() || slot.state.is_completed());
        }
    }
}
