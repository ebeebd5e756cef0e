//! Mark-to-market: the full sweep and the incremental per-symbol path.
//!
//! The full sweep makes two passes. The first walks the position slab once, in slot order,
//! values each position with the factors of its (account currency, symbol) pair (read from
//! the engine's rate cache) and appends `(account, profit + swap)` to the list of its
//! account's block. The second adds each block's list into the block's valuations, which
//! fit in cache: a slab in any order costs no random access to main memory. It uses the
//! same formula as [`Engine::position_profit`], and integer sums do not depend on their
//! order, so both give the same cents.
//!
//! The incremental path walks the per-symbol leg lists a quote affects and adds each
//! position's change to its account (see `legs`): it reads no position.

use super::calc;
use super::legs::{self, BLOCK_ACCOUNTS};
use super::records::{Position, Side};
use super::{Engine, Event};
use crate::account::AccountIdx;
use crate::symbol::SymbolIdx;
use drawbridge_model::{Money, Price};

/// Accounts whose valuations the sweep's second pass updates together: the same blocks the
/// incremental path gathers its changes in ([`BLOCK_ACCOUNTS`]).
const SWEEP_BLOCK_ACCOUNTS: usize = BLOCK_ACCOUNTS;

/// What the sweep needs to value a position of one (account currency, symbol, side)
/// triple. The side's close price and sign are looked up, not branched on: the slab holds
/// the two sides at random, and a branch would be mispredicted half the time.
#[derive(Clone, Copy, Debug)]
struct Mark {
    live: bool,
    /// Bid for a buy, ask for a sell (`Quote::close_price`).
    close: Price,
    /// `Side::sign`.
    sign: f64,
    contract_size: f64,
    gain: f64,
    loss: f64,
}

impl Mark {
    /// The position's profit in its account currency, as [`Engine::position_profit`] gives it.
    #[inline]
    fn profit(&self, p: &Position) -> Money {
        if !self.live {
            return Money::ZERO;
        }
        let (contract, close) = (self.contract_size, self.close);
        let raw = calc::signed_raw_profit(contract, self.sign, p.volume, p.open_price, close);
        calc::to_money(raw, self.gain, self.loss)
    }
}

/// Accounts whose memory the incremental path loads together before settling them.
const WARM_BATCH: usize = 32;

/// Low bits of a packed share that hold the account's offset in its block.
const OFFSET_BITS: u32 = SWEEP_BLOCK_ACCOUNTS.trailing_zeros();

/// The first pass's output: each position's share of its account's floating result
/// (profit + swap), listed by the account's block. A share is packed into one word, the
/// amount in cents above the account's offset in its block: half the bytes to write and
/// read back of an `(account, amount)` pair.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shares {
    blocks: Vec<Vec<u64>>,
    /// Shares whose amount does not fit the packed word (beyond ±2^48 cents).
    wide: Vec<(usize, Money)>,
}

impl Shares {
    /// Empty lists for `accounts` accounts, with room for `positions` shares.
    #[cfg(test)]
    fn new(accounts: usize, positions: usize) -> Self {
        let mut shares = Self::default();
        shares.reset(accounts, positions);
        shares
    }

    /// Empties the lists for another sweep, keeping their memory: a sweep that allocated its
    /// lists afresh paid for their pages (tens of megabytes at a million accounts) every time.
    fn reset(&mut self, accounts: usize, positions: usize) {
        let blocks = accounts.div_ceil(SWEEP_BLOCK_ACCOUNTS);
        let expected = positions.div_ceil(blocks.max(1));
        self.blocks.resize_with(blocks, Vec::new);
        for block in &mut self.blocks {
            block.clear();
            block.reserve(expected + expected / 8);
        }
        self.wide.clear();
    }

    #[inline]
    fn push(&mut self, a: AccountIdx, amount: Money) {
        let (block, offset) = (
            a.index() / SWEEP_BLOCK_ACCOUNTS,
            a.index() % SWEEP_BLOCK_ACCOUNTS,
        );
        let packed = amount.0 << OFFSET_BITS;
        if packed >> OFFSET_BITS == amount.0 {
            self.blocks[block].push(packed as u64 | offset as u64);
        } else {
            self.wide.push((a.index(), amount));
        }
    }

    /// The account offset and the amount of a packed share.
    #[inline]
    fn unpack(share: u64) -> (usize, Money) {
        let offset = (share as usize) & (SWEEP_BLOCK_ACCOUNTS - 1);
        (offset, Money(share as i64 >> OFFSET_BITS))
    }

    fn len(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum::<usize>() + self.wide.len()
    }

    /// Bytes held, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks.iter().map(|b| b.capacity() * 8).sum::<usize>()
            + self.wide.capacity() * std::mem::size_of::<(usize, Money)>()
    }
}

impl Engine {
    /// Revalues every open position and every account's floating result at current prices.
    /// Margin is kept as last computed (trades and the incremental path recompute it).
    /// Returns the number of positions revalued.
    pub fn revalue_all(&mut self) -> usize {
        let mut shares = std::mem::take(&mut self.sweep);
        shares.reset(self.values.len(), self.positions.len());
        self.shares(&self.marks(), &mut shares);
        self.add_shares(&shares);
        let n = shares.len();
        self.sweep = shares;
        n
    }

    /// The sweep's [`Mark`] of every (currency slot, symbol, side), laid out as the rate
    /// cache with the two sides of each entry next to each other.
    fn marks(&self) -> Vec<Mark> {
        let n = self.specs.len();
        let sides = [Side::Buy, Side::Sell];
        (self.rates.iter().enumerate())
            .flat_map(|(i, r)| {
                let (q, spec) = (self.quotes[i % n], &self.specs[i % n]);
                sides.map(|side| Mark {
                    live: q.is_live(),
                    close: q.close_price(side),
                    sign: side.sign(),
                    contract_size: spec.contract_size,
                    gain: r.gain,
                    loss: r.loss,
                })
            })
            .collect()
    }

    /// Where the [`Mark`] of a position is in the list [`Engine::marks`] makes.
    #[inline]
    fn mark_index(&self, p: &Position) -> usize {
        let entry = usize::from(p.currency_slot) * self.specs.len() + p.symbol.index();
        2 * entry + p.side as usize
    }

    /// The first pass: every position's share, in slot order.
    fn shares(&self, marks: &[Mark], shares: &mut Shares) {
        for (_, p) in self.positions.iter() {
            let mark = &marks[self.mark_index(p)];
            shares.push(p.account, mark.profit(p) + p.swap);
        }
    }

    /// The second pass: each block's floating results, from zero plus its shares; then the
    /// wide shares.
    fn add_shares(&mut self, shares: &Shares) {
        let chunks = self.values.chunks_mut(SWEEP_BLOCK_ACCOUNTS);
        for (values, block) in chunks.zip(&shares.blocks) {
            for v in values.iter_mut() {
                v.floating = Money::ZERO;
            }
            for &share in block {
                let (offset, amount) = Shares::unpack(share);
                values[offset].floating += amount;
            }
        }
        for &(a, amount) in &shares.wide {
            self.values[a].floating += amount;
        }
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
    /// and those whose profit or margin converts into their account currency through it),
    /// then enforces their margin levels, in account order. Returns the number of positions
    /// visited.
    pub fn revalue_symbol(&mut self, s: SymbolIdx, events: &mut Vec<Event>) -> usize {
        self.revalue_symbols(&[s], usize::MAX, events, |_, _| {})
    }

    /// [`Engine::revalue_symbol`] for several symbols at once: each account they affect is
    /// revalued once. After each `part_accounts` accounts (and after the last) `part` gets
    /// the engine and the events so far. Returns the number of positions visited (each leg
    /// list once, however many of the symbols reach it).
    ///
    /// The lists a quote reaches are its symbol's (one per account currency) and those whose
    /// conversion factors read it (`rate_readers`, which has the same layout). Each list is
    /// walked front to back and each leg's change gathered by account block (see `legs`);
    /// then, block by block in account order, each touched account gets its changes added
    /// (or, with a wide leg, is recomputed in full) and its margin levels enforced.
    pub(crate) fn revalue_symbols(
        &mut self,
        symbols: &[SymbolIdx],
        part_accounts: usize,
        events: &mut Vec<Event>,
        mut part: impl FnMut(&Engine, &mut Vec<Event>),
    ) -> usize {
        let visited = self.walk_lists(symbols);
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let part_accounts = part_accounts.max(1);
        let mut since_part = 0;
        for k in 0..self.deltas.blocks() {
            let words = k * BLOCK_ACCOUNTS / 64
                ..((k + 1) * BLOCK_ACCOUNTS / 64).min(self.touched_bits.len());
            self.deltas
                .sum_block(k, &mut self.touched_bits[words.clone()]);
            // The block's accounts, read out of the set in account order (and cleared). Those
            // the quotes left as they were, with nothing to enforce, are settled already.
            let mut active = std::mem::take(&mut self.active);
            active.clear();
            for w in words {
                let mut rest = std::mem::take(&mut self.touched_bits[w]);
                let pending = self.wide_bits[w] | self.alert_bits[w];
                while rest != 0 {
                    let bit = rest.trailing_zeros();
                    let a = AccountIdx((w * 64) as u32 + bit);
                    rest &= rest - 1;
                    touched.push(a);
                    let unchanged =
                        self.deltas.peek(a.index() % BLOCK_ACCOUNTS) == Default::default();
                    if !unchanged || pending & (1 << bit) != 0 {
                        active.push(a);
                    }
                }
            }
            for batch in active.chunks(WARM_BATCH) {
                std::hint::black_box(self.warm(batch));
                for &a in batch {
                    if let Some(master) = self.settle(a, events) {
                        self.resettle_group(master, a, &active);
                    }
                    since_part += 1;
                    if since_part == part_accounts {
                        since_part = 0;
                        part(self, events);
                    }
                }
            }
            self.active = active;
        }
        self.touched = touched;
        part(self, events);
        visited
    }

    /// Walks the leg lists `symbols` reach, each once, into the deltas and the wide set.
    fn walk_lists(&mut self, symbols: &[SymbolIdx]) -> usize {
        let n = self.specs.len();
        self.lists.clear();
        for s in symbols {
            let own = (0..self.currencies.len()).map(|slot| (slot * n + s.index()) as u32);
            self.lists.extend(own);
            self.lists.extend(&self.rate_readers[s.index()]);
        }
        self.lists.sort_unstable();
        self.lists.dedup();
        self.deltas.reset(self.values.len());
        let mut visited = 0;
        for &i in &self.lists {
            let (i, t) = (i as usize, i as usize % n);
            let mark = legs::Mark {
                spec: &self.specs[t],
                quote: self.quotes[t],
                rates: self.rates[i],
            };
            let (list, grouped) = (&mut self.by_symbol[i], &mut self.grouped);
            visited += legs::walk(list, &mark, &mut self.deltas, &mut self.wide_bits, grouped);
            if !grouped.is_empty() {
                let (deltas, wide) = (&mut self.deltas, &mut self.wide_bits);
                self.groups.revalue(i, &mark, grouped, deltas, wide);
            }
        }
        visited
    }

    /// Reads what settling the accounts of `batch` reads first (each account and its
    /// valuation): the loads are independent, so the processor overlaps their cache misses
    /// instead of taking them one after another. Returns a checksum of what it read, for the
    /// caller to pass to `black_box` so no read is optimised away.
    fn warm(&self, batch: &[AccountIdx]) -> u64 {
        batch.iter().fold(0, |sum, a| {
            let (acc, v) = (&self.accounts[a.index()], &self.values[a.index()]);
            sum ^ acc.balance.0 as u64
                ^ acc.credit.0 as u64
                ^ u64::from(acc.in_margin_call)
                ^ v.floating.0 as u64
                ^ v.margin.0 as u64
        })
    }

    /// Adds a touched account's changes to its valuation (recomputing it in full instead when
    /// it has a wide leg), tells whether it changed, and enforces its margin levels.
    /// Returns the master of its group, if it is in one.
    fn settle(&mut self, a: AccountIdx, events: &mut Vec<Event>) -> Option<AccountIdx> {
        let i = a.index();
        let (profit, margin) = self.deltas.take(i % BLOCK_ACCOUNTS);
        let before = self.values[i];
        self.values[i].floating += profit;
        self.values[i].margin += margin;
        let bit = 1 << (i % 64);
        if self.wide_bits[i / 64] & bit != 0 {
            self.wide_bits[i / 64] &= !bit;
            self.recompute(a);
        }
        if self.values[i] != before {
            events.push(Event::AccountChanged { account: a });
        }
        let group = self.accounts[i].kind.group_master(a);
        self.enforce_levels(a, events);
        group
    }

    /// After settling group account `a` (of `master`'s group), whose stop-outs may have
    /// recomputed its group's members in full: those still to be settled in this pass
    /// (in `active`, the current block's, or touched in a later block) must not get their
    /// changes added on top, so they are marked to be recomputed again.
    fn resettle_group(&mut self, master: AccountIdx, a: AccountIdx, active: &[AccountIdx]) {
        let block = a.index() / BLOCK_ACCOUNTS;
        let later: Vec<AccountIdx> = self.group_members(master).filter(|m| *m > a).collect();
        for m in later {
            let j = m.index();
            let pending = if j / BLOCK_ACCOUNTS == block {
                active.binary_search(&m).is_ok()
            } else {
                self.touched_bits[j / 64] & (1 << (j % 64)) != 0
            };
            if pending {
                self.wide_bits[j / 64] |= 1 << (j % 64);
            }
        }
    }

    /// Accounts touched by the last incremental revaluation.
    pub fn last_touched(&self) -> &[AccountIdx] {
        &self.touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amounts round-trip through the packed word with their account's offset; those too
    /// wide for it are kept apart, whole.
    #[test]
    fn shares_pack_and_keep_wide_amounts_apart() {
        let limit = 1i64 << (63 - OFFSET_BITS);
        let amounts = [
            0,
            1,
            -1,
            12_345,
            -98_765,
            limit - 1,
            -limit,
            limit,
            -limit - 1,
        ];
        let accounts = 3 * SWEEP_BLOCK_ACCOUNTS;
        let mut shares = Shares::new(accounts, amounts.len());
        for (i, &cents) in amounts.iter().enumerate() {
            shares.push(AccountIdx((i * 40_009 % accounts) as u32), Money(cents));
        }
        let mut got: Vec<(usize, Money)> = shares.wide.clone();
        for (k, block) in shares.blocks.iter().enumerate() {
            for &share in block {
                let (offset, amount) = Shares::unpack(share);
                got.push((k * SWEEP_BLOCK_ACCOUNTS + offset, amount));
            }
        }
        got.sort_unstable();
        let mut want: Vec<(usize, Money)> = (amounts.iter().enumerate())
            .map(|(i, &cents)| (i * 40_009 % accounts, Money(cents)))
            .collect();
        want.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(shares.wide.len(), 2, "±2^48 cents and beyond do not pack");
        assert_eq!(shares.len(), amounts.len());
    }
}
