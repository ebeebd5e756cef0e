//! The risk engine's resume state as stored JSON: a tracker's current period and an account's
//! last snapshot, chart hour in progress and deal cursor. Mirrors of the core's plain types,
//! so the core stays free of serialization.

use chrono::{Datelike, NaiveDate};
use drawbridge_model::{Money, Timestamp};
use drawbridge_risk::chart::{ChartItem, Series};
use drawbridge_risk::{
    ChartState, PeriodStats, RuleOutcome, RuleParts, RuleState, Snapshot, Span, ThresholdType,
    TrackerState,
};
use serde::{Deserialize, Serialize};

/// A tracker's state: its current period; none while it waits for its first period or once
/// its window is over (`completed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TrackerSaved {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<StatsSaved>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    completed: bool,
}

impl TrackerSaved {
    pub(crate) fn of(state: &TrackerState) -> Self {
        Self {
            current: state.current().map(StatsSaved::of),
            completed: state.is_completed(),
        }
    }

    pub(crate) fn restore(&self) -> TrackerState {
        match &self.current {
            Some(s) => TrackerState::resume(s.restore()),
            None if self.completed => TrackerState::resume_completed(),
            None => TrackerState::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StatsSaved {
    start: i64,
    end: Option<i64>,
    initial: i64,
    adjustment: i64,
    max_dd: i64,
    max_dd_at: Option<i64>,
    max_profit: i64,
    max_profit_at: Option<i64>,
    exceeded: Option<ThresholdType>,
    trade_days: u32,
    /// Days from the common era of the last trading deal's broker date.
    last_trade_day: Option<i32>,
}

impl StatsSaved {
    fn of(s: &PeriodStats) -> Self {
        Self {
            start: s.span.start.millis(),
            end: s.span.end.map(Timestamp::millis),
            initial: s.initial_balance.0,
            adjustment: s.balance_adjustment.0,
            max_dd: s.max_drawdown.0,
            max_dd_at: s.max_drawdown_time.map(Timestamp::millis),
            max_profit: s.max_profit.0,
            max_profit_at: s.max_profit_time.map(Timestamp::millis),
            exceeded: s.exceeded,
            trade_days: s.trade_day_count,
            last_trade_day: s.last_trade_date.map(|d| d.num_days_from_ce()),
        }
    }

    fn restore(&self) -> PeriodStats {
        let span = Span {
            start: Timestamp(self.start),
            end: self.end.map(Timestamp),
        };
        let mut s = PeriodStats::open(span, Money(self.initial));
        s.balance_adjustment = Money(self.adjustment);
        s.max_drawdown = Money(self.max_dd);
        s.max_drawdown_time = self.max_dd_at.map(Timestamp);
        s.max_profit = Money(self.max_profit);
        s.max_profit_time = self.max_profit_at.map(Timestamp);
        s.exceeded = self.exceeded;
        s.trade_day_count = self.trade_days;
        s.last_trade_date = self
            .last_trade_day
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        s
    }
}

/// An account's progress through its rules (money in cents, instants in ms).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RulesSaved {
    started: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<RuleOutcome>,
    initial: i64,
    adjustment: i64,
    day: [i64; 2],
    day_reference: i64,
    high_water: i64,
    trading_days: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_trading_day: Option<i64>,
}

impl RulesSaved {
    pub(crate) fn of(state: &RuleState) -> Self {
        let p = state.parts();
        Self {
            started: p.started,
            outcome: p.outcome,
            initial: p.initial.0,
            adjustment: p.adjustment.0,
            day: [p.day_start.millis(), p.day_end.millis()],
            day_reference: p.day_reference.0,
            high_water: p.high_water.0,
            trading_days: p.trading_days,
            last_trading_day: p.last_trading_day.map(Timestamp::millis),
        }
    }

    pub(crate) fn restore(&self) -> RuleState {
        RuleState::from_parts(RuleParts {
            started: self.started,
            outcome: self.outcome,
            initial: Money(self.initial),
            adjustment: Money(self.adjustment),
            day_start: Timestamp(self.day[0]),
            day_end: Timestamp(self.day[1]),
            day_reference: Money(self.day_reference),
            high_water: Money(self.high_water),
            trading_days: self.trading_days,
            last_trading_day: self.last_trading_day.map(Timestamp),
        })
    }
}

/// An account's state besides its trackers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AccountSaved {
    /// Deals of the account's history already fed to the engine.
    pub(crate) deals: usize,
    /// A halting breach stopped the account.
    #[serde(default)]
    pub(crate) halted: bool,
    /// A close-and-halt close-out has not closed everything yet: it runs again at start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) closeout_pending: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<[i64; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chart: Option<ChartSaved>,
}

impl AccountSaved {
    pub(crate) fn of(
        deals: usize,
        halted: bool,
        closeout_pending: bool,
        last: Option<Snapshot>,
        chart: &ChartState,
    ) -> Self {
        Self {
            deals,
            halted,
            closeout_pending,
            last: last.map(|s| [s.time.millis(), s.balance.0, s.equity.0]),
            chart: chart.current().map(ChartSaved::of),
        }
    }

    pub(crate) fn last(&self) -> Option<Snapshot> {
        self.last.map(|[t, b, e]| Snapshot {
            time: Timestamp(t),
            balance: Money(b),
            equity: Money(e),
        })
    }

    pub(crate) fn chart(&self) -> ChartState {
        self.chart
            .as_ref()
            .map_or_else(ChartState::default, |c| ChartState::resume(c.restore()))
    }
}

/// A chart hour: `[start, end, last_time, duration_ms]` and the two series as
/// `[start, min, max, last]` plus their sums (cent-milliseconds, as text: they pass `i64`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChartSaved {
    times: [i64; 4],
    balance: [i64; 4],
    balance_sum: String,
    equity: [i64; 4],
    equity_sum: String,
}

fn series_of(s: &Series) -> ([i64; 4], String) {
    ([s.start.0, s.min.0, s.max.0, s.last.0], s.sum.to_string())
}

fn series(v: [i64; 4], sum: &str) -> Series {
    Series {
        start: Money(v[0]),
        min: Money(v[1]),
        max: Money(v[2]),
        last: Money(v[3]),
        sum: sum.parse().unwrap_or(0),
    }
}

impl ChartSaved {
    pub(crate) fn of(item: &ChartItem) -> Self {
        let (balance, balance_sum) = series_of(&item.balance);
        let (equity, equity_sum) = series_of(&item.equity);
        Self {
            times: [
                item.start.millis(),
                item.end.millis(),
                item.last_time.millis(),
                item.duration_ms,
            ],
            balance,
            balance_sum,
            equity,
            equity_sum,
        }
    }

    pub(crate) fn restore(&self) -> ChartItem {
        let [start, end, last, duration_ms] = self.times;
        ChartItem {
            start: Timestamp(start),
            end: Timestamp(end),
            last_time: Timestamp(last),
            duration_ms,
            balance: series(self.balance, &self.balance_sum),
            equity: series(self.equity, &self.equity_sum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drawbridge_model::ServerZone;
    use drawbridge_risk::{Input, Output, Period, Thresholds, TrackerSpec, Window};

    #[test]
    fn states_survive_a_round_trip() {
        let zone = ServerZone::parse("EET").unwrap();
        let t0 = Timestamp::parse_iso("2026-01-07T10:00:00Z").unwrap();
        let spec = TrackerSpec {
            period: Period::Day,
            window: Window {
                start: t0,
                end: None,
            },
            thresholds: Thresholds {
                absolute_drawdown: Some(Money(50_000)),
                ..Thresholds::default()
            },
            action: Default::default(),
        };
        let mut account = drawbridge_risk::AccountRisk::new(zone);
        account.add_tracker(1, spec);
        let mut out: Vec<Output> = Vec::new();
        for (i, equity) in [1_000_000, 990_000, 1_020_000].into_iter().enumerate() {
            let at = t0.plus_millis(i as i64 * 1_000_000);
            let s = Snapshot {
                time: at,
                balance: Money(1_000_000),
                equity: Money(equity),
            };
            account.apply(&Input::Trade { after: s }, &mut out);
        }
        let state = account.tracker(1).unwrap().state;
        let saved: TrackerSaved =
            serde_json::from_str(&serde_json::to_string(&TrackerSaved::of(&state)).unwrap())
                .unwrap();
        assert_eq!(saved.restore(), state);
        let a = AccountSaved::of(3, true, true, account.last(), account.chart());
        let back: AccountSaved = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.last(), account.last());
        assert!(back.halted && back.closeout_pending);
        assert_eq!(back.chart(), *account.chart());
        assert_eq!(
            TrackerSaved::of(&TrackerState::new()).restore(),
            TrackerState::new()
        );
        let done = TrackerState::resume_completed();
        let text = serde_json::to_string(&TrackerSaved::of(&done)).unwrap();
        let back: TrackerSaved = serde_json::from_str(&text).unwrap();
        assert!(
            back.restore().is_completed(),
            "completed, not pending: {text}"
        );
    }

    #[test]
    fn rule_states_survive_a_round_trip() {
        let zone = ServerZone::parse("EET").unwrap();
        let spec = drawbridge_risk::preset::builtin("two-step-phase-1")
            .unwrap()
            .compile(zone)
            .unwrap();
        let t0 = Timestamp::parse_iso("2026-01-07T10:00:00Z").unwrap();
        let mut state = RuleState::new();
        let round = |s: &RuleState| {
            let text = serde_json::to_string(&RulesSaved::of(s)).unwrap();
            serde_json::from_str::<RulesSaved>(&text).unwrap().restore()
        };
        assert_eq!(round(&state), state, "before its first input");
        let mut out = Vec::new();
        let snap = |ms: i64, equity: i64| Snapshot {
            time: t0.plus_millis(ms),
            balance: Money(1_000_000),
            equity: Money(equity),
        };
        state.apply(
            &spec,
            None,
            &Input::Trade {
                after: snap(0, 990_000),
            },
            &mut out,
        );
        assert!(out.is_empty());
        let resumed = round(&state);
        assert_eq!(resumed, state, "active, with a trading day");
        // Both decide the same way afterwards: a 6 % loss breaches the 5 % daily loss.
        let (mut a, mut b) = (state, resumed);
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        let last = Some(snap(0, 990_000));
        a.apply(
            &spec,
            last,
            &Input::Sample(snap(1_000, 939_000)),
            &mut out_a,
        );
        b.apply(
            &spec,
            last,
            &Input::Sample(snap(1_000, 939_000)),
            &mut out_b,
        );
        assert_eq!(out_a.len(), 1);
        assert_eq!(out_a, out_b);
        assert_eq!(round(&a), a, "decided");
    }
}
