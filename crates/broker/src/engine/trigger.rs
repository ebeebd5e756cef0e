//! Price-ordered trigger queues: each tick pops only what it fires.
//!
//! MT5 fires pending orders and SL/TP on one side of the book each:
//! buy positions close at bid (SL when bid ≤ SL, TP when bid ≥ TP), sell positions at ask
//! (SL when ask ≥ SL, TP when ask ≤ TP); a buy limit fills when ask ≤ price, a buy stop when
//! ask ≥ price, a sell limit when bid ≥ price, a sell stop when bid ≤ price.

use drawbridge_model::Price;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Target {
    StopLoss(u64),
    TakeProfit(u64),
    Order(u64),
}

/// Which quote and which direction fires a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    BidAtOrBelow,
    BidAtOrAbove,
    AskAtOrBelow,
    AskAtOrAbove,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct SymbolTriggers {
    bid_le: BTreeSet<(Price, Target)>,
    bid_ge: BTreeSet<(Price, Target)>,
    ask_le: BTreeSet<(Price, Target)>,
    ask_ge: BTreeSet<(Price, Target)>,
}

impl SymbolTriggers {
    fn set(&mut self, when: When) -> &mut BTreeSet<(Price, Target)> {
        match when {
            When::BidAtOrBelow => &mut self.bid_le,
            When::BidAtOrAbove => &mut self.bid_ge,
            When::AskAtOrBelow => &mut self.ask_le,
            When::AskAtOrAbove => &mut self.ask_ge,
        }
    }

    pub(crate) fn insert(&mut self, when: When, price: Price, target: Target) {
        self.set(when).insert((price, target));
    }

    pub(crate) fn remove(&mut self, when: When, price: Price, target: Target) {
        self.set(when).remove(&(price, target));
    }

    /// Removes and returns every trigger the quote fires, ordered by target id for
    /// determinism.
    pub(crate) fn fire(&mut self, bid: Price, ask: Price) -> Vec<Target> {
        let mut out = Vec::new();
        // "at or below": every key ≥ the price fires.
        drain_from(&mut self.bid_le, bid, &mut out);
        drain_from(&mut self.ask_le, ask, &mut out);
        // "at or above": every key ≤ the price fires.
        drain_upto(&mut self.bid_ge, bid, &mut out);
        drain_upto(&mut self.ask_ge, ask, &mut out);
        out.sort_unstable_by_key(|t| match *t {
            Target::Order(id) | Target::StopLoss(id) | Target::TakeProfit(id) => id,
        });
        out
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bid_le.len() + self.bid_ge.len() + self.ask_le.len() + self.ask_ge.len()
    }
}

fn drain_from(set: &mut BTreeSet<(Price, Target)>, price: Price, out: &mut Vec<Target>) {
    let fired = set.split_off(&(price, Target::StopLoss(0)));
    out.extend(fired.into_iter().map(|(_, t)| t));
}

fn drain_upto(set: &mut BTreeSet<(Price, Target)>, price: Price, out: &mut Vec<Target>) {
    let keep = set.split_off(&(Price(price.0 + 1), Target::StopLoss(0)));
    let fired = std::mem::replace(set, keep);
    out.extend(fired.into_iter().map(|(_, t)| t));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_exactly_at_and_beyond_the_price() {
        let mut t = SymbolTriggers::default();
        t.insert(When::BidAtOrBelow, Price(100), Target::StopLoss(1));
        t.insert(When::BidAtOrBelow, Price(90), Target::StopLoss(2));
        t.insert(When::AskAtOrAbove, Price(120), Target::Order(3));
        t.insert(When::AskAtOrAbove, Price(121), Target::Order(4));
        assert_eq!(t.fire(Price(101), Price(119)), vec![]);
        assert_eq!(
            t.fire(Price(100), Price(120)),
            vec![Target::StopLoss(1), Target::Order(3)]
        );
        assert_eq!(t.len(), 2);
        t.remove(When::AskAtOrAbove, Price(121), Target::Order(4));
        assert_eq!(t.fire(Price(50), Price(500)), vec![Target::StopLoss(2)]);
        assert_eq!(t.len(), 0);
    }
}
