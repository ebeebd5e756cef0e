//! [`AccountRisk`]: everything risk keeps hot for one account — its last snapshot, the chart
//! hour in progress, its trackers and its rule set — behind one `apply`.

use crate::chart::ChartState;
use crate::input::{Input, Output, Snapshot, TrackerKey};
use crate::rules::{RuleEvent, RuleSpec, RuleState};
use crate::state::{Context, TrackerState};
use crate::tracker::{BreachAction, TrackerSpec};
use drawbridge_model::ServerZone;

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

/// The account's risk state. Plain data: `Send`, no locks, no I/O; a shard task owns many.
#[derive(Clone, Debug)]
pub struct AccountRisk {
    zone: ServerZone,
    last: Option<Snapshot>,
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
        self.trackers.retain(|t| t.key != key);
        // Exactly as many slots as trackers: a million accounts hold a few each, and a
        // doubling Vec would keep room for four (about 200 B a slot).
        self.trackers.reserve_exact(1);
        self.trackers.push(TrackerSlot { key, spec, state });
    }

    pub fn remove_tracker(&mut self, key: TrackerKey) -> bool {
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
        self.rules = Some(Box::new((spec, RuleState::new())));
    }

    /// Attaches a rule set resuming from a persisted state.
    pub fn set_rules_state(&mut self, spec: RuleSpec, state: RuleState) {
        self.rules = Some(Box::new((spec, state)));
    }

    /// Detaches the rule set (a halt it ordered stays until lifted).
    pub fn clear_rules(&mut self) {
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

    /// Feeds one input to the chart, every tracker and the rules; outputs go to `out`.
    pub fn apply(&mut self, input: &Input, out: &mut Vec<Output>) {
        let input = match self.last {
            Some(last) if input.time() < last.time => input.at(last.time),
            _ => *input,
        };
        let t = input.time();
        if let Some(done) = self.chart.apply(self.zone, t, input.after()) {
            out.push(Output::ChartItemCompleted(done));
        }
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
        if let Some(after) = input.after() {
            self.last = Some(after);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
