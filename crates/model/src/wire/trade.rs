//! Trade commands (`MetatraderTrade`) and their results (`MetatraderTradeResponse`).
//!
//! The SDK builds one flat object per command: `actionType` plus the fields that command uses,
//! with the caller's option dict merged on top (so unknown keys may arrive and are ignored).
//! A stop given as `{value, units}` is flattened to `stopLoss` + `stopLossUnits`. Datetimes
//! (the expiration time) are sent as ISO strings.

use crate::time::Timestamp;
use crate::wire::ids;
use crate::wire::order::{ExpirationType, FillingMode, OrderType};
use crate::wire::retcode::TradeRetcode;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What a trade command does.
    ActionType {
        Buy = "ORDER_TYPE_BUY",
        Sell = "ORDER_TYPE_SELL",
        BuyLimit = "ORDER_TYPE_BUY_LIMIT",
        SellLimit = "ORDER_TYPE_SELL_LIMIT",
        BuyStop = "ORDER_TYPE_BUY_STOP",
        SellStop = "ORDER_TYPE_SELL_STOP",
        BuyStopLimit = "ORDER_TYPE_BUY_STOP_LIMIT",
        SellStopLimit = "ORDER_TYPE_SELL_STOP_LIMIT",
        /// Change a position's stop loss / take profit (and trailing stop loss).
        PositionModify = "POSITION_MODIFY",
        /// Close `volume` lots of a position.
        PositionPartial = "POSITION_PARTIAL",
        /// Close a whole position.
        PositionCloseId = "POSITION_CLOSE_ID",
        /// Close a position by an opposite one (`closeByPositionId`).
        PositionCloseBy = "POSITION_CLOSE_BY",
        /// Close every position on `symbol`.
        PositionsCloseSymbol = "POSITIONS_CLOSE_SYMBOL",
        /// Change a pending order's price, stops or expiration.
        OrderModify = "ORDER_MODIFY",
        OrderCancel = "ORDER_CANCEL",
    }
}

impl ActionType {
    /// The order type this command creates, for the eight order-creating actions.
    pub fn order_type(self) -> Option<OrderType> {
        Some(match self {
            Self::Buy => OrderType::Buy,
            Self::Sell => OrderType::Sell,
            Self::BuyLimit => OrderType::BuyLimit,
            Self::SellLimit => OrderType::SellLimit,
            Self::BuyStop => OrderType::BuyStop,
            Self::SellStop => OrderType::SellStop,
            Self::BuyStopLimit => OrderType::BuyStopLimit,
            Self::SellStopLimit => OrderType::SellStopLimit,
            _ => return None,
        })
    }

    /// A market order (executed at once).
    pub fn is_market(self) -> bool {
        matches!(self, Self::Buy | Self::Sell)
    }

    /// A pending order (limit, stop or stop limit).
    pub fn is_pending(self) -> bool {
        self.order_type().is_some() && !self.is_market()
    }
}

wire_enum! {
    /// How a price-like field (open price, stop loss, take profit, distances) is expressed.
    PriceUnits {
        /// The value is the final price (the default).
        AbsolutePrice = "ABSOLUTE_PRICE",
        RelativePrice = "RELATIVE_PRICE",
        RelativePoints = "RELATIVE_POINTS",
        RelativePips = "RELATIVE_PIPS",
        /// Money in the account currency.
        RelativeCurrency = "RELATIVE_CURRENCY",
        RelativeBalancePercentage = "RELATIVE_BALANCE_PERCENTAGE",
    }
}

wire_enum! {
    /// The price a relative value is measured from (`stopPriceBase`, `openPriceBase`,
    /// `stopLimitPriceBase`; each accepts a subset).
    PriceBase {
        CurrentPrice = "CURRENT_PRICE",
        OpenPrice = "OPEN_PRICE",
        /// The previous stop loss / take profit (modify requests).
        StopPrice = "STOP_PRICE",
        StopLimitPrice = "STOP_LIMIT_PRICE",
    }
}

/// Pending-order expiration as the SDK sends it: `{type, time?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expiration {
    #[serde(rename = "type")]
    pub expiration_type: ExpirationType,
    /// Used with `ORDER_TIME_SPECIFIED` and `ORDER_TIME_SPECIFIED_DAY`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<Timestamp>,
}

/// Trailing stop loss: by distance, by thresholds, or both (the tighter one wins).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrailingStopLoss {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distance: Option<DistanceTrailingStopLoss>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub threshold: Option<ThresholdTrailingStopLoss>,
}

/// Keep the stop loss `distance` away from the current price.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistanceTrailingStopLoss {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distance: Option<f64>,
    /// Default `RELATIVE_PRICE`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub units: Option<PriceUnits>,
}

/// Move the stop loss in steps as the price crosses thresholds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdTrailingStopLoss {
    #[serde(default)]
    pub thresholds: Vec<StopLossThreshold>,
    /// Default `ABSOLUTE_PRICE`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub units: Option<PriceUnits>,
    /// Default `OPEN_PRICE`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_price_base: Option<PriceBase>,
}

/// Once the price reaches `threshold`, the stop loss becomes `stopLoss`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopLossThreshold {
    pub threshold: f64,
    pub stop_loss: f64,
}

/// One trade command, the `trade` of a `trade` request. Which fields apply depends on
/// [`ActionType`]; validation is the engine's job, this is only the shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradeRequest {
    pub action_type: ActionType,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub volume: Option<f64>,
    /// Limit or stop price of a pending order.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub open_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub open_price_units: Option<PriceUnits>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub open_price_base: Option<PriceBase>,
    /// Limit price a stop-limit order places once its stop price is hit.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_limit_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_limit_price_units: Option<PriceUnits>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_limit_price_base: Option<PriceBase>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_loss_units: Option<PriceUnits>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub take_profit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub take_profit_units: Option<PriceUnits>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_price_base: Option<PriceBase>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trailing_stop_loss: Option<TrailingStopLoss>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub position_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub close_by_position_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    /// Expert id; the SDK's option type says `str`, so strings of digits are accepted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_magic"
    )]
    #[schemars(with = "Option<i64>")]
    pub magic: Option<i64>,
    /// Allowed deviation in points for market execution.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slippage: Option<u32>,
    /// Allowed filling modes in order of preference.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub filling_modes: Option<Vec<FillingMode>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiration: Option<Expiration>,
}

impl TradeRequest {
    /// A command with only its action set.
    pub fn new(action_type: ActionType) -> Self {
        Self {
            action_type,
            symbol: None,
            volume: None,
            open_price: None,
            open_price_units: None,
            open_price_base: None,
            stop_limit_price: None,
            stop_limit_price_units: None,
            stop_limit_price_base: None,
            stop_loss: None,
            stop_loss_units: None,
            take_profit: None,
            take_profit_units: None,
            stop_price_base: None,
            trailing_stop_loss: None,
            position_id: None,
            close_by_position_id: None,
            order_id: None,
            comment: None,
            client_id: None,
            magic: None,
            slippage: None,
            filling_modes: None,
            expiration: None,
        }
    }

    /// An order-creating command (`ORDER_TYPE_*`) for `volume` lots of `symbol`.
    pub fn open(action_type: ActionType, symbol: &str, volume: f64) -> Self {
        debug_assert!(
            action_type.order_type().is_some(),
            "open takes an ORDER_TYPE_* action"
        );
        Self {
            symbol: Some(symbol.to_owned()),
            volume: Some(volume),
            ..Self::new(action_type)
        }
    }

    /// `POSITION_CLOSE_ID`.
    pub fn close_position(position_id: &str) -> Self {
        Self {
            position_id: Some(position_id.to_owned()),
            ..Self::new(ActionType::PositionCloseId)
        }
    }

    /// `POSITION_PARTIAL`.
    pub fn close_partially(position_id: &str, volume: f64) -> Self {
        Self {
            position_id: Some(position_id.to_owned()),
            volume: Some(volume),
            ..Self::new(ActionType::PositionPartial)
        }
    }

    /// `POSITION_CLOSE_BY`.
    pub fn close_by(position_id: &str, opposite_position_id: &str) -> Self {
        Self {
            position_id: Some(position_id.to_owned()),
            close_by_position_id: Some(opposite_position_id.to_owned()),
            ..Self::new(ActionType::PositionCloseBy)
        }
    }

    /// `POSITIONS_CLOSE_SYMBOL`.
    pub fn close_symbol(symbol: &str) -> Self {
        Self {
            symbol: Some(symbol.to_owned()),
            ..Self::new(ActionType::PositionsCloseSymbol)
        }
    }

    /// `POSITION_MODIFY`; set `stop_loss` / `take_profit` on the result.
    pub fn modify_position(position_id: &str) -> Self {
        Self {
            position_id: Some(position_id.to_owned()),
            ..Self::new(ActionType::PositionModify)
        }
    }

    /// `ORDER_MODIFY`; the SDK always sends the open price.
    pub fn modify_order(order_id: &str, open_price: f64) -> Self {
        Self {
            order_id: Some(order_id.to_owned()),
            open_price: Some(open_price),
            ..Self::new(ActionType::OrderModify)
        }
    }

    /// `ORDER_CANCEL`.
    pub fn cancel_order(order_id: &str) -> Self {
        Self {
            order_id: Some(order_id.to_owned()),
            ..Self::new(ActionType::OrderCancel)
        }
    }
}

/// The result of a trade command: the `response` of a `trade` request's reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradeResponse {
    pub numeric_code: i32,
    pub string_code: String,
    pub message: String,
    /// The order created or modified.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub order_id: Option<String>,
    /// The position created or modified.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub position_id: Option<String>,
}

impl TradeResponse {
    /// A response carrying `code`'s numeric and string codes and its description.
    pub fn new(code: TradeRetcode) -> Self {
        Self {
            numeric_code: code.numeric(),
            string_code: code.string_code().to_owned(),
            message: code.description().to_owned(),
            order_id: None,
            position_id: None,
        }
    }

    pub fn with_order_id(mut self, order_id: impl Into<String>) -> Self {
        self.order_id = Some(order_id.into());
        self
    }

    pub fn with_position_id(mut self, position_id: impl Into<String>) -> Self {
        self.position_id = Some(position_id.into());
        self
    }

    /// The known return code, if `numericCode` is one.
    pub fn retcode(&self) -> Option<TradeRetcode> {
        TradeRetcode::from_numeric(self.numeric_code)
    }
}

/// The `order` of a `calculateMargin` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarginOrder {
    pub symbol: String,
    /// `ORDER_TYPE_BUY` or `ORDER_TYPE_SELL`.
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub volume: f64,
    pub open_price: f64,
}

/// The `margin` of a `calculateMargin` reply; absent when it cannot be computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Margin {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub margin: Option<f64>,
}

#[cfg(test)]
mod tests;
