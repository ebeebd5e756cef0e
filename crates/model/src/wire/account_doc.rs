//! The trading account document (`MetatraderAccount`) of the account management API: every
//! MetaApi field, `null` where unset, as the SDK reads them all.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// No `///` here: a doc comment would become the schema's description in the OpenAPI document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "MetatraderAccount")]
pub struct AccountDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub login: String,
    pub server: String,
    pub platform: String,
    pub version: u8,
    pub provisioning_profile_id: Option<String>,
    pub state: String,
    pub connection_status: String,
    pub region: String,
    pub reliability: String,
    pub magic: i64,
    pub quote_streaming_interval_in_seconds: f64,
    pub symbol: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Option<Value>,
    pub resource_slots: i64,
    pub copy_factory_resource_slots: i64,
    pub manual_trades: bool,
    pub slippage: Option<f64>,
    pub base_currency: Option<String>,
    pub copy_factory_roles: Vec<String>,
    pub risk_management_api_enabled: bool,
    pub metastats_api_enabled: bool,
    pub allocate_dedicated_ip: Option<String>,
    pub keywords: Vec<String>,
    pub connections: Vec<Value>,
    pub primary_replica: bool,
    pub user_id: String,
    pub primary_account_id: Option<String>,
    pub created_at: Timestamp,
    pub state_changed_at: Timestamp,
    pub account_replicas: Vec<Value>,
    /// Whether the stored password is the investor one (read-only access).
    pub investor_mode: bool,
}

impl AccountDoc {
    /// How many instances of the account stream: two replicas with `reliability: high`, one
    /// with MetaApi's default `regular`.
    pub fn replicas(&self) -> u64 {
        if self.reliability == "high" { 2 } else { 1 }
    }

    /// A deployed account `id` with MetaApi's defaults for everything not given.
    pub fn new(
        id: String,
        user_id: &str,
        name: String,
        login: String,
        server: String,
        region: &str,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            kind: "cloud-g2".into(),
            login,
            server,
            platform: "mt5".into(),
            version: 5,
            provisioning_profile_id: None,
            state: "DEPLOYED".into(),
            connection_status: "CONNECTED".into(),
            region: region.to_owned(),
            reliability: "regular".into(),
            magic: 0,
            quote_streaming_interval_in_seconds: 2.5,
            symbol: None,
            tags: Vec::new(),
            metadata: None,
            resource_slots: 1,
            copy_factory_resource_slots: 1,
            manual_trades: false,
            slippage: None,
            base_currency: None,
            copy_factory_roles: Vec::new(),
            risk_management_api_enabled: false,
            metastats_api_enabled: false,
            allocate_dedicated_ip: None,
            keywords: Vec::new(),
            connections: vec![json!({"region": region, "zone": "a", "application": "MetaApi"})],
            primary_replica: true,
            user_id: user_id.to_owned(),
            primary_account_id: None,
            created_at: now,
            state_changed_at: now,
            account_replicas: Vec::new(),
            investor_mode: false,
        }
    }

    /// Whether the account is deployed (`state` is `DEPLOYED`).
    pub fn deployed(&self) -> bool {
        self.state == "DEPLOYED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_account_has_every_field_with_the_metaapi_names_and_nulls() {
        let doc = AccountDoc::new(
            "a1".into(),
            "u1",
            "demo".into(),
            "123".into(),
            "Drawbridge-Demo".into(),
            "vint-hill",
            Timestamp::from_millis(0),
        );
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["_id"], "a1");
        assert_eq!(v["type"], "cloud-g2");
        assert_eq!(v["state"], "DEPLOYED");
        assert_eq!(
            v["symbol"],
            Value::Null,
            "unset fields are null, not absent"
        );
        assert_eq!(v["connections"][0]["region"], "vint-hill");
        assert_eq!(v.as_object().unwrap().len(), 35);
        let back: AccountDoc = serde_json::from_value(v).unwrap();
        assert_eq!(back, doc);
        assert!(back.deployed());
        assert_eq!(back.replicas(), 1);
    }
}
