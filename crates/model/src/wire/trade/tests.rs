use super::*;
use crate::wire::testing::{check_enum, round_trip};
use serde_json::json;

/// `create_market_buy_order("GBPUSD", 0.07, 0.9, 2.0, options)` with every market option.
const MARKET_BUY: &str = r#"{
    "actionType": "ORDER_TYPE_BUY",
    "symbol": "GBPUSD",
    "volume": 0.07,
    "stopLoss": 0.9,
    "takeProfit": 2.0,
    "comment": "comment",
    "clientId": "TE_GBPUSD_7hyINWqAlE",
    "magic": 123456,
    "slippage": 10,
    "fillingModes": ["ORDER_FILLING_IOC", "ORDER_FILLING_FOK"],
    "stopPriceBase": "CURRENT_PRICE",
    "trailingStopLoss": {
        "distance": {"distance": 200, "units": "RELATIVE_POINTS"},
        "threshold": {
            "thresholds": [{"threshold": 50, "stopLoss": 10}, {"threshold": 100, "stopLoss": 60}],
            "units": "RELATIVE_PIPS",
            "stopPriceBase": "OPEN_PRICE"
        }
    }
}"#;

/// `create_stop_limit_sell_order` with stops given as `{value, units}` and an expiration.
const STOP_LIMIT_SELL: &str = r#"{
    "actionType": "ORDER_TYPE_SELL_STOP_LIMIT",
    "symbol": "EURUSD",
    "volume": 1,
    "openPrice": 1.08,
    "stopLimitPrice": 1.079,
    "stopLoss": 100,
    "stopLossUnits": "RELATIVE_POINTS",
    "takeProfit": 0.5,
    "takeProfitUnits": "RELATIVE_BALANCE_PERCENTAGE",
    "openPriceUnits": "ABSOLUTE_PRICE",
    "openPriceBase": "CURRENT_PRICE",
    "stopLimitPriceUnits": "RELATIVE_PIPS",
    "expiration": {"type": "ORDER_TIME_SPECIFIED", "time": "2026-01-07T10:00:00.000Z"}
}"#;

#[test]
fn market_order_with_every_option_round_trips() {
    let t: TradeRequest = round_trip(MARKET_BUY);
    assert_eq!(t.action_type, ActionType::Buy);
    assert_eq!(
        t.filling_modes,
        Some(vec![FillingMode::Ioc, FillingMode::Fok])
    );
    let tsl = t.trailing_stop_loss.unwrap();
    assert_eq!(
        tsl.distance.unwrap().units,
        Some(PriceUnits::RelativePoints)
    );
    assert_eq!(tsl.threshold.unwrap().thresholds[1].stop_loss, 60.0);
}

#[test]
fn stop_limit_order_with_relative_stops_round_trips() {
    let t: TradeRequest = round_trip(STOP_LIMIT_SELL);
    assert_eq!(t.stop_loss_units, Some(PriceUnits::RelativePoints));
    let exp = t.expiration.unwrap();
    assert_eq!(exp.expiration_type, ExpirationType::Specified);
    assert_eq!(exp.time.unwrap().to_iso(), "2026-01-07T10:00:00.000Z");
}

#[test]
fn every_sdk_command_shape_round_trips() {
    let samples = [
        r#"{"actionType": "ORDER_TYPE_SELL", "symbol": "GBPUSD", "volume": 0.07}"#,
        r#"{"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "GBPUSD", "volume": 0.07,
            "openPrice": 1.0, "stopLoss": 0.9, "takeProfit": 2.0,
            "expiration": {"type": "ORDER_TIME_GTC"}}"#,
        r#"{"actionType": "ORDER_TYPE_SELL_LIMIT", "symbol": "GBPUSD", "volume": 0.07,
            "openPrice": 1.5}"#,
        r#"{"actionType": "ORDER_TYPE_BUY_STOP", "symbol": "GBPUSD", "volume": 0.07,
            "openPrice": 1.5}"#,
        r#"{"actionType": "ORDER_TYPE_SELL_STOP", "symbol": "GBPUSD", "volume": 0.07,
            "openPrice": 1.0}"#,
        r#"{"actionType": "ORDER_TYPE_BUY_STOP_LIMIT", "symbol": "GBPUSD", "volume": 0.07,
            "openPrice": 1.5, "stopLimitPrice": 1.4}"#,
        r#"{"actionType": "POSITION_MODIFY", "positionId": "46870472", "stopLoss": 2.0,
            "takeProfit": 0.9, "stopPriceBase": "STOP_PRICE",
            "trailingStopLoss": {"distance": {"distance": 0.001}}}"#,
        r#"{"actionType": "POSITION_PARTIAL", "positionId": "46870472", "volume": 0.9}"#,
        r#"{"actionType": "POSITION_CLOSE_ID", "positionId": "46870472"}"#,
        r#"{"actionType": "POSITION_CLOSE_BY", "positionId": "46870472",
            "closeByPositionId": "46870482"}"#,
        r#"{"actionType": "POSITIONS_CLOSE_SYMBOL", "symbol": "EURUSD"}"#,
        r#"{"actionType": "ORDER_MODIFY", "orderId": "46870472", "openPrice": 1.0,
            "stopLoss": 2.0, "takeProfit": 0.9, "stopLimitPriceBase": "STOP_LIMIT_PRICE"}"#,
        r#"{"actionType": "ORDER_CANCEL", "orderId": "46870472"}"#,
    ];
    for s in samples {
        round_trip::<TradeRequest>(s);
    }
}

#[test]
fn constructors_build_what_the_sdk_sends() {
    let cases = [
        (
            TradeRequest::open(ActionType::Sell, "GBPUSD", 0.07),
            json!({"actionType": "ORDER_TYPE_SELL", "symbol": "GBPUSD", "volume": 0.07}),
        ),
        (
            TradeRequest::close_position("1"),
            json!({"actionType": "POSITION_CLOSE_ID", "positionId": "1"}),
        ),
        (
            TradeRequest::close_partially("1", 0.5),
            json!({"actionType": "POSITION_PARTIAL", "positionId": "1", "volume": 0.5}),
        ),
        (
            TradeRequest::close_by("1", "2"),
            json!({"actionType": "POSITION_CLOSE_BY", "positionId": "1", "closeByPositionId": "2"}),
        ),
        (
            TradeRequest::close_symbol("EURUSD"),
            json!({"actionType": "POSITIONS_CLOSE_SYMBOL", "symbol": "EURUSD"}),
        ),
        (
            TradeRequest::modify_position("1"),
            json!({"actionType": "POSITION_MODIFY", "positionId": "1"}),
        ),
        (
            TradeRequest::modify_order("3", 1.25),
            json!({"actionType": "ORDER_MODIFY", "orderId": "3", "openPrice": 1.25}),
        ),
        (
            TradeRequest::cancel_order("3"),
            json!({"actionType": "ORDER_CANCEL", "orderId": "3"}),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(serde_json::to_value(&request).unwrap(), expected);
    }
}

#[test]
fn ids_and_magic_are_lenient_and_normalised() {
    let t: TradeRequest = serde_json::from_str(
        r#"{"actionType": "POSITION_CLOSE_BY", "positionId": 46870472,
            "closeByPositionId": 46870482, "magic": "1000", "unknownOption": true}"#,
    )
    .unwrap();
    assert_eq!(t.position_id.as_deref(), Some("46870472"));
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["closeByPositionId"], json!("46870482"));
    assert_eq!(v["magic"], json!(1000));
    assert!(v.get("unknownOption").is_none());
}

#[test]
fn bad_commands_are_rejected() {
    let bad = [
        r#"{"symbol": "EURUSD"}"#,
        r#"{"actionType": "ORDER_TYPE_CLOSE_BY"}"#,
        r#"{"actionType": "ORDER_TYPE_BUY", "volume": "0.1"}"#,
        r#"{"actionType": "ORDER_TYPE_BUY", "stopLossUnits": "RELATIVE_LIGHTYEARS"}"#,
        r#"{"actionType": "ORDER_TYPE_BUY_LIMIT", "expiration": {"type": "ORDER_TIME_GTC",
            "time": "tomorrow"}}"#,
    ];
    for s in bad {
        assert!(serde_json::from_str::<TradeRequest>(s).is_err(), "{s}");
    }
}

#[test]
fn trade_response_round_trips_and_accepts_numeric_ids() {
    let r: TradeResponse = round_trip(
        r#"{"numericCode": 10009, "stringCode": "TRADE_RETCODE_DONE",
            "message": "Request completed", "orderId": "47138322", "positionId": "46648037"}"#,
    );
    assert_eq!(r.retcode(), Some(TradeRetcode::Done));
    // The MetaApi docs example spells the ids as numbers.
    let r: TradeResponse = serde_json::from_str(
        r#"{"numericCode": 10009, "stringCode": "TRADE_RETCODE_DONE",
            "message": "Request completed", "orderId": 47138322, "positionId": 46648037}"#,
    )
    .unwrap();
    assert_eq!(r.order_id.as_deref(), Some("47138322"));
    let built = TradeResponse::new(TradeRetcode::Done)
        .with_order_id("47138322")
        .with_position_id("46648037");
    assert_eq!(built, r);
    let failed = TradeResponse::new(TradeRetcode::NoMoney);
    assert_eq!(
        serde_json::to_value(&failed).unwrap(),
        json!({"numericCode": 10019, "stringCode": "TRADE_RETCODE_NO_MONEY",
               "message": "There is not enough money to complete the request"})
    );
}

#[test]
fn margin_shapes_round_trip() {
    round_trip::<MarginOrder>(
        r#"{"symbol": "EURUSD", "type": "ORDER_TYPE_BUY", "volume": 1, "openPrice": 1.1}"#,
    );
    assert_eq!(
        round_trip::<Margin>(r#"{"margin": 110}"#).margin,
        Some(110.0)
    );
    assert_eq!(round_trip::<Margin>("{}").margin, None);
}

#[test]
fn enums_spell_as_metaapi() {
    check_enum(ActionType::ALL, ActionType::as_str);
    check_enum(PriceUnits::ALL, PriceUnits::as_str);
    check_enum(PriceBase::ALL, PriceBase::as_str);
    assert_eq!(ActionType::ALL.len(), 15);
}

#[test]
fn order_creating_actions_map_to_their_order_type() {
    for &a in ActionType::ALL {
        match a.order_type() {
            Some(t) => assert_eq!(a.as_str(), t.as_str()),
            None => assert!(!a.as_str().starts_with("ORDER_TYPE_")),
        }
        assert!(!(a.is_market() && a.is_pending()));
    }
    let creating = ActionType::ALL
        .iter()
        .filter(|a| a.order_type().is_some())
        .count();
    let pending = ActionType::ALL.iter().filter(|a| a.is_pending()).count();
    assert_eq!((creating, pending), (8, 6));
}
