//! Market data: candles, ticks, order books, server time and market data subscriptions.

use crate::time::Timestamp;
use crate::timeframe::Timeframe;
use serde::{Deserialize, Serialize};

/// A bar (`MetatraderCandle`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Candle {
    pub symbol: String,
    pub timeframe: Timeframe,
    /// Opening time.
    pub time: Timestamp,
    pub broker_time: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Number of ticks in the bar.
    pub tick_volume: f64,
    /// Spread in points.
    pub spread: f64,
    /// Traded volume (exchange symbols; 0 otherwise).
    pub volume: f64,
}

wire_enum! {
    /// Whether a tick came from a buy or a sell deal.
    TickSide {
        Buy = "buy",
        Sell = "sell",
    }
}

/// A tick (`MetatraderTick`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tick {
    pub symbol: String,
    pub time: Timestamp,
    pub broker_time: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bid: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ask: Option<f64>,
    /// Last deal price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last: Option<f64>,
    /// Volume of the last deal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub volume: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub side: Option<TickSide>,
}

wire_enum! {
    /// MT5 `ENUM_BOOK_TYPE`.
    BookType {
        Sell = "BOOK_TYPE_SELL",
        Buy = "BOOK_TYPE_BUY",
        SellMarket = "BOOK_TYPE_SELL_MARKET",
        BuyMarket = "BOOK_TYPE_BUY_MARKET",
    }
}

/// One level of an order book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookEntry {
    #[serde(rename = "type")]
    pub entry_type: BookType,
    pub price: f64,
    pub volume: f64,
}

/// An order book snapshot (`MetatraderBook`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Book {
    pub symbol: String,
    pub time: Timestamp,
    pub broker_time: String,
    pub book: Vec<BookEntry>,
}

/// The reply of `getServerTime`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    pub time: Timestamp,
    pub broker_time: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_quote_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_quote_broker_time: Option<String>,
}

wire_enum! {
    /// What a market data subscription streams.
    MarketDataType {
        Quotes = "quotes",
        Candles = "candles",
        Ticks = "ticks",
        MarketDepth = "marketDepth",
    }
}

/// One entry of `subscribeToMarketData.subscriptions` (and of the unsubscribe and refresh
/// requests, which use the same fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketDataSubscription {
    #[serde(rename = "type")]
    pub data_type: MarketDataType,
    /// Required for candles; for unsubscription, absent means every timeframe.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeframe: Option<Timeframe>,
    /// Streaming interval; the account's setting when absent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval_in_milliseconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{check_enum, round_trip};

    #[test]
    fn candle_round_trips() {
        let c: Candle = round_trip(
            r#"{"symbol": "AUDNZD", "timeframe": "15m", "time": "2020-04-07T03:45:00.000Z",
                "brokerTime": "2020-04-07 06:45:00.000", "open": 1.03297, "high": 1.06309,
                "low": 1.02705, "close": 1.043, "tickVolume": 1435, "spread": 17,
                "volume": 345}"#,
        );
        assert_eq!(c.timeframe, Timeframe::M15);
        let one_month: Candle = round_trip(
            r#"{"symbol": "X", "timeframe": "1mn", "time": "2020-04-01T00:00:00.000Z",
                "brokerTime": "2020-04-01 03:00:00.000", "open": 1, "high": 1, "low": 1,
                "close": 1, "tickVolume": 0, "spread": 0, "volume": 0}"#,
        );
        assert_eq!(one_month.timeframe, Timeframe::MN1);
    }

    #[test]
    fn tick_round_trips() {
        let t: Tick = round_trip(
            r#"{"symbol": "AUDNZD", "time": "2020-04-07T03:45:00.000Z",
                "brokerTime": "2020-04-07 06:45:00.000", "bid": 1.05297, "ask": 1.05309,
                "last": 0.5298, "volume": 0.13, "side": "buy"}"#,
        );
        assert_eq!(t.side, Some(TickSide::Buy));
        let quote_only: Tick = round_trip(
            r#"{"symbol": "EURUSD", "time": "2020-04-07T03:45:00.001Z",
                "brokerTime": "2020-04-07 06:45:00.001", "bid": 1.1, "ask": 1.1001}"#,
        );
        assert_eq!((quote_only.last, quote_only.side), (None, None));
    }

    #[test]
    fn book_round_trips() {
        let b: Book = round_trip(
            r#"{"symbol": "AUDNZD", "time": "2020-04-07T03:45:00.000Z",
                "brokerTime": "2020-04-07 06:45:00.000", "book": [
                    {"type": "BOOK_TYPE_SELL", "price": 1.05309, "volume": 5.67},
                    {"type": "BOOK_TYPE_BUY", "price": 1.05297, "volume": 3.45},
                    {"type": "BOOK_TYPE_SELL_MARKET", "price": 1.0531, "volume": 1},
                    {"type": "BOOK_TYPE_BUY_MARKET", "price": 1.0529, "volume": 1}
                ]}"#,
        );
        assert_eq!(b.book[1].entry_type, BookType::Buy);
    }

    #[test]
    fn server_time_round_trips() {
        let t: ServerTime = round_trip(
            r#"{"time": "2022-01-01T00:00:00.000Z", "brokerTime": "2022-01-01 02:00:00.000",
                "lastQuoteTime": "2021-12-31T23:59:59.500Z",
                "lastQuoteBrokerTime": "2022-01-01 01:59:59.500"}"#,
        );
        assert!(t.last_quote_time.is_some());
        let t: ServerTime = round_trip(
            r#"{"time": "2022-01-01T00:00:00.000Z", "brokerTime": "2022-01-01 02:00:00.000"}"#,
        );
        assert_eq!(t.last_quote_broker_time, None);
    }

    #[test]
    fn subscriptions_round_trip() {
        round_trip::<MarketDataSubscription>(r#"{"type": "quotes"}"#);
        let s: MarketDataSubscription =
            round_trip(r#"{"type": "candles", "timeframe": "1h", "intervalInMilliseconds": 5000}"#);
        assert_eq!(s.timeframe, Some(Timeframe::H1));
        assert!(serde_json::from_str::<MarketDataSubscription>(r#"{"type": "news"}"#).is_err());
    }

    #[test]
    fn enums_spell_as_metaapi() {
        check_enum(TickSide::ALL, TickSide::as_str);
        check_enum(BookType::ALL, BookType::as_str);
        check_enum(MarketDataType::ALL, MarketDataType::as_str);
    }
}
