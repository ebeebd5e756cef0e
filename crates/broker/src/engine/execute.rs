//! Trade requests: validation with MT5 retcodes, then execution.
//!
//! Market orders fill at the current quote (buy at ask, sell at bid). Pending orders wait in
//! the trigger queues and, once triggered, fill at the quote that triggered them: a gap fills
//! a limit at the better price and a stop at the worse one, as market execution does.

use super::calc::{self, Quote};
use super::command::{Stops, TradeCommand, TradeOutcome};
use super::pending::OrderChange;
use super::records::{
    Deal, DealEntry, DealKind, Expiration, Order, OrderKind, OrderState, PendingKind, Position,
    Reason, Side, Tags,
};
use super::retcode::Retcode;
use super::{Engine, Event};
use crate::account::{Access, AccountIdx, MarginMode, NIL};
use crate::symbol::{SymbolIdx, TradeMode};
use drawbridge_model::{Money, Price, Timestamp, Volume};

/// An open position put back without a deal: from storage, or built by a benchmark.
#[derive(Clone, Copy, Debug)]
pub struct RestoredPosition {
    pub account: AccountIdx,
    pub symbol: SymbolIdx,
    pub side: Side,
    pub volume: Volume,
    pub open_price: Price,
    pub open_time: Timestamp,
    /// The position's id; `None` takes a fresh ticket.
    pub id: Option<u64>,
}

impl Engine {
    /// Executes a trade request for an account.
    pub fn trade(
        &mut self,
        a: AccountIdx,
        access: Access,
        cmd: TradeCommand,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        self.now = self.now.max(now);
        let acc = self.accounts.get(a.index()).ok_or(Retcode::Invalid)?;
        if access == Access::Investor || !acc.trade_allowed {
            return Err(Retcode::TradeDisabled);
        }
        match cmd {
            TradeCommand::Market {
                symbol,
                side,
                volume,
                stops,
                tags,
            } => self.market_order(a, (symbol, side, volume), stops, tags, events),
            TradeCommand::Pending {
                symbol,
                kind,
                volume,
                price,
                stop_limit_price,
                stops,
                expiration,
                tags,
            } => {
                let order = PendingRequest {
                    symbol,
                    kind,
                    volume,
                    price,
                    stop_limit_price,
                    stops,
                    expiration,
                    tags,
                };
                self.place_order(a, order, events)
            }
            TradeCommand::ModifyPosition { position_id, stops } => {
                self.modify_position(a, position_id, stops, events)
            }
            TradeCommand::ClosePosition {
                position_id,
                volume,
                tags,
            } => self.close_position(a, position_id, volume, tags, events),
            TradeCommand::CloseBy {
                position_id,
                by_position_id,
                tags,
            } => self.close_by(a, position_id, by_position_id, tags, events),
            TradeCommand::CloseSymbol { symbol, tags } => {
                self.close_symbol(a, symbol, tags, events)
            }
            TradeCommand::ModifyOrder {
                order_id,
                price,
                stop_limit_price,
                stops,
                expiration,
            } => {
                let change = OrderChange {
                    price,
                    stop_limit_price,
                    stops,
                    expiration,
                };
                self.modify_order(a, order_id, change, events)
            }
            TradeCommand::CancelOrder { order_id } => self.cancel_order(a, order_id, events),
        }
    }

    /// Whether the symbol's trade session is open now.
    pub fn is_trade_open(&self, s: SymbolIdx) -> bool {
        let z = self.cfg.zone;
        self.specs[s.index()]
            .trade_sessions
            .is_open(z.weekday(self.now), z.seconds_of_day(self.now))
    }

    /// The live quote of a symbol that may be traded now in the given direction.
    pub(crate) fn tradable(&self, s: SymbolIdx, opening: Option<Side>) -> Result<Quote, Retcode> {
        let spec = self.specs.get(s.index()).ok_or(Retcode::Invalid)?;
        match (spec.trade_mode, opening) {
            (TradeMode::Disabled, _) => return Err(Retcode::TradeDisabled),
            (TradeMode::CloseOnly, Some(_)) => return Err(Retcode::CloseOnly),
            (TradeMode::LongOnly, Some(Side::Sell)) => return Err(Retcode::LongOnly),
            (TradeMode::ShortOnly, Some(Side::Buy)) => return Err(Retcode::ShortOnly),
            _ => {}
        }
        if !self.is_trade_open(s) {
            return Err(Retcode::MarketClosed);
        }
        let q = self.quotes[s.index()];
        if q.is_live() {
            Ok(q)
        } else {
            Err(Retcode::PriceOff)
        }
    }

    pub(crate) fn check_volume(&self, s: SymbolIdx, v: Volume) -> Result<(), Retcode> {
        let spec = &self.specs[s.index()];
        let ok = v.0 > 0
            && v >= spec.volume_min
            && v <= spec.volume_max
            && v.is_multiple_of(spec.volume_step);
        if ok {
            Ok(())
        } else {
            Err(Retcode::InvalidVolume)
        }
    }

    /// SL/TP of a position of `side` must keep the stops level from `reference` (the price the
    /// position would close at, or a pending order's price) on the correct side.
    pub(crate) fn check_stops(
        &self,
        s: SymbolIdx,
        side: Side,
        reference: Price,
        stops: &Stops,
    ) -> Result<(), Retcode> {
        let spec = &self.specs[s.index()];
        let level = Price::from_points(i64::from(spec.stops_level), spec.point);
        let valid = |p: Price| p.0 > 0 && p.is_multiple_of(spec.tick_size);
        if let Some(sl) = stops.stop_loss {
            let ok = match side {
                Side::Buy => sl <= reference - level,
                Side::Sell => sl >= reference + level,
            };
            if !ok || !valid(sl) {
                return Err(Retcode::InvalidStops);
            }
        }
        if let Some(tp) = stops.take_profit {
            let ok = match side {
                Side::Buy => tp >= reference + level,
                Side::Sell => tp <= reference - level,
            };
            if !ok || !valid(tp) {
                return Err(Retcode::InvalidStops);
            }
        }
        if stops
            .trailing_points
            .is_some_and(|d| d == 0 || d < spec.stops_level)
        {
            return Err(Retcode::InvalidStops);
        }
        Ok(())
    }

    /// Refuses a deal whose extra margin the account (or its group) cannot carry.
    pub(crate) fn check_margin(
        &self,
        a: AccountIdx,
        leg: (SymbolIdx, Side, Volume),
    ) -> Result<(), Retcode> {
        let before = self.margin_with(a, None);
        let after = self.margin_with(a, Some(leg));
        let extra = after - before;
        if extra.0 > 0 && self.free_margin(a) - extra < Money::ZERO {
            return Err(Retcode::NoMoney);
        }
        Ok(())
    }

    fn commission(&self, s: SymbolIdx, v: Volume) -> Money {
        Money::from_f64(-self.specs[s.index()].commission_per_lot * v.lots())
    }

    /// The account's netting position on a symbol, if it is a netting account and has one.
    fn netting_slot(&self, a: AccountIdx, s: SymbolIdx) -> Option<u32> {
        let acc = &self.accounts[a.index()];
        if acc.margin_mode != MarginMode::Netting {
            return None;
        }
        self.position_slots_of(a)
            .find(|&slot| self.positions.get(slot).is_some_and(|p| p.symbol == s))
    }

    pub(crate) fn position_slots_of(&self, a: AccountIdx) -> impl Iterator<Item = u32> + '_ {
        let head = self.accounts[a.index()].first_position;
        std::iter::successors((head != NIL).then_some(head), |&s| {
            let next = self.positions.get(s)?.next_in_account;
            (next != NIL).then_some(next)
        })
    }

    /// Executes a market deal for `leg` (symbol, side, volume) at the current quote.
    fn market_order(
        &mut self,
        a: AccountIdx,
        leg: (SymbolIdx, Side, Volume),
        stops: Stops,
        tags: Tags,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let (s, side, volume) = leg;
        let reducing = self
            .netting_slot(a, s)
            .and_then(|slot| self.positions.get(slot))
            .is_some_and(|p| p.side != side && volume <= p.volume);
        let q = self.tradable(s, (!reducing).then_some(side))?;
        self.check_volume(s, volume)?;
        self.check_stops(s, side, q.close_price(side), &stops)?;
        self.check_margin(a, leg)?;
        let order_id = self.next_ticket();
        let price = q.open_price(side);
        let fill = Fill {
            account: a,
            symbol: s,
            side,
            volume,
            price,
            stops,
            tags: &tags,
            reason: Reason::Client,
            order_id,
        };
        let position_id = self.fill(fill, events);
        let order = FilledMarketOrder {
            account: a,
            symbol: s,
            side,
            volume,
            price,
            order_id,
            position_id,
            reason: Reason::Client,
            tags,
        };
        self.record_market_order(order, events);
        self.check_account(a, events);
        Ok(TradeOutcome::done(Some(order_id), Some(position_id)))
    }

    /// Archives the history order of a market deal that filled.
    pub(crate) fn record_market_order(
        &mut self,
        filled: FilledMarketOrder,
        events: &mut Vec<Event>,
    ) {
        let FilledMarketOrder {
            account,
            symbol,
            side,
            volume,
            price,
            order_id,
            position_id,
            reason,
            tags,
        } = filled;
        let order = Order {
            id: order_id,
            account,
            symbol,
            kind: OrderKind::Market(side),
            state: OrderState::Filled,
            reason,
            volume,
            volume_current: Volume::ZERO,
            open_price: price,
            stop_limit_price: None,
            stop_loss: None,
            take_profit: None,
            trailing_points: None,
            expiration: Expiration::Gtc,
            expires_at: None,
            position_id: Some(position_id),
            close_by_position_id: None,
            time: self.now,
            done_time: Some(self.now),
            tags,
            next_in_account: NIL,
        };
        self.archive_order(order, events);
    }

    pub(crate) fn archive_order(&mut self, order: Order, events: &mut Vec<Event>) {
        events.push(Event::OrderDone {
            account: order.account,
            order_id: order.id,
        });
        let orders = &mut self.histories[order.account.index()].orders;
        super::push_exact(orders, order);
    }

    /// Books an executed deal of `volume` at `price`: opens a position, or on a netting
    /// account adds to, reduces, closes or reverses the symbol's position. Returns the
    /// position id.
    pub(crate) fn fill(&mut self, fill: Fill<'_>, events: &mut Vec<Event>) -> u64 {
        match self.netting_slot(fill.account, fill.symbol) {
            Some(slot) => self.net_into(slot, fill, events),
            None => self.open_position(fill, events),
        }
    }

    /// Opens a position under the order's ticket. Returns the position id.
    fn open_position(&mut self, fill: Fill<'_>, events: &mut Vec<Event>) -> u64 {
        let Fill {
            account: a,
            symbol: s,
            side,
            volume,
            price,
            stops,
            tags,
            reason,
            order_id,
        } = fill;
        let commission = self.commission(s, volume);
        let p = Position {
            id: order_id,
            account: a,
            symbol: s,
            side,
            reason,
            volume,
            open_price: price,
            stop_loss: stops.stop_loss,
            take_profit: stops.take_profit,
            trailing_points: stops.trailing_points,
            open_time: self.now,
            update_time: self.now,
            swap: Money::ZERO,
            commission,
            realized_profit: Money::ZERO,
            tags: tags.clone(),
            next_in_account: NIL,
            symbol_slot: 0,
            currency_slot: 0,
        };
        self.insert_position(p);
        let deal = TradeDeal {
            account: a,
            symbol: s,
            side,
            entry: DealEntry::In,
            volume,
            price,
            profit: Money::ZERO,
            commission,
            swap: Money::ZERO,
            order_id,
            position_id: order_id,
            reason,
            tags,
        };
        self.book_trade_deal(deal, events);
        events.push(Event::PositionUpdated {
            account: a,
            position_id: order_id,
        });
        order_id
    }

    /// Puts back an open position loaded from storage or built by a benchmark: no deal is
    /// booked and no margin is checked. Returns the position id (a fresh ticket when `id` is
    /// `None`). The account is revalued at current quotes; its margin levels are enforced at
    /// its next trade, balance operation or quote.
    pub fn restore_position(&mut self, restored: RestoredPosition) -> u64 {
        let RestoredPosition {
            account: a,
            symbol: s,
            side,
            volume,
            open_price,
            open_time,
            id,
        } = restored;
        let id = id.unwrap_or_else(|| self.next_ticket());
        self.next_ticket = self.next_ticket.max(id + 1);
        let p = Position {
            id,
            account: a,
            symbol: s,
            side,
            reason: Reason::Client,
            volume,
            open_price,
            stop_loss: None,
            take_profit: None,
            trailing_points: None,
            open_time,
            update_time: open_time,
            swap: Money::ZERO,
            commission: Money::ZERO,
            realized_profit: Money::ZERO,
            tags: Tags::default(),
            next_in_account: NIL,
            symbol_slot: 0,
            currency_slot: 0,
        };
        self.insert_position(p);
        id
    }

    /// Links a position into the slab, its account's list, the symbol index and triggers,
    /// and revalues its account (so its leg holds what the valuation holds).
    pub(crate) fn insert_position(&mut self, mut p: Position) -> u32 {
        let a = p.account;
        p.next_in_account = self.accounts[a.index()].first_position;
        p.currency_slot = self.values[a.index()].currency_slot;
        let legs = self.legs_index(p.currency_slot, p.symbol);
        p.symbol_slot = u32::try_from(self.by_symbol[legs].len()).expect("fewer than 2^32 legs");
        let id = p.id;
        self.index_position_stops(&p);
        let slot = self.positions.insert(p);
        self.accounts[a.index()].first_position = slot;
        super::legs::push_leg(&mut self.by_symbol[legs], super::legs::Leg::new(a));
        let slab = &self.positions;
        self.position_slots
            .insert(id, slot, |s| super::position_id(slab, s));
        self.recompute(a);
        slot
    }

    /// Books a fill into the netting position in `slot`: adds to, reduces, closes or reverses
    /// it. Returns the position id.
    fn net_into(&mut self, slot: u32, fill: Fill<'_>, events: &mut Vec<Event>) -> u64 {
        let Fill {
            side,
            volume,
            price,
            stops,
            tags,
            reason,
            order_id,
            ..
        } = fill;
        let p = self
            .positions
            .get(slot)
            .expect("netting slot is live")
            .clone();
        if p.side == side {
            let total = p.volume + volume;
            let avg = (i128::from(p.open_price.0) * i128::from(p.volume.0)
                + i128::from(price.0) * i128::from(volume.0))
                / i128::from(total.0);
            let commission = self.commission(p.symbol, volume);
            let deal = TradeDeal {
                account: p.account,
                symbol: p.symbol,
                side,
                entry: DealEntry::In,
                volume,
                price,
                profit: Money::ZERO,
                commission,
                swap: Money::ZERO,
                order_id,
                position_id: p.id,
                reason,
                tags,
            };
            self.book_trade_deal(deal, events);
            self.unindex_position_stops(&p);
            let pos = self.positions.get_mut(slot).expect("live");
            pos.volume = total;
            pos.open_price = Price(avg as i64);
            pos.commission += commission;
            pos.update_time = self.now;
            if stops.stop_loss.is_some() || stops.take_profit.is_some() {
                pos.stop_loss = stops.stop_loss;
                pos.take_profit = stops.take_profit;
            }
            let updated = pos.clone();
            self.index_position_stops(&updated);
            events.push(Event::PositionUpdated {
                account: p.account,
                position_id: p.id,
            });
        } else if volume <= p.volume {
            let close = CloseDeal {
                volume,
                price,
                entry: DealEntry::Out,
                order_id,
                reason,
                charges_commission: true,
                tags,
            };
            self.close_part(slot, close, events);
        } else {
            self.reverse(slot, fill, events);
        }
        p.id
    }

    /// A netting deal larger than the opposite position: one `DEAL_ENTRY_INOUT` deal closes the
    /// position and opens the remainder the other way under the same position id.
    fn reverse(&mut self, slot: u32, fill: Fill<'_>, events: &mut Vec<Event>) {
        let Fill {
            volume,
            price,
            tags,
            reason,
            order_id,
            ..
        } = fill;
        let p = self.positions.get(slot).expect("live").clone();
        let profit = self.deal_profit(&p, p.volume, price);
        let commission = self.commission(p.symbol, volume);
        let side = p.side.opposite();
        let deal = TradeDeal {
            account: p.account,
            symbol: p.symbol,
            side,
            entry: DealEntry::InOut,
            volume,
            price,
            profit,
            commission,
            swap: p.swap,
            order_id,
            position_id: p.id,
            reason,
            tags,
        };
        self.book_trade_deal(deal, events);
        self.unindex_position_stops(&p);
        let pos = self.positions.get_mut(slot).expect("live");
        pos.side = side;
        pos.volume = volume - p.volume;
        pos.open_price = price;
        pos.swap = Money::ZERO;
        pos.commission = commission;
        pos.realized_profit = Money::ZERO;
        pos.stop_loss = None;
        pos.take_profit = None;
        pos.trailing_points = None;
        pos.update_time = self.now;
        events.push(Event::PositionUpdated {
            account: p.account,
            position_id: p.id,
        });
    }

    /// Profit of closing `volume` of a position at `price`, in the account currency.
    pub(crate) fn deal_profit(&self, p: &Position, volume: Volume, price: Price) -> Money {
        let spec = &self.specs[p.symbol.index()];
        let raw = calc::raw_profit(spec.contract_size, p.side, volume, p.open_price, price);
        let cur = self.accounts[p.account.index()].currency;
        let (kg, kl) = self
            .conv
            .profit_factors(spec, cur, &self.quotes)
            .unwrap_or((1.0, 1.0));
        calc::to_money(raw, kg, kl)
    }

    /// Closes `volume` of the position in `slot` at `price` with one deal; removes the
    /// position when nothing is left. Returns the deal id.
    pub(crate) fn close_part(
        &mut self,
        slot: u32,
        close: CloseDeal<'_>,
        events: &mut Vec<Event>,
    ) -> u64 {
        let CloseDeal {
            volume,
            price,
            entry,
            order_id,
            reason,
            charges_commission,
            tags,
        } = close;
        let p = self
            .positions
            .get(slot)
            .expect("closing a live position")
            .clone();
        debug_assert!(
            volume.0 > 0 && volume <= p.volume,
            "invariant: close volume within the position"
        );
        let profit = self.deal_profit(&p, volume, price);
        let full = volume == p.volume;
        let swap = if full {
            p.swap
        } else {
            Money((i128::from(p.swap.0) * i128::from(volume.0) / i128::from(p.volume.0)) as i64)
        };
        let commission = if charges_commission {
            self.commission(p.symbol, volume)
        } else {
            Money::ZERO
        };
        let closing = TradeDeal {
            account: p.account,
            symbol: p.symbol,
            side: p.side.opposite(),
            entry,
            volume,
            price,
            profit,
            commission,
            swap,
            order_id,
            position_id: p.id,
            reason,
            tags,
        };
        let deal = self.book_trade_deal(closing, events);
        if full {
            self.remove_position(slot);
            events.push(Event::PositionClosed {
                account: p.account,
                position_id: p.id,
            });
        } else {
            let pos = self.positions.get_mut(slot).expect("live");
            pos.volume -= volume;
            pos.swap -= swap;
            pos.commission += commission;
            pos.realized_profit += profit;
            pos.update_time = self.now;
            events.push(Event::PositionUpdated {
                account: p.account,
                position_id: p.id,
            });
        }
        deal
    }

    pub(crate) fn remove_position(&mut self, slot: u32) -> Position {
        let id = self
            .positions
            .get(slot)
            .expect("removing a live position")
            .id;
        let slab = &self.positions;
        self.position_slots
            .remove(id, |s| super::position_id(slab, s));
        let p = self
            .positions
            .remove(slot)
            .expect("removing a live position");
        self.unindex_position_stops(&p);
        // Unlink from the account's list.
        let head = &mut self.accounts[p.account.index()].first_position;
        if *head == slot {
            *head = p.next_in_account;
        } else {
            let mut cur = *head;
            while cur != NIL {
                let node = self.positions.get_mut(cur).expect("list nodes are live");
                if node.next_in_account == slot {
                    node.next_in_account = p.next_in_account;
                    break;
                }
                cur = node.next_in_account;
            }
        }
        // O(1) removal from the symbol index: move the last leg into the hole, and point its
        // position (found in its account's list) at its new place.
        let legs = self.legs_index(p.currency_slot, p.symbol);
        let list = &mut self.by_symbol[legs];
        let (hole, last) = (p.symbol_slot as usize, list.len() - 1);
        debug_assert_eq!(
            list[hole].account, p.account,
            "invariant: symbol index back-pointer"
        );
        list.swap_remove(hole);
        if let Some(moved) = list.get(hole).map(|l| l.account) {
            let (s, c) = (p.symbol, p.currency_slot);
            let at = self.position_slots_of(moved).find(|&k| {
                self.positions.get(k).is_some_and(|q| {
                    q.symbol == s && q.currency_slot == c && q.symbol_slot as usize == last
                })
            });
            let at = at.expect("invariant: every leg has its position");
            self.positions.get_mut(at).expect("live").symbol_slot = hole as u32;
        }
        self.recompute(p.account);
        p
    }

    /// Books a deal of a trade (not a balance operation). Returns the deal id.
    fn book_trade_deal(&mut self, deal: TradeDeal<'_>, events: &mut Vec<Event>) -> u64 {
        let kind = match deal.side {
            Side::Buy => DealKind::Buy,
            Side::Sell => DealKind::Sell,
        };
        let deal = Deal {
            id: 0,
            account: deal.account,
            kind,
            entry: Some(deal.entry),
            symbol: Some(deal.symbol),
            volume: deal.volume,
            price: deal.price,
            profit: deal.profit,
            commission: deal.commission,
            swap: deal.swap,
            order_id: Some(deal.order_id),
            position_id: Some(deal.position_id),
            reason: deal.reason,
            time: self.now,
            tags: deal.tags.clone(),
        };
        self.book_deal(deal, events)
    }

    fn owned_position(&self, a: AccountIdx, id: u64) -> Result<u32, Retcode> {
        let slot = self.position_slot(id).ok_or(Retcode::PositionNotFound)?;
        match self.positions.get(slot) {
            Some(p) if p.account == a => Ok(slot),
            _ => Err(Retcode::PositionNotFound),
        }
    }

    fn modify_position(
        &mut self,
        a: AccountIdx,
        id: u64,
        stops: Stops,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let slot = self.owned_position(a, id)?;
        let p = self.positions.get(slot).expect("live").clone();
        let q = self.tradable(p.symbol, None)?;
        if p.stop_loss == stops.stop_loss
            && p.take_profit == stops.take_profit
            && p.trailing_points == stops.trailing_points
        {
            return Err(Retcode::NoChanges);
        }
        self.check_stops(p.symbol, p.side, q.close_price(p.side), &stops)?;
        self.unindex_position_stops(&p);
        let pos = self.positions.get_mut(slot).expect("live");
        pos.stop_loss = stops.stop_loss;
        pos.take_profit = stops.take_profit;
        pos.trailing_points = stops.trailing_points;
        pos.update_time = self.now;
        let updated = pos.clone();
        self.index_position_stops(&updated);
        events.push(Event::PositionUpdated {
            account: a,
            position_id: id,
        });
        Ok(TradeOutcome::done(None, Some(id)))
    }

    fn close_position(
        &mut self,
        a: AccountIdx,
        id: u64,
        volume: Option<Volume>,
        tags: Tags,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let slot = self.owned_position(a, id)?;
        let p = self.positions.get(slot).expect("live").clone();
        let q = self.tradable(p.symbol, None)?;
        let volume = volume.unwrap_or(p.volume);
        if volume > p.volume {
            return Err(Retcode::InvalidCloseVolume);
        }
        if volume < p.volume {
            // A partial close must leave a tradable remainder.
            self.check_volume(p.symbol, volume)?;
            self.check_volume(p.symbol, p.volume - volume)?;
        }
        let order_id = self.next_ticket();
        let price = q.close_price(p.side);
        let tags = if tags == Tags::default() {
            p.tags.clone()
        } else {
            tags
        };
        let close = CloseDeal {
            volume,
            price,
            entry: DealEntry::Out,
            order_id,
            reason: Reason::Client,
            charges_commission: true,
            tags: &tags,
        };
        self.close_part(slot, close, events);
        let order = FilledMarketOrder {
            account: a,
            symbol: p.symbol,
            side: p.side.opposite(),
            volume,
            price,
            order_id,
            position_id: p.id,
            reason: Reason::Client,
            tags,
        };
        self.record_market_order(order, events);
        self.check_account(a, events);
        Ok(TradeOutcome::done(Some(order_id), Some(id)))
    }

    fn close_by(
        &mut self,
        a: AccountIdx,
        id: u64,
        by: u64,
        tags: Tags,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let slot = self.owned_position(a, id)?;
        let by_slot = self.owned_position(a, by)?;
        let p = self.positions.get(slot).expect("live").clone();
        let b = self.positions.get(by_slot).expect("live").clone();
        if id == by
            || p.symbol != b.symbol
            || p.side == b.side
            || self.accounts[a.index()].margin_mode != MarginMode::Hedging
        {
            return Err(Retcode::InvalidOrder);
        }
        self.tradable(p.symbol, None)?;
        let volume = p.volume.min(b.volume);
        let order_id = self.next_ticket();
        // Both sides close at the opposite position's open price: the pair's net result is
        // realized with no spread paid and no commission.
        let price = b.open_price;
        let close = CloseDeal {
            volume,
            price,
            entry: DealEntry::OutBy,
            order_id,
            reason: Reason::Client,
            charges_commission: false,
            tags: &tags,
        };
        self.close_part(slot, close, events);
        self.close_part(by_slot, close, events);
        let order = Order {
            id: order_id,
            account: a,
            symbol: p.symbol,
            kind: OrderKind::CloseBy,
            state: OrderState::Filled,
            reason: Reason::Client,
            volume,
            volume_current: Volume::ZERO,
            open_price: price,
            stop_limit_price: None,
            stop_loss: None,
            take_profit: None,
            trailing_points: None,
            expiration: Expiration::Gtc,
            expires_at: None,
            position_id: Some(id),
            close_by_position_id: Some(by),
            time: self.now,
            done_time: Some(self.now),
            tags,
            next_in_account: NIL,
        };
        self.archive_order(order, events);
        self.check_account(a, events);
        Ok(TradeOutcome::done(Some(order_id), Some(id)))
    }

    fn close_symbol(
        &mut self,
        a: AccountIdx,
        s: SymbolIdx,
        tags: Tags,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let ids: Vec<u64> = self
            .positions_of(a)
            .filter(|p| p.symbol == s)
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            return Err(Retcode::PositionNotFound);
        }
        self.tradable(s, None)?;
        let mut last = TradeOutcome::done(None, None);
        for id in ids {
            last = self.close_position(a, id, None, tags.clone(), events)?;
        }
        Ok(last)
    }
}

/// A pending order request after parsing.
#[derive(Clone, Debug)]
pub(crate) struct PendingRequest {
    pub(crate) symbol: SymbolIdx,
    pub(crate) kind: PendingKind,
    pub(crate) volume: Volume,
    pub(crate) price: Price,
    pub(crate) stop_limit_price: Option<Price>,
    pub(crate) stops: Stops,
    pub(crate) expiration: Expiration,
    pub(crate) tags: Tags,
}

/// An executed deal to book into positions: `volume` of `symbol` bought or sold at `price`
/// under order `order_id`, with the order's stops and tags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill<'a> {
    pub(crate) account: AccountIdx,
    pub(crate) symbol: SymbolIdx,
    pub(crate) side: Side,
    pub(crate) volume: Volume,
    pub(crate) price: Price,
    pub(crate) stops: Stops,
    pub(crate) tags: &'a Tags,
    pub(crate) reason: Reason,
    pub(crate) order_id: u64,
}

/// The history order of a market deal that filled (a market order, a close, an SL or TP).
#[derive(Clone, Debug)]
pub(crate) struct FilledMarketOrder {
    pub(crate) account: AccountIdx,
    pub(crate) symbol: SymbolIdx,
    pub(crate) side: Side,
    pub(crate) volume: Volume,
    pub(crate) price: Price,
    pub(crate) order_id: u64,
    pub(crate) position_id: u64,
    pub(crate) reason: Reason,
    pub(crate) tags: Tags,
}

/// A deal closing `volume` of a position at `price` (`entry` out or out-by), charged the
/// symbol's commission or not.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CloseDeal<'a> {
    pub(crate) volume: Volume,
    pub(crate) price: Price,
    pub(crate) entry: DealEntry,
    pub(crate) order_id: u64,
    pub(crate) reason: Reason,
    pub(crate) charges_commission: bool,
    pub(crate) tags: &'a Tags,
}

/// A deal of a trade, as it goes into the account's history.
#[derive(Clone, Copy, Debug)]
struct TradeDeal<'a> {
    account: AccountIdx,
    symbol: SymbolIdx,
    side: Side,
    entry: DealEntry,
    volume: Volume,
    price: Price,
    profit: Money,
    commission: Money,
    swap: Money,
    order_id: u64,
    position_id: u64,
    reason: Reason,
    tags: &'a Tags,
}
