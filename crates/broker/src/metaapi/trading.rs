//! Positions, orders and deals as MetaApi shapes.

use super::{money, tick_values, usd_rate};
use crate::account::AccountIdx;
use crate::engine::Engine;
use crate::engine::records::{
    Deal, DealEntry, DealKind, Expiration, Order, OrderKind, OrderState, PendingKind, Position,
    Reason, Side,
};
use drawbridge_model::wire as w;
use drawbridge_model::{Money, Timestamp};

/// An open position.
///
/// Money is split as MetaApi documents it and as the SDK recomputes it on each price
/// (`profit = unrealizedProfit + realizedProfit`):
/// - `unrealizedProfit`: the open part at the current close price, without swap or commission;
/// - `realizedSwap` / `realizedCommission`: charged by the deals that closed parts of the
///   position (partial closes, close-by); `unrealizedSwap` is the swap accrued on the open
///   part, `unrealizedCommission` the commission of the deals that opened it;
/// - `realizedProfit`: the closed parts' profit plus their swap and commission.
///
/// So a fresh position's opening commission is in `commission` but not in `profit`, as on
/// MetaApi. `currentTickValue` values one tick of one lot in the account currency, at the
/// gain or loss rate according to the position's current sign (as the SDK picks
/// `profitTickValue` / `lossTickValue`). `reason` is `POSITION_REASON_EXPERT` for expert
/// trades and `POSITION_REASON_CLIENT` otherwise (stops never open positions).
pub fn position(engine: &Engine, p: &Position) -> w::Position {
    position_with(engine, p, realized_charges(engine, p))
}

/// [`position`] for each of `positions` (one account's), reading the account's deals once for
/// all of them rather than once each.
pub fn positions(engine: &Engine, positions: &[Position]) -> Vec<w::Position> {
    let charges = realized_charges_of(engine, positions);
    positions
        .iter()
        .map(|p| {
            let c = charges
                .get(&p.id)
                .map_or((Money::ZERO, Money::ZERO), |c| (c.0, c.1));
            position_with(engine, p, c)
        })
        .collect()
}

/// A position with its realized swap and commission (of its partial closes) already summed.
fn position_with(
    engine: &Engine,
    p: &Position,
    (realized_swap, realized_commission): (Money, Money),
) -> w::Position {
    let spec = engine.spec(p.symbol);
    let zone = engine.config().zone;
    let q = engine.quote(p.symbol);
    let current = if q.is_live() {
        q.close_price(p.side)
    } else {
        p.open_price
    };
    let in_profit = match p.side {
        Side::Buy => current > p.open_price,
        Side::Sell => current < p.open_price,
    };
    let currency = engine.account(p.account).map(|acc| acc.currency);
    let (gain, loss) = tick_values(engine, spec, currency);
    let unrealized = engine.position_profit(p);
    let realized = p.realized_profit + realized_swap + realized_commission;
    w::Position {
        id: p.id.to_string(),
        position_type: match p.side {
            Side::Buy => w::PositionType::Buy,
            Side::Sell => w::PositionType::Sell,
        },
        symbol: spec.name.clone(),
        magic: p.tags.magic,
        time: p.open_time,
        broker_time: zone.broker_time(p.open_time),
        update_time: p.update_time,
        open_price: p.open_price.to_f64(),
        current_price: current.to_f64(),
        current_tick_value: if in_profit { gain } else { loss },
        stop_loss: p.stop_loss.map(|x| x.to_f64()),
        take_profit: p.take_profit.map(|x| x.to_f64()),
        trailing_stop_loss: p.trailing_points.map(trailing),
        volume: p.volume.to_f64(),
        profit: money(unrealized + realized),
        realized_profit: money(realized),
        unrealized_profit: money(unrealized),
        swap: money(p.swap + realized_swap),
        realized_swap: money(realized_swap),
        unrealized_swap: money(p.swap),
        commission: money(p.commission),
        realized_commission: money(realized_commission),
        unrealized_commission: money(p.commission - realized_commission),
        comment: p.tags.comment.as_deref().map(str::to_owned),
        client_id: p.tags.client_id.as_deref().map(str::to_owned),
        reason: match p.reason {
            Reason::Expert => w::PositionReason::Expert,
            Reason::Client | Reason::Sl | Reason::Tp | Reason::StopOut | Reason::Rollover => {
                w::PositionReason::Client
            }
        },
        account_currency_exchange_rate: exchange_rate(engine, p.account, true),
        broker_comment: p.tags.comment.as_deref().map(str::to_owned),
    }
}

/// A pending order (state `ORDER_STATE_PLACED`) or a history order (any final state, with
/// `doneTime`).
///
/// A pending order's `currentPrice` is the quote its trigger watches: the ask for buy types,
/// the bid for sell types. `fillingMode` is `ORDER_FILLING_FOK` for market and close-by orders
/// (the engine fills them whole or not at all) and `ORDER_FILLING_RETURN` for pending ones.
/// `expirationTime` is the instant the client gave for `ORDER_TIME_SPECIFIED` and
/// `ORDER_TIME_SPECIFIED_DAY`; `ORDER_TIME_DAY` and `ORDER_TIME_GTC` carry none.
pub fn order(engine: &Engine, o: &Order) -> w::Order {
    let spec = engine.spec(o.symbol);
    let zone = engine.config().zone;
    let order_type = order_type(o.kind);
    let pending = o.state == OrderState::Placed;
    let q = engine.quote(o.symbol);
    let watched = if order_type.is_buy() { q.ask } else { q.bid };
    let (expiration_type, expiration_time) = expiration(o.expiration);
    w::Order {
        id: o.id.to_string(),
        order_type,
        state: match o.state {
            OrderState::Placed => w::OrderState::Placed,
            OrderState::Filled => w::OrderState::Filled,
            OrderState::Canceled => w::OrderState::Canceled,
            OrderState::Expired => w::OrderState::Expired,
            OrderState::Rejected => w::OrderState::Rejected,
        },
        magic: o.tags.magic,
        time: o.time,
        broker_time: zone.broker_time(o.time),
        done_time: o.done_time,
        done_broker_time: o.done_time.map(|t| zone.broker_time(t)),
        symbol: spec.name.clone(),
        open_price: o.open_price.to_f64(),
        stop_limit_price: o.stop_limit_price.map(|x| x.to_f64()),
        current_price: (pending && q.is_live()).then(|| watched.to_f64()),
        stop_loss: o.stop_loss.map(|x| x.to_f64()),
        take_profit: o.take_profit.map(|x| x.to_f64()),
        trailing_stop_loss: o.trailing_points.map(trailing),
        volume: o.volume.to_f64(),
        current_volume: o.volume_current.to_f64(),
        position_id: o.position_id.map(|id| id.to_string()),
        comment: o.tags.comment.as_deref().map(str::to_owned),
        broker_comment: o.tags.comment.as_deref().map(str::to_owned),
        client_id: o.tags.client_id.as_deref().map(str::to_owned),
        platform: w::Platform::Mt5,
        reason: match o.reason {
            Reason::Client => w::OrderReason::Client,
            Reason::Expert => w::OrderReason::Expert,
            Reason::Sl => w::OrderReason::Sl,
            Reason::Tp => w::OrderReason::Tp,
            Reason::StopOut => w::OrderReason::So,
            // MT5 has no rollover order reason; the engine places no such orders.
            Reason::Rollover => w::OrderReason::Unknown,
        },
        filling_mode: match o.kind {
            OrderKind::Market(_) | OrderKind::CloseBy => w::FillingMode::Fok,
            OrderKind::Pending(_) => w::FillingMode::Return,
        },
        expiration_type,
        expiration_time,
        account_currency_exchange_rate: exchange_rate(engine, o.account, pending),
        close_by_position_id: o.close_by_position_id.map(|id| id.to_string()),
    }
}

/// A deal. Trade fills carry symbol, magic, volume, price and entry; balance and credit
/// operations carry none of them (as MetaApi's balance deals), only the amount in `profit`
/// with zero `commission` and `swap`, and reason `DEAL_REASON_CLIENT`. `stopLoss` /
/// `takeProfit` are left out: deals do not keep the levels in force when they were made.
pub fn deal(engine: &Engine, d: &Deal) -> w::Deal {
    let zone = engine.config().zone;
    let fill = d.symbol.is_some();
    w::Deal {
        id: d.id.to_string(),
        deal_type: match d.kind {
            DealKind::Buy => w::DealType::Buy,
            DealKind::Sell => w::DealType::Sell,
            DealKind::Balance => w::DealType::Balance,
            DealKind::Credit => w::DealType::Credit,
        },
        entry_type: d.entry.map(|e| match e {
            DealEntry::In => w::DealEntryType::In,
            DealEntry::Out => w::DealEntryType::Out,
            DealEntry::InOut => w::DealEntryType::InOut,
            DealEntry::OutBy => w::DealEntryType::OutBy,
        }),
        symbol: d.symbol.map(|s| engine.spec(s).name.clone()),
        magic: fill.then_some(d.tags.magic),
        time: d.time,
        broker_time: zone.broker_time(d.time),
        volume: fill.then(|| d.volume.to_f64()),
        price: fill.then(|| d.price.to_f64()),
        commission: Some(money(d.commission)),
        swap: Some(money(d.swap)),
        profit: money(d.profit),
        position_id: d.position_id.map(|id| id.to_string()),
        order_id: d.order_id.map(|id| id.to_string()),
        comment: d.tags.comment.as_deref().map(str::to_owned),
        broker_comment: d.tags.comment.as_deref().map(str::to_owned),
        client_id: d.tags.client_id.as_deref().map(str::to_owned),
        platform: w::Platform::Mt5,
        reason: Some(match d.reason {
            Reason::Client => w::DealReason::Client,
            Reason::Expert => w::DealReason::Expert,
            Reason::Sl => w::DealReason::Sl,
            Reason::Tp => w::DealReason::Tp,
            Reason::StopOut => w::DealReason::So,
            Reason::Rollover => w::DealReason::Rollover,
        }),
        account_currency_exchange_rate: exchange_rate(engine, d.account, false),
        stop_loss: None,
        take_profit: None,
    }
}

fn order_type(kind: OrderKind) -> w::OrderType {
    match kind {
        OrderKind::Market(Side::Buy) => w::OrderType::Buy,
        OrderKind::Market(Side::Sell) => w::OrderType::Sell,
        OrderKind::Pending(PendingKind::BuyLimit) => w::OrderType::BuyLimit,
        OrderKind::Pending(PendingKind::SellLimit) => w::OrderType::SellLimit,
        OrderKind::Pending(PendingKind::BuyStop) => w::OrderType::BuyStop,
        OrderKind::Pending(PendingKind::SellStop) => w::OrderType::SellStop,
        OrderKind::Pending(PendingKind::BuyStopLimit) => w::OrderType::BuyStopLimit,
        OrderKind::Pending(PendingKind::SellStopLimit) => w::OrderType::SellStopLimit,
        OrderKind::CloseBy => w::OrderType::CloseBy,
    }
}

fn expiration(e: Expiration) -> (w::ExpirationType, Option<Timestamp>) {
    match e {
        Expiration::Gtc => (w::ExpirationType::Gtc, None),
        Expiration::Day => (w::ExpirationType::Day, None),
        Expiration::Specified(t) => (w::ExpirationType::Specified, Some(t)),
        Expiration::SpecifiedDay(t) => (w::ExpirationType::SpecifiedDay, Some(t)),
    }
}

/// A trailing stop kept `points` from the price.
fn trailing(points: u32) -> w::TrailingStopLoss {
    w::TrailingStopLoss {
        distance: Some(w::DistanceTrailingStopLoss {
            distance: Some(f64::from(points)),
            units: Some(w::PriceUnits::RelativePoints),
        }),
        threshold: None,
    }
}

/// `accountCurrencyExchangeRate`: the current rate for live records (positions, pending
/// orders). History does not keep the rate of its time, so history records carry only the
/// trivial 1 of a USD account.
fn exchange_rate(engine: &Engine, a: AccountIdx, live: bool) -> Option<f64> {
    let currency = engine.account(a)?.currency;
    if live {
        usd_rate(engine, currency)
    } else {
        (currency == crate::symbol::Currency::USD).then_some(1.0)
    }
}

/// Swap and commission charged by the deals that closed parts of an open position: its
/// `DEAL_ENTRY_OUT` / `DEAL_ENTRY_OUT_BY` deals since it opened or last reversed. History is
/// in time order, so the scan stops at the position's open time.
/// [`realized_charges`] of several positions of one account, in one pass back over its
/// deals to the oldest one's opening: position id → (swap, commission, reversed).
fn realized_charges_of(
    engine: &Engine,
    positions: &[Position],
) -> std::collections::HashMap<u64, (Money, Money, bool)> {
    let mut out: std::collections::HashMap<u64, (Money, Money, bool)> = positions
        .iter()
        .map(|p| (p.id, (Money::ZERO, Money::ZERO, false)))
        .collect();
    let (Some(first), Some(oldest)) = (
        positions.first(),
        positions.iter().map(|p| p.open_time).min(),
    ) else {
        return out;
    };
    let Some(history) = engine.history(first.account) else {
        return out;
    };
    let opened: std::collections::HashMap<u64, drawbridge_model::Timestamp> =
        positions.iter().map(|p| (p.id, p.open_time)).collect();
    for d in history.deals.iter().rev().take_while(|d| d.time >= oldest) {
        let Some(id) = d.position_id else { continue };
        let (Some(c), Some(open)) = (out.get_mut(&id), opened.get(&id)) else {
            continue;
        };
        if c.2 || d.time < *open {
            continue;
        }
        match d.entry {
            Some(DealEntry::Out | DealEntry::OutBy) => {
                c.0 += d.swap;
                c.1 += d.commission;
            }
            // A reversal (netting) starts the position afresh.
            Some(DealEntry::InOut) => c.2 = true,
            Some(DealEntry::In) | None => {}
        }
    }
    out
}

fn realized_charges(engine: &Engine, p: &Position) -> (Money, Money) {
    let (mut swap, mut commission) = (Money::ZERO, Money::ZERO);
    let Some(history) = engine.history(p.account) else {
        return (swap, commission);
    };
    let since_open = history
        .deals
        .iter()
        .rev()
        .take_while(|d| d.time >= p.open_time);
    for d in since_open.filter(|d| d.position_id == Some(p.id)) {
        match d.entry {
            Some(DealEntry::Out | DealEntry::OutBy) => {
                swap += d.swap;
                commission += d.commission;
            }
            // A reversal (netting) starts the position afresh.
            Some(DealEntry::InOut) => break,
            Some(DealEntry::In) | None => {}
        }
    }
    (swap, commission)
}
