//! The MetaApi JSON shapes of what the engine produces: period statistics, tracker events
//! and equity chart items, learned from the official SDK's models. Money becomes a float in
//! the account currency; instants become broker time (`YYYY-MM-DD HH:mm:ss.SSS`).

use crate::chart::ChartItem;
use crate::period::Period;
use crate::stats::{PeriodStats, ThresholdType, TrackerBreach};
use crate::tracker::BreachAction;
use drawbridge_model::ServerZone;
use serde::{Deserialize, Serialize};

/// `GET …/trackers/:id/statistics` item. The maxima are always present (0 before any
/// drawdown or profit): the SDK's live update compares them with `<`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodStatistics {
    pub start_broker_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_broker_time: Option<String>,
    pub period: Period,
    pub initial_balance: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_drawdown_time: Option<String>,
    pub max_absolute_drawdown: f64,
    pub max_relative_drawdown: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_profit_time: Option<String>,
    pub max_absolute_profit: f64,
    pub max_relative_profit: f64,
    pub threshold_exceeded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceeded_threshold_type: Option<ThresholdType>,
    pub balance_adjustment: f64,
    pub trade_day_count: u32,
}

impl PeriodStatistics {
    pub fn new(stats: &PeriodStats, period: Period, zone: ServerZone) -> Self {
        Self {
            start_broker_time: stats.span.start_broker_time(zone),
            end_broker_time: stats.span.end_broker_time(zone),
            period,
            initial_balance: stats.initial_balance.to_f64(),
            max_drawdown_time: stats.max_drawdown_time.map(|t| zone.broker_time(t)),
            max_absolute_drawdown: stats.max_drawdown.to_f64(),
            max_relative_drawdown: stats.max_relative_drawdown(),
            max_profit_time: stats.max_profit_time.map(|t| zone.broker_time(t)),
            max_absolute_profit: stats.max_profit.to_f64(),
            max_relative_profit: stats.max_relative_profit(),
            threshold_exceeded: stats.threshold_exceeded(),
            exceeded_threshold_type: stats.exceeded,
            balance_adjustment: stats.balance_adjustment.to_f64(),
            trade_day_count: stats.trade_day_count,
        }
    }
}

/// A tracker event as `GET /users/current/tracker-events/…` answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackerEvent {
    pub sequence_number: u64,
    pub account_id: String,
    pub tracker_id: String,
    /// drawbridge extension (the cloud's event has no name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker_name: Option<String>,
    /// The period's start.
    pub start_broker_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_broker_time: Option<String>,
    pub period: Period,
    pub broker_time: String,
    pub absolute_drawdown: f64,
    pub relative_drawdown: f64,
    pub absolute_profit: f64,
    pub relative_profit: f64,
    pub exceeded_threshold_type: ThresholdType,
    /// drawbridge extension: the action taken; absent for `notify`.
    #[serde(default, skip_serializing_if = "BreachAction::is_notify")]
    pub action: BreachAction,
}

/// The names a breach needs on the wire; the store assigns the sequence number.
#[derive(Clone, Copy, Debug)]
pub struct EventNames<'a> {
    pub sequence_number: u64,
    pub account_id: &'a str,
    pub tracker_id: &'a str,
    pub tracker_name: Option<&'a str>,
    pub period: Period,
}

impl TrackerEvent {
    pub fn new(breach: &TrackerBreach, names: EventNames<'_>, zone: ServerZone) -> Self {
        Self {
            sequence_number: names.sequence_number,
            account_id: names.account_id.to_owned(),
            tracker_id: names.tracker_id.to_owned(),
            tracker_name: names.tracker_name.map(str::to_owned),
            start_broker_time: breach.span.start_broker_time(zone),
            end_broker_time: breach.span.end_broker_time(zone),
            period: names.period,
            broker_time: zone.broker_time(breach.time),
            absolute_drawdown: breach.absolute_drawdown.to_f64(),
            relative_drawdown: breach.relative_drawdown,
            absolute_profit: breach.absolute_profit.to_f64(),
            relative_profit: breach.relative_profit,
            exceeded_threshold_type: breach.kind,
            action: breach.action,
        }
    }
}

/// `GET …/equity-chart` item. Besides the documented fields it carries what the SDK's live
/// chart reads from the last real-time item: `duration` (ms), `equitySum` / `balanceSum`
/// (value × ms) and `brokerTime` (the last input).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EquityChartItem {
    pub start_broker_time: String,
    pub end_broker_time: String,
    pub average_balance: f64,
    pub min_balance: f64,
    pub max_balance: f64,
    pub average_equity: f64,
    pub min_equity: f64,
    pub max_equity: f64,
    pub start_balance: f64,
    pub start_equity: f64,
    pub last_balance: f64,
    pub last_equity: f64,
    pub duration: i64,
    pub equity_sum: f64,
    pub balance_sum: f64,
    pub broker_time: String,
}

impl EquityChartItem {
    pub fn new(item: &ChartItem, zone: ServerZone) -> Self {
        Self {
            start_broker_time: zone.broker_time(item.start),
            end_broker_time: zone.broker_time(item.end.plus_millis(-1)),
            average_balance: item.average_balance(),
            min_balance: item.balance.min.to_f64(),
            max_balance: item.balance.max.to_f64(),
            average_equity: item.average_equity(),
            min_equity: item.equity.min.to_f64(),
            max_equity: item.equity.max.to_f64(),
            start_balance: item.balance.start.to_f64(),
            start_equity: item.equity.start.to_f64(),
            last_balance: item.balance.last.to_f64(),
            last_equity: item.equity.last.to_f64(),
            duration: item.duration_ms,
            equity_sum: item.equity.sum as f64 / 100.0,
            balance_sum: item.balance.sum as f64 / 100.0,
            broker_time: zone.broker_time(item.last_time),
        }
    }
}
