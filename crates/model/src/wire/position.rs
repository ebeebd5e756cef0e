//! Open positions (`MetatraderPosition`).

use crate::time::Timestamp;
use crate::wire::ids;
use crate::wire::trade::TrailingStopLoss;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// MT5 `ENUM_POSITION_TYPE`.
    PositionType {
        Buy = "POSITION_TYPE_BUY",
        Sell = "POSITION_TYPE_SELL",
    }
}

wire_enum! {
    /// MT5 `ENUM_POSITION_REASON`: where the opening order came from.
    PositionReason {
        Client = "POSITION_REASON_CLIENT",
        Expert = "POSITION_REASON_EXPERT",
        Mobile = "POSITION_REASON_MOBILE",
        Web = "POSITION_REASON_WEB",
        Unknown = "POSITION_REASON_UNKNOWN",
    }
}

/// An open position. Money fields are in the account currency; `profit` is
/// `unrealizedProfit + realizedProfit`, `swap` and `commission` likewise split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// Ticket, a string of digits.
    #[serde(deserialize_with = "ids::id")]
    #[schemars(with = "String")]
    pub id: String,
    #[serde(rename = "type")]
    pub position_type: PositionType,
    pub symbol: String,
    pub magic: i64,
    /// Opening time.
    pub time: Timestamp,
    pub broker_time: String,
    /// Last modification time.
    pub update_time: Timestamp,
    pub open_price: f64,
    /// Bid for buys, ask for sells.
    pub current_price: f64,
    pub current_tick_value: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub take_profit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trailing_stop_loss: Option<TrailingStopLoss>,
    pub volume: f64,
    /// Unrealized profit of the open part plus realized profit (with swap and commission) of
    /// closed parts.
    pub profit: f64,
    pub realized_profit: f64,
    /// Open part only, excluding swap and commission.
    pub unrealized_profit: f64,
    pub swap: f64,
    pub realized_swap: f64,
    pub unrealized_swap: f64,
    pub commission: f64,
    pub realized_commission: f64,
    pub unrealized_commission: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    pub reason: PositionReason,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_currency_exchange_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub broker_comment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{check_enum, round_trip};

    const FULL: &str = r#"{
        "id": "46648037",
        "type": "POSITION_TYPE_BUY",
        "symbol": "AUDNZD",
        "magic": 1000,
        "time": "2020-04-17T04:30:03.223Z",
        "brokerTime": "2020-04-17 07:30:03.223",
        "updateTime": "2020-04-20T08:54:42.119Z",
        "openPrice": 1.05782,
        "currentPrice": 1.05307,
        "currentTickValue": 0.5994,
        "stopLoss": 0.99876,
        "takeProfit": 1.1,
        "trailingStopLoss": {
            "threshold": {"thresholds": [{"threshold": 1.06, "stopLoss": 1.059}]}
        },
        "volume": 0.1,
        "profit": -29.47,
        "realizedProfit": -0.5,
        "unrealizedProfit": -28.47,
        "swap": -0.5,
        "realizedSwap": 0,
        "unrealizedSwap": -0.5,
        "commission": -0.5,
        "realizedCommission": -0.25,
        "unrealizedCommission": -0.25,
        "comment": "COMMENT",
        "clientId": "AS_AUDNZD_46648037",
        "reason": "POSITION_REASON_EXPERT",
        "accountCurrencyExchangeRate": 1,
        "brokerComment": "COMMENT"
    }"#;

    #[test]
    fn position_round_trips() {
        let p: Position = round_trip(FULL);
        assert_eq!(p.position_type, PositionType::Buy);
        assert_eq!(p.reason, PositionReason::Expert);
        assert_eq!(p.time.to_iso(), "2020-04-17T04:30:03.223Z");
        assert_eq!(p.broker_time, "2020-04-17 07:30:03.223");
    }

    #[test]
    fn optional_fields_are_omitted() {
        let mut v: serde_json::Value = serde_json::from_str(FULL).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in [
            "stopLoss",
            "takeProfit",
            "trailingStopLoss",
            "comment",
            "clientId",
            "accountCurrencyExchangeRate",
            "brokerComment",
        ] {
            obj.remove(k);
        }
        let p: Position = round_trip(&v.to_string());
        assert_eq!((p.stop_loss, p.comment), (None, None));
    }

    #[test]
    fn enums_spell_as_metaapi() {
        check_enum(PositionType::ALL, PositionType::as_str);
        check_enum(PositionReason::ALL, PositionReason::as_str);
    }
}
