//! Orders (`MetatraderOrder`): pending orders and, with `doneTime`, history orders.

use crate::time::Timestamp;
use crate::wire::account::Platform;
use crate::wire::ids;
use crate::wire::trade::TrailingStopLoss;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// MT5 `ENUM_ORDER_TYPE`.
    OrderType {
        Buy = "ORDER_TYPE_BUY",
        Sell = "ORDER_TYPE_SELL",
        BuyLimit = "ORDER_TYPE_BUY_LIMIT",
        SellLimit = "ORDER_TYPE_SELL_LIMIT",
        BuyStop = "ORDER_TYPE_BUY_STOP",
        SellStop = "ORDER_TYPE_SELL_STOP",
        BuyStopLimit = "ORDER_TYPE_BUY_STOP_LIMIT",
        SellStopLimit = "ORDER_TYPE_SELL_STOP_LIMIT",
        CloseBy = "ORDER_TYPE_CLOSE_BY",
    }
}

impl OrderType {
    /// Buys (fills at the ask): market buy and the three buy pending types.
    pub fn is_buy(self) -> bool {
        matches!(
            self,
            Self::Buy | Self::BuyLimit | Self::BuyStop | Self::BuyStopLimit
        )
    }
}

wire_enum! {
    /// MT5 `ENUM_ORDER_STATE`.
    OrderState {
        Started = "ORDER_STATE_STARTED",
        Placed = "ORDER_STATE_PLACED",
        Canceled = "ORDER_STATE_CANCELED",
        Partial = "ORDER_STATE_PARTIAL",
        Filled = "ORDER_STATE_FILLED",
        Rejected = "ORDER_STATE_REJECTED",
        Expired = "ORDER_STATE_EXPIRED",
        RequestAdd = "ORDER_STATE_REQUEST_ADD",
        RequestModify = "ORDER_STATE_REQUEST_MODIFY",
        RequestCancel = "ORDER_STATE_REQUEST_CANCEL",
    }
}

wire_enum! {
    /// MT5 `ENUM_ORDER_REASON`: who or what placed the order.
    OrderReason {
        Client = "ORDER_REASON_CLIENT",
        Mobile = "ORDER_REASON_MOBILE",
        Web = "ORDER_REASON_WEB",
        Expert = "ORDER_REASON_EXPERT",
        /// Placed by a stop loss.
        Sl = "ORDER_REASON_SL",
        /// Placed by a take profit.
        Tp = "ORDER_REASON_TP",
        /// Placed by a stop out.
        So = "ORDER_REASON_SO",
        Unknown = "ORDER_REASON_UNKNOWN",
    }
}

wire_enum! {
    /// MT5 `ENUM_ORDER_TYPE_FILLING`, as orders carry it and trade requests list it.
    FillingMode {
        /// Fill or kill.
        Fok = "ORDER_FILLING_FOK",
        /// Immediate or cancel.
        Ioc = "ORDER_FILLING_IOC",
        /// Keep the remainder.
        Return = "ORDER_FILLING_RETURN",
    }
}

wire_enum! {
    /// MT5 `ENUM_ORDER_TYPE_TIME`.
    ExpirationType {
        /// Good till cancelled.
        Gtc = "ORDER_TIME_GTC",
        /// Good till the end of the trading day.
        Day = "ORDER_TIME_DAY",
        /// Good till `expirationTime`.
        Specified = "ORDER_TIME_SPECIFIED",
        /// Good till the end of the day of `expirationTime`.
        SpecifiedDay = "ORDER_TIME_SPECIFIED_DAY",
    }
}

/// An order. Open (pending) orders carry `currentPrice`; history orders carry `doneTime` and
/// `doneBrokerTime` instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(deserialize_with = "ids::id")]
    #[schemars(with = "String")]
    pub id: String,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub state: OrderState,
    pub magic: i64,
    /// Placement time.
    pub time: Timestamp,
    pub broker_time: String,
    /// Execution or cancellation time; history orders only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub done_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub done_broker_time: Option<String>,
    pub symbol: String,
    /// Market price for market orders, limit price for limit orders, stop price for stops.
    pub open_price: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_limit_price: Option<f64>,
    /// Pending orders only: the price that would trigger it (ask for buys, bid for sells).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub current_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub take_profit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trailing_stop_loss: Option<TrailingStopLoss>,
    /// Requested volume.
    pub volume: f64,
    /// Volume not yet filled.
    pub current_volume: f64,
    /// The position the order opened, changed or closed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub position_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub broker_comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    pub platform: Platform,
    pub reason: OrderReason,
    pub filling_mode: FillingMode,
    pub expiration_type: ExpirationType,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiration_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_currency_exchange_rate: Option<f64>,
    /// The opposite position of an `ORDER_TYPE_CLOSE_BY` order.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "ids::opt_id"
    )]
    #[schemars(with = "Option<String>")]
    pub close_by_position_id: Option<String>,
}

/// The reply of the `getHistoryOrdersBy*` requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryOrders {
    pub history_orders: Vec<Order>,
    /// True while the initial history synchronization is running (results may be partial).
    pub synchronizing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{check_enum, round_trip};

    const PENDING: &str = r#"{
        "id": "46871284",
        "type": "ORDER_TYPE_BUY_STOP_LIMIT",
        "state": "ORDER_STATE_PLACED",
        "magic": 123456,
        "time": "2020-04-20T08:38:58.270Z",
        "brokerTime": "2020-04-20 11:38:58.270",
        "symbol": "AUDNZD",
        "openPrice": 1.03,
        "stopLimitPrice": 1.025,
        "currentPrice": 1.05308,
        "stopLoss": 1.0,
        "takeProfit": 1.1,
        "trailingStopLoss": {"distance": {"distance": 50, "units": "RELATIVE_POINTS"}},
        "volume": 0.01,
        "currentVolume": 0.01,
        "comment": "COMMENT2",
        "brokerComment": "COMMENT2",
        "clientId": "TE_AUDNZD_7hyINWqAlE",
        "platform": "mt5",
        "reason": "ORDER_REASON_EXPERT",
        "fillingMode": "ORDER_FILLING_RETURN",
        "expirationType": "ORDER_TIME_SPECIFIED",
        "expirationTime": "2020-04-21T08:38:58.000Z",
        "accountCurrencyExchangeRate": 1
    }"#;

    const HISTORY: &str = r#"{
        "historyOrders": [{
            "id": "46214692",
            "type": "ORDER_TYPE_BUY",
            "state": "ORDER_STATE_FILLED",
            "magic": 1000,
            "time": "2020-04-15T02:45:06.260Z",
            "brokerTime": "2020-04-15 05:45:06.260",
            "doneTime": "2020-04-15T02:45:06.521Z",
            "doneBrokerTime": "2020-04-15 05:45:06.521",
            "symbol": "AUDNZD",
            "openPrice": 1.03636,
            "volume": 0.01,
            "currentVolume": 0,
            "positionId": "46214692",
            "platform": "mt5",
            "reason": "ORDER_REASON_EXPERT",
            "fillingMode": "ORDER_FILLING_FOK",
            "expirationType": "ORDER_TIME_GTC"
        }, {
            "id": "46214700",
            "type": "ORDER_TYPE_CLOSE_BY",
            "state": "ORDER_STATE_FILLED",
            "magic": 0,
            "time": "2020-04-16T02:45:06.260Z",
            "brokerTime": "2020-04-16 05:45:06.260",
            "doneTime": "2020-04-16T02:45:06.300Z",
            "doneBrokerTime": "2020-04-16 05:45:06.300",
            "symbol": "AUDNZD",
            "openPrice": 0,
            "volume": 0.01,
            "currentVolume": 0,
            "positionId": "46214692",
            "closeByPositionId": "46214695",
            "platform": "mt5",
            "reason": "ORDER_REASON_CLIENT",
            "fillingMode": "ORDER_FILLING_IOC",
            "expirationType": "ORDER_TIME_GTC"
        }],
        "synchronizing": false
    }"#;

    #[test]
    fn pending_order_round_trips() {
        let o: Order = round_trip(PENDING);
        assert_eq!(
            (o.order_type, o.state),
            (OrderType::BuyStopLimit, OrderState::Placed)
        );
        assert_eq!(o.expiration_type, ExpirationType::Specified);
        assert!(o.done_time.is_none());
    }

    #[test]
    fn history_orders_round_trip() {
        let h: HistoryOrders = round_trip(HISTORY);
        assert_eq!(h.history_orders.len(), 2);
        assert_eq!(
            h.history_orders[0].done_broker_time.as_deref(),
            Some("2020-04-15 05:45:06.521")
        );
        assert_eq!(
            h.history_orders[1].close_by_position_id.as_deref(),
            Some("46214695")
        );
    }

    #[test]
    fn numeric_ids_become_strings() {
        let mut v: serde_json::Value = serde_json::from_str(PENDING).unwrap();
        v["id"] = serde_json::json!(46871284);
        let o: Order = serde_json::from_value(v).unwrap();
        assert_eq!(serde_json::to_value(&o).unwrap()["id"], "46871284");
    }

    #[test]
    fn enums_spell_as_metaapi() {
        check_enum(OrderType::ALL, OrderType::as_str);
        check_enum(OrderState::ALL, OrderState::as_str);
        check_enum(OrderReason::ALL, OrderReason::as_str);
        check_enum(FillingMode::ALL, FillingMode::as_str);
        check_enum(ExpirationType::ALL, ExpirationType::as_str);
        let buys: Vec<_> = OrderType::ALL.iter().filter(|t| t.is_buy()).collect();
        assert!(
            buys.iter()
                .all(|t| t.as_str().starts_with("ORDER_TYPE_BUY"))
        );
        assert_eq!(buys.len(), 4);
    }
}
