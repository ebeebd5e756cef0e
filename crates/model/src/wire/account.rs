//! Account information (`MetatraderAccountInformation`): balance, equity, margin and the
//! account's fixed properties.

use serde::{Deserialize, Serialize};

wire_enum! {
    /// The MetaTrader platform an account or a history record belongs to.
    Platform {
        Mt4 = "mt4",
        Mt5 = "mt5",
    }
}

impl Platform {
    /// The MetaTrader version: 4 or 5.
    pub fn version(self) -> u8 {
        match self {
            Platform::Mt4 => 4,
            Platform::Mt5 => 5,
        }
    }
}

wire_enum! {
    /// How margin is computed and whether opposite positions may coexist.
    MarginMode {
        Exchange = "ACCOUNT_MARGIN_MODE_EXCHANGE",
        RetailNetting = "ACCOUNT_MARGIN_MODE_RETAIL_NETTING",
        RetailHedging = "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING",
    }
}

wire_enum! {
    /// The account's trade mode (the `type` field).
    AccountTradeMode {
        Demo = "ACCOUNT_TRADE_MODE_DEMO",
        Contest = "ACCOUNT_TRADE_MODE_CONTEST",
        Real = "ACCOUNT_TRADE_MODE_REAL",
    }
}

/// The `accountInformation` of `getAccountInformation` responses and synchronization packets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountInformation {
    pub platform: Platform,
    pub broker: String,
    /// Deposit currency ISO code.
    pub currency: String,
    /// Trade server name.
    pub server: String,
    pub balance: f64,
    pub equity: f64,
    /// Margin in use.
    pub margin: f64,
    pub free_margin: f64,
    pub leverage: f64,
    /// Equity / margin in percent; absent while no margin is used.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub margin_level: Option<f64>,
    pub trade_allowed: bool,
    /// True when the investor (read-only) password was used.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub investor_mode: Option<bool>,
    pub margin_mode: MarginMode,
    /// Account owner name.
    pub name: String,
    pub login: u64,
    pub credit: f64,
    /// Rate of the account currency into the base currency. In the MetaApi docs and the JS SDK;
    /// missing from the Python SDK 29.1.1 `models.py`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_currency_exchange_rate: Option<f64>,
    #[serde(rename = "type")]
    pub trade_mode: AccountTradeMode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{check_enum, round_trip};

    const FULL: &str = r#"{
        "platform": "mt5",
        "broker": "Drawbridge Markets Ltd",
        "currency": "USD",
        "server": "Drawbridge-Demo",
        "balance": 7319.9,
        "equity": 7306.65,
        "margin": 184.1,
        "freeMargin": 7122.55,
        "leverage": 100,
        "marginLevel": 3968.84,
        "tradeAllowed": true,
        "investorMode": false,
        "marginMode": "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING",
        "name": "Will Turner",
        "login": 12345678,
        "credit": 0,
        "accountCurrencyExchangeRate": 1,
        "type": "ACCOUNT_TRADE_MODE_DEMO"
    }"#;

    #[test]
    fn account_information_round_trips() {
        let a: AccountInformation = round_trip(FULL);
        assert_eq!(a.platform, Platform::Mt5);
        assert_eq!(a.margin_mode, MarginMode::RetailHedging);
        assert_eq!(a.trade_mode, AccountTradeMode::Demo);
        assert_eq!(a.login, 12_345_678);
        assert_eq!(a.margin_level, Some(3968.84));
    }

    #[test]
    fn optional_fields_are_omitted() {
        let minimal = r#"{
            "platform": "mt4", "broker": "B", "currency": "EUR", "server": "S",
            "balance": 10, "equity": 10, "margin": 0, "freeMargin": 10, "leverage": 500,
            "tradeAllowed": false, "marginMode": "ACCOUNT_MARGIN_MODE_RETAIL_NETTING",
            "name": "N", "login": 1, "credit": 0, "type": "ACCOUNT_TRADE_MODE_REAL"
        }"#;
        let a: AccountInformation = round_trip(minimal);
        assert_eq!((a.margin_level, a.investor_mode), (None, None));
    }

    #[test]
    fn enums_spell_as_metaapi() {
        check_enum(Platform::ALL, Platform::as_str);
        check_enum(MarginMode::ALL, MarginMode::as_str);
        check_enum(AccountTradeMode::ALL, AccountTradeMode::as_str);
    }
}
