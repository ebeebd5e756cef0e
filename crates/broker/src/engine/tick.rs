//! Quotes in, consequences out: triggers, trailing stops, revaluation, margin call, stop-out.

use super::calc::{self, Exposures};
use super::execute::{CloseDeal, FilledMarketOrder};
use super::legs::{Group, LegMargin};
use super::records::{DealEntry, Reason, Side};
use super::trigger::Target;
use super::{Engine, Event};
use crate::account::{AccountIdx, MarginMode};
use crate::symbol::SymbolIdx;
use drawbridge_model::{Money, Price, Timestamp, Volume};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("unknown symbol index {0}")]
    UnknownSymbol(u32),
    #[error("a quote needs 0 < bid <= ask")]
    Crossed,
}

/// One quote of a batch for [`Engine::on_quotes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteUpdate {
    pub symbol: SymbolIdx,
    pub time: Timestamp,
    pub bid: Price,
    pub ask: Price,
}

/// Rounds of trigger firing one quote may cause: an order fills, its position's stop fires,
/// and a stop-limit's limit fills; more means a bug.
const TRIGGER_ROUNDS_MAX: usize = 8;

impl Engine {
    /// Applies a quote: first any rollover or expiry due by its time, then the quote itself,
    /// the triggers it fires, trailing stops, and the revaluation of affected accounts.
    pub fn on_quote(
        &mut self,
        s: SymbolIdx,
        time: Timestamp,
        bid: Price,
        ask: Price,
        events: &mut Vec<Event>,
    ) -> Result<(), QuoteError> {
        let q = QuoteUpdate {
            symbol: s,
            time,
            bid,
            ask,
        };
        self.check_quote(&q)?;
        self.take_quote(&q, events);
        self.revalue_symbol(s, events);
        Ok(())
    }

    /// Applies quotes that arrived together (a feed conflated while the engine was busy), in
    /// order, as [`Engine::on_quote`] applies each: time, the quote, its triggers and trailing
    /// stops. The accounts they affect are then revalued once, at the last prices, and their
    /// margin levels enforced there: an account is visited once however many of the quotes
    /// move it, and a level crossed and recovered within the batch is not acted on, as if the
    /// feed had sent only the last price of each symbol. Nothing is applied when a quote is
    /// invalid. Returns the number of positions the revaluation visited.
    pub fn on_quotes(
        &mut self,
        quotes: &[QuoteUpdate],
        events: &mut Vec<Event>,
    ) -> Result<usize, QuoteError> {
        self.on_quotes_in_parts(quotes, usize::MAX, events, |_, _| {})
    }

    /// [`Engine::on_quotes`], handing over its events in parts as the revaluation goes: after
    /// about every `part_accounts` accounts revalued, and at the end, `part` gets the engine
    /// (every account revalued so far reads its new values) and the events so far, which it
    /// may drain. A caller can so pass the first accounts on while the engine still works
    /// on the rest.
    pub fn on_quotes_in_parts(
        &mut self,
        quotes: &[QuoteUpdate],
        part_accounts: usize,
        events: &mut Vec<Event>,
        part: impl FnMut(&Engine, &mut Vec<Event>),
    ) -> Result<usize, QuoteError> {
        for q in quotes {
            self.check_quote(q)?;
        }
        for q in quotes {
            self.take_quote(q, events);
        }
        let mut symbols: Vec<SymbolIdx> = quotes.iter().map(|q| q.symbol).collect();
        symbols.sort_unstable();
        symbols.dedup();
        Ok(self.revalue_symbols(&symbols, part_accounts, events, part))
    }

    fn check_quote(&self, q: &QuoteUpdate) -> Result<(), QuoteError> {
        if q.symbol.index() >= self.specs.len() {
            return Err(QuoteError::UnknownSymbol(q.symbol.0));
        }
        if q.bid.0 <= 0 || q.ask < q.bid {
            return Err(QuoteError::Crossed);
        }
        Ok(())
    }

    /// A checked quote up to the revaluation: time, the quote, triggers, trailing stops.
    fn take_quote(&mut self, q: &QuoteUpdate, events: &mut Vec<Event>) {
        let &QuoteUpdate {
            symbol: s,
            time,
            bid,
            ask,
        } = q;
        self.advance_time(time, events);
        self.quotes[s.index()] = super::calc::Quote {
            bid,
            ask,
            time: self.now,
        };
        self.refresh_rates(s);
        events.push(Event::Quote { symbol: s });
        // What fires may set new levels the same quote has already reached (a gap fills a
        // pending order whose TP lies behind the price; a stop-limit places a marketable
        // limit): fire again until nothing is left. Each round consumes what it fires, so
        // this ends; the bound only guards against a bug.
        for _round in 0..TRIGGER_ROUNDS_MAX {
            let fired = self.triggers[s.index()].fire(bid, ask);
            if fired.is_empty() {
                break;
            }
            for target in fired {
                match target {
                    Target::Order(id) => self.trigger_order(id, events),
                    Target::StopLoss(id) => self.close_on_trigger(id, Reason::Sl, events),
                    Target::TakeProfit(id) => self.close_on_trigger(id, Reason::Tp, events),
                }
            }
        }
        self.trail(s, events);
    }

    /// Closes a whole position at the market because its SL or TP fired.
    fn close_on_trigger(&mut self, id: u64, reason: Reason, events: &mut Vec<Event>) {
        let Some(slot) = self.position_slot(id) else {
            return;
        };
        let p = self
            .positions
            .get(slot)
            .expect("indexed positions are live")
            .clone();
        let price = self.quotes[p.symbol.index()].close_price(p.side);
        let order_id = self.next_ticket();
        let tags = p.tags.clone();
        let close = CloseDeal {
            volume: p.volume,
            price,
            entry: DealEntry::Out,
            order_id,
            reason,
            charges_commission: true,
            tags: &tags,
        };
        self.close_part(slot, close, events);
        let order = FilledMarketOrder {
            account: p.account,
            symbol: p.symbol,
            side: p.side.opposite(),
            volume: p.volume,
            price,
            order_id,
            position_id: p.id,
            reason,
            tags,
        };
        self.record_market_order(order, events);
        self.check_account(p.account, events);
    }

    /// Moves trailing stops behind a price that moved more than the distance into profit.
    fn trail(&mut self, s: SymbolIdx, events: &mut Vec<Event>) {
        if self.trailing[s.index()].is_empty() {
            return;
        }
        let q = self.quotes[s.index()];
        let point = self.specs[s.index()].point;
        let ids: Vec<u64> = self.trailing[s.index()].iter().copied().collect();
        for id in ids {
            let Some(slot) = self.position_slot(id) else {
                continue;
            };
            let p = self.positions.get(slot).expect("live").clone();
            let Some(d) = p.trailing_points else { continue };
            let dist = Price::from_points(i64::from(d), point);
            let better = match p.side {
                Side::Buy => {
                    let c = q.bid - dist;
                    (c > p.open_price && p.stop_loss.is_none_or(|sl| c > sl)).then_some(c)
                }
                Side::Sell => {
                    let c = q.ask + dist;
                    (c < p.open_price && p.stop_loss.is_none_or(|sl| c < sl)).then_some(c)
                }
            };
            if let Some(sl) = better {
                self.unindex_position_stops(&p);
                let pos = self.positions.get_mut(slot).expect("live");
                pos.stop_loss = Some(sl);
                pos.update_time = self.now;
                let updated = pos.clone();
                self.index_position_stops(&updated);
                events.push(Event::PositionUpdated {
                    account: p.account,
                    position_id: id,
                });
            }
        }
    }

    /// Margin of an account's positions, optionally with one more deal (netted on a netting
    /// account), at current prices.
    pub(crate) fn margin_with(
        &self,
        a: AccountIdx,
        leg: Option<(SymbolIdx, Side, Volume)>,
    ) -> Money {
        let mut exposures = Exposures::default();
        for p in self.positions_of(a) {
            exposures.add(p.symbol, p.side, p.volume);
        }
        if let Some((s, side, v)) = leg {
            exposures.add(s, side, v);
        }
        (exposures.iter())
            .map(|(s, e)| self.symbol_margin(a, s, e))
            .sum()
    }

    /// The margin of an account's exposure on one symbol, at current prices.
    fn symbol_margin(&self, a: AccountIdx, s: SymbolIdx, e: calc::Exposure) -> Money {
        let acc = &self.accounts[a.index()];
        let e = self.netted(a, e);
        let q = self.quotes[s.index()];
        if !q.is_live() {
            return Money::ZERO;
        }
        let rate = self.rates(s, self.values[a.index()].currency_slot).margin;
        calc::exposure_margin_at(&self.specs[s.index()], e, &q, rate, acc.leverage)
    }

    /// An exposure as the account's margin mode counts it: netted on a netting account.
    fn netted(&self, a: AccountIdx, mut e: calc::Exposure) -> calc::Exposure {
        if self.accounts[a.index()].margin_mode == MarginMode::Netting {
            let net = e.buy.min(e.sell);
            e.buy -= net;
            e.sell -= net;
        }
        e
    }

    /// Recomputes one account's floating result and margin from current prices, and sets
    /// its positions' legs to match (see `legs`): each one's profit, and its margin where it
    /// alone makes the account's exposure on its symbol, or else its group's.
    pub(crate) fn recompute(&mut self, a: AccountIdx) {
        // The account's groups go; those it still has come back below.
        let mut slot = self.accounts[a.index()].first_position;
        while let Some(p) = self.positions.get(slot) {
            let legs = self.legs_index(p.currency_slot, p.symbol);
            if !self.by_symbol[legs][p.symbol_slot as usize].is_plain() {
                self.groups.remove(a, legs);
            }
            slot = p.next_in_account;
        }
        let mut exposures = Exposures::default();
        for p in self.positions_of(a) {
            exposures.add(p.symbol, p.side, p.volume);
        }
        let margin = (exposures.iter())
            .map(|(s, e)| self.symbol_margin(a, s, e))
            .sum();
        let leverage = self.accounts[a.index()].leverage;
        let mut floating = Money::ZERO;
        let mut slot = self.accounts[a.index()].first_position;
        while let Some(p) = self.positions.get(slot) {
            let profit = self.position_profit(p);
            floating += profit + p.swap;
            let e = exposures.get(p.symbol);
            let alone = match p.side {
                Side::Buy => e.buy == p.volume && e.sell.0 == 0,
                Side::Sell => e.sell == p.volume && e.buy.0 == 0,
            };
            let legs = self.legs_index(p.currency_slot, p.symbol);
            let margin = self.symbol_margin(a, p.symbol, e);
            let margin = if alone {
                LegMargin::Alone(margin)
            } else {
                let exposure = self.netted(a, e);
                let group = Group {
                    exposure,
                    leverage,
                    margin,
                };
                self.groups.insert(a, legs, group);
                LegMargin::Grouped
            };
            let (at, next) = (p.symbol_slot as usize, p.next_in_account);
            let position = (p.side, p.volume, p.open_price);
            self.by_symbol[legs][at].set(position, leverage, profit, margin);
            slot = next;
        }
        let v = &mut self.values[a.index()];
        v.floating = floating;
        v.margin = margin;
        // Enforced next time a quote reaches it, whatever the quote changes.
        self.set_alert(a, true);
    }

    /// Recomputes an account and enforces its margin-call and stop-out levels.
    pub(crate) fn check_account(&mut self, a: AccountIdx, events: &mut Vec<Event>) {
        self.recompute(a);
        self.enforce_levels(a, events);
    }

    /// Whether enforcing an account's levels would do nothing: a standalone account, not in
    /// margin call, without margin or above both levels (the common case a quote leaves).
    fn far_from_levels(&self, a: AccountIdx) -> bool {
        let (acc, v) = (&self.accounts[a.index()], &self.values[a.index()]);
        if acc.in_margin_call || acc.kind.group_master(a).is_some() {
            return false;
        }
        let level = i128::from(acc.margin_call_pct.max(acc.stop_out_pct));
        let equity = self.equity(a);
        v.margin.0 <= 0 || i128::from(equity.0) * 100 > i128::from(v.margin.0) * level
    }

    /// Margin call is signalled once per descent below its level; at the stop-out level the
    /// most losing position of the account (or its group) is closed, again and again, until
    /// the margin level recovers or nothing is left to close.
    pub(crate) fn enforce_levels(&mut self, a: AccountIdx, events: &mut Vec<Event>) {
        if self.far_from_levels(a) {
            self.set_alert(a, false);
            return;
        }
        // Group accounts are rare: only they pay for a list of the unit's members.
        let master = self.accounts[a.index()].kind.group_master(a);
        let group: Vec<AccountIdx> = master
            .map(|m| self.group_members(m).collect())
            .unwrap_or_default();
        let alone = [a];
        let unit: &[AccountIdx] = if master.is_some() { &group } else { &alone };
        let (stop_out, call) = {
            let acc = &self.accounts[a.index()];
            (i64::from(acc.stop_out_pct), i64::from(acc.margin_call_pct))
        };
        // The margin call comes first, as the level falls through it on the way to stop-out.
        let (equity, margin) = self.risk_unit(a);
        if margin.0 > 0
            && i128::from(equity.0) * 100 <= i128::from(margin.0) * i128::from(call)
            && !self.accounts[a.index()].in_margin_call
        {
            self.accounts[a.index()].in_margin_call = true;
            events.push(Event::MarginCall { account: a });
        }
        for _ in 0..=self.positions.len() {
            let (equity, margin) = self.risk_unit(a);
            if margin.0 <= 0
                || i128::from(equity.0) * 100 > i128::from(margin.0) * i128::from(stop_out)
            {
                break;
            }
            let worst = unit
                .iter()
                .flat_map(|&m| self.positions_of(m))
                .filter(|p| self.is_trade_open(p.symbol))
                .min_by_key(|p| (self.position_profit(p) + p.swap, p.id))
                .map(|p| p.id);
            let Some(id) = worst else { break };
            let owner = self.position(id).expect("live").account;
            // Closing revalues the owner (removing the position recomputes it, and the close
            // checks its account).
            self.close_on_trigger(id, Reason::StopOut, events);
            events.push(Event::StopOut {
                account: owner,
                position_id: id,
            });
        }
        let (equity, margin) = self.risk_unit(a);
        let below =
            margin.0 > 0 && i128::from(equity.0) * 100 <= i128::from(margin.0) * i128::from(call);
        self.accounts[a.index()].in_margin_call = below;
        self.set_alert(a, !self.far_from_levels(a));
    }
}
