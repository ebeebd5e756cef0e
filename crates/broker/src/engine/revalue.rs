//! Mark-to-market: the full sweep and the incremental per-symbol path.
//!
//! The full sweep walks the position slab once, in slot order, with the profit factors of
//! every (symbol, account currency) pair computed up front, and accumulates each account's
//! floating result into the dense valuation array. It uses the same formula as
//! [`Engine::position_profit`], so both give the same cents.

use super::calc;
use super::{Engine, Event};
use crate::account::AccountIdx;
use crate::symbol::SymbolIdx;
use drawbridge_model::Money;

impl Engine {
    /// Revalues every open position and every account's floating result at current prices.
    /// Margin is kept as last computed (trades and the incremental path recompute it).
    /// Returns the number of positions revalued.
    pub fn revalue_all(&mut self) -> usize {
        let ncur = self.currencies.len().max(1);
        let mut factors = vec![(1.0f64, 1.0f64); self.specs.len() * ncur];
        for (s, spec) in self.specs.iter().enumerate() {
            for (c, cur) in self.currencies.iter().enumerate() {
                factors[s * ncur + c] = self
                    .conv
                    .profit_factors(spec, *cur, &self.quotes)
                    .unwrap_or((1.0, 1.0));
            }
        }
        for v in &mut self.values {
            v.floating = Money::ZERO;
        }
        let mut n = 0;
        for (_, p) in self.positions.iter() {
            let q = &self.quotes[p.symbol.index()];
            let v = &mut self.values[p.account.index()];
            let profit = if q.is_live() {
                let contract = self.specs[p.symbol.index()].contract_size;
                let raw = calc::raw_profit(
                    contract,
                    p.side,
                    p.volume,
                    p.open_price,
                    q.close_price(p.side),
                );
                let (kg, kl) = factors[p.symbol.index() * ncur + usize::from(v.currency_slot)];
                calc::to_money(raw, kg, kl)
            } else {
                Money::ZERO
            };
            v.floating += profit + p.swap;
            n += 1;
        }
        n
    }

    /// Reads every byte-carrying field of every position once and folds them into a checksum:
    /// the memory-bandwidth floor the sweep is measured against.
    pub fn read_positions_floor(&self) -> u64 {
        let mut acc = 0u64;
        for (_, p) in self.positions.iter() {
            let words = [
                p.id,
                u64::from(p.account.0) ^ (u64::from(p.symbol.0) << 32),
                p.volume.0 as u64,
                p.open_price.0 as u64,
                p.stop_loss.map_or(0, |x| x.0 as u64),
                p.take_profit.map_or(0, |x| x.0 as u64),
                p.open_time.0 as u64 ^ p.update_time.0 as u64,
                p.swap.0 as u64 ^ p.commission.0 as u64 ^ p.realized_profit.0 as u64,
                p.tags.magic as u64 ^ u64::from(p.next_in_account) ^ u64::from(p.symbol_slot),
            ];
            acc = words.iter().fold(acc, |h, w| h.rotate_left(5) ^ w);
        }
        acc
    }

    /// Revalues the accounts holding positions whose value depends on `s` (its own positions,
    /// and those whose profit or margin converts into their account currency through it), then enforces their margin levels. Returns the number
    /// of positions visited.
    pub fn revalue_symbol(&mut self, s: SymbolIdx, events: &mut Vec<Event>) -> usize {
        self.stamp = self.stamp.wrapping_add(1).max(1);
        let stamp = self.stamp;
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let mut visited = 0;
        for &(t, currency) in &self.dependents[s.index()] {
            for &slot in &self.by_symbol[t.index()] {
                let a = self
                    .positions
                    .get(slot)
                    .expect("indexed positions are live")
                    .account;
                let v = &mut self.values[a.index()];
                if currency.is_some_and(|c| c != v.currency_slot) {
                    continue;
                }
                if v.stamp != stamp {
                    v.stamp = stamp;
                    touched.push(a);
                }
                visited += 1;
            }
        }
        for &a in &touched {
            let before = self.values[a.index()];
            self.recompute(a);
            if self.values[a.index()] != before {
                events.push(Event::AccountChanged { account: a });
            }
            self.enforce_levels(a, events);
        }
        self.touched = touched;
        visited
    }

    /// Accounts touched by the last incremental revaluation.
    pub fn last_touched(&self) -> &[AccountIdx] {
        &self.touched
    }
}
