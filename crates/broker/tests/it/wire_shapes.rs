//! Engine and feed records rendered as MetaApi JSON: exact keys, values and spellings, and a
//! round trip through the wire types.
//!
//! One scenario on the default catalogue, server zone EET, Wednesday 2026-01-07 10:00 UTC
//! (12:00 broker time): a USD account with 10 000, a market buy of 0.1 EURUSD with SL/TP, a
//! buy limit, a sell that is partly and then fully closed, a deposit, and an SL that fires.

use crate::support::{WEDNESDAY_10_UTC, eet, lots, px, server_config, start, t};
use drawbridge_broker::account::{Access, AccountIdx, NewAccount};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::engine::command::Stops;
use drawbridge_broker::engine::records::{Expiration, PendingKind, Side, Tags};
use drawbridge_broker::engine::{Engine, Event, Retcode, TradeCommand};
use drawbridge_broker::feed::{CandleBuilder, Tick, synthetic_book};
use drawbridge_broker::metaapi;
use drawbridge_broker::symbol::{Currency, SymbolIdx};
use drawbridge_model::{Money, Timeframe};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Serializes, checks the object has exactly `keys`, deserializes back and checks nothing
/// changed. Returns the JSON.
fn json_of<T>(value: &T, keys: &[&str]) -> Value
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let v = serde_json::to_value(value).unwrap();
    let got: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(got, want, "keys of {v}");
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "round trip of {text}");
    v
}

struct World {
    e: Engine,
    ev: Vec<Event>,
    a: AccountIdx,
    eurusd: SymbolIdx,
}

impl World {
    fn new() -> Self {
        let mut e = Engine::new(server_config(), default_catalog(), start());
        let mut ev = Vec::new();
        let eurusd = e.symbol("EURUSD").unwrap();
        e.on_quote(eurusd, start(), px(1.09998), px(1.1), &mut ev)
            .unwrap();
        let new = NewAccount::usd("Will Turner", "master1", "investor1", Money(1_000_000));
        let a = e.open_account(new, start(), &mut ev).unwrap();
        Self { e, ev, a, eurusd }
    }

    fn quote(&mut self, at: &str, bid: f64, ask: f64) {
        self.e
            .on_quote(self.eurusd, t(at), px(bid), px(ask), &mut self.ev)
            .unwrap();
    }

    fn trade(&mut self, at: &str, cmd: TradeCommand) -> (u64, Option<u64>) {
        let r = self
            .e
            .trade(self.a, Access::Master, cmd, t(at), &mut self.ev);
        let o = r.unwrap();
        (o.order_id.unwrap(), o.position_id)
    }

    fn market(&mut self, side: Side, volume: f64, stops: Stops, tags: Tags) -> u64 {
        let cmd = TradeCommand::Market {
            symbol: self.eurusd,
            side,
            volume: lots(volume),
            stops,
            tags,
        };
        self.trade(WEDNESDAY_10_UTC, cmd).1.unwrap()
    }
}

const POSITION_KEYS: &[&str] = &[
    "id",
    "type",
    "symbol",
    "magic",
    "time",
    "brokerTime",
    "updateTime",
    "openPrice",
    "currentPrice",
    "currentTickValue",
    "volume",
    "profit",
    "realizedProfit",
    "unrealizedProfit",
    "swap",
    "realizedSwap",
    "unrealizedSwap",
    "commission",
    "realizedCommission",
    "unrealizedCommission",
    "reason",
    "accountCurrencyExchangeRate",
];

const ORDER_KEYS: &[&str] = &[
    "id",
    "type",
    "state",
    "magic",
    "time",
    "brokerTime",
    "symbol",
    "openPrice",
    "volume",
    "currentVolume",
    "platform",
    "reason",
    "fillingMode",
    "expirationType",
];

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

fn tagged(comment: &str, client_id: &str, magic: i64) -> Tags {
    Tags {
        comment: Some(comment.into()),
        client_id: Some(client_id.into()),
        magic,
    }
}

#[test]
fn account_information_reports_the_account() {
    let w = World::new();
    let info = metaapi::account_information(&w.e, w.a, Access::Master, "Drawbridge").unwrap();
    let v = json_of(
        &info,
        &[
            "platform",
            "broker",
            "currency",
            "server",
            "balance",
            "equity",
            "margin",
            "freeMargin",
            "leverage",
            "tradeAllowed",
            "investorMode",
            "marginMode",
            "name",
            "login",
            "credit",
            "accountCurrencyExchangeRate",
            "type",
        ],
    );
    assert_eq!(
        v,
        json!({
            "platform": "mt5", "broker": "Drawbridge", "currency": "USD",
            "server": "Drawbridge-Demo", "balance": 10000.0, "equity": 10000.0, "margin": 0.0,
            "freeMargin": 10000.0, "leverage": 100.0, "tradeAllowed": true,
            "investorMode": false, "marginMode": "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING",
            "name": "Will Turner", "login": 100000, "credit": 0.0,
            "accountCurrencyExchangeRate": 1.0, "type": "ACCOUNT_TRADE_MODE_DEMO"
        })
    );
    let investor = metaapi::account_information(&w.e, w.a, Access::Investor, "Drawbridge").unwrap();
    assert_eq!(
        (investor.trade_allowed, investor.investor_mode),
        (false, Some(true))
    );
    assert!(metaapi::account_information(&w.e, AccountIdx(9), Access::Master, "x").is_none());
}

#[test]
fn margin_level_appears_with_margin() {
    let mut w = World::new();
    w.market(Side::Buy, 0.1, Stops::default(), Tags::default());
    let info = metaapi::account_information(&w.e, w.a, Access::Master, "Drawbridge").unwrap();
    // 0.1 lot × 100 000 EUR / 100 at EURUSD ask 1.1 = 110.00 USD of margin; equity
    // 10 000 − 0.35 commission − 0.20 spread (0.00002 × 100 000 × 0.1) = 9 999.45;
    // level = 9 999.45 / 110 × 100 = 9 090.409090…
    let v = serde_json::to_value(&info).unwrap();
    assert_eq!(v["margin"], json!(110.0));
    assert_eq!(v["equity"], json!(9999.45));
    assert_eq!(v["freeMargin"], json!(9889.45));
    assert_eq!(v["marginLevel"], json!(9090.40909091));
}

#[test]
fn a_position_has_the_metaapi_shape() {
    let mut w = World::new();
    let stops = Stops {
        stop_loss: Some(px(1.09)),
        take_profit: Some(px(1.12)),
        trailing_points: None,
    };
    let id = w.market(Side::Buy, 0.1, stops, tagged("hello", "TE_EURUSD_1", 1000));
    let p = metaapi::position(&w.e, w.e.position(id).unwrap());
    let v = json_of(
        &p,
        &with(
            POSITION_KEYS,
            &[
                "stopLoss",
                "takeProfit",
                "comment",
                "clientId",
                "brokerComment",
            ],
        ),
    );
    // Opened at the ask 1.1, valued at the bid 1.09998: −0.00002 × 100 000 × 0.1 = −0.20.
    // The opening commission (3.50 a lot) is in `commission`, not in `profit`.
    assert_eq!(
        v,
        json!({
            "id": id.to_string(), "type": "POSITION_TYPE_BUY", "symbol": "EURUSD",
            "magic": 1000, "time": "2026-01-07T10:00:00.000Z",
            "brokerTime": "2026-01-07 12:00:00.000", "updateTime": "2026-01-07T10:00:00.000Z",
            "openPrice": 1.1, "currentPrice": 1.09998, "currentTickValue": 1.0,
            "stopLoss": 1.09, "takeProfit": 1.12, "volume": 0.1,
            "profit": -0.2, "realizedProfit": 0.0, "unrealizedProfit": -0.2,
            "swap": 0.0, "realizedSwap": 0.0, "unrealizedSwap": 0.0,
            "commission": -0.35, "realizedCommission": 0.0, "unrealizedCommission": -0.35,
            "comment": "hello", "clientId": "TE_EURUSD_1", "reason": "POSITION_REASON_CLIENT",
            "accountCurrencyExchangeRate": 1.0, "brokerComment": "hello"
        })
    );
}

#[test]
fn a_partial_close_splits_realized_from_unrealized() {
    let mut w = World::new();
    let id = w.market(Side::Sell, 0.2, Stops::default(), Tags::default());
    w.quote("2026-01-07T10:01:00Z", 1.095, 1.09502);
    let close = TradeCommand::ClosePosition {
        position_id: id,
        volume: Some(lots(0.1)),
        tags: Tags::default(),
    };
    w.trade("2026-01-07T10:01:00Z", close);
    let p = metaapi::position(&w.e, w.e.position(id).unwrap());
    let v = json_of(&p, POSITION_KEYS);
    // Sold 0.2 at the bid 1.09998, bought back 0.1 at the ask 1.09502:
    // 0.00496 × 100 000 × 0.1 = 49.60 realized, the same unrealized on the rest.
    // Commission: 0.70 to open 0.2, 0.35 to close 0.1; realized = 49.60 − 0.35.
    assert_eq!(v["type"], "POSITION_TYPE_SELL");
    assert_eq!(v["volume"], json!(0.1));
    assert_eq!(v["currentPrice"], json!(1.09502));
    assert_eq!(v["updateTime"], "2026-01-07T10:01:00.000Z");
    assert_eq!(v["unrealizedProfit"], json!(49.6));
    assert_eq!(v["realizedProfit"], json!(49.25));
    assert_eq!(v["profit"], json!(98.85));
    assert_eq!(v["commission"], json!(-1.05));
    assert_eq!(v["realizedCommission"], json!(-0.35));
    assert_eq!(v["unrealizedCommission"], json!(-0.7));
    // The account's positions at once (one pass over its deals) say the same.
    let all: Vec<_> = w.e.positions_of(w.a).cloned().collect();
    assert_eq!(metaapi::positions(&w.e, &all), vec![p.clone()]);

    // The rest closes: the history holds two filled sell-side closing orders and the deals.
    let close = TradeCommand::ClosePosition {
        position_id: id,
        volume: None,
        tags: Tags::default(),
    };
    w.trade("2026-01-07T10:02:00Z", close);
    let h = w.e.history(w.a).unwrap();
    let closing: Vec<Value> = h
        .deals
        .iter()
        .filter(|d| d.position_id == Some(id))
        .map(|d| serde_json::to_value(metaapi::deal(&w.e, d)).unwrap())
        .collect();
    let entries: Vec<&str> = closing
        .iter()
        .map(|d| d["entryType"].as_str().unwrap())
        .collect();
    assert_eq!(
        entries,
        ["DEAL_ENTRY_IN", "DEAL_ENTRY_OUT", "DEAL_ENTRY_OUT"]
    );
    assert_eq!(closing[0]["type"], "DEAL_TYPE_SELL");
    assert_eq!(closing[1]["type"], "DEAL_TYPE_BUY");
    assert_eq!(closing[1]["profit"], json!(49.6));
}

#[test]
fn deals_have_the_metaapi_shape() {
    let mut w = World::new();
    let id = w.market(Side::Buy, 0.1, Stops::default(), tagged("hi", "C1", 7));
    w.e.balance_operation(
        w.a,
        Money(50_000),
        Some("top up"),
        t("2026-01-07T10:05:00Z"),
        &mut w.ev,
    )
    .unwrap();
    let h = w.e.history(w.a).unwrap();
    assert_eq!(h.deals.len(), 3);

    let initial = json_of(
        &metaapi::deal(&w.e, &h.deals[0]),
        &[
            "id",
            "type",
            "time",
            "brokerTime",
            "commission",
            "swap",
            "profit",
            "comment",
            "brokerComment",
            "platform",
            "reason",
            "accountCurrencyExchangeRate",
        ],
    );
    assert_eq!(initial["type"], "DEAL_TYPE_BALANCE");
    assert_eq!(initial["profit"], json!(10000.0));
    assert_eq!(initial["comment"], "initial deposit");
    assert_eq!(initial["reason"], "DEAL_REASON_CLIENT");

    let fill = json_of(
        &metaapi::deal(&w.e, &h.deals[1]),
        &[
            "id",
            "type",
            "entryType",
            "symbol",
            "magic",
            "time",
            "brokerTime",
            "volume",
            "price",
            "commission",
            "swap",
            "profit",
            "positionId",
            "orderId",
            "comment",
            "brokerComment",
            "clientId",
            "platform",
            "reason",
            "accountCurrencyExchangeRate",
        ],
    );
    assert_eq!(
        fill,
        json!({
            "id": h.deals[1].id.to_string(), "type": "DEAL_TYPE_BUY",
            "entryType": "DEAL_ENTRY_IN", "symbol": "EURUSD", "magic": 7,
            "time": "2026-01-07T10:00:00.000Z", "brokerTime": "2026-01-07 12:00:00.000",
            "volume": 0.1, "price": 1.1, "commission": -0.35, "swap": 0.0, "profit": 0.0,
            "positionId": id.to_string(), "orderId": id.to_string(), "comment": "hi",
            "brokerComment": "hi", "clientId": "C1", "platform": "mt5",
            "reason": "DEAL_REASON_CLIENT", "accountCurrencyExchangeRate": 1.0
        })
    );

    let deposit = serde_json::to_value(metaapi::deal(&w.e, &h.deals[2])).unwrap();
    assert_eq!(deposit["type"], "DEAL_TYPE_BALANCE");
    assert_eq!(deposit["profit"], json!(500.0));
    assert_eq!(deposit["brokerTime"], "2026-01-07 12:05:00.000");
}

#[test]
fn orders_have_the_metaapi_shape_while_pending_and_in_history() {
    let mut w = World::new();
    let expiry = t("2026-01-08T10:00:00Z");
    let place = TradeCommand::Pending {
        symbol: w.eurusd,
        kind: PendingKind::BuyLimit,
        volume: lots(0.2),
        price: px(1.08),
        stop_limit_price: None,
        stops: Stops::default(),
        expiration: Expiration::Specified(expiry),
        tags: tagged("dip", "TE_2", 0),
    };
    let (id, _) = w.trade(WEDNESDAY_10_UTC, place);
    let pending = metaapi::order(&w.e, w.e.order(id).unwrap());
    let v = json_of(
        &pending,
        &with(
            ORDER_KEYS,
            &[
                "currentPrice",
                "comment",
                "brokerComment",
                "clientId",
                "expirationTime",
                "accountCurrencyExchangeRate",
            ],
        ),
    );
    assert_eq!(
        v,
        json!({
            "id": id.to_string(), "type": "ORDER_TYPE_BUY_LIMIT", "state": "ORDER_STATE_PLACED",
            "magic": 0, "time": "2026-01-07T10:00:00.000Z",
            "brokerTime": "2026-01-07 12:00:00.000", "symbol": "EURUSD", "openPrice": 1.08,
            "currentPrice": 1.1, "volume": 0.2, "currentVolume": 0.2, "comment": "dip",
            "brokerComment": "dip", "clientId": "TE_2", "platform": "mt5",
            "reason": "ORDER_REASON_CLIENT", "fillingMode": "ORDER_FILLING_RETURN",
            "expirationType": "ORDER_TIME_SPECIFIED",
            "expirationTime": "2026-01-08T10:00:00.000Z", "accountCurrencyExchangeRate": 1.0
        })
    );

    w.trade(
        "2026-01-07T10:03:00Z",
        TradeCommand::CancelOrder { order_id: id },
    );
    let h = w.e.history(w.a).unwrap();
    let canceled = json_of(
        &metaapi::order(&w.e, h.orders.last().unwrap()),
        &with(
            ORDER_KEYS,
            &[
                "doneTime",
                "doneBrokerTime",
                "comment",
                "brokerComment",
                "clientId",
                "expirationTime",
                "accountCurrencyExchangeRate",
            ],
        ),
    );
    assert_eq!(canceled["state"], "ORDER_STATE_CANCELED");
    assert_eq!(canceled["doneBrokerTime"], "2026-01-07 12:03:00.000");
    assert_eq!(canceled["currentVolume"], json!(0.2));

    // A market buy with SL leaves a filled history order; the SL firing leaves another.
    let stops = Stops {
        stop_loss: Some(px(1.09)),
        ..Stops::default()
    };
    let pos = w.market(Side::Buy, 0.1, stops, Tags::default());
    w.quote("2026-01-07T10:04:00Z", 1.0899, 1.0901);
    assert!(
        w.e.position(pos).is_none(),
        "the stop loss closed the position"
    );
    let h = w.e.history(w.a).unwrap();
    let filled: Vec<Value> = h
        .orders
        .iter()
        .filter(|o| o.position_id == Some(pos))
        .map(|o| {
            json_of(
                &metaapi::order(&w.e, o),
                &with(
                    ORDER_KEYS,
                    &[
                        "doneTime",
                        "doneBrokerTime",
                        "positionId",
                        "accountCurrencyExchangeRate",
                    ],
                ),
            )
        })
        .collect();
    assert_eq!(filled.len(), 2);
    assert_eq!(filled[0]["type"], "ORDER_TYPE_BUY");
    assert_eq!(filled[0]["state"], "ORDER_STATE_FILLED");
    assert_eq!(filled[0]["fillingMode"], "ORDER_FILLING_FOK");
    assert_eq!(filled[0]["currentVolume"], json!(0.0));
    assert_eq!(filled[1]["type"], "ORDER_TYPE_SELL");
    assert_eq!(filled[1]["reason"], "ORDER_REASON_SL");
    assert_eq!(filled[1]["openPrice"], json!(1.0899));
    let sl_deal = h.deals.last().unwrap();
    let v = serde_json::to_value(metaapi::deal(&w.e, sl_deal)).unwrap();
    assert_eq!(
        (v["reason"].as_str(), v["entryType"].as_str()),
        (Some("DEAL_REASON_SL"), Some("DEAL_ENTRY_OUT"))
    );
}

#[test]
fn symbol_specification_of_eurusd() {
    let catalog = default_catalog();
    let eurusd = catalog.iter().find(|s| s.name == "EURUSD").unwrap();
    let spec = metaapi::symbol_specification(eurusd);
    let v = json_of(
        &spec,
        &[
            "symbol",
            "tickSize",
            "minVolume",
            "maxVolume",
            "volumeStep",
            "fillingModes",
            "executionMode",
            "contractSize",
            "quoteSessions",
            "tradeSessions",
            "tradeMode",
            "initialMargin",
            "maintenanceMargin",
            "hedgedMargin",
            "hedgedMarginUsesLargerLeg",
            "marginCurrency",
            "priceCalculationMode",
            "baseCurrency",
            "profitCurrency",
            "swapMode",
            "swapLong",
            "swapShort",
            "swapRates",
            "swapRollover3Days",
            "allowedExpirationModes",
            "allowedOrderTypes",
            "orderGTCMode",
            "digits",
            "point",
            "path",
            "description",
            "pipSize",
            "stopsLevel",
            "freezeLevel",
        ],
    );
    let full_day = json!([{"from": "00:00:00.000", "to": "24:00:00.000"}]);
    assert_eq!(v["digits"], json!(5));
    assert_eq!(v["point"], json!(0.00001));
    assert_eq!(v["tickSize"], json!(0.00001));
    assert_eq!(v["pipSize"], json!(0.0001));
    assert_eq!(v["contractSize"], json!(100000.0));
    assert_eq!(
        (v["minVolume"].clone(), v["volumeStep"].clone()),
        (json!(0.01), json!(0.01))
    );
    assert_eq!(v["path"], "Forex\\Majors\\EURUSD");
    assert_eq!(v["description"], "Euro vs US Dollar");
    assert_eq!(v["priceCalculationMode"], "SYMBOL_CALC_MODE_FOREX");
    assert_eq!(v["executionMode"], "SYMBOL_TRADE_EXECUTION_MARKET");
    assert_eq!(v["tradeMode"], "SYMBOL_TRADE_MODE_FULL");
    assert_eq!(
        (v["baseCurrency"].as_str(), v["profitCurrency"].as_str()),
        (Some("EUR"), Some("USD"))
    );
    assert_eq!(v["marginCurrency"], "EUR");
    assert_eq!(v["swapMode"], "SYMBOL_SWAP_MODE_POINTS");
    assert_eq!(v["swapLong"], json!(-7.2));
    // Whole multipliers are integers on the wire, as the cloud sends them.
    assert_eq!(v["swapRates"], json!([0, 1, 1, 3, 1, 1, 0]));
    assert_eq!(v["swapRollover3Days"], "WEDNESDAY");
    assert_eq!(v["stopsLevel"], json!(10.0));
    assert_eq!(
        v["tradeSessions"],
        json!({
            "MONDAY": [{"from": "00:05:00.000", "to": "24:00:00.000"}],
            "TUESDAY": full_day, "WEDNESDAY": full_day, "THURSDAY": full_day,
            "FRIDAY": [{"from": "00:00:00.000", "to": "23:55:00.000"}]
        })
    );
    assert_eq!(v["quoteSessions"]["MONDAY"], full_day);
    assert_eq!(
        v["quoteSessions"]["FRIDAY"],
        json!([{"from": "00:00:00.000", "to": "23:57:00.000"}])
    );
    assert_eq!(v["allowedOrderTypes"].as_array().unwrap().len(), 7);

    // Crypto trades at weekends: no triple swap, and no pip.
    let btc = catalog.iter().find(|s| s.name == "BTCUSD").unwrap();
    let b = serde_json::to_value(metaapi::symbol_specification(btc)).unwrap();
    assert_eq!(b["swapRollover3Days"], "NONE");
    assert_eq!(b["swapRates"], json!(vec![1; 7]));
    assert_eq!(b["tradeSessions"]["SUNDAY"], full_day);
    assert!(b.get("pipSize").is_none());
}

#[test]
fn symbol_price_converts_tick_values_to_the_account_currency() {
    let mut w = World::new();
    let v = json_of(
        &metaapi::symbol_price(&w.e, w.eurusd, Some(Currency::USD)).unwrap(),
        &[
            "symbol",
            "bid",
            "ask",
            "profitTickValue",
            "lossTickValue",
            "accountCurrencyExchangeRate",
            "time",
            "brokerTime",
        ],
    );
    assert_eq!(
        v,
        json!({
            "symbol": "EURUSD", "bid": 1.09998, "ask": 1.1, "profitTickValue": 1.0,
            "lossTickValue": 1.0, "accountCurrencyExchangeRate": 1.0,
            "time": "2026-01-07T10:00:00.000Z", "brokerTime": "2026-01-07 12:00:00.000"
        })
    );
    let usdjpy = w.e.symbol("USDJPY").unwrap();
    assert!(
        metaapi::symbol_price(&w.e, usdjpy, Some(Currency::USD)).is_none(),
        "no quote yet"
    );
    w.e.on_quote(usdjpy, start(), px(155.5), px(155.52), &mut w.ev)
        .unwrap();
    // One tick (0.001) of 100 000 USD is 100 JPY: sold for USD at the ask on a gain, bought
    // at the bid on a loss.
    let p = metaapi::symbol_price(&w.e, usdjpy, Some(Currency::USD)).unwrap();
    assert_eq!(p.profit_tick_value, 0.64300412);
    assert_eq!(p.loss_tick_value, 0.64308682);
    let in_jpy = metaapi::symbol_price(&w.e, usdjpy, None).unwrap();
    assert_eq!(
        (
            in_jpy.profit_tick_value,
            in_jpy.account_currency_exchange_rate
        ),
        (100.0, None)
    );
    // A EUR account's rate into USD is EURUSD's bid.
    let eur = metaapi::symbol_price(&w.e, w.eurusd, Some(Currency::EUR)).unwrap();
    assert_eq!(eur.account_currency_exchange_rate, Some(1.09998));
}

#[test]
fn candles_ticks_and_books() {
    let catalog = default_catalog();
    let eurusd = &catalog[0];
    let z = eet();
    let ticks = [
        Tick {
            symbol: SymbolIdx(0),
            time: t("2026-01-07T10:00:05Z"),
            bid: px(1.1),
            ask: px(1.10002),
        },
        Tick {
            symbol: SymbolIdx(0),
            time: t("2026-01-07T10:00:40Z"),
            bid: px(1.1001),
            ask: px(1.10013),
        },
    ];
    let mut candles = CandleBuilder::new(eurusd, z);
    for tk in &ticks {
        candles.push(tk);
    }
    let bar = candles.current(Timeframe::M1).unwrap();
    let c = json_of(
        &metaapi::candle(z, "EURUSD", Timeframe::M1, &bar),
        &[
            "symbol",
            "timeframe",
            "time",
            "brokerTime",
            "open",
            "high",
            "low",
            "close",
            "tickVolume",
            "spread",
            "volume",
        ],
    );
    assert_eq!(
        c,
        json!({
            "symbol": "EURUSD", "timeframe": "1m", "time": "2026-01-07T10:00:00.000Z",
            "brokerTime": "2026-01-07 12:00:00.000", "open": 1.1, "high": 1.1001,
            "low": 1.1, "close": 1.1001, "tickVolume": 2.0, "spread": 2.0, "volume": 0.0
        })
    );

    let tk = json_of(
        &metaapi::tick(z, "EURUSD", &ticks[1]),
        &["symbol", "time", "brokerTime", "bid", "ask"],
    );
    assert_eq!(tk["brokerTime"], "2026-01-07 12:00:40.000");
    assert_eq!(
        (tk["bid"].clone(), tk["ask"].clone()),
        (json!(1.1001), json!(1.10013))
    );

    let b = synthetic_book(eurusd, px(1.1), px(1.10002), 2, t("2026-01-07T10:00:05Z"));
    let book = json_of(
        &metaapi::book(z, "EURUSD", &b),
        &["symbol", "time", "brokerTime", "book"],
    );
    let levels = book["book"].as_array().unwrap();
    let kinds: Vec<&str> = levels.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "BOOK_TYPE_SELL",
            "BOOK_TYPE_SELL",
            "BOOK_TYPE_BUY",
            "BOOK_TYPE_BUY"
        ]
    );
    assert_eq!(levels[1]["price"], json!(1.10002));
    assert_eq!(levels[2]["price"], json!(1.1));
}

#[test]
fn server_time_and_trade_responses() {
    let z = eet();
    let now = t("2026-07-07T10:00:00Z");
    let st = json_of(
        &metaapi::server_time(z, now, Some(t("2026-07-07T09:59:59.500Z"))),
        &["time", "brokerTime", "lastQuoteTime", "lastQuoteBrokerTime"],
    );
    assert_eq!(
        st["brokerTime"], "2026-07-07 13:00:00.000",
        "summer time is UTC+3"
    );
    assert_eq!(st["lastQuoteBrokerTime"], "2026-07-07 12:59:59.500");
    json_of(&metaapi::server_time(z, now, None), &["time", "brokerTime"]);

    let mut w = World::new();
    let cmd = TradeCommand::Market {
        symbol: w.eurusd,
        side: Side::Buy,
        volume: lots(0.1),
        stops: Stops::default(),
        tags: Tags::default(),
    };
    let r = w.e.trade(w.a, Access::Master, cmd, start(), &mut w.ev);
    let id = r.unwrap().order_id.unwrap().to_string();
    let ok = json_of(
        &metaapi::trade_response(r),
        &[
            "numericCode",
            "stringCode",
            "message",
            "orderId",
            "positionId",
        ],
    );
    assert_eq!(
        ok,
        json!({
            "numericCode": 10009, "stringCode": "TRADE_RETCODE_DONE",
            "message": "Request completed", "orderId": id, "positionId": id
        })
    );
    let refused = json_of(
        &metaapi::trade_response(Err(Retcode::NoMoney)),
        &["numericCode", "stringCode", "message"],
    );
    assert_eq!(refused["numericCode"], json!(10019));
    assert_eq!(refused["stringCode"], "TRADE_RETCODE_NO_MONEY");
}
