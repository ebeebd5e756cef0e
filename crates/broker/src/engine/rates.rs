//! The conversion factors of every (account currency, symbol) pair, kept current as quotes
//! arrive, so valuing a position costs no currency-pair lookup.
//!
//! An entry is exactly what [`Rates::of`] gives at the current quotes: it is computed by it,
//! and recomputed whenever a quote it may read changes (see [`Converter::reads`]). Debug
//! builds check every read against a fresh computation.
//!
//! [`Converter::reads`]: super::calc::Converter::reads

use super::Engine;
use super::calc::Rates;
use crate::symbol::SymbolIdx;

impl Engine {
    /// The conversion factors of symbol `s` into the account currency in `slot`.
    #[inline]
    pub(crate) fn rates(&self, s: SymbolIdx, slot: u16) -> Rates {
        let r = self.rates[self.rate_index(s, slot)];
        debug_assert_eq!(
            r,
            self.fresh_rates(s, slot),
            "invariant: the rate cache follows the quotes"
        );
        r
    }

    /// Where the rates of `s` into `slot` are: one block of symbols per account currency.
    #[inline]
    fn rate_index(&self, s: SymbolIdx, slot: u16) -> usize {
        usize::from(slot) * self.specs.len() + s.index()
    }

    fn fresh_rates(&self, s: SymbolIdx, slot: u16) -> Rates {
        let to = self.currencies[usize::from(slot)];
        Rates::of(&self.conv, &self.specs[s.index()], to, &self.quotes)
    }

    /// Appends the block of a newly registered account currency and records which quotes
    /// each of its entries reads.
    pub(super) fn add_currency_rates(&mut self, slot: u16) {
        debug_assert_eq!(
            self.rates.len(),
            usize::from(slot) * self.specs.len(),
            "invariant: currency blocks are appended in slot order"
        );
        let to = self.currencies[usize::from(slot)];
        for t in 0..self.specs.len() {
            let s = SymbolIdx(t as u32);
            let index = u32::try_from(self.rates.len()).expect("fewer than 2^32 rate entries");
            self.rates.push(self.fresh_rates(s, slot));
            let spec = &self.specs[t];
            let mut reads = self.conv.reads(spec.profit_currency, to);
            reads.extend(self.conv.reads(spec.margin_currency, to));
            reads.sort_unstable();
            reads.dedup();
            for r in reads {
                self.rate_readers[r.index()].push(index);
            }
        }
    }

    /// Recomputes the entries that read the quote of `s`, after it changed.
    pub(super) fn refresh_rates(&mut self, s: SymbolIdx) {
        let n = self.specs.len();
        for k in 0..self.rate_readers[s.index()].len() {
            let i = self.rate_readers[s.index()][k] as usize;
            let (slot, t) = (i / n, i % n);
            let slot = u16::try_from(slot).expect("slots fit u16");
            self.rates[i] = self.fresh_rates(SymbolIdx(t as u32), slot);
        }
    }
}
