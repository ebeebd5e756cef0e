//! A MetaApi trade request (`actionType` + fields) as an engine [`TradeCommand`].
//!
//! Everything that is wrong with the request itself — a missing or malformed field, an unknown
//! symbol, a volume off the symbol's grid, units the symbol has no meaning for — is reported
//! here, field by field, so the server answers `ValidationError` with details. What depends
//! on the market and the account (no money, market closed, stops too close) is the engine's
//! to decide and comes back as a trade retcode.
//!
//! Relative units are resolved against the current quote (`CURRENT_PRICE`: the price the
//! position would close at for stops, the price it would open at for pending orders) or, for
//! modifications, against the position's or order's open price (`OPEN_PRICE`). Money-based
//! units (`RELATIVE_CURRENCY`, `RELATIVE_BALANCE_PERCENTAGE`) and threshold trailing stops are
//! not supported yet and are refused with a clear message.

use crate::engine::command::Stops;
use crate::engine::records::{Expiration, OrderKind, PendingKind, Side, Tags};
use crate::engine::{Engine, TradeCommand};
use crate::symbol::{SymbolIdx, SymbolSpec};
use drawbridge_model::wire::order::ExpirationType;
use drawbridge_model::wire::trade::{ActionType, PriceBase, PriceUnits, TradeRequest};
use drawbridge_model::{Price, Volume};

/// One problem with one field of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The camelCase field name, as the client sent it.
    pub field: &'static str,
    pub reason: String,
}

fn problem(field: &'static str, reason: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        reason: reason.into(),
    }
}

/// Longest comment MT5 keeps.
const COMMENT_CHARS_MAX: usize = 31;

/// Translates `req` for `engine`; every problem found is reported, not only the first.
pub fn trade_command(
    engine: &Engine,
    req: &TradeRequest,
) -> Result<TradeCommand, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let tags = tags(req, &mut problems);
    let cmd = match req.action_type {
        ActionType::Buy | ActionType::Sell => market(engine, req, tags, &mut problems),
        a if a.is_pending() => pending(engine, req, tags, &mut problems),
        ActionType::PositionModify => modify_position(engine, req, &mut problems),
        ActionType::PositionPartial | ActionType::PositionCloseId => {
            close(engine, req, tags, &mut problems)
        }
        ActionType::PositionCloseBy => {
            let position_id = id(req.position_id.as_deref(), "positionId", &mut problems);
            let by = id(
                req.close_by_position_id.as_deref(),
                "closeByPositionId",
                &mut problems,
            );
            position_id
                .zip(by)
                .map(|(position_id, by_position_id)| TradeCommand::CloseBy {
                    position_id,
                    by_position_id,
                    tags,
                })
        }
        ActionType::PositionsCloseSymbol => symbol(engine, req, &mut problems)
            .map(|symbol| TradeCommand::CloseSymbol { symbol, tags }),
        ActionType::OrderModify => modify_order(engine, req, &mut problems),
        ActionType::OrderCancel => id(req.order_id.as_deref(), "orderId", &mut problems)
            .map(|order_id| TradeCommand::CancelOrder { order_id }),
        _ => None,
    };
    match cmd {
        Some(cmd) if problems.is_empty() => Ok(cmd),
        _ => {
            if problems.is_empty() {
                problems.push(problem("actionType", "is not supported"));
            }
            Err(problems)
        }
    }
}

fn tags(req: &TradeRequest, problems: &mut Vec<FieldProblem>) -> Tags {
    let comment = req.comment.as_deref().filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > COMMENT_CHARS_MAX) {
        problems.push(problem(
            "comment",
            format!("must be at most {COMMENT_CHARS_MAX} characters"),
        ));
    }
    Tags {
        comment: comment.map(Into::into),
        client_id: req
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(Into::into),
        magic: req.magic.unwrap_or(0),
    }
}

fn id(raw: Option<&str>, field: &'static str, problems: &mut Vec<FieldProblem>) -> Option<u64> {
    let Some(raw) = raw else {
        problems.push(problem(field, "is required"));
        return None;
    };
    match raw.parse::<u64>() {
        Ok(v) => Some(v),
        Err(_) => {
            problems.push(problem(field, "must be a ticket number"));
            None
        }
    }
}

fn symbol(
    engine: &Engine,
    req: &TradeRequest,
    problems: &mut Vec<FieldProblem>,
) -> Option<SymbolIdx> {
    let Some(name) = req.symbol.as_deref() else {
        problems.push(problem("symbol", "is required"));
        return None;
    };
    let s = engine.symbol(name);
    if s.is_none() {
        problems.push(problem("symbol", format!("unknown symbol {name}")));
    }
    s
}

fn volume(spec: &SymbolSpec, raw: Option<f64>, problems: &mut Vec<FieldProblem>) -> Option<Volume> {
    let Some(raw) = raw else {
        problems.push(problem("volume", "is required"));
        return None;
    };
    let Some(v) = Volume::from_f64(raw).filter(|v| v.0 > 0) else {
        problems.push(problem("volume", "must be a positive number"));
        return None;
    };
    if v < spec.volume_min || v > spec.volume_max || !v.is_multiple_of(spec.volume_step) {
        problems.push(problem(
            "volume",
            format!(
                "must be between {} and {} lots in steps of {}",
                spec.volume_min.to_f64(),
                spec.volume_max.to_f64(),
                spec.volume_step.to_f64()
            ),
        ));
        return None;
    }
    Some(v)
}

/// A price field resolved to an absolute price. `reference` is what relative units measure
/// from; `direction` is +1 when a positive relative value moves the price up.
struct PriceField<'a> {
    field: &'static str,
    value: Option<f64>,
    units: Option<PriceUnits>,
    spec: &'a SymbolSpec,
    reference: Price,
    direction: i64,
}

impl PriceField<'_> {
    fn resolve(&self, problems: &mut Vec<FieldProblem>) -> Option<Price> {
        let v = self.value?;
        if !v.is_finite() {
            problems.push(problem(self.field, "must be a number"));
            return None;
        }
        let point = self.spec.point;
        // Relative values arrive from the network: out-of-range ones must not overflow.
        let shifted = |delta: i128| -> Option<Price> {
            let raw = i128::from(self.reference.0) + i128::from(self.direction) * delta;
            i64::try_from(raw).ok().map(Price)
        };
        let offset = |step: Price| -> Option<Price> {
            let points = (v * step.to_f64() / point.to_f64()).round();
            if points.abs() > 1e15 {
                return None;
            }
            shifted(points as i128 * i128::from(point.0))
        };
        let price = match self.units.unwrap_or(PriceUnits::AbsolutePrice) {
            PriceUnits::AbsolutePrice => Price::from_f64(v),
            PriceUnits::RelativePrice => {
                Price::from_f64(v).and_then(|d| shifted(i128::from(d.round_to(point).0)))
            }
            PriceUnits::RelativePoints => offset(point),
            PriceUnits::RelativePips => match pip(self.spec) {
                Some(pip) => offset(pip),
                None => {
                    problems.push(problem(
                        self.field,
                        "pips are defined for forex symbols only",
                    ));
                    return None;
                }
            },
            PriceUnits::RelativeCurrency | PriceUnits::RelativeBalancePercentage => {
                problems.push(problem(
                    self.field,
                    "money-based units are not supported; use ABSOLUTE_PRICE, RELATIVE_PRICE, \
                     RELATIVE_POINTS or RELATIVE_PIPS",
                ));
                return None;
            }
        };
        match price {
            Some(p) if p.0 > 0 => Some(p.round_to(self.spec.tick_size)),
            _ => {
                problems.push(problem(self.field, "must give a positive price"));
                None
            }
        }
    }
}

/// Ten points on 3- and 5-digit forex quotes, one point on others; none outside forex.
fn pip(spec: &SymbolSpec) -> Option<Price> {
    use crate::symbol::AssetClass;
    let forex = matches!(spec.class, AssetClass::ForexMajor | AssetClass::ForexCross);
    forex.then(|| {
        if spec.digits % 2 == 1 {
            Price(spec.point.0 * 10)
        } else {
            spec.point
        }
    })
}

/// SL and TP (and the trailing distance) of a position or order on the `side` given.
fn stops(
    spec: &SymbolSpec,
    req: &TradeRequest,
    side: Side,
    reference: Price,
    problems: &mut Vec<FieldProblem>,
) -> Stops {
    // A buy's stop loss lies below, its take profit above; positive relative values move
    // away from the reference in the protective direction.
    let (sl_dir, tp_dir) = match side {
        Side::Buy => (-1, 1),
        Side::Sell => (1, -1),
    };
    let field = |field, value, units, direction| PriceField {
        field,
        value,
        units,
        spec,
        reference,
        direction,
    };
    let stop_loss = field("stopLoss", req.stop_loss, req.stop_loss_units, sl_dir).resolve(problems);
    let take_profit =
        field("takeProfit", req.take_profit, req.take_profit_units, tp_dir).resolve(problems);
    Stops {
        stop_loss,
        take_profit,
        trailing_points: trailing(spec, req, problems),
    }
}

fn trailing(
    spec: &SymbolSpec,
    req: &TradeRequest,
    problems: &mut Vec<FieldProblem>,
) -> Option<u32> {
    let t = req.trailing_stop_loss.as_ref()?;
    if t.threshold.is_some() {
        problems.push(problem(
            "trailingStopLoss",
            "threshold trailing stops are not supported; use distance",
        ));
        return None;
    }
    let d = t.distance.as_ref()?;
    let Some(distance) = d.distance.filter(|d| d.is_finite() && *d > 0.0) else {
        problems.push(problem(
            "trailingStopLoss",
            "distance must be a positive number",
        ));
        return None;
    };
    let point = spec.point.to_f64();
    let points = match d.units.unwrap_or(PriceUnits::RelativePrice) {
        PriceUnits::RelativePrice => distance / point,
        PriceUnits::RelativePoints => distance,
        PriceUnits::RelativePips => match pip(spec) {
            Some(pip) => distance * pip.to_f64() / point,
            None => {
                problems.push(problem(
                    "trailingStopLoss",
                    "pips are defined for forex symbols only",
                ));
                return None;
            }
        },
        _ => {
            problems.push(problem(
                "trailingStopLoss",
                "distance units must be RELATIVE_PRICE, RELATIVE_POINTS or RELATIVE_PIPS",
            ));
            return None;
        }
    };
    let points = points.round();
    if !(1.0..=f64::from(u32::MAX)).contains(&points) {
        problems.push(problem("trailingStopLoss", "distance is out of range"));
        return None;
    }
    Some(points as u32)
}

fn market(
    engine: &Engine,
    req: &TradeRequest,
    tags: Tags,
    problems: &mut Vec<FieldProblem>,
) -> Option<TradeCommand> {
    let s = symbol(engine, req, problems)?;
    let spec = engine.spec(s);
    let side = if req.action_type == ActionType::Buy {
        Side::Buy
    } else {
        Side::Sell
    };
    let volume = volume(spec, req.volume, problems);
    let q = engine.quote(s);
    let stops = stops(spec, req, side, q.close_price(side), problems);
    Some(TradeCommand::Market {
        symbol: s,
        side,
        volume: volume?,
        stops,
        tags,
    })
}

fn pending_kind(a: ActionType) -> Option<PendingKind> {
    Some(match a {
        ActionType::BuyLimit => PendingKind::BuyLimit,
        ActionType::SellLimit => PendingKind::SellLimit,
        ActionType::BuyStop => PendingKind::BuyStop,
        ActionType::SellStop => PendingKind::SellStop,
        ActionType::BuyStopLimit => PendingKind::BuyStopLimit,
        ActionType::SellStopLimit => PendingKind::SellStopLimit,
        _ => return None,
    })
}

fn expiration(req: &TradeRequest, problems: &mut Vec<FieldProblem>) -> Expiration {
    let Some(e) = &req.expiration else {
        return Expiration::Gtc;
    };
    let need_time = |problems: &mut Vec<FieldProblem>| {
        if e.time.is_none() {
            problems.push(problem(
                "expiration",
                "time is required for this expiration type",
            ));
        }
        e.time.unwrap_or_default()
    };
    match e.expiration_type {
        ExpirationType::Gtc => Expiration::Gtc,
        ExpirationType::Day => Expiration::Day,
        ExpirationType::Specified => Expiration::Specified(need_time(problems)),
        ExpirationType::SpecifiedDay => Expiration::SpecifiedDay(need_time(problems)),
    }
}

fn pending(
    engine: &Engine,
    req: &TradeRequest,
    tags: Tags,
    problems: &mut Vec<FieldProblem>,
) -> Option<TradeCommand> {
    let kind = pending_kind(req.action_type)?;
    let s = symbol(engine, req, problems)?;
    let spec = engine.spec(s);
    let side = kind.side();
    let volume = volume(spec, req.volume, problems);
    let q = engine.quote(s);
    if req.open_price.is_none() {
        problems.push(problem("openPrice", "is required"));
    }
    let price = PriceField {
        field: "openPrice",
        value: req.open_price,
        units: req.open_price_units,
        spec,
        reference: q.open_price(side),
        direction: 1,
    }
    .resolve(problems);
    let stop_limit_price = PriceField {
        field: "stopLimitPrice",
        value: req.stop_limit_price,
        units: req.stop_limit_price_units,
        spec,
        reference: price.unwrap_or(q.open_price(side)),
        direction: 1,
    }
    .resolve(problems);
    let is_stop_limit = matches!(kind, PendingKind::BuyStopLimit | PendingKind::SellStopLimit);
    if is_stop_limit && stop_limit_price.is_none() && req.stop_limit_price.is_none() {
        problems.push(problem(
            "stopLimitPrice",
            "is required for stop-limit orders",
        ));
    }
    let reference = stop_limit_price.or(price).unwrap_or(q.open_price(side));
    let stops = stops(spec, req, side, reference, problems);
    Some(TradeCommand::Pending {
        symbol: s,
        kind,
        volume: volume?,
        price: price?,
        stop_limit_price: if is_stop_limit {
            stop_limit_price
        } else {
            None
        },
        stops,
        expiration: expiration(req, problems),
        tags,
    })
}

fn uses_open_price(base: Option<PriceBase>) -> bool {
    matches!(base, Some(PriceBase::OpenPrice))
}

fn modify_position(
    engine: &Engine,
    req: &TradeRequest,
    problems: &mut Vec<FieldProblem>,
) -> Option<TradeCommand> {
    let position_id = id(req.position_id.as_deref(), "positionId", problems)?;
    // An unknown position is the engine's POSITION_NOT_FOUND, not a malformed request.
    let Some(p) = engine.position(position_id) else {
        return Some(TradeCommand::ModifyPosition {
            position_id,
            stops: Stops::default(),
        });
    };
    let spec = engine.spec(p.symbol);
    let reference = if uses_open_price(req.stop_price_base) {
        p.open_price
    } else {
        engine.quote(p.symbol).close_price(p.side)
    };
    let stops = stops(spec, req, p.side, reference, problems);
    Some(TradeCommand::ModifyPosition { position_id, stops })
}

fn close(
    engine: &Engine,
    req: &TradeRequest,
    tags: Tags,
    problems: &mut Vec<FieldProblem>,
) -> Option<TradeCommand> {
    let position_id = id(req.position_id.as_deref(), "positionId", problems)?;
    let volume = if req.action_type == ActionType::PositionPartial {
        match engine.position(position_id) {
            Some(p) => Some(volume(engine.spec(p.symbol), req.volume, problems)?),
            None => Volume::from_f64(req.volume.unwrap_or(0.0)),
        }
    } else {
        None
    };
    Some(TradeCommand::ClosePosition {
        position_id,
        volume,
        tags,
    })
}

fn modify_order(
    engine: &Engine,
    req: &TradeRequest,
    problems: &mut Vec<FieldProblem>,
) -> Option<TradeCommand> {
    let order_id = id(req.order_id.as_deref(), "orderId", problems)?;
    // An unknown order is the engine's ORDER_NOT_FOUND, not a malformed request.
    let Some(o) = engine.order(order_id) else {
        return Some(TradeCommand::ModifyOrder {
            order_id,
            price: Price(0),
            stop_limit_price: None,
            stops: Stops::default(),
            expiration: Expiration::Gtc,
        });
    };
    let spec = engine.spec(o.symbol);
    let side = match o.kind {
        OrderKind::Market(side) => side,
        OrderKind::Pending(kind) => kind.side(),
        OrderKind::CloseBy => Side::Buy,
    };
    let price = match req.open_price {
        None => Some(o.open_price),
        Some(_) => PriceField {
            field: "openPrice",
            value: req.open_price,
            units: req.open_price_units,
            spec,
            reference: o.open_price,
            direction: 1,
        }
        .resolve(problems),
    };
    let stop_limit_price = match req.stop_limit_price {
        None => o.stop_limit_price,
        Some(_) => PriceField {
            field: "stopLimitPrice",
            value: req.stop_limit_price,
            units: req.stop_limit_price_units,
            spec,
            reference: o.stop_limit_price.unwrap_or(o.open_price),
            direction: 1,
        }
        .resolve(problems),
    };
    let reference = stop_limit_price.or(price).unwrap_or(o.open_price);
    let stops = stops(spec, req, side, reference, problems);
    let expiration = if req.expiration.is_some() {
        expiration(req, problems)
    } else {
        o.expiration
    };
    Some(TradeCommand::ModifyOrder {
        order_id,
        price: price?,
        stop_limit_price,
        stops,
        expiration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::default_catalog;
    use crate::engine::ServerConfig;
    use drawbridge_model::{ServerZone, Timestamp};

    fn engine() -> Engine {
        let cfg = ServerConfig {
            name: "T".into(),
            zone: ServerZone::parse("EET").unwrap(),
            margin_mode: crate::account::MarginMode::Hedging,
            margin_call_pct: 100,
            stop_out_pct: 50,
            first_login: 1,
        };
        Engine::new(cfg, default_catalog(), Timestamp::from_millis(0))
    }

    fn req(json: &str) -> TradeRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn huge_relative_values_are_problems_not_overflows() {
        let e = engine();
        for units in ["RELATIVE_POINTS", "RELATIVE_PIPS", "RELATIVE_PRICE"] {
            for v in ["1e16", "-1e16", "9e18", "1e300"] {
                let r = req(&format!(
                    r#"{{"actionType":"ORDER_TYPE_BUY","symbol":"EURUSD","volume":1,
                        "stopLoss":{v},"stopLossUnits":"{units}"}}"#
                ));
                let problems = trade_command(&e, &r).unwrap_err();
                assert_eq!(problems[0].field, "stopLoss", "{units} {v}");
            }
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let e = engine();
        let r = req(r#"{"actionType":"ORDER_TYPE_BUY_LIMIT","symbol":"EURUSD","volume":0.015}"#);
        let fields: Vec<_> = trade_command(&e, &r)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["volume", "openPrice"]);
        let r = req(r#"{"actionType":"ORDER_TYPE_SELL","symbol":"NOPE","volume":1}"#);
        assert_eq!(trade_command(&e, &r).unwrap_err()[0].field, "symbol");
        let r = req(r#"{"actionType":"POSITION_CLOSE_ID","positionId":"x"}"#);
        assert_eq!(trade_command(&e, &r).unwrap_err()[0].field, "positionId");
    }
}
