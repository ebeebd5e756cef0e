//! The symbol index as the incremental revaluation reads it: for each (account currency,
//! symbol), a contiguous list of [`Leg`]s, one per open position, carrying what valuing the
//! position needs and what it last added to its account's valuation.
//!
//! A quote walks the lists it affects front to back (its symbol's, and those whose conversion
//! factors read it: `Engine::rate_readers`), values each leg and passes on only the change —
//! `(account, Δprofit, Δmargin)` — so no account's other positions are read. The change is
//! gathered per block of accounts ([`Deltas`]) and added to the valuations block by block,
//! in account order.
//!
//! Exactness: a leg's profit and margin are computed with the very formulas of the full
//! recomputation (`Engine::recompute`), and valuations are integer sums, so the delta path
//! leaves every account with the cents a full recomputation gives. Hedged margin is not a sum
//! over positions: where an account holds several positions in one list, its legs are
//! *grouped* — each still carries its profit, and the group's exposure and margin sit in
//! [`Groups`], revalued once per walk. What a leg cannot carry exactly is marked *wide* and
//! its account recomputed in full instead: a volume or leverage beyond the packed fields, a
//! margin beyond `i32` cents.

use super::calc::{self, Exposure, Quote, Rates};
use super::records::Side;
use crate::account::AccountIdx;
use crate::symbol::SymbolSpec;
use drawbridge_model::{Money, Price, Volume};
use std::collections::HashMap;

/// Low bits of [`Leg::packed`] holding the volume (in 10⁻⁸ lots: up to 2.8 million lots).
const VOLUME_BITS: u32 = 48;
/// Bits of [`Leg::packed`] above the volume holding the account's leverage (up to 16,383).
const LEVERAGE_BITS: u32 = 14;
/// The top bit of [`Leg::packed`]: set for a sell.
const SELL_BIT: u64 = 1 << 63;
/// [`Leg::margin`] of a leg whose account is recomputed in full when the leg changes.
const WIDE: i32 = i32::MIN;
/// [`Leg::margin`] of a grouped leg: its margin is its group's, in [`Groups`].
const GROUPED: i32 = i32::MIN + 1;

/// What the full recomputation found of a position's margin.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LegMargin {
    /// The margin of the account's exposure on the symbol, which the position alone makes.
    Alone(Money),
    /// The account holds other positions on the symbol: the margin is their group's.
    Grouped,
}

/// One open position in its (account currency, symbol) list. 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leg {
    open: Price,
    /// Volume, leverage and side (see the constants above); 0 for a shared leg.
    packed: u64,
    /// The position's profit (swap excluded) as its account's valuation holds it.
    pub(crate) profit: Money,
    pub(crate) account: AccountIdx,
    /// The margin of the account's exposure on the symbol, in cents, as its valuation holds
    /// it — this position being the account's only one there; [`GROUPED`] or [`WIDE`]
    /// otherwise.
    margin: i32,
}

impl Leg {
    /// A new leg, valued at zero and wide until `Engine::recompute` values it.
    pub(crate) fn new(account: AccountIdx) -> Self {
        Self {
            open: Price::ZERO,
            packed: 0,
            profit: Money::ZERO,
            account,
            margin: WIDE,
        }
    }

    /// Sets what the full recomputation found: the position, its profit and its margin.
    pub(crate) fn set(
        &mut self,
        (side, volume, open): (Side, Volume, Price),
        leverage: u32,
        profit: Money,
        margin: LegMargin,
    ) {
        self.open = open;
        self.profit = profit;
        let fits = volume.0 > 0 && volume.0 < 1 << VOLUME_BITS && leverage < 1 << LEVERAGE_BITS;
        let margin = match margin {
            LegMargin::Alone(m) => i32::try_from(m.0).ok().filter(|&m| m >= 0),
            LegMargin::Grouped => Some(GROUPED),
        };
        match margin.filter(|_| fits) {
            Some(m) => {
                let sell = if side == Side::Sell { SELL_BIT } else { 0 };
                self.packed = volume.0 as u64 | u64::from(leverage) << VOLUME_BITS | sell;
                self.margin = m;
            }
            None => {
                self.packed = 0;
                self.margin = WIDE;
            }
        }
    }

    /// Whether the leg alone makes its account's exposure in its list.
    pub(crate) fn is_plain(&self) -> bool {
        self.margin >= 0
    }

    pub(crate) fn is_grouped(&self) -> bool {
        self.margin == GROUPED
    }

    #[inline]
    fn side(&self) -> Side {
        if self.packed & SELL_BIT != 0 {
            Side::Sell
        } else {
            Side::Buy
        }
    }

    #[inline]
    fn volume(&self) -> Volume {
        Volume((self.packed & ((1 << VOLUME_BITS) - 1)) as i64)
    }

    #[inline]
    fn leverage(&self) -> u32 {
        ((self.packed >> VOLUME_BITS) & ((1 << LEVERAGE_BITS) - 1)) as u32
    }
}

/// What valuing the legs of one list needs: the symbol, its quote and the conversion factors
/// into the list's currency.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark<'a> {
    pub(crate) spec: &'a SymbolSpec,
    pub(crate) quote: Quote,
    pub(crate) rates: Rates,
}

impl Mark<'_> {
    /// A leg's profit now, as `Engine::position_profit` computes it.
    #[inline]
    fn profit(&self, leg: &Leg) -> Money {
        if !self.quote.is_live() {
            return Money::ZERO;
        }
        let side = leg.side();
        let close = self.quote.close_price(side);
        let (contract, volume) = (self.spec.contract_size, leg.volume());
        let raw = calc::signed_raw_profit(contract, side.sign(), volume, leg.open, close);
        calc::to_money(raw, self.rates.gain, self.rates.loss)
    }

    /// The margin of an exposure now, as `Engine::recompute` computes it.
    #[inline]
    fn margin(&self, exposure: Exposure, leverage: u32) -> Money {
        if !self.quote.is_live() {
            return Money::ZERO;
        }
        let (q, rate) = (&self.quote, self.rates.margin);
        calc::exposure_margin_at(self.spec, exposure, q, rate, leverage)
    }

    /// A plain leg's profit and margin now.
    #[inline]
    fn value(&self, leg: &Leg) -> (Money, Money) {
        let (side, volume) = (leg.side(), leg.volume());
        let exposure = match side {
            Side::Buy => Exposure {
                buy: volume,
                sell: Volume::ZERO,
            },
            Side::Sell => Exposure {
                buy: Volume::ZERO,
                sell: volume,
            },
        };
        (self.profit(leg), self.margin(exposure, leg.leverage()))
    }
}

/// Revalues a list's legs at `mark`: each plain leg's change goes to `deltas`, each grouped
/// leg's profit change too (and its account to `grouped`), each wide leg's account to `wide`
/// (a bit set by account). Returns the legs visited.
pub(crate) fn walk(
    legs: &mut [Leg],
    mark: &Mark<'_>,
    deltas: &mut Deltas,
    wide: &mut [u64],
    grouped: &mut Vec<AccountIdx>,
) -> usize {
    for leg in legs.iter_mut() {
        let a = leg.account.index();
        if leg.margin == WIDE {
            wide[a / 64] |= 1 << (a % 64);
            deltas.push(a, Money::ZERO, Money::ZERO);
            continue;
        }
        if leg.is_grouped() {
            let profit = mark.profit(leg);
            deltas.push(a, profit - leg.profit, Money::ZERO);
            leg.profit = profit;
            grouped.push(leg.account);
            continue;
        }
        let (profit, margin) = mark.value(leg);
        let Some(cents) = i32::try_from(margin.0).ok().filter(|&m| m >= 0) else {
            // Beyond the leg's field: its account is recomputed in full (which marks it wide).
            wide[a / 64] |= 1 << (a % 64);
            deltas.push(a, Money::ZERO, Money::ZERO);
            continue;
        };
        let dp = profit - leg.profit;
        let dm = Money(i64::from(cents) - i64::from(leg.margin));
        leg.profit = profit;
        leg.margin = cents;
        deltas.push(a, dp, dm);
    }
    legs.len()
}

/// The exposure of an account on a symbol where it holds several positions, netted as its
/// margin mode nets it, and the margin its valuation holds for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    pub(crate) exposure: Exposure,
    pub(crate) leverage: u32,
    pub(crate) margin: Money,
}

/// The groups of grouped legs, by (account, leg list).
#[derive(Clone, Debug, Default)]
pub(crate) struct Groups {
    map: HashMap<(AccountIdx, u32), Group>,
}

impl Groups {
    pub(crate) fn insert(&mut self, a: AccountIdx, list: usize, group: Group) {
        self.map.insert((a, list as u32), group);
    }

    pub(crate) fn remove(&mut self, a: AccountIdx, list: usize) {
        self.map.remove(&(a, list as u32));
    }

    /// Revalues the groups of `accounts` (with repeats) in `list` at `mark`: each margin
    /// change goes to `deltas`; an account whose change does not fit, or with no group (never:
    /// grouped legs have one), to `wide`.
    pub(crate) fn revalue(
        &mut self,
        list: usize,
        mark: &Mark<'_>,
        accounts: &mut Vec<AccountIdx>,
        deltas: &mut Deltas,
        wide: &mut [u64],
    ) {
        accounts.sort_unstable();
        accounts.dedup();
        for &a in accounts.iter() {
            let i = a.index();
            let Some(g) = self.map.get_mut(&(a, list as u32)) else {
                wide[i / 64] |= 1 << (i % 64);
                continue;
            };
            let margin = mark.margin(g.exposure, g.leverage);
            match i32::try_from((margin - g.margin).0) {
                Ok(change) => {
                    g.margin = margin;
                    deltas.push(i, Money::ZERO, Money(i64::from(change)));
                }
                Err(_) => wide[i / 64] |= 1 << (i % 64),
            }
        }
        accounts.clear();
    }

    /// Bytes held, by capacity (a control byte per bucket).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<((AccountIdx, u32), Group)>() + 1)
    }
}

/// Accounts whose changes are gathered together and added to their valuations (24 B each)
/// from cache: 768 KiB, within a core's L2 cache.
pub(crate) const BLOCK_ACCOUNTS: usize = 1 << 15;

/// One leg's change, for the account at `offset` in its block.
#[derive(Clone, Copy, Debug)]
struct Delta {
    profit: Money,
    offset: u32,
    /// The difference of two margins in `0..=i32::MAX` (fits), or a group's checked change.
    margin: i32,
}

/// The legs' changes of one incremental revaluation, listed by their accounts' block, and a
/// block's sums per account. Kept from one call to the next: no allocation per tick once warm.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deltas {
    blocks: Vec<Vec<Delta>>,
    /// Per account of the block being added up: Σ Δprofit, Σ Δmargin.
    sums: Vec<(Money, Money)>,
}

impl Deltas {
    /// Empties the lists for `accounts` accounts, keeping their memory.
    pub(crate) fn reset(&mut self, accounts: usize) {
        self.blocks
            .resize_with(accounts.div_ceil(BLOCK_ACCOUNTS), Vec::new);
        for block in &mut self.blocks {
            block.clear();
        }
        if self.sums.len() < BLOCK_ACCOUNTS.min(accounts) {
            self.sums
                .resize(BLOCK_ACCOUNTS.min(accounts), Default::default());
        }
    }

    #[inline]
    fn push(&mut self, a: usize, profit: Money, margin: Money) {
        debug_assert!(
            i32::try_from(margin.0).is_ok(),
            "invariant: a margin change between two i32 margins fits"
        );
        self.blocks[a / BLOCK_ACCOUNTS].push(Delta {
            profit,
            offset: (a % BLOCK_ACCOUNTS) as u32,
            margin: margin.0 as i32,
        });
    }

    pub(crate) fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Adds up block `k`'s changes per account and marks each account in `touched` (the
    /// block's words of a bit set by account).
    pub(crate) fn sum_block(&mut self, k: usize, touched: &mut [u64]) {
        for d in &self.blocks[k] {
            let (o, s) = (d.offset as usize, &mut self.sums[d.offset as usize]);
            s.0 += d.profit;
            s.1 += Money(i64::from(d.margin));
            touched[o / 64] |= 1 << (o % 64);
        }
    }

    /// The sums of the account at `offset` in the block just summed.
    pub(crate) fn peek(&self, offset: usize) -> (Money, Money) {
        self.sums[offset]
    }

    /// Takes the sums of the account at `offset` in the block just summed, leaving zeros.
    pub(crate) fn take(&mut self, offset: usize) -> (Money, Money) {
        std::mem::take(&mut self.sums[offset])
    }

    /// Bytes held, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.capacity() * std::mem::size_of::<Delta>())
            .sum::<usize>()
            + self.sums.capacity() * std::mem::size_of::<(Money, Money)>()
    }
}

/// Appends a leg, growing the list by an eighth rather than doubling it: a million accounts'
/// lists hold tens of megabytes, and doubling would leave up to half of it unused.
pub(crate) fn push_leg(list: &mut Vec<Leg>, leg: Leg) {
    if list.len() == list.capacity() {
        list.reserve_exact(list.len() / 8 + 8);
    }
    list.push(leg);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leg is 32 bytes: two a cache line, 64 MB at two million
    /// positions. Growth here costs every account's bytes (see `P1.bytes_per_account`).
    #[test]
    fn a_leg_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Leg>(), 32);
        assert_eq!(std::mem::size_of::<Delta>(), 16);
    }

    /// Volume, leverage and side come back out of the packed word; what does not fit makes
    /// the leg wide, and a grouped leg keeps its position.
    #[test]
    fn legs_pack_what_fits_and_widen_the_rest() {
        let mut leg = Leg::new(AccountIdx(7));
        assert!(!leg.is_plain(), "a new leg is wide until valued");
        let position = (Side::Sell, Volume(123_000_000), Price(110_000_000));
        leg.set(position, 500, Money(-42), LegMargin::Alone(Money(24_600)));
        assert!(leg.is_plain());
        assert_eq!(
            (leg.side(), leg.volume(), leg.leverage()),
            (Side::Sell, Volume(123_000_000), 500)
        );
        assert_eq!((leg.profit, leg.margin), (Money(-42), 24_600));
        leg.set(position, 500, Money(-42), LegMargin::Grouped);
        assert!(leg.is_grouped() && leg.volume() == Volume(123_000_000));
        let too_big = (Side::Buy, Volume(1 << VOLUME_BITS), Price(1));
        leg.set(too_big, 100, Money::ZERO, LegMargin::Alone(Money(1)));
        assert_eq!(leg.margin, WIDE, "a volume beyond 48 bits");
        leg.set(
            position,
            1 << LEVERAGE_BITS,
            Money::ZERO,
            LegMargin::Alone(Money(1)),
        );
        assert_eq!(leg.margin, WIDE, "a leverage beyond 14 bits");
        leg.set(position, 100, Money::ZERO, LegMargin::Alone(Money(1 << 31)));
        assert_eq!(leg.margin, WIDE, "a margin beyond i32 cents");
    }
}
