//! Profit, margin and currency conversion, as MetaTrader 5 computes them.
//!
//! MT5 computes these in doubles and rounds each money result to the account currency's
//! digits; so do we. Every rounded result is [`Money`], so sums of them never drift.

use super::records::Side;
use crate::symbol::{CalcMode, Currency, SymbolIdx, SymbolSpec};
use drawbridge_model::{Money, Price, Timestamp, Volume};
use std::collections::HashMap;

/// The current quote of a symbol. `bid == 0` until the first tick arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quote {
    pub bid: Price,
    pub ask: Price,
    pub time: Timestamp,
}

impl Quote {
    pub fn is_live(&self) -> bool {
        self.bid.0 > 0 && self.ask.0 >= self.bid.0
    }

    /// The price a position of `side` is closed at: bid for a buy, ask for a sell.
    pub fn close_price(&self, side: Side) -> Price {
        match side {
            Side::Buy => self.bid,
            Side::Sell => self.ask,
        }
    }

    /// The price a deal of `side` is opened at: ask for a buy, bid for a sell.
    pub fn open_price(&self, side: Side) -> Price {
        match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        }
    }
}

/// Profit of `volume` lots moved from `open` to `close`, in the symbol's profit currency.
#[inline]
pub fn raw_profit(
    contract_size: f64,
    side: Side,
    volume: Volume,
    open: Price,
    close: Price,
) -> f64 {
    signed_raw_profit(contract_size, side.sign(), volume, open, close)
}

/// [`raw_profit`] with the side given as its sign (+1 buy, −1 sell).
#[inline]
pub(crate) fn signed_raw_profit(
    contract_size: f64,
    sign: f64,
    volume: Volume,
    open: Price,
    close: Price,
) -> f64 {
    (close.0 - open.0) as f64 / 1e8 * sign * volume.lots() * contract_size
}

/// Rounds a raw profit to money with the conversion factor for its sign (`k_gain` for ≥ 0).
#[inline]
pub fn to_money(raw: f64, k_gain: f64, k_loss: f64) -> Money {
    Money::from_f64(raw * if raw >= 0.0 { k_gain } else { k_loss })
}

/// Margin of `volume` lots in the symbol's margin currency at `price`.
pub fn raw_margin(
    spec: &SymbolSpec,
    volume: Volume,
    price: Price,
    contract: f64,
    leverage: u32,
) -> f64 {
    let lots = volume.lots();
    let lev = f64::from(leverage.max(1));
    let p = price.to_f64();
    let m = match spec.calc_mode {
        CalcMode::Forex => lots * contract / lev,
        CalcMode::ForexNoLeverage => lots * contract,
        CalcMode::Cfd | CalcMode::CfdIndex => lots * contract * p,
        CalcMode::CfdLeverage => lots * contract * p / lev,
    };
    m * spec.margin_rate
}

/// Finds conversion rates between currencies from the symbols a server lists.
#[derive(Debug, Clone, Default)]
pub struct Converter {
    /// (base, quote) → the FX-like symbol quoting base in quote.
    pairs: HashMap<(Currency, Currency), SymbolIdx>,
}

impl Converter {
    pub fn new(specs: &[SymbolSpec]) -> Self {
        let mut pairs = HashMap::new();
        for (i, s) in specs.iter().enumerate() {
            if s.base_currency != s.profit_currency && s.name.len() >= 6 {
                pairs
                    .entry((s.base_currency, s.profit_currency))
                    .or_insert(SymbolIdx(i as u32));
            }
        }
        Self { pairs }
    }

    /// The factor turning an amount in `from` into `to`. `gain` says which way the amount
    /// flows: a gain is sold for `to` (bid of FROM/TO, 1/ask of TO/FROM), a loss or a margin
    /// requirement is bought (ask of FROM/TO, 1/bid of TO/FROM). Crosses go through USD.
    /// `None` when no route has live quotes.
    pub fn rate(&self, from: Currency, to: Currency, quotes: &[Quote], gain: bool) -> Option<f64> {
        if from == to {
            return Some(1.0);
        }
        self.direct(from, to, quotes, gain).or_else(|| {
            let usd = Currency::USD;
            if from == usd || to == usd {
                return None;
            }
            Some(self.direct(from, usd, quotes, gain)? * self.direct(usd, to, quotes, gain)?)
        })
    }

    fn direct(&self, from: Currency, to: Currency, quotes: &[Quote], gain: bool) -> Option<f64> {
        if let Some(s) = self.pairs.get(&(from, to)) {
            let q = quotes.get(s.index()).filter(|q| q.is_live())?;
            return Some(if gain { q.bid } else { q.ask }.to_f64());
        }
        let s = self.pairs.get(&(to, from))?;
        let q = quotes.get(s.index()).filter(|q| q.is_live())?;
        Some(1.0 / if gain { q.ask } else { q.bid }.to_f64())
    }

    /// Both profit factors (gain, loss) from `spec`'s profit currency into `to`.
    pub fn profit_factors(
        &self,
        spec: &SymbolSpec,
        to: Currency,
        quotes: &[Quote],
    ) -> Option<(f64, f64)> {
        Some((
            self.rate(spec.profit_currency, to, quotes, true)?,
            self.rate(spec.profit_currency, to, quotes, false)?,
        ))
    }

    /// Every FX-like symbol whose quote `rate(from, to, ..)` may read: the direct pair and,
    /// unless either side is USD, both legs through USD (read when the direct pair is
    /// missing or not live yet). A superset of [`Converter::route`].
    pub fn reads(&self, from: Currency, to: Currency) -> Vec<SymbolIdx> {
        if from == to {
            return Vec::new();
        }
        let usd = Currency::USD;
        let mut out: Vec<SymbolIdx> = self.pair(from, to).into_iter().collect();
        if from != usd && to != usd {
            out.extend(self.pair(from, usd));
            out.extend(self.pair(usd, to));
        }
        out
    }

    /// The symbol quoting `a` in `b`, or else `b` in `a`: the one `direct(a, b, ..)` reads.
    fn pair(&self, a: Currency, b: Currency) -> Option<SymbolIdx> {
        self.pairs
            .get(&(a, b))
            .or_else(|| self.pairs.get(&(b, a)))
            .copied()
    }

    /// The FX-like symbols whose quotes `rate(from, to, ..)` reads: none for the same
    /// currency, the direct pair, or both legs through USD.
    pub fn route(&self, from: Currency, to: Currency) -> Vec<SymbolIdx> {
        if from == to {
            return Vec::new();
        }
        if let Some(s) = self.pair(from, to) {
            return vec![s];
        }
        [self.pair(from, Currency::USD), self.pair(Currency::USD, to)]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// The conversion factors of one symbol into one account currency at current quotes: what
/// [`Converter::profit_factors`] and the margin conversion of [`exposure_margin`] give, with
/// their fallbacks of 1 when no route is live.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Profit factor for a gain (≥ 0).
    pub gain: f64,
    /// Profit factor for a loss.
    pub loss: f64,
    /// Factor turning the margin currency into the account currency.
    pub margin: f64,
}

impl Rates {
    /// The factors of `spec` into `to` at `quotes`.
    pub fn of(conv: &Converter, spec: &SymbolSpec, to: Currency, quotes: &[Quote]) -> Self {
        let (gain, loss) = conv.profit_factors(spec, to, quotes).unwrap_or((1.0, 1.0));
        let margin = conv
            .rate(spec.margin_currency, to, quotes, false)
            .unwrap_or(1.0);
        Self { gain, loss, margin }
    }
}

/// One symbol's open volume on one account, for the margin formula.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exposure {
    pub buy: Volume,
    pub sell: Volume,
}

/// Symbols an [`Exposures`] set holds without allocating: more than most accounts trade.
const EXPOSURES_INLINE: usize = 8;

/// One account's exposures, symbol by symbol in order of first appearance: inline for the
/// first [`EXPOSURES_INLINE`] symbols, on the heap past that.
#[derive(Debug, Default)]
pub(crate) struct Exposures {
    inline: [(SymbolIdx, Exposure); EXPOSURES_INLINE],
    len: usize,
    spill: Vec<(SymbolIdx, Exposure)>,
}

impl Exposures {
    /// Adds `volume` on `side` to the exposure of `s`.
    pub(crate) fn add(&mut self, s: SymbolIdx, side: Side, volume: Volume) {
        let e = self.entry(s);
        match side {
            Side::Buy => e.buy += volume,
            Side::Sell => e.sell += volume,
        }
    }

    fn entry(&mut self, s: SymbolIdx) -> &mut Exposure {
        if let Some(i) = self.inline[..self.len].iter().position(|(x, _)| *x == s) {
            return &mut self.inline[i].1;
        }
        if self.len < EXPOSURES_INLINE {
            self.inline[self.len] = (s, Exposure::default());
            self.len += 1;
            return &mut self.inline[self.len - 1].1;
        }
        let i = match self.spill.iter().position(|(x, _)| *x == s) {
            Some(i) => i,
            None => {
                self.spill.push((s, Exposure::default()));
                self.spill.len() - 1
            }
        };
        &mut self.spill[i].1
    }

    /// The exposure on `s` (none when absent).
    pub(crate) fn get(&self, s: SymbolIdx) -> Exposure {
        self.iter()
            .find(|(x, _)| *x == s)
            .map_or_else(Exposure::default, |(_, e)| e)
    }

    /// The symbols and their exposures, in order of first appearance.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SymbolIdx, Exposure)> + '_ {
        self.inline[..self.len].iter().chain(&self.spill).copied()
    }
}

/// Margin of one symbol's exposure in the account currency. The hedged part (the smaller
/// side, matched against the larger) is charged with `margin_hedged` as contract size; the
/// rest with the full contract size (MT5 "hedged margin").
pub fn exposure_margin(
    spec: &SymbolSpec,
    e: Exposure,
    q: &Quote,
    conv: &Converter,
    quotes: &[Quote],
    currency: Currency,
    leverage: u32,
) -> Money {
    let rate = conv
        .rate(spec.margin_currency, currency, quotes, false)
        .unwrap_or(1.0);
    exposure_margin_at(spec, e, q, rate, leverage)
}

/// [`exposure_margin`] with the margin currency's conversion `rate` already known.
#[inline]
pub fn exposure_margin_at(
    spec: &SymbolSpec,
    e: Exposure,
    q: &Quote,
    rate: f64,
    leverage: u32,
) -> Money {
    let hedged = e.buy.min(e.sell);
    let (open_side, open_vol) = if e.buy >= e.sell {
        (Side::Buy, e.buy - hedged)
    } else {
        (Side::Sell, e.sell - hedged)
    };
    let price = q.open_price(open_side);
    let mut raw = raw_margin(spec, open_vol, price, spec.contract_size, leverage);
    if hedged.0 > 0 {
        raw += raw_margin(spec, hedged, price, spec.margin_hedged, leverage);
    }
    Money::from_f64(raw * rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Past the inline symbols the set spills to the heap and still sums per symbol, in
        /// order of first appearance.
        #[test]
        fn exposures_sum_per_symbol(legs in proptest::collection::vec((0u32..20, any::<bool>(), 1i64..1_000), 0..60)) {
            let mut set = Exposures::default();
            let mut want: Vec<(SymbolIdx, Exposure)> = Vec::new();
            for &(s, buy, v) in &legs {
                let (s, side, v) = (SymbolIdx(s), if buy { Side::Buy } else { Side::Sell }, Volume(v));
                set.add(s, side, v);
                let i = match want.iter().position(|(x, _)| *x == s) {
                    Some(i) => i,
                    None => {
                        want.push((s, Exposure::default()));
                        want.len() - 1
                    }
                };
                match side {
                    Side::Buy => want[i].1.buy += v,
                    Side::Sell => want[i].1.sell += v,
                }
            }
            let got: Vec<(SymbolIdx, Volume, Volume)> = set.iter().map(|(s, e)| (s, e.buy, e.sell)).collect();
            let want: Vec<(SymbolIdx, Volume, Volume)> = want.into_iter().map(|(s, e)| (s, e.buy, e.sell)).collect();
            prop_assert_eq!(got, want);
        }

    }
}
