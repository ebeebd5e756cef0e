//! Pending orders: placement, modification, cancellation, expiry and triggered fills.

use super::command::{Stops, TradeOutcome};
use super::execute::{Fill, PendingRequest};
use super::records::{
    Expiration, Order, OrderKind, OrderState, PendingKind, Position, Reason, Side,
};
use super::retcode::Retcode;
use super::trigger::{Target, When};
use super::{Engine, Event};
use crate::account::{AccountIdx, NIL};
use drawbridge_model::{Price, Timestamp, Volume};

/// Which quote and direction triggers a pending order at its price.
fn order_trigger(kind: PendingKind) -> When {
    match kind {
        PendingKind::BuyLimit => When::AskAtOrBelow,
        PendingKind::BuyStop | PendingKind::BuyStopLimit => When::AskAtOrAbove,
        PendingKind::SellLimit => When::BidAtOrAbove,
        PendingKind::SellStop | PendingKind::SellStopLimit => When::BidAtOrBelow,
    }
}

/// The triggers of a position's SL and TP.
fn stop_triggers(side: Side) -> (When, When) {
    match side {
        Side::Buy => (When::BidAtOrBelow, When::BidAtOrAbove),
        Side::Sell => (When::AskAtOrAbove, When::AskAtOrBelow),
    }
}

impl Engine {
    pub(crate) fn index_position_stops(&mut self, p: &Position) {
        let (sl_when, tp_when) = stop_triggers(p.side);
        let t = &mut self.triggers[p.symbol.index()];
        if let Some(sl) = p.stop_loss {
            t.insert(sl_when, sl, Target::StopLoss(p.id));
        }
        if let Some(tp) = p.take_profit {
            t.insert(tp_when, tp, Target::TakeProfit(p.id));
        }
        if p.trailing_points.is_some() {
            self.trailing[p.symbol.index()].insert(p.id);
        }
    }

    pub(crate) fn unindex_position_stops(&mut self, p: &Position) {
        let (sl_when, tp_when) = stop_triggers(p.side);
        let t = &mut self.triggers[p.symbol.index()];
        if let Some(sl) = p.stop_loss {
            t.remove(sl_when, sl, Target::StopLoss(p.id));
        }
        if let Some(tp) = p.take_profit {
            t.remove(tp_when, tp, Target::TakeProfit(p.id));
        }
        self.trailing[p.symbol.index()].remove(&p.id);
    }

    fn index_order(&mut self, o: &Order) {
        if let OrderKind::Pending(kind) = o.kind {
            self.triggers[o.symbol.index()].insert(
                order_trigger(kind),
                o.open_price,
                Target::Order(o.id),
            );
        }
        if let Some(at) = o.expires_at {
            self.expirations.insert((at, o.id));
        }
    }

    fn unindex_order(&mut self, o: &Order) {
        if let OrderKind::Pending(kind) = o.kind {
            self.triggers[o.symbol.index()].remove(
                order_trigger(kind),
                o.open_price,
                Target::Order(o.id),
            );
        }
        if let Some(at) = o.expires_at {
            self.expirations.remove(&(at, o.id));
        }
    }

    /// When an order with this expiration expires, or `InvalidExpiration` if already past.
    fn expiry(&self, e: Expiration) -> Result<Option<Timestamp>, Retcode> {
        let z = self.cfg.zone;
        let at = match e {
            Expiration::Gtc => return Ok(None),
            Expiration::Day => z.next_midnight(self.now),
            Expiration::Specified(t) => t,
            Expiration::SpecifiedDay(t) => z.next_midnight(t),
        };
        if at <= self.now {
            Err(Retcode::InvalidExpiration)
        } else {
            Ok(Some(at))
        }
    }

    /// Checks an order price against the market: limits below/above it, stops beyond it, by
    /// at least the stops level; the stop-limit's limit price on the correct side of its stop.
    fn check_order_price(&self, r: &PendingRequest) -> Result<(), Retcode> {
        let spec = &self.specs[r.symbol.index()];
        let q = self.quotes[r.symbol.index()];
        let level = Price::from_points(i64::from(spec.stops_level), spec.point);
        let valid = |p: Price| p.0 > 0 && p.is_multiple_of(spec.tick_size);
        if !valid(r.price) {
            return Err(Retcode::InvalidPrice);
        }
        let ok = match r.kind {
            PendingKind::BuyLimit => r.price <= q.ask - level,
            PendingKind::SellLimit => r.price >= q.bid + level,
            PendingKind::BuyStop | PendingKind::BuyStopLimit => r.price >= q.ask + level,
            PendingKind::SellStop | PendingKind::SellStopLimit => r.price <= q.bid - level,
        };
        if !ok {
            return Err(Retcode::InvalidPrice);
        }
        match (r.kind, r.stop_limit_price) {
            (PendingKind::BuyStopLimit, Some(l)) if valid(l) && l <= r.price => Ok(()),
            (PendingKind::SellStopLimit, Some(l)) if valid(l) && l >= r.price => Ok(()),
            (PendingKind::BuyStopLimit | PendingKind::SellStopLimit, _) => {
                Err(Retcode::InvalidPrice)
            }
            (_, None) => Ok(()),
            (_, Some(_)) => Err(Retcode::InvalidPrice),
        }
    }

    /// The price a pending order's position would open at (the limit of a stop-limit).
    fn entry_price(r: &PendingRequest) -> Price {
        r.stop_limit_price.unwrap_or(r.price)
    }

    pub(crate) fn place_order(
        &mut self,
        a: AccountIdx,
        r: PendingRequest,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let side = r.kind.side();
        self.tradable(r.symbol, Some(side))?;
        self.check_volume(r.symbol, r.volume)?;
        self.check_order_price(&r)?;
        self.check_stops(r.symbol, side, Self::entry_price(&r), &r.stops)?;
        let expires_at = self.expiry(r.expiration)?;
        let id = self.next_ticket();
        let order = Order {
            id,
            account: a,
            symbol: r.symbol,
            kind: OrderKind::Pending(r.kind),
            state: OrderState::Placed,
            reason: Reason::Client,
            volume: r.volume,
            volume_current: r.volume,
            open_price: r.price,
            stop_limit_price: r.stop_limit_price,
            stop_loss: r.stops.stop_loss,
            take_profit: r.stops.take_profit,
            trailing_points: r.stops.trailing_points,
            expiration: r.expiration,
            expires_at,
            position_id: None,
            close_by_position_id: None,
            time: self.now,
            done_time: None,
            tags: r.tags,
            next_in_account: self.accounts[a.index()].first_order,
        };
        self.index_order(&order);
        let slot = self.orders.insert(order);
        self.accounts[a.index()].first_order = slot;
        self.order_slots.insert(id, slot);
        events.push(Event::OrderUpdated {
            account: a,
            order_id: id,
        });
        Ok(TradeOutcome::done(Some(id), None))
    }

    fn owned_order(&self, a: AccountIdx, id: u64) -> Result<u32, Retcode> {
        let slot = *self.order_slots.get(&id).ok_or(Retcode::OrderNotFound)?;
        match self.orders.get(slot) {
            Some(o) if o.account == a => Ok(slot),
            _ => Err(Retcode::OrderNotFound),
        }
    }

    /// ORDER_MODIFY: moves a pending order's prices, stops and expiration.
    pub(crate) fn modify_order(
        &mut self,
        a: AccountIdx,
        id: u64,
        change: OrderChange,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let OrderChange {
            price,
            stop_limit_price,
            stops,
            expiration,
        } = change;
        let slot = self.owned_order(a, id)?;
        let o = self.orders.get(slot).expect("live").clone();
        let OrderKind::Pending(kind) = o.kind else {
            return Err(Retcode::InvalidOrder);
        };
        let r = PendingRequest {
            symbol: o.symbol,
            kind,
            volume: o.volume_current,
            price,
            stop_limit_price,
            stops,
            expiration,
            tags: o.tags.clone(),
        };
        let unchanged = o.open_price == price
            && o.stop_limit_price == stop_limit_price
            && o.stop_loss == stops.stop_loss
            && o.take_profit == stops.take_profit
            && o.trailing_points == stops.trailing_points
            && o.expiration == expiration;
        if unchanged {
            return Err(Retcode::NoChanges);
        }
        self.tradable(o.symbol, Some(kind.side()))?;
        self.check_order_price(&r)?;
        self.check_stops(o.symbol, kind.side(), Self::entry_price(&r), &stops)?;
        let expires_at = self.expiry(expiration)?;
        self.unindex_order(&o);
        let ord = self.orders.get_mut(slot).expect("live");
        ord.open_price = price;
        ord.stop_limit_price = stop_limit_price;
        ord.stop_loss = stops.stop_loss;
        ord.take_profit = stops.take_profit;
        ord.trailing_points = stops.trailing_points;
        ord.expiration = expiration;
        ord.expires_at = expires_at;
        let updated = ord.clone();
        self.index_order(&updated);
        events.push(Event::OrderUpdated {
            account: a,
            order_id: id,
        });
        Ok(TradeOutcome::done(Some(id), None))
    }

    pub(crate) fn cancel_order(
        &mut self,
        a: AccountIdx,
        id: u64,
        events: &mut Vec<Event>,
    ) -> Result<TradeOutcome, Retcode> {
        let slot = self.owned_order(a, id)?;
        self.finish_order(slot, OrderState::Canceled, None, events);
        Ok(TradeOutcome::done(Some(id), None))
    }

    /// Takes an order off the book into history with a final state.
    pub(crate) fn finish_order(
        &mut self,
        slot: u32,
        state: OrderState,
        position_id: Option<u64>,
        events: &mut Vec<Event>,
    ) {
        let mut o = self.orders.remove(slot).expect("finishing a live order");
        self.unindex_order(&o);
        self.order_slots.remove(&o.id);
        let head = &mut self.accounts[o.account.index()].first_order;
        if *head == slot {
            *head = o.next_in_account;
        } else {
            let mut cur = *head;
            while cur != NIL {
                let node = self.orders.get_mut(cur).expect("list nodes are live");
                if node.next_in_account == slot {
                    node.next_in_account = o.next_in_account;
                    break;
                }
                cur = node.next_in_account;
            }
        }
        o.state = state;
        o.done_time = Some(self.now);
        o.position_id = position_id.or(o.position_id);
        if state == OrderState::Filled {
            o.volume_current = Volume::ZERO;
        }
        o.next_in_account = NIL;
        self.archive_order(o, events);
    }

    /// A triggered pending order: a stop-limit becomes a limit order; a limit or stop fills
    /// at the current quote, or is rejected when the account cannot carry its margin.
    pub(crate) fn trigger_order(&mut self, id: u64, events: &mut Vec<Event>) {
        let Some(&slot) = self.order_slots.get(&id) else {
            return;
        };
        let o = self.orders.get(slot).expect("live").clone();
        let OrderKind::Pending(kind) = o.kind else {
            return;
        };
        let limit = match kind {
            PendingKind::BuyStopLimit => Some(PendingKind::BuyLimit),
            PendingKind::SellStopLimit => Some(PendingKind::SellLimit),
            _ => None,
        };
        if let (Some(limit_kind), Some(limit_price)) = (limit, o.stop_limit_price) {
            self.unindex_order(&o);
            let ord = self.orders.get_mut(slot).expect("live");
            ord.kind = OrderKind::Pending(limit_kind);
            ord.open_price = limit_price;
            ord.stop_limit_price = None;
            let updated = ord.clone();
            self.index_order(&updated);
            events.push(Event::OrderUpdated {
                account: o.account,
                order_id: id,
            });
            // The limit may already be marketable on this very quote.
            let q = self.quotes[o.symbol.index()];
            let marketable = match limit_kind {
                PendingKind::BuyLimit => q.ask <= limit_price,
                _ => q.bid >= limit_price,
            };
            if marketable {
                self.triggers[o.symbol.index()].remove(
                    order_trigger(limit_kind),
                    limit_price,
                    super::trigger::Target::Order(id),
                );
                self.fill_order(slot, events);
            }
            return;
        }
        self.fill_order(slot, events);
    }

    fn fill_order(&mut self, slot: u32, events: &mut Vec<Event>) {
        let o = self.orders.get(slot).expect("live").clone();
        let OrderKind::Pending(kind) = o.kind else {
            return;
        };
        let side = kind.side();
        let q = self.quotes[o.symbol.index()];
        let stops = Stops {
            stop_loss: o.stop_loss,
            take_profit: o.take_profit,
            trailing_points: o.trailing_points,
        };
        if self
            .check_margin(o.account, (o.symbol, side, o.volume_current))
            .is_err()
        {
            self.finish_order(slot, OrderState::Rejected, None, events);
            return;
        }
        let fill = Fill {
            account: o.account,
            symbol: o.symbol,
            side,
            volume: o.volume_current,
            price: q.open_price(side),
            stops,
            tags: &o.tags,
            reason: o.reason,
            order_id: o.id,
        };
        let position_id = self.fill(fill, events);
        self.finish_order(slot, OrderState::Filled, Some(position_id), events);
        self.check_account(o.account, events);
    }

    /// Expires every order whose time has come.
    pub(crate) fn expire_orders(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        while let Some(&(at, id)) = self.expirations.first() {
            if at > now {
                break;
            }
            self.expirations.pop_first();
            if let Some(&slot) = self.order_slots.get(&id) {
                self.finish_order(slot, OrderState::Expired, None, events);
            }
        }
    }
}

/// What ORDER_MODIFY sets on a pending order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderChange {
    pub(crate) price: Price,
    pub(crate) stop_limit_price: Option<Price>,
    pub(crate) stops: Stops,
    pub(crate) expiration: Expiration,
}
