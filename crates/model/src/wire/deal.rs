//! History deals (`MetatraderDeal`): fills, balance operations, charges.

use crate::time::Timestamp;
use crate::wire::account::Platform;
use crate::wire::ids;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// MT5 `ENUM_DEAL_TYPE`. The last three are spelled without `_TYPE_`, as in MQL5.
    DealType {
        Buy = "DEAL_TYPE_BUY",
        Sell = "DEAL_TYPE_SELL",
        Balance = "DEAL_TYPE_BALANCE",
        Credit = "DEAL_TYPE_CREDIT",
        Charge = "DEAL_TYPE_CHARGE",
        Correction = "DEAL_TYPE_CORRECTION",
        Bonus = "DEAL_TYPE_BONUS",
        Commission = "DEAL_TYPE_COMMISSION",
        CommissionDaily = "DEAL_TYPE_COMMISSION_DAILY",
        CommissionMonthly = "DEAL_TYPE_COMMISSION_MONTHLY",
        CommissionAgentDaily = "DEAL_TYPE_COMMISSION_AGENT_DAILY",
        CommissionAgentMonthly = "DEAL_TYPE_COMMISSION_AGENT_MONTHLY",
        Interest = "DEAL_TYPE_INTEREST",
        BuyCanceled = "DEAL_TYPE_BUY_CANCELED",
        SellCanceled = "DEAL_TYPE_SELL_CANCELED",
        Dividend = "DEAL_DIVIDEND",
        DividendFranked = "DEAL_DIVIDEND_FRANKED",
        Tax = "DEAL_TAX",
    }
}

impl DealType {
    /// A trade fill (buy or sell) rather than a balance operation.
    pub fn is_trade(self) -> bool {
        matches!(self, Self::Buy | Self::Sell)
    }
}

wire_enum! {
    /// MT5 `ENUM_DEAL_ENTRY`: whether the deal opened, closed or reversed a position.
    DealEntryType {
        In = "DEAL_ENTRY_IN",
        Out = "DEAL_ENTRY_OUT",
        /// Reversal (netting accounts).
        InOut = "DEAL_ENTRY_INOUT",
        /// Closed by an opposite position.
        OutBy = "DEAL_ENTRY_OUT_BY",
    }
}

wire_enum! {
    /// MT5 `ENUM_DEAL_REASON`: what caused the deal.
    DealReason {
        Client = "DEAL_REASON_CLIENT",
        Mobile = "DEAL_REASON_MOBILE",
        Web = "DEAL_REASON_WEB",
        Expert = "DEAL_REASON_EXPERT",
        /// Stop loss triggered.
        Sl = "DEAL_REASON_SL",
        /// Take profit triggered.
        Tp = "DEAL_REASON_TP",
        /// Stop out.
        So = "DEAL_REASON_SO",
        Rollover = "DEAL_REASON_ROLLOVER",
        /// Variation margin.
        Vmargin = "DEAL_REASON_VMARGIN",
        Split = "DEAL_REASON_SPLIT",
        Unknown = "DEAL_REASON_UNKNOWN",
    }
}

/// A deal. Balance operations (`DEAL_TYPE_BALANCE` …) have no symbol, volume or price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deal {
    #[serde(deserialize_with = "ids::id")]
    #[schemars(with = "String")]
    pub id: String,
    #[serde(rename = "type")]
    pub deal_type: DealType,
    /// Optional on the wire (the SDK's TypedDict is `total=False`); trade fills always carry it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entry_type: Option<DealEntryType>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub magic: Option<i64>,
    pub time: Timestamp,
    pub broker_time: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub volume: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commission: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub swap: Option<f64>,
    pub profit: f64,
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
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub broker_comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    pub platform: Platform,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<DealReason>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_currency_exchange_rate: Option<f64>,
    /// Opening deal: the opening order's SL; closing deal: the position's last SL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub take_profit: Option<f64>,
}

/// The reply of the `getDealsBy*` requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deals {
    pub deals: Vec<Deal>,
    /// True while the initial history synchronization is running (results may be partial).
    pub synchronizing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{check_enum, round_trip};

    const DEALS: &str = r#"{
        "deals": [{
            "id": "33230099",
            "type": "DEAL_TYPE_BALANCE",
            "time": "2019-09-26T13:10:21.000Z",
            "brokerTime": "2019-09-26 16:10:21.000",
            "commission": 0,
            "swap": 0,
            "profit": 10000,
            "comment": "Demo deposit 1",
            "platform": "mt5",
            "reason": "DEAL_REASON_CLIENT"
        }, {
            "id": "33230100",
            "type": "DEAL_TYPE_SELL",
            "entryType": "DEAL_ENTRY_OUT",
            "symbol": "EURJPY",
            "magic": 1000,
            "time": "2019-09-26T13:20:21.123Z",
            "brokerTime": "2019-09-26 16:20:21.123",
            "volume": 0.07,
            "price": 117.532,
            "commission": -0.25,
            "swap": -0.1,
            "profit": 3.42,
            "positionId": "46870472",
            "orderId": "46870482",
            "comment": "[tp 117.532]",
            "brokerComment": "[tp 117.532]",
            "clientId": "TE_EURJPY_7hyINWqAlE",
            "platform": "mt5",
            "reason": "DEAL_REASON_TP",
            "accountCurrencyExchangeRate": 1,
            "stopLoss": 117.0,
            "takeProfit": 117.532
        }],
        "synchronizing": true
    }"#;

    #[test]
    fn deals_round_trip() {
        let d: Deals = round_trip(DEALS);
        assert_eq!(d.deals[0].deal_type, DealType::Balance);
        assert_eq!(
            (d.deals[0].entry_type, d.deals[0].symbol.as_deref()),
            (None, None)
        );
        assert_eq!(d.deals[1].entry_type, Some(DealEntryType::Out));
        assert_eq!(d.deals[1].reason, Some(DealReason::Tp));
        assert!(d.synchronizing);
    }

    #[test]
    fn enums_spell_as_metaapi() {
        check_enum(DealType::ALL, DealType::as_str);
        check_enum(DealEntryType::ALL, DealEntryType::as_str);
        check_enum(DealReason::ALL, DealReason::as_str);
        assert_eq!(DealType::ALL.len(), 18);
        assert_eq!(DealType::ALL.iter().filter(|t| t.is_trade()).count(), 2);
    }
}
