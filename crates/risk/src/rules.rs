//! Prop-firm rules as data: daily loss, maximum loss (static or trailing), profit target and
//! minimum trading days, evaluated on the account's inputs.
//!
//! All money is taken net of the balance and credit operations since the rules started, so a
//! deposit is never profit. Losses breach strictly (`loss > limit`, as trackers do); a profit
//! target is reached at `profit ≥ target` (reaching it exactly passes). A breach or a pass is
//! final: the state stops evaluating.
//!
//! - **Daily loss**: `dayReference − equity > limit`, the reference taken when the day starts
//!   (at `day.reset` in `day.zone`) from the account carried over the reset: its balance, its
//!   equity, or the higher of the two. Floating loss carried over the reset therefore counts
//!   in the new day when the reference is the balance (or the higher one).
//! - **Maximum loss**: `equity < floor`, the floor being `initial − limit` (static),
//!   `HWM − limit` with HWM the highest end-of-day balance (trailing EOD), or with HWM the
//!   highest equity seen (trailing intraday). With a `lock`, the floor stops rising at
//!   `initial × (1 + lock)`.
//! - **Profit target**: `balance − initial ≥ target` (closed profit), once the account has
//!   traded on at least `min_trading_days` days (days as for the daily loss).

use crate::input::{Input, Snapshot};
use crate::period::day_at;
use crate::tracker::{BreachAction, FieldError};
use chrono::NaiveTime;
use drawbridge_model::{Money, ServerZone, Timestamp};
use serde::{Deserialize, Serialize};

/// An amount of money: a fraction of the initial balance, or an absolute amount.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Limit {
    Fraction(f64),
    Amount(f64),
}

impl Limit {
    pub fn resolve(self, initial: Money) -> Money {
        match self {
            Limit::Fraction(f) => Money((initial.0 as f64 * f).round() as i64),
            Limit::Amount(a) => Money::from_f64(a),
        }
    }

    fn value(self) -> f64 {
        match self {
            Limit::Fraction(f) | Limit::Amount(f) => f,
        }
    }
}

/// What a trading day starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DayReference {
    Balance,
    Equity,
    HigherOfBalanceAndEquity,
}

impl DayReference {
    fn of(self, s: Snapshot) -> Money {
        match self {
            DayReference::Balance => s.balance,
            DayReference::Equity => s.equity,
            DayReference::HigherOfBalanceAndEquity => s.balance.max(s.equity),
        }
    }
}

/// Where a trading day starts: a time of day in an IANA zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayBoundary {
    /// IANA zone; absent means the trade server's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `HH:MM` (or `HH:MM:SS`); absent means midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyLoss {
    pub limit: Limit,
    pub reference: DayReference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxLossMode {
    Static,
    TrailingEodBalance,
    TrailingIntradayEquity,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxLoss {
    pub limit: Limit,
    pub mode: MaxLossMode,
    /// The trailing floor stops at `initial × (1 + lock)`; `0` locks it at the initial balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<f64>,
}

/// A challenge's rules (one phase), loadable from TOML; see the presets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The action on a loss breach.
    #[serde(default)]
    pub action: BreachAction,
    #[serde(default)]
    pub day: DayBoundary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_loss: Option<DailyLoss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_loss: Option<MaxLoss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit_target: Option<Limit>,
    #[serde(default)]
    pub min_trading_days: u16,
}

/// A validated [`RuleSet`]: zone resolved, reset in seconds after midnight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleSpec {
    pub zone: ServerZone,
    pub reset_s: u32,
    pub action: BreachAction,
    pub daily_loss: Option<DailyLoss>,
    pub max_loss: Option<MaxLoss>,
    pub profit_target: Option<Limit>,
    pub min_trading_days: u16,
}

fn check_limit(field: &'static str, limit: Limit, errors: &mut Vec<FieldError>) {
    let v = limit.value();
    if !(v.is_finite() && v > 0.0) || matches!(limit, Limit::Fraction(f) if f >= 1.0) {
        errors.push(FieldError {
            field,
            message: format!("{field} must be above 0 (a fraction below 1, or an amount)"),
        });
    }
}

impl RuleSet {
    /// Validates every field at once; `server_zone` is the default day zone.
    pub fn compile(&self, server_zone: ServerZone) -> Result<RuleSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let zone = match &self.day.zone {
            None => server_zone,
            Some(name) => ServerZone::parse(name).unwrap_or_else(|_| {
                errors.push(FieldError {
                    field: "day.zone",
                    message: format!("unknown time zone {name:?}"),
                });
                server_zone
            }),
        };
        let reset = self.day.reset.as_deref().unwrap_or("00:00");
        let reset_s = NaiveTime::parse_from_str(reset, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(reset, "%H:%M:%S"))
            .map(|t| chrono::Timelike::num_seconds_from_midnight(&t))
            .unwrap_or_else(|_| {
                errors.push(FieldError {
                    field: "day.reset",
                    message: format!("reset must be HH:MM, not {reset:?}"),
                });
                0
            });
        if let Some(d) = self.daily_loss {
            check_limit("daily_loss.limit", d.limit, &mut errors);
        }
        if let Some(m) = self.max_loss {
            check_limit("max_loss.limit", m.limit, &mut errors);
            if m.lock
                .is_some_and(|l| !l.is_finite() || m.mode == MaxLossMode::Static)
            {
                errors.push(FieldError {
                    field: "max_loss.lock",
                    message: "lock needs a trailing mode and a finite fraction".into(),
                });
            }
        }
        if let Some(p) = self.profit_target {
            check_limit("profit_target", p, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RuleSpec {
            zone,
            reset_s,
            action: self.action,
            daily_loss: self.daily_loss,
            max_loss: self.max_loss,
            profit_target: self.profit_target,
            min_trading_days: self.min_trading_days,
        })
    }
}

/// Which rule decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    DailyLoss,
    MaxLoss,
    Passed,
}

/// A breach or a pass, with the figures that decided it (net of balance operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleEvent {
    pub time: Timestamp,
    pub outcome: RuleOutcome,
    /// The action to execute: the rule set's for a breach, `notify` for a pass.
    pub action: BreachAction,
    pub balance: Money,
    pub equity: Money,
    /// The day reference (daily loss), the floor (max loss) or the initial balance (pass).
    pub reference: Money,
    /// The limit or target in money.
    pub limit: Money,
    pub trading_days: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Active,
    Done(RuleOutcome),
}

/// A [`RuleState`] as plain values, for a store to keep (the core has no serialization of
/// its own state); [`RuleState::parts`] and [`RuleState::from_parts`] convert both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleParts {
    /// Whether the rules have seen their first input.
    pub started: bool,
    pub outcome: Option<RuleOutcome>,
    pub initial: Money,
    pub adjustment: Money,
    pub day_start: Timestamp,
    pub day_end: Timestamp,
    pub day_reference: Money,
    pub high_water: Money,
    pub trading_days: u16,
    /// The start of the last day with a trade (`None` before any trade).
    pub last_trading_day: Option<Timestamp>,
}

/// One account's progress through a rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleState {
    status: Status,
    pub initial: Money,
    /// Balance and credit operations since the start.
    pub adjustment: Money,
    pub day_start: Timestamp,
    pub day_end: Timestamp,
    /// Net reference the current day's loss is measured from.
    pub day_reference: Money,
    /// Net high-water mark of the trailing maximum loss.
    pub high_water: Money,
    pub trading_days: u16,
    last_trading_day: Timestamp,
}

impl Default for RuleState {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleState {
    pub fn new() -> Self {
        Self {
            status: Status::Pending,
            initial: Money::ZERO,
            adjustment: Money::ZERO,
            day_start: Timestamp::EPOCH,
            day_end: Timestamp::EPOCH,
            day_reference: Money::ZERO,
            high_water: Money::ZERO,
            trading_days: 0,
            last_trading_day: Timestamp(i64::MIN),
        }
    }

    /// The state as plain values.
    pub fn parts(&self) -> RuleParts {
        RuleParts {
            started: self.status != Status::Pending,
            outcome: self.outcome(),
            initial: self.initial,
            adjustment: self.adjustment,
            day_start: self.day_start,
            day_end: self.day_end,
            day_reference: self.day_reference,
            high_water: self.high_water,
            trading_days: self.trading_days,
            last_trading_day: (self.last_trading_day != Timestamp(i64::MIN))
                .then_some(self.last_trading_day),
        }
    }

    /// A state back from [`Self::parts`].
    pub fn from_parts(p: RuleParts) -> Self {
        let status = match (p.started, p.outcome) {
            (false, _) => Status::Pending,
            (true, None) => Status::Active,
            (true, Some(o)) => Status::Done(o),
        };
        Self {
            status,
            initial: p.initial,
            adjustment: p.adjustment,
            day_start: p.day_start,
            day_end: p.day_end,
            day_reference: p.day_reference,
            high_water: p.high_water,
            trading_days: p.trading_days,
            last_trading_day: p.last_trading_day.unwrap_or(Timestamp(i64::MIN)),
        }
    }

    /// The decision, once made.
    pub fn outcome(&self) -> Option<RuleOutcome> {
        match self.status {
            Status::Done(o) => Some(o),
            _ => None,
        }
    }

    /// The maximum-loss floor in net money (`None` without a max-loss rule).
    pub fn floor(&self, spec: &RuleSpec) -> Option<Money> {
        let m = spec.max_loss?;
        let limit = m.limit.resolve(self.initial);
        Some(match m.mode {
            MaxLossMode::Static => self.initial - limit,
            _ => {
                let trailing = self.high_water - limit;
                match m.lock {
                    Some(l) => {
                        trailing.min(self.initial + Limit::Fraction(l).resolve(self.initial))
                    }
                    None => trailing,
                }
            }
        })
    }

    fn net(&self, s: Snapshot) -> Snapshot {
        Snapshot {
            time: s.time,
            balance: s.balance - self.adjustment,
            equity: s.equity - self.adjustment,
        }
    }

    /// Feeds one input; `last` is the account before it.
    pub fn apply(
        &mut self,
        spec: &RuleSpec,
        last: Option<Snapshot>,
        input: &Input,
        out: &mut Vec<RuleEvent>,
    ) {
        let t = input.time();
        let Some(carry) = last.or_else(|| input.before()) else {
            return;
        };
        if self.status == Status::Pending {
            self.initial = carry.balance;
            self.high_water = carry.balance;
            self.status = Status::Active;
            self.new_day(spec, carry, t);
            self.evaluate(spec, carry, t, out);
        }
        if t >= self.day_end {
            let c = self.net(carry);
            if spec
                .max_loss
                .is_some_and(|m| m.mode == MaxLossMode::TrailingEodBalance)
            {
                self.high_water = self.high_water.max(c.balance);
            }
            self.new_day(spec, carry, t);
            self.evaluate(spec, carry, self.day_start, out);
        }
        match *input {
            Input::BalanceOperation { amount, .. } => self.adjustment += amount,
            Input::Trade { .. } if self.last_trading_day != self.day_start => {
                self.last_trading_day = self.day_start;
                self.trading_days = self.trading_days.saturating_add(1);
            }
            _ => {}
        }
        if let Some(after) = input.after() {
            self.evaluate(spec, after, t, out);
        }
    }

    fn new_day(&mut self, spec: &RuleSpec, carry: Snapshot, t: Timestamp) {
        (self.day_start, self.day_end) = day_at(spec.zone, spec.reset_s, t);
        let reference = spec
            .daily_loss
            .map_or(DayReference::Balance, |d| d.reference);
        self.day_reference = reference.of(self.net(carry));
    }

    fn evaluate(&mut self, spec: &RuleSpec, s: Snapshot, t: Timestamp, out: &mut Vec<RuleEvent>) {
        if self.status != Status::Active {
            return;
        }
        let s = self.net(s);
        if spec
            .max_loss
            .is_some_and(|m| m.mode == MaxLossMode::TrailingIntradayEquity)
        {
            self.high_water = self.high_water.max(s.equity);
        }
        let event = |outcome, action, reference, limit| RuleEvent {
            time: t,
            outcome,
            action,
            balance: s.balance,
            equity: s.equity,
            reference,
            limit,
            trading_days: self.trading_days,
        };
        let decided = if let Some(d) = spec.daily_loss
            && let limit = d.limit.resolve(self.initial)
            && self.day_reference - s.equity > limit
        {
            Some(event(
                RuleOutcome::DailyLoss,
                spec.action,
                self.day_reference,
                limit,
            ))
        } else if let Some(floor) = self.floor(spec)
            && s.equity < floor
        {
            let limit = spec
                .max_loss
                .map_or(Money::ZERO, |m| m.limit.resolve(self.initial));
            Some(event(RuleOutcome::MaxLoss, spec.action, floor, limit))
        } else if let Some(target) = spec.profit_target
            && let target = target.resolve(self.initial)
            && s.balance - self.initial >= target
            && self.trading_days >= spec.min_trading_days
        {
            Some(event(
                RuleOutcome::Passed,
                BreachAction::Notify,
                self.initial,
                target,
            ))
        } else {
            None
        };
        if let Some(e) = decided {
            self.status = Status::Done(e.outcome);
            out.push(e);
        }
    }
}
