//! One tracker period's statistics, as the SDK computes them client-side.
//!
//! - drawdown = `max(0, initialBalance − netEquity)`, profit = `max(0, netEquity −
//!   initialBalance)`, relative = absolute / initialBalance (0 when initialBalance ≤ 0);
//! - `netEquity = equity − balanceAdjustment`, the sum of the period's balance and credit
//!   operations, so a deposit is neither profit nor a recovered drawdown;
//! - a maximum moves only when strictly exceeded (a flat account keeps `maxDrawdownTime`
//!   empty), and the thresholds are tested as the maximum moves: `value > threshold`;
//! - once a threshold is exceeded the period is latched: its drawdown and profit figures
//!   freeze (as the SDK's stream manager freezes its record) and no second event fires in
//!   that period; `tradeDayCount` keeps counting.

use crate::input::TrackerKey;
use crate::period::Span;
use crate::tracker::{BreachAction, Thresholds};
use chrono::NaiveDate;
use drawbridge_model::{Money, Timestamp};
use serde::{Deserialize, Serialize};

/// Which kind of threshold a period exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdType {
    Profit,
    Drawdown,
}

/// `value / base` as a fraction of 1; 0 for a base of zero or less (nothing to be relative
/// to: an unfunded account never breaches a relative threshold).
pub fn relative(value: Money, base: Money) -> f64 {
    if base.0 > 0 {
        value.0 as f64 / base.0 as f64
    } else {
        0.0
    }
}

/// The statistics of one tracker period (current or completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodStats {
    pub span: Span,
    /// The balance when the period started (or when tracking first saw the account).
    pub initial_balance: Money,
    /// Sum of the period's balance and credit operations, taken out of equity.
    pub balance_adjustment: Money,
    pub max_drawdown: Money,
    pub max_drawdown_time: Option<Timestamp>,
    pub max_profit: Money,
    pub max_profit_time: Option<Timestamp>,
    pub exceeded: Option<ThresholdType>,
    /// Broker dates with at least one trading deal in the period.
    pub trade_day_count: u32,
    /// The broker date of the period's last trading deal.
    pub last_trade_date: Option<NaiveDate>,
}

/// What one observation did to a period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Observed {
    pub changed: bool,
    pub breach: Option<(ThresholdType, Money, Money)>,
}

impl PeriodStats {
    pub fn open(span: Span, initial_balance: Money) -> Self {
        Self {
            span,
            initial_balance,
            balance_adjustment: Money::ZERO,
            max_drawdown: Money::ZERO,
            max_drawdown_time: None,
            max_profit: Money::ZERO,
            max_profit_time: None,
            exceeded: None,
            trade_day_count: 0,
            last_trade_date: None,
        }
    }

    pub fn max_relative_drawdown(&self) -> f64 {
        relative(self.max_drawdown, self.initial_balance)
    }

    pub fn max_relative_profit(&self) -> f64 {
        relative(self.max_profit, self.initial_balance)
    }

    pub fn threshold_exceeded(&self) -> bool {
        self.exceeded.is_some()
    }

    /// Equity net of the period's balance operations.
    pub fn net_equity(&self, equity: Money) -> Money {
        equity - self.balance_adjustment
    }

    /// Counts a trading deal on broker date `date` (deals come in time order); true when the
    /// count moved.
    pub fn trade_on(&mut self, date: NaiveDate) -> bool {
        if self.last_trade_date == Some(date) {
            return false;
        }
        debug_assert!(
            self.last_trade_date.is_none_or(|d| d < date),
            "invariant: deals come in time order"
        );
        self.last_trade_date = Some(date);
        self.trade_day_count += 1;
        true
    }

    /// Observes equity at `time`; returns whether the figures moved and the threshold it
    /// exceeded first, with the drawdown and profit seen at that moment.
    pub(crate) fn observe(
        &mut self,
        time: Timestamp,
        equity: Money,
        thresholds: &Thresholds,
    ) -> Observed {
        let mut seen = Observed {
            changed: false,
            breach: None,
        };
        if self.exceeded.is_some() {
            return seen;
        }
        let net = self.net_equity(equity);
        let drawdown = Money((self.initial_balance - net).0.max(0));
        let profit = Money((net - self.initial_balance).0.max(0));
        debug_assert!(
            drawdown.0 == 0 || profit.0 == 0,
            "invariant: never in drawdown and profit at once"
        );
        if drawdown > self.max_drawdown {
            self.max_drawdown = drawdown;
            self.max_drawdown_time = Some(time);
            seen.changed = true;
            if thresholds.drawdown_exceeded(drawdown, relative(drawdown, self.initial_balance)) {
                self.exceeded = Some(ThresholdType::Drawdown);
            }
        }
        if profit > self.max_profit {
            self.max_profit = profit;
            self.max_profit_time = Some(time);
            seen.changed = true;
            if thresholds.profit_exceeded(profit, relative(profit, self.initial_balance)) {
                self.exceeded = Some(ThresholdType::Profit);
            }
        }
        seen.breach = self.exceeded.map(|kind| (kind, drawdown, profit));
        seen
    }
}

/// A tracker event before it has an id, a sequence number and names: the threshold a period
/// exceeded, with what was observed at that moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerBreach {
    pub tracker: TrackerKey,
    pub time: Timestamp,
    pub span: Span,
    pub kind: ThresholdType,
    pub absolute_drawdown: Money,
    pub relative_drawdown: f64,
    pub absolute_profit: Money,
    pub relative_profit: f64,
    /// The tracker's action for a drawdown breach; always `notify` for a profit threshold.
    pub action: BreachAction,
}
