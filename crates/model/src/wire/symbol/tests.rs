use super::*;
use crate::wire::testing::{check_enum, round_trip};

const EURUSD: &str = r#"{
    "symbol": "EURUSD",
    "tickSize": 0.00001,
    "minVolume": 0.01,
    "maxVolume": 200,
    "volumeStep": 0.01,
    "fillingModes": ["SYMBOL_FILLING_FOK", "SYMBOL_FILLING_IOC"],
    "executionMode": "SYMBOL_TRADE_EXECUTION_MARKET",
    "contractSize": 100000,
    "quoteSessions": {
        "SUNDAY": [{"from": "21:05:00.000", "to": "24:00:00.000"}],
        "MONDAY": [{"from": "00:00:00.000", "to": "24:00:00.000"}],
        "TUESDAY": [{"from": "00:00:00.000", "to": "24:00:00.000"}],
        "WEDNESDAY": [{"from": "00:00:00.000", "to": "24:00:00.000"}],
        "THURSDAY": [{"from": "00:00:00.000", "to": "24:00:00.000"}],
        "FRIDAY": [{"from": "00:00:00.000", "to": "23:55:00.000"}]
    },
    "tradeSessions": {
        "MONDAY": [
            {"from": "00:05:00.000", "to": "12:00:00.000"},
            {"from": "12:05:00.000", "to": "24:00:00.000"}
        ],
        "SATURDAY": []
    },
    "tradeMode": "SYMBOL_TRADE_MODE_FULL",
    "bondAccruedInterest": 0,
    "bondFaceValue": 0,
    "optionStrike": 0,
    "optionPriceSensivity": 0,
    "liquidityRate": 0,
    "initialMargin": 0,
    "maintenanceMargin": 0,
    "hedgedMargin": 50000,
    "hedgedMarginUsesLargerLeg": false,
    "marginCurrency": "EUR",
    "priceCalculationMode": "SYMBOL_CALC_MODE_FOREX",
    "baseCurrency": "EUR",
    "profitCurrency": "USD",
    "swapMode": "SYMBOL_SWAP_MODE_POINTS",
    "swapLong": -7.21,
    "swapShort": 2.09,
    "swapRates": [0, 1, 1, 3, 1, 1, 0],
    "swapRollover3Days": "WEDNESDAY",
    "allowedExpirationModes": ["SYMBOL_EXPIRATION_GTC", "SYMBOL_EXPIRATION_DAY",
        "SYMBOL_EXPIRATION_SPECIFIED", "SYMBOL_EXPIRATION_SPECIFIED_DAY"],
    "allowedOrderTypes": ["SYMBOL_ORDER_MARKET", "SYMBOL_ORDER_LIMIT", "SYMBOL_ORDER_STOP",
        "SYMBOL_ORDER_STOP_LIMIT", "SYMBOL_ORDER_SL", "SYMBOL_ORDER_TP", "SYMBOL_ORDER_CLOSEBY"],
    "orderGTCMode": "SYMBOL_ORDERS_GTC",
    "digits": 5,
    "point": 0.00001,
    "path": "Forex\\Majors\\EURUSD",
    "description": "Euro vs US Dollar",
    "startTime": "1970-01-01T00:00:00.000Z",
    "expirationTime": "2037-12-31T00:00:00.000Z",
    "pipSize": 0.0001,
    "stopsLevel": 0,
    "freezeLevel": 0
}"#;

#[test]
fn specification_round_trips() {
    let s: SymbolSpecification = round_trip(EURUSD);
    assert_eq!(s.digits, 5);
    assert_eq!(s.swap_rollover_3_days, SwapRolloverDay::Wednesday);
    assert_eq!(s.order_gtc_mode, Some(GtcMode::Gtc));
    assert_eq!(s.trade_sessions.day(Weekday::Mon).len(), 2);
    assert_eq!(s.trade_sessions.day(Weekday::Tue), &[] as &[Session]);
    assert_eq!(s.quote_sessions.day(Weekday::Sun)[0].from, "21:05:00.000");
    assert_eq!(s.path.as_deref(), Some("Forex\\Majors\\EURUSD"));
}

#[test]
fn minimal_specification_round_trips() {
    let minimal = r#"{
        "symbol": "US500", "tickSize": 0.25, "minVolume": 0.1, "maxVolume": 100,
        "volumeStep": 0.1, "fillingModes": [], "executionMode": "SYMBOL_TRADE_EXECUTION_INSTANT",
        "contractSize": 1, "quoteSessions": {}, "tradeSessions": {},
        "initialMargin": 0, "maintenanceMargin": 0, "marginCurrency": "USD",
        "priceCalculationMode": "SYMBOL_CALC_MODE_CFDINDEX", "baseCurrency": "USD",
        "swapMode": "SYMBOL_SWAP_MODE_DISABLED", "swapRollover3Days": "NONE",
        "allowedExpirationModes": ["SYMBOL_EXPIRATION_GTC"],
        "allowedOrderTypes": ["SYMBOL_ORDER_MARKET"], "digits": 2, "point": 0.01,
        "description": "S&P 500", "stopsLevel": 10, "freezeLevel": 5
    }"#;
    let s: SymbolSpecification = round_trip(minimal);
    assert_eq!((s.trade_mode, s.pip_size), (None, None));
    assert_eq!(s.quote_sessions, Sessions::default());
}

#[test]
fn symbol_price_round_trips() {
    let p: SymbolPrice = round_trip(
        r#"{"symbol": "AUDNZD", "bid": 1.05297, "ask": 1.05309, "profitTickValue": 0.59731,
            "lossTickValue": 0.59736, "accountCurrencyExchangeRate": 1,
            "time": "2020-04-07T03:45:23.345Z", "brokerTime": "2020-04-07 06:45:23.345"}"#,
    );
    assert_eq!(p.equity, None);
    let p: SymbolPrice = round_trip(
        r#"{"symbol": "AUDNZD", "bid": 1.05297, "ask": 1.05309, "profitTickValue": 0.59731,
            "lossTickValue": 0.59736, "time": "2020-04-07T03:45:23.345Z",
            "brokerTime": "2020-04-07 06:45:23.345", "equity": 7306.65}"#,
    );
    assert_eq!(p.account_currency_exchange_rate, None);
}

#[test]
fn enums_spell_as_metaapi() {
    check_enum(SymbolFillingMode::ALL, SymbolFillingMode::as_str);
    check_enum(ExecutionMode::ALL, ExecutionMode::as_str);
    check_enum(SymbolTradeMode::ALL, SymbolTradeMode::as_str);
    check_enum(CalcMode::ALL, CalcMode::as_str);
    check_enum(SwapMode::ALL, SwapMode::as_str);
    check_enum(SwapRolloverDay::ALL, SwapRolloverDay::as_str);
    check_enum(ExpirationMode::ALL, ExpirationMode::as_str);
    check_enum(SymbolOrderType::ALL, SymbolOrderType::as_str);
    check_enum(GtcMode::ALL, GtcMode::as_str);
}
