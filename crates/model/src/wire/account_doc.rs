//! The trading account document (`MetatraderAccount`) of the account management API: every
//! MetaApi field, `null` where unset, as the SDK reads them all.

use crate::wire::Platform;
use crate::{AccountId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

wire_enum! {
    /// Where an account is in its life (MetaApi's deployment states). Drawbridge moves an
    /// account between `DEPLOYED` and `UNDEPLOYED` at once; the other states are MetaApi's,
    /// read from documents and named in list filters.
    AccountState {
        Created = "CREATED",
        Deploying = "DEPLOYING",
        Deployed = "DEPLOYED",
        DeployFailed = "DEPLOY_FAILED",
        Undeploying = "UNDEPLOYING",
        Undeployed = "UNDEPLOYED",
        UndeployFailed = "UNDEPLOY_FAILED",
        Deleting = "DELETING",
        DeleteFailed = "DELETE_FAILED",
        RedeployFailed = "REDEPLOY_FAILED",
        Draft = "DRAFT",
    }
}

wire_enum! {
    /// Whether a deployed account's terminal is connected (MetaApi's `connectionStatus`).
    ConnectionStatus {
        Connected = "CONNECTED",
        Disconnected = "DISCONNECTED",
        DisconnectedFromBroker = "DISCONNECTED_FROM_BROKER",
    }
}

wire_enum! {
    /// How many instances of the account stream: `high` is two replicas.
    Reliability {
        Regular = "regular",
        High = "high",
    }
}

wire_enum! {
    /// Where the account's terminal runs (the `type` field). The create request also accepts
    /// MetaApi's older `cloud`, meaning `cloud-g2`.
    AccountKind {
        CloudG1 = "cloud-g1",
        CloudG2 = "cloud-g2",
        SelfHosted = "self-hosted",
    }
}

// No `///` here: a doc comment would become the schema's description in the OpenAPI document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "MetatraderAccount")]
pub struct AccountDoc {
    #[serde(rename = "_id")]
    pub id: AccountId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AccountKind,
    pub login: String,
    pub server: String,
    pub platform: Platform,
    pub version: u8,
    pub provisioning_profile_id: Option<String>,
    pub state: AccountState,
    pub connection_status: ConnectionStatus,
    pub region: String,
    pub reliability: Reliability,
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
    pub user_id: UserId,
    pub primary_account_id: Option<AccountId>,
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
        match self.reliability {
            Reliability::High => 2,
            Reliability::Regular => 1,
        }
    }

    /// A deployed account `id` with MetaApi's defaults for everything not given.
    pub fn new(
        id: AccountId,
        user_id: UserId,
        name: String,
        login: String,
        server: String,
        region: &str,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            kind: AccountKind::CloudG2,
            login,
            server,
            platform: Platform::Mt5,
            version: Platform::Mt5.version(),
            provisioning_profile_id: None,
            state: AccountState::Deployed,
            connection_status: ConnectionStatus::Connected,
            region: region.to_owned(),
            reliability: Reliability::Regular,
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
            user_id,
            primary_account_id: None,
            created_at: now,
            state_changed_at: now,
            account_replicas: Vec::new(),
            investor_mode: false,
        }
    }

    /// Whether the account is deployed (`state` is `DEPLOYED`).
    pub fn deployed(&self) -> bool {
        self.state == AccountState::Deployed
    }

    /// Moves the account to `DEPLOYED`/`CONNECTED` or `UNDEPLOYED`/`DISCONNECTED` at `now`.
    pub fn set_deployed(&mut self, deployed: bool, now: Timestamp) {
        (self.state, self.connection_status) = if deployed {
            (AccountState::Deployed, ConnectionStatus::Connected)
        } else {
            (AccountState::Undeployed, ConnectionStatus::Disconnected)
        };
        self.state_changed_at = now;
    }

    /// Sets the platform and the MetaTrader version that goes with it.
    pub fn set_platform(&mut self, platform: Platform) {
        self.platform = platform;
        self.version = platform.version();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account `a1` of user `u1`, as created at 0.
    fn demo() -> AccountDoc {
        AccountDoc::new(
            "a1".into(),
            "u1".into(),
            "demo".into(),
            "123".into(),
            "Drawbridge-Demo".into(),
            "vint-hill",
            Timestamp::from_millis(0),
        )
    }

    #[test]
    fn a_new_account_has_every_field_with_the_metaapi_names_and_nulls() {
        let doc = demo();
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

    /// A document as a build with string fields stored it (SQLite `accounts.doc`), byte for
    /// byte: it loads into the typed document and is written back the same.
    const STORED_BY_STRING_BUILD: &str = concat!(
        r#"{"_id":"0f3c2b8e5d6a4f1e9b7c3a2d1e0f9a8b","name":"full","type":"self-hosted","#,
        r#""login":"10000003","server":"Drawbridge-Demo","platform":"mt4","version":4,"#,
        r#""provisioningProfileId":"p1","state":"UNDEPLOYED","connectionStatus":"DISCONNECTED","#,
        r#""region":"vint-hill","reliability":"high","magic":4294967295,"#,
        r#""quoteStreamingIntervalInSeconds":0.0,"symbol":"EURUSD","tags":["t1","t2"],"#,
        r#""metadata":{"a":[1,2]},"resourceSlots":32,"copyFactoryResourceSlots":2,"#,
        r#""manualTrades":true,"slippage":1.5,"baseCurrency":"USD","#,
        r#""copyFactoryRoles":["PROVIDER","SUBSCRIBER"],"riskManagementApiEnabled":true,"#,
        r#""metastatsApiEnabled":true,"allocateDedicatedIp":null,"keywords":["k"],"#,
        r#""connections":[{"application":"MetaApi","region":"vint-hill","zone":"a"}],"#,
        r#""primaryReplica":true,"userId":"a927d5650e953163cd752204","primaryAccountId":null,"#,
        r#""createdAt":"2026-01-07T10:00:00.000Z","stateChangedAt":"2026-01-07T10:05:00.000Z","#,
        r#""accountReplicas":[],"investorMode":false}"#
    );

    #[test]
    fn a_document_stored_by_a_string_build_loads_and_is_written_back_the_same() {
        let doc: AccountDoc = serde_json::from_str(STORED_BY_STRING_BUILD).unwrap();
        assert_eq!(doc.id, "0f3c2b8e5d6a4f1e9b7c3a2d1e0f9a8b");
        assert_eq!(doc.user_id, "a927d5650e953163cd752204");
        assert_eq!(
            (doc.kind, doc.platform, doc.reliability),
            (AccountKind::SelfHosted, Platform::Mt4, Reliability::High)
        );
        assert_eq!(
            (doc.state, doc.connection_status),
            (AccountState::Undeployed, ConnectionStatus::Disconnected)
        );
        assert!(!doc.deployed());
        assert_eq!(doc.replicas(), 2);
        assert_eq!(serde_json::to_string(&doc).unwrap(), STORED_BY_STRING_BUILD);
    }

    #[test]
    fn deploying_and_undeploying_set_the_state_and_the_connection_status() {
        let mut doc = demo();
        doc.set_deployed(false, Timestamp::from_millis(5));
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            (&v["state"], &v["connectionStatus"]),
            (&json!("UNDEPLOYED"), &json!("DISCONNECTED"))
        );
        assert_eq!(doc.state_changed_at, Timestamp::from_millis(5));
        doc.set_deployed(true, Timestamp::from_millis(6));
        assert!(doc.deployed());
        assert_eq!(doc.connection_status, ConnectionStatus::Connected);
        doc.set_platform(Platform::Mt4);
        assert_eq!((doc.platform, doc.version), (Platform::Mt4, 4));
    }

    #[test]
    fn enums_spell_as_metaapi() {
        use crate::wire::testing::check_enum;
        check_enum(AccountState::ALL, AccountState::as_str);
        check_enum(ConnectionStatus::ALL, ConnectionStatus::as_str);
        check_enum(Reliability::ALL, Reliability::as_str);
        check_enum(AccountKind::ALL, AccountKind::as_str);
        assert_eq!(AccountState::ALL.len(), 11);
        assert_eq!(
            AccountKind::from_wire("cloud"),
            None,
            "the create request maps it"
        );
    }
}
