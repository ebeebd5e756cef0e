//! Profit, margin and currency conversion, as MetaTrader 5 computes them.
//!
//! MT5 computes these in doubles and rounds each money result to the account currency's
//! digits; so do we. Every rounded result is [`Money`], so sums of them never drift.

use super::book::Side;
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
    (close.0 - open.0) as f64 / 1e8 * side.sign() * volume.lots() * contract_size
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

    /// The FX-like symbols whose quotes `rate(from, to, ..)` reads: none for the same
    /// currency, the direct pair, or both legs through USD.
    pub fn route(&self, from: Currency, to: Currency) -> Vec<SymbolIdx> {
        let pair = |a: Currency, b: Currency| {
            self.pairs
                .get(&(a, b))
                .or_else(|| self.pairs.get(&(b, a)))
                .copied()
        };
        if from == to {
            return Vec::new();
        }
        if let Some(s) = pair(from, to) {
            return vec![s];
        }
        [pair(from, Currency::USD), pair(Currency::USD, to)]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// One symbol's open volume on one account, for the margin formula.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exposure {
    pub buy: Volume,
    pub sell: Volume,
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
    let rate = conv
        .rate(spec.margin_currency, currency, quotes, false)
        .unwrap_or(1.0);
    Money::from_f64(raw * rate)
}
