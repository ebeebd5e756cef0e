//! [`AccountRisk`]: everything risk keeps hot for one account — its last snapshot, the chart
//! hour in progress, its trackers and its rule set — behind one `apply`.

use crate::chart::ChartState;
use crate::input::{Input, Output, Snapshot, TrackerKey};
use crate::rules::{RuleEvent, RuleSpec, RuleState};
use crate::state::{Context, TrackerState};
use crate::tracker::{BreachAction, TrackerSpec};
use drawbridge_model::{Money, ServerZone, Timestamp};

/// One tracker of an account: the caller's key, its compiled definition and its state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerSlot {
    pub key: TrackerKey,
    pub spec: TrackerSpec,
    pub state: TrackerState,
}

/// Whether a trade may go through after the account's breaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// Opens or adds to a position, or places a pending order that would.
    Increases,
    /// Closes or reduces a position, or cancels an order.
    Reduces,
}

/// Samples an account may take on the quiet path: equity within `[low, high]` at an instant
/// before `until`. Such a sample moves no tracker's figures and fires nothing (see
/// [`TrackerState::quiet_band`]), so `apply` records it in the chart and as the last
/// snapshot only, without visiting the trackers (a separate allocation: a cache miss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quiet {
    low: Money,
    high: Money,
    until: Timestamp,
}

impl Quiet {
    /// No sample is quiet: the next one takes the full path, which sets the band again.
    const NONE: Self = Self {
        low: Money(i64::MAX),
        high: Money(i64::MIN),
        until: Timestamp::EPOCH,
    };

    fn admits(&self, t: Timestamp, equity: Money) -> bool {
        t < self.until && self.low <= equity && equity <= self.high
    }
}

/// The account's risk state. Plain data: `Send`, no locks, no I/O; a shard task owns many.
#[derive(Clone, Debug)]
pub struct AccountRisk {
    zone: ServerZone,
    last: Option<Snapshot>,
    quiet: Quiet,
    chart: ChartState,
    trackers: Vec<TrackerSlot>,
    rules: Option<Box<(RuleSpec, RuleState)>>,
    halted: Option<BreachAction>,
    rule_events: Vec<RuleEvent>,
}

impl AccountRisk {
    pub fn new(zone: ServerZone) -> Self {
        Self {
            zone,
            last: None,
            quiet: Quiet::NONE,
            chart: ChartState::default(),
            trackers: Vec::new(),
            rules: None,
            halted: None,
            rule_events: Vec::new(),
        }
    }

    /// Resumes with the last known snapshot and chart hour (from the store).
    pub fn resume(zone: ServerZone, last: Option<Snapshot>, chart: ChartState) -> Self {
        Self {
            last,
            chart,
            ..Self::new(zone)
        }
    }

    pub fn zone(&self) -> ServerZone {
        self.zone
    }

    pub fn last(&self) -> Option<Snapshot> {
        self.last
    }

    pub fn chart(&self) -> &ChartState {
        &self.chart
    }

    /// Adds (or replaces) a tracker with a fresh state; it starts at its window's start.
    pub fn add_tracker(&mut self, key: TrackerKey, spec: TrackerSpec) {
        self.add_tracker_state(key, spec, TrackerState::new());
    }

    /// Adds (or replaces) a tracker resuming from a persisted state.
    pub fn add_tracker_state(&mut self, key: TrackerKey, spec: TrackerSpec, state: TrackerState) {
        self.quiet = Quiet::NONE;
        self.trackers.retain(|t| t.key != key);
        // Exactly as many slots as trackers: a million accounts hold a few each, and a
        // doubling Vec would keep room for four (about 200 B a slot).
        self.trackers.reserve_exact(1);
        self.trackers.push(TrackerSlot { key, spec, state });
    }

    pub fn remove_tracker(&mut self, key: TrackerKey) -> bool {
        self.quiet = Quiet::NONE;
        let before = self.trackers.len();
        self.trackers.retain(|t| t.key != key);
        self.trackers.len() != before
    }

    pub fn tracker(&self, key: TrackerKey) -> Option<&TrackerSlot> {
        self.trackers.iter().find(|t| t.key == key)
    }

    pub fn trackers(&self) -> &[TrackerSlot] {
        &self.trackers
    }

    /// Bytes the account's state holds on the heap, by capacity: the tracker buffer, the boxed
    /// rule set and the rule-event scratch buffer (allocator headers not counted). The whole
    /// state is this plus `size_of::<AccountRisk>()`.
    pub fn heap_bytes(&self) -> usize {
        self.trackers.capacity() * std::mem::size_of::<TrackerSlot>()
            + self
                .rules
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<(RuleSpec, RuleState)>())
            + self.rule_events.capacity() * std::mem::size_of::<RuleEvent>()
    }

    /// Attaches a rule set (replacing any); it starts at the next input.
    pub fn set_rules(&mut self, spec: RuleSpec) {
        self.quiet = Quiet::NONE;
        self.rules = Some(Box::new((spec, RuleState::new())));
    }

    /// Attaches a rule set resuming from a persisted state.
    pub fn set_rules_state(&mut self, spec: RuleSpec, state: RuleState) {
        self.quiet = Quiet::NONE;
        self.rules = Some(Box::new((spec, state)));
    }

    /// Detaches the rule set (a halt it ordered stays until lifted).
    pub fn clear_rules(&mut self) {
        self.quiet = Quiet::NONE;
        self.rules = None;
    }

    pub fn rules(&self) -> Option<&(RuleSpec, RuleState)> {
        self.rules.as_deref()
    }

    /// The action that halted the account, if one did.
    pub fn halted(&self) -> Option<BreachAction> {
        self.halted
    }

    /// Restores a halt from the store (the account resumes halted).
    pub fn resume_halt(&mut self, action: BreachAction) {
        debug_assert!(action.halts(), "invariant: only a halting action halts");
        self.halted.get_or_insert(action);
    }

    /// Lifts a halt (an operator's decision, e.g. a reset challenge).
    pub fn lift_halt(&mut self) {
        self.halted = None;
    }

    /// Whether a trade is allowed: after a halt only exposure-reducing trades are.
    pub fn permits(&self, exposure: Exposure) -> bool {
        self.halted.is_none() || exposure == Exposure::Reduces
    }

    /// Reads what [`AccountRisk::apply`] reads of a sample's path (the snapshot, the chart
    /// hour, each tracker's thresholds and statistics) and returns a checksum of it, for the
    /// caller to pass to `std::hint::black_box`. A caller with many accounts to update warms a
    /// batch of them first: their loads are independent, so the processor overlaps their
    /// cache misses instead of taking them one after another inside `apply`.
    pub fn warm(&self) -> u64 {
        let mut sum = self.last.map_or(0, |s| s.equity.0 as u64) ^ self.trackers.len() as u64;
        if let Some(item) = self.chart.current() {
            sum ^= item.end.0 as u64 ^ item.last_time.0 as u64;
            sum ^= item.balance.min.0 as u64 ^ item.equity.sum as u64;
        }
        sum ^= u64::from(self.rules.is_some()) ^ u64::from(self.halted.is_some());
        for t in &self.trackers {
            let th = &t.spec.thresholds;
            sum ^= th.absolute_drawdown.map_or(0, |m| m.0 as u64) ^ t.spec.window.start.0 as u64;
            sum ^= t.state.warm();
        }
        sum
    }

    /// [`AccountRisk::warm`] for a sample of `equity` at `time`: a sample the quiet band
    /// admits reads no tracker, and warming skips them too.
    pub fn warm_for(&self, time: Timestamp, equity: Money) -> u64 {
        if self.quiet.admits(time, equity) {
            let item = self.chart.current();
            self.last.map_or(0, |s| s.equity.0 as u64)
                ^ item.map_or(0, |i| i.end.0 as u64 ^ i.equity.sum as u64)
        } else {
            self.warm()
        }
    }

    /// Feeds one input to the chart, every tracker and the rules; outputs go to `out`.
    ///
    /// A sample inside the quiet band takes the quiet path: the chart and the last snapshot
    /// only, exactly what the full path would change for it.
    pub fn apply(&mut self, input: &Input, out: &mut Vec<Output>) {
        let input = match self.last {
            Some(last) if input.time() < last.time => input.at(last.time),
            _ => *input,
        };
        let t = input.time();
        if let Some(done) = self.chart.apply(self.zone, t, input.after()) {
            out.push(Output::ChartItemCompleted(done));
        }
        if let Input::Sample(s) = input
            && self.quiet.admits(t, s.equity)
        {
            debug_assert!(self.rules.is_none(), "invariant: rules leave no quiet band");
            self.last = Some(s);
            return;
        }
        self.apply_trackers(&input, out);
        if let Some(after) = input.after() {
            self.last = Some(after);
        }
        self.quiet = self.quiet_band();
    }

    /// The band of samples that change nothing but the chart and the last snapshot: the
    /// intersection of the trackers' bands; none with a rule set (its state follows every
    /// sample).
    fn quiet_band(&self) -> Quiet {
        if self.rules.is_some() {
            return Quiet::NONE;
        }
        let open = Quiet {
            low: Money(i64::MIN),
            high: Money(i64::MAX),
            until: Timestamp(i64::MAX),
        };
        self.trackers.iter().fold(open, |q, slot| {
            let (low, high, until) = slot.state.quiet_band(&slot.spec);
            Quiet {
                low: q.low.max(low),
                high: q.high.min(high),
                until: q.until.min(until),
            }
        })
    }

    /// The trackers' and the rules' part of [`AccountRisk::apply`].
    fn apply_trackers(&mut self, input: &Input, out: &mut Vec<Output>) {
        let input = *input;
        let from = out.len();
        for slot in &mut self.trackers {
            let cx = Context {
                key: slot.key,
                spec: &slot.spec,
                zone: self.zone,
                last: self.last,
            };
            slot.state.apply(&cx, &input, out);
        }
        for o in &out[from..] {
            if let Output::Breach(b) = o
                && b.action.halts()
            {
                self.halted.get_or_insert(b.action);
            }
        }
        if let Some(rules) = &mut self.rules {
            let (spec, state) = &mut **rules;
            self.rule_events.clear();
            state.apply(spec, self.last, &input, &mut self.rule_events);
            for e in self.rule_events.drain(..) {
                if e.action.halts() {
                    self.halted.get_or_insert(e.action);
                }
                out.push(Output::Rule(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::BalanceKind;
    use crate::period::{Period, Window};
    use crate::tracker::Thresholds;
    use proptest::prelude::*;

    fn spec(period: Period, drawdown: i64, profit: i64) -> TrackerSpec {
        TrackerSpec {
            period,
            window: Window {
                start: Timestamp(0),
                end: None,
            },
            thresholds: Thresholds {
                absolute_drawdown: Some(Money(drawdown)),
                absolute_profit: Some(Money(profit)),
                ..Thresholds::default()
            },
            action: BreachAction::Notify,
        }
    }

    proptest! {
        /// The quiet path changes exactly what the full path changes: the same outputs, and
        /// the same trackers, chart and last snapshot after every input.
        #[test]
        fn the_quiet_path_is_the_full_path(
            steps in proptest::collection::vec((0i64..3_600_000, -3_000i64..3_000, 0u8..20), 1..300),
            drawdown in 1_000i64..60_000,
            profit in 1_000i64..60_000,
        ) {
            let zone = ServerZone::parse("EET").unwrap();
            let mut quiet = AccountRisk::new(zone);
            quiet.add_tracker(0, spec(Period::Day, drawdown, profit));
            quiet.add_tracker(1, spec(Period::Lifetime, 2 * drawdown, 2 * profit));
            let mut full = quiet.clone();
            let (mut t, mut balance, mut equity) = (Timestamp(1_000), Money(100_000), Money(100_000));
            let (mut taken, mut out_quiet, mut out_full) = (0, Vec::new(), Vec::new());
            for &(gap, step, kind) in &steps {
                t = t.plus_millis(gap);
                equity += Money(step);
                let after = Snapshot { time: t, balance, equity };
                let input = if kind == 0 {
                    balance += Money(step);
                    equity += Money(step);
                    let after = Snapshot { time: t, balance, equity };
                    Input::BalanceOperation { kind: BalanceKind::Balance, amount: Money(step), after }
                } else {
                    Input::Sample(after)
                };
                taken += usize::from(matches!(input, Input::Sample(s) if quiet.quiet.admits(s.time, s.equity)));
                out_quiet.clear();
                out_full.clear();
                quiet.apply(&input, &mut out_quiet);
                full.quiet = Quiet::NONE;
                full.apply(&input, &mut out_full);
                prop_assert_eq!(&out_quiet, &out_full);
                prop_assert_eq!(&quiet.trackers, &full.trackers);
                prop_assert_eq!(quiet.chart, full.chart);
                prop_assert_eq!(quiet.last, full.last);
            }
            prop_assert!(steps.len() < 50 || taken > 0, "long walks take the quiet path");
        }
    }

    #[test]
    fn a_resumed_halt_permits_only_reductions_until_lifted() {
        let mut a = AccountRisk::resume(
            ServerZone::parse("EET").unwrap(),
            None,
            ChartState::default(),
        );
        assert!(a.permits(Exposure::Increases), "not halted by default");
        a.resume_halt(BreachAction::CloseAndHalt);
        assert_eq!(a.halted(), Some(BreachAction::CloseAndHalt));
        assert!(!a.permits(Exposure::Increases) && a.permits(Exposure::Reduces));
        a.lift_halt();
        assert!(a.permits(Exposure::Increases));
    }
}
