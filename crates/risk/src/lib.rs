//! Risk management as synchronous state: MetaApi's equity tracking (trackers, period
//! statistics, threshold events, the equity chart) computed server-side, plus prop-firm rules
//! and the enforcement decision. No I/O, no clock: time arrives with the inputs.
//!
//! # Layout
//! - [`period`]: the eleven tracking periods and their wire strings; [`period::period_at`]
//!   gives the period `[start, end)` holding an instant on the trade server's wall clock —
//!   rolling periods (`day`, `week`, `month`, `quarter`, `year`) anchored at the tracker's
//!   start, calendar ones (`date`, `week-to-date` from Sunday, …) aligned to the calendar,
//!   `lifetime` — across DST switches and clipped to `startBrokerTime`/`endBrokerTime`.
//! - [`tracker`]: the wire shapes ([`NewTracker`], [`Tracker`], [`TrackerUpdate`],
//!   [`TrackerId`]), their validation into field errors ([`FieldError`]) and the compiled
//!   [`TrackerSpec`]; [`BreachAction`] (`notify | halt | close-and-halt`).
//! - [`input`]: what the engine is fed ([`Input`]: samples, balance/credit operations, trades,
//!   clock) and what it answers ([`Output`]).
//! - [`stats`]: one period's statistics ([`PeriodStats`]) — equity net of the period's balance
//!   operations, strict `>` thresholds that latch once per period — and [`TrackerBreach`].
//! - [`state`]: [`TrackerState`], the per-(account, tracker) state machine: period rollover
//!   with the carried balance and equity, one breach per period, completed periods out.
//! - [`chart`]: the hourly equity chart ([`ChartState`], [`ChartItem`]): start / min / max /
//!   time-weighted average / last of balance and equity.
//! - [`rules`]: prop-firm rules as data ([`RuleSet`] → [`RuleSpec`], [`RuleState`]): daily
//!   loss from a day-start reference, static / trailing maximum loss with a lock, profit
//!   target, minimum trading days.
//! - [`preset`]: built-in rule sets as TOML (`presets/*.toml`), documented in the README.
//! - [`account`]: [`AccountRisk`], one account's hot state (last snapshot, chart hour,
//!   trackers, rules, halt) behind one `apply(&Input, &mut Vec<Output>)`, and the trade gate
//!   [`AccountRisk::permits`].
//! - [`wire`]: the JSON the API answers: [`PeriodStatistics`], [`TrackerEvent`],
//!   [`EquityChartItem`].
//!
//! # For the server
//! A shard task owns `AccountRisk` values (one per account with trackers or rules) and feeds
//! them in time order: every price update that revalues the account as
//! [`Input::Sample`], every deal as [`Input::Trade`] or [`Input::BalanceOperation`] (with
//! the account right after it), and a periodic [`Input::Clock`] so periods and chart hours
//! close on time without ticks. It then handles the outputs: persist
//! `PeriodCompleted` / `ChartItemCompleted`; give a `Breach` a sequence number and store and
//! push it as a [`TrackerEvent`]; push `StatisticsUpdated` as [`PeriodStatistics`] of
//! `tracker(key).state.current()`; execute `halt` / `close-and-halt` actions; and ask
//! [`AccountRisk::permits`] before accepting a trade. A prop-firm rule set
//! ([`rules::RuleSpec`], built from a [`preset`] or given whole) is attached with
//! [`AccountRisk::set_rules`] (or [`AccountRisk::set_rules_state`] on a restart) and judged
//! on the same inputs: its decisions come out as `Output::Rule` ([`rules::RuleEvent`]: a
//! daily or maximum loss breached, the profit target passed), which the server stores and
//! pushes like tracker events and acts on with the rule set's action; its state is persisted
//! with the account's. Ids, names and sequence numbers never enter this crate: trackers are
//! [`TrackerKey`]s the caller picks.

pub mod account;
pub mod chart;
pub mod input;
pub mod period;
pub mod preset;
pub mod rules;
pub mod state;
pub mod stats;
pub mod tracker;
pub mod wire;

pub use account::{AccountRisk, Exposure, TrackerSlot};
pub use chart::{ChartItem, ChartState};
pub use input::{BalanceKind, Input, Output, Snapshot, TrackerKey};
pub use period::{Period, PeriodKind, Span, Window};
pub use rules::{RuleEvent, RuleOutcome, RuleParts, RuleSet, RuleSpec, RuleState};
pub use state::TrackerState;
pub use stats::{PeriodStats, ThresholdType, TrackerBreach};
pub use tracker::{
    BreachAction, FieldError, NewTracker, Thresholds, Tracker, TrackerId, TrackerSpec,
    TrackerUpdate,
};
pub use wire::{EquityChartItem, PeriodStatistics, TrackerEvent};
