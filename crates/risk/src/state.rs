//! The per-(account, tracker) state machine: periods roll, statistics accumulate, a
//! threshold fires once per period.
//!
//! Rollover: when an input arrives at or after the current period's end, the period is
//! completed ([`Output::PeriodCompleted`]) and the next one opens with `initialBalance` = the
//! balance carried over the boundary (the account's last known balance: balances only move
//! through inputs). The carried equity is observed at the new period's first millisecond, so
//! floating loss held over a boundary counts in the new period at once. Periods with no input
//! in them are completed too (flat, carried figures), up to [`SKIPPED_PERIODS_MAX`] in a row.

use crate::input::{Input, Output, Snapshot, TrackerKey};
use crate::period::{SKIPPED_PERIODS_MAX, Span, next_period, period_at};
use crate::stats::{PeriodStats, ThresholdType, TrackerBreach, relative};
use crate::tracker::{BreachAction, TrackerSpec};
use drawbridge_model::{Money, ServerZone, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the window starts, or before the first input.
    Pending,
    Active,
    /// After the window ended.
    Completed,
}

/// One tracker's live state on one account: the current period's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerState {
    phase: Phase,
    stats: PeriodStats,
}

impl Default for TrackerState {
    fn default() -> Self {
        Self::new()
    }
}

/// What a tracker needs to know about its account besides the input.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub key: TrackerKey,
    pub spec: &'a TrackerSpec,
    pub zone: ServerZone,
    /// The account before the input (`None` when nothing was seen yet).
    pub last: Option<Snapshot>,
}

impl TrackerState {
    pub fn new() -> Self {
        Self {
            phase: Phase::Pending,
            stats: PeriodStats::open(
                Span {
                    start: Timestamp::EPOCH,
                    end: None,
                },
                Money::ZERO,
            ),
        }
    }

    /// Resumes a tracker from its persisted current period.
    pub fn resume(stats: PeriodStats) -> Self {
        Self {
            phase: Phase::Active,
            stats,
        }
    }

    /// Resumes a tracker whose window is over: it takes no more input.
    pub fn resume_completed() -> Self {
        Self {
            phase: Phase::Completed,
            ..Self::new()
        }
    }

    /// The current period's statistics (`None` before the first period or after the window).
    pub fn current(&self) -> Option<&PeriodStats> {
        (self.phase == Phase::Active).then_some(&self.stats)
    }

    pub fn is_completed(&self) -> bool {
        self.phase == Phase::Completed
    }

    /// Reads what [`TrackerState::apply`] reads of the state; a checksum of it (see
    /// [`crate::AccountRisk::warm`]).
    pub(crate) fn warm(&self) -> u64 {
        let s = &self.stats;
        let end = s.span.end.map_or(0, |e| e.0 as u64);
        end ^ s.initial_balance.0 as u64
            ^ s.max_drawdown.0 as u64
            ^ s.max_profit.0 as u64
            ^ s.exceeded.map_or(0, |k| k as u64 + 1)
            ^ self.phase as u64
    }

    /// The band of equity a sample may carry, and the instant it must come before, for it to
    /// change nothing here (see [`crate::AccountRisk`]'s quiet path): `(low, high, until)`.
    /// Before the window (or the first input), nothing moves until the window starts; after
    /// it, nothing ever moves. In a period, a sample moves the figures only when its drawdown
    /// or profit exceeds the period's maximum, and a threshold is tested only then; so the
    /// band is the net equity between those maxima, until the period ends. A latched period
    /// freezes its figures: any equity.
    pub(crate) fn quiet_band(&self, spec: &TrackerSpec) -> (Money, Money, Timestamp) {
        let (any, never) = ((Money(i64::MIN), Money(i64::MAX)), Timestamp(i64::MAX));
        match self.phase {
            Phase::Pending => (any.0, any.1, spec.window.start),
            Phase::Completed => (any.0, any.1, never),
            Phase::Active => {
                let s = &self.stats;
                let until = s.span.end.unwrap_or(never);
                if s.exceeded.is_some() {
                    return (any.0, any.1, until);
                }
                // equity − adjustment within [initial − max drawdown, initial + max profit].
                let base = s.initial_balance.0.saturating_add(s.balance_adjustment.0);
                let low = base.saturating_sub(s.max_drawdown.0);
                let high = base.saturating_add(s.max_profit.0);
                (Money(low), Money(high), until)
            }
        }
    }

    /// Feeds one input. Outputs go to `out` (a reused buffer: no allocation once warm).
    pub fn apply(&mut self, cx: &Context<'_>, input: &Input, out: &mut Vec<Output>) {
        let t = input.time();
        if self.phase == Phase::Pending && !self.start(cx, input, out) {
            return;
        }
        if self.phase == Phase::Active && !self.roll(cx, input, t, out) {
            return;
        }
        if self.phase != Phase::Active {
            return;
        }
        let mut changed = false;
        match *input {
            Input::BalanceOperation { amount, .. } => self.stats.balance_adjustment += amount,
            Input::Trade { .. } => changed = self.stats.trade_on(cx.zone.local(t).date()),
            Input::Sample(_) => {}
            Input::Clock(_) => return,
        }
        if let Some(after) = input.after() {
            changed |= self.observe(cx, t, after.equity, out);
        }
        if changed {
            out.push(Output::StatisticsUpdated { tracker: cx.key });
        }
    }

    /// Opens the first period; false while there is nothing to open.
    fn start(&mut self, cx: &Context<'_>, input: &Input, out: &mut Vec<Output>) -> bool {
        let t = input.time();
        let window = cx.spec.window;
        if t < window.start {
            return false;
        }
        // Known before the window opened: the period of the window's start, carried
        // forward. First seen now: the period of this input, from the account just before it.
        let (carry, from) = match (cx.last, input.before()) {
            (Some(last), _) => (last, window.start.max(last.time)),
            (None, Some(before)) => (before, t),
            (None, None) => return false,
        };
        let Some(span) = period_at(cx.spec.period, cx.zone, window, from) else {
            self.complete(cx, out);
            return false;
        };
        self.open(cx, span, carry, out);
        true
    }

    /// Completes the periods that ended by `t`; false once the window is over.
    fn roll(
        &mut self,
        cx: &Context<'_>,
        input: &Input,
        t: Timestamp,
        out: &mut Vec<Output>,
    ) -> bool {
        let mut skipped = 0;
        while self.stats.span.end.is_some_and(|end| end <= t) {
            out.push(Output::PeriodCompleted {
                tracker: cx.key,
                stats: self.stats,
            });
            skipped += 1;
            let (period, window) = (cx.spec.period, cx.spec.window);
            let next = if skipped > SKIPPED_PERIODS_MAX {
                period_at(period, cx.zone, window, t)
            } else {
                next_period(period, cx.zone, window, self.stats.span)
            };
            let Some(span) = next else {
                self.complete(cx, out);
                return false;
            };
            match cx.last.or_else(|| input.before()) {
                Some(carry) => self.open(cx, span, carry, out),
                None => {
                    // Resumed and fed only the clock: wait for the account.
                    self.phase = Phase::Pending;
                    return false;
                }
            }
        }
        true
    }

    fn open(&mut self, cx: &Context<'_>, span: Span, carry: Snapshot, out: &mut Vec<Output>) {
        self.phase = Phase::Active;
        self.stats = PeriodStats::open(span, carry.balance);
        self.observe(cx, span.start.max(carry.time), carry.equity, out);
    }

    fn complete(&mut self, cx: &Context<'_>, out: &mut Vec<Output>) {
        self.phase = Phase::Completed;
        out.push(Output::TrackerCompleted { tracker: cx.key });
    }

    fn observe(
        &mut self,
        cx: &Context<'_>,
        t: Timestamp,
        equity: Money,
        out: &mut Vec<Output>,
    ) -> bool {
        let was = self.stats.exceeded;
        let seen = self.stats.observe(t, equity, &cx.spec.thresholds);
        if was.is_none()
            && let Some((kind, drawdown, profit)) = seen.breach
        {
            let initial = self.stats.initial_balance;
            out.push(Output::Breach(TrackerBreach {
                tracker: cx.key,
                time: t,
                span: self.stats.span,
                kind,
                absolute_drawdown: drawdown,
                relative_drawdown: relative(drawdown, initial),
                absolute_profit: profit,
                relative_profit: relative(profit, initial),
                action: match kind {
                    ThresholdType::Drawdown => cx.spec.action,
                    ThresholdType::Profit => BreachAction::Notify,
                },
            }));
        }
        seen.changed
    }
}
