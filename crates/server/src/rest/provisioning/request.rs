//! The account requests as types: [`CreateAccount`] (`POST /users/current/accounts`) and
//! [`UpdateAccount`] (`PUT /users/current/accounts/:id`).
//!
//! Each is read against its field table ([`CREATE_FIELDS`], [`UPDATE_FIELDS`]) by a
//! [`Reader`], which reports every problem at once, and the OpenAPI document lists the same
//! tables: what a field must be is written once.

use super::{METADATA_BYTES_MAX, NAME_CHARS_MAX, TAGS_MAX};
use crate::error::{ApiError, FieldError};
use crate::extract::body::{Field, Reader, Rule, opt, req};
use crate::messages;
use drawbridge_model::wire::{AccountDoc, AccountKind, Platform, Reliability};
use drawbridge_model::{AccountId, Timestamp, UserId};
use serde_json::{Map, Value, json};

const NAME: Rule = Rule::Text {
    max_chars: NAME_CHARS_MAX,
};
const SECRET_OR_SERVER: Rule = Rule::Text { max_chars: 256 };
const MAGIC: Rule = Rule::Integer {
    min: 0,
    max: u32::MAX as i64,
};
const TAGS: Rule = Rule::Strings {
    max_items: TAGS_MAX,
};
const METADATA: Rule = Rule::Object {
    max_bytes: METADATA_BYTES_MAX,
};
const SLOTS: Rule = Rule::Integer { min: 1, max: 32 };
const INTERVAL_SECONDS_MAX: f64 = 60.0;

/// The create request's `type` values: MetaApi's older `cloud`, meaning `cloud-g2`, then every
/// [`AccountKind`].
const KIND_VALUES: &[&str] = &["cloud", "cloud-g1", "cloud-g2", "self-hosted"];

/// The account kind a create request's `type` names.
fn kind_named(value: &str) -> Option<AccountKind> {
    match value {
        "cloud" => Some(AccountKind::CloudG2),
        other => AccountKind::from_wire(other),
    }
}

/// The fields of `POST /users/current/accounts`.
pub(super) const CREATE_FIELDS: &[Field] = &[
    req(
        "login",
        Rule::Digits { max_digits: 19 },
        "Broker login (digits)",
    ),
    req(
        "password",
        SECRET_OR_SERVER,
        "Broker password; the investor password gives read-only access",
    ),
    req("server", SECRET_OR_SERVER, "Trade server name"),
    req("name", NAME, "Human-readable account name"),
    opt("platform", Rule::OneOf(Platform::WIRE), "Default mt5"),
    opt("type", Rule::OneOf(KIND_VALUES), "Default cloud-g2"),
    opt("region", Rule::String, "The server's region"),
    opt(
        "reliability",
        Rule::OneOf(Reliability::WIRE),
        "Default regular",
    ),
    opt("magic", MAGIC, "Magic number of trades the API places"),
    opt(
        "quoteStreamingIntervalInSeconds",
        Rule::Between {
            min: 0.0,
            max: INTERVAL_SECONDS_MAX,
        },
        "0 to 60; default 2.5",
    ),
    opt("tags", TAGS, "Tags"),
    opt("keywords", TAGS, "Keywords searched by the list query"),
    opt(
        "metadata",
        METADATA,
        "Free-form metadata, at most 1 KiB as JSON",
    ),
    opt(
        "riskManagementApiEnabled",
        Rule::Boolean,
        "Enable the risk management API",
    ),
    opt(
        "metastatsApiEnabled",
        Rule::Boolean,
        "Enable the MetaStats API",
    ),
    opt(
        "manualTrades",
        Rule::Boolean,
        "Trades are placed by hand too",
    ),
    opt("resourceSlots", SLOTS, "1 to 32"),
    opt("copyFactoryResourceSlots", SLOTS, "1 to 32"),
    opt("symbol", Rule::String, "A symbol the account trades"),
    opt("slippage", Rule::Number, "Default slippage in points"),
    opt("baseCurrency", Rule::String, "Base currency"),
    opt(
        "copyFactoryRoles",
        Rule::Strings { max_items: 2 },
        "SUBSCRIBER and/or PROVIDER",
    ),
    opt(
        "provisioningProfileId",
        Rule::String,
        "Provisioning profile",
    ),
];

/// A valid create request; what is not given has MetaApi's default.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct CreateAccount {
    pub name: String,
    pub login: String,
    pub password: String,
    pub server: String,
    pub platform: Platform,
    pub kind: AccountKind,
    pub region: String,
    pub reliability: Reliability,
    pub magic: i64,
    pub quote_streaming_interval_in_seconds: f64,
    pub tags: Vec<String>,
    pub keywords: Vec<String>,
    pub metadata: Option<Value>,
    pub risk_management_api_enabled: bool,
    pub metastats_api_enabled: bool,
    pub manual_trades: bool,
    pub resource_slots: i64,
    pub copy_factory_resource_slots: i64,
    pub symbol: Option<String>,
    pub slippage: Option<f64>,
    pub base_currency: Option<String>,
    pub copy_factory_roles: Vec<String>,
    pub provisioning_profile_id: Option<String>,
}

impl CreateAccount {
    /// Reads a create request for a server of `region` (the only region it accepts).
    pub(super) fn read(body: &Map<String, Value>, region: &str) -> Result<Self, ApiError> {
        // Read, and so listed in `details`, in the order this request has always answered:
        // `name` first. The four required strings go in once no problem is left.
        let mut r = Reader::new(body, CREATE_FIELDS);
        let name = r.string("name");
        let login = r.string("login");
        let password = r.string("password");
        let server = r.string("server");
        let platform = r.choice("platform", Platform::from_wire);
        let kind = r.choice("type", kind_named);
        let asked_region = r.string("region").unwrap_or_else(|| region.to_owned());
        if asked_region != region {
            let why = messages::FIELD_ONE_OF.with(&[&region]);
            r.problem(FieldError::new("region", Some(json!(asked_region)), why));
        }
        let reliability = r.choice("reliability", Reliability::from_wire);
        let magic = r.integer("magic");
        let interval = r.number("quoteStreamingIntervalInSeconds");
        let mut read = Self {
            name: String::new(),
            login: String::new(),
            password: String::new(),
            server: String::new(),
            platform: platform.unwrap_or(Platform::Mt5),
            kind: kind.unwrap_or(AccountKind::CloudG2),
            region: asked_region,
            reliability: reliability.unwrap_or(Reliability::Regular),
            magic: magic.unwrap_or(0),
            quote_streaming_interval_in_seconds: interval.unwrap_or(2.5),
            tags: r.strings("tags").unwrap_or_default(),
            keywords: r.strings("keywords").unwrap_or_default(),
            metadata: r.object("metadata"),
            risk_management_api_enabled: r.boolean("riskManagementApiEnabled").unwrap_or(false),
            metastats_api_enabled: r.boolean("metastatsApiEnabled").unwrap_or(false),
            manual_trades: r.boolean("manualTrades").unwrap_or(false),
            resource_slots: r.integer("resourceSlots").unwrap_or(1),
            copy_factory_resource_slots: r.integer("copyFactoryResourceSlots").unwrap_or(1),
            symbol: r.string("symbol"),
            slippage: r.number("slippage"),
            base_currency: r.string("baseCurrency"),
            copy_factory_roles: r.strings("copyFactoryRoles").unwrap_or_default(),
            provisioning_profile_id: r.string("provisioningProfileId"),
        };
        r.finish()?;
        let (Some(name), Some(login), Some(password), Some(server)) =
            (name, login, password, server)
        else {
            return Err(ApiError::internal("validated fields missing"));
        };
        (read.name, read.login, read.password, read.server) = (name, login, password, server);
        Ok(read)
    }

    /// The account document `id` of `user_id` the request describes, created at `now`, and
    /// the broker password (which the document does not hold).
    pub(super) fn into_account(
        self,
        id: AccountId,
        user_id: UserId,
        now: Timestamp,
    ) -> (AccountDoc, String) {
        let mut doc = AccountDoc::new(
            id,
            user_id,
            self.name,
            self.login,
            self.server,
            &self.region,
            now,
        );
        doc.kind = self.kind;
        doc.set_platform(self.platform);
        doc.provisioning_profile_id = self.provisioning_profile_id;
        doc.reliability = self.reliability;
        doc.magic = self.magic;
        doc.quote_streaming_interval_in_seconds = self.quote_streaming_interval_in_seconds;
        doc.symbol = self.symbol;
        doc.tags = self.tags;
        doc.metadata = self.metadata;
        doc.resource_slots = self.resource_slots;
        doc.copy_factory_resource_slots = self.copy_factory_resource_slots;
        doc.manual_trades = self.manual_trades;
        doc.slippage = self.slippage;
        doc.base_currency = self.base_currency;
        doc.copy_factory_roles = self.copy_factory_roles;
        doc.risk_management_api_enabled = self.risk_management_api_enabled;
        doc.metastats_api_enabled = self.metastats_api_enabled;
        doc.keywords = self.keywords;
        (doc, self.password)
    }
}

/// The fields of `PUT /users/current/accounts/:id`.
pub(super) const UPDATE_FIELDS: &[Field] = &[
    opt("name", NAME, "Human-readable account name"),
    opt("password", SECRET_OR_SERVER, "New broker password"),
    opt("server", SECRET_OR_SERVER, "Trade server name"),
    opt("magic", MAGIC, "Magic number"),
    opt(
        "quoteStreamingIntervalInSeconds",
        Rule::NumberIn {
            min: 0.0,
            max: INTERVAL_SECONDS_MAX,
        },
        "0 to 60",
    ),
    opt("tags", TAGS, "Tags"),
    opt(
        "metadata",
        METADATA,
        "Free-form metadata, at most 1 KiB as JSON",
    ),
    opt(
        "manualTrades",
        Rule::Boolean,
        "Trades are placed by hand too",
    ),
    opt("slippage", Rule::Number, "Default slippage in points"),
    opt("resourceSlots", SLOTS, "1 to 32"),
];

/// A valid update request: the fields to change.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct UpdateAccount {
    pub name: Option<String>,
    pub password: Option<String>,
    pub server: Option<String>,
    pub magic: Option<i64>,
    pub quote_streaming_interval_in_seconds: Option<f64>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Value>,
    pub manual_trades: Option<bool>,
    pub slippage: Option<f64>,
    pub resource_slots: Option<i64>,
    /// A new password, or the `server` key present (even `null`): the broker is asked again.
    pub credentials_named: bool,
}

impl UpdateAccount {
    pub(super) fn read(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut r = Reader::new(body, UPDATE_FIELDS);
        let read = Self {
            name: r.string("name"),
            password: r.string("password"),
            server: r.string("server"),
            magic: r.integer("magic"),
            quote_streaming_interval_in_seconds: r.number("quoteStreamingIntervalInSeconds"),
            tags: r.strings("tags"),
            metadata: r.object("metadata"),
            manual_trades: r.boolean("manualTrades"),
            slippage: r.number("slippage"),
            resource_slots: r.integer("resourceSlots"),
            credentials_named: false,
        };
        let credentials_named = read.password.is_some() || r.names("server");
        r.finish()?;
        Ok(Self {
            credentials_named,
            ..read
        })
    }

    /// Changes what the request names in `doc` (not the password: the document has none).
    pub(super) fn apply(&self, doc: &mut AccountDoc) {
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                field.clone_from(v);
            }
        };
        set(&mut doc.name, &self.name);
        set(&mut doc.server, &self.server);
        if let Some(v) = self.magic {
            doc.magic = v;
        }
        if let Some(v) = self.quote_streaming_interval_in_seconds {
            doc.quote_streaming_interval_in_seconds = v;
        }
        if let Some(v) = &self.tags {
            doc.tags.clone_from(v);
        }
        if self.metadata.is_some() {
            doc.metadata.clone_from(&self.metadata);
        }
        if let Some(v) = self.manual_trades {
            doc.manual_trades = v;
        }
        if self.slippage.is_some() {
            doc.slippage = self.slippage;
        }
        if let Some(v) = self.resource_slots {
            doc.resource_slots = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        let Value::Object(map) = v else {
            unreachable!("an object")
        };
        map
    }

    /// Every field of a table, each with a value of the wrong JSON type.
    fn all_wrong(table: &[Field]) -> Map<String, Value> {
        let wrong = |rule: Rule| match rule {
            Rule::Integer { .. } | Rule::Number | Rule::NumberIn { .. } | Rule::Between { .. } => {
                json!("x")
            }
            _ => json!(1.5),
        };
        table
            .iter()
            .map(|f| (f.name.to_owned(), wrong(f.rule)))
            .collect()
    }

    fn problems(e: ApiError) -> Vec<String> {
        let details = e.details.clone().unwrap_or_default();
        let list = details.as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|d| d["parameter"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn every_field_of_the_create_table_is_checked_in_one_answer() {
        let e = CreateAccount::read(&all_wrong(CREATE_FIELDS), "vint-hill").unwrap_err();
        let mut got = problems(e);
        let mut want: Vec<String> = CREATE_FIELDS.iter().map(|f| f.name.to_owned()).collect();
        // `region` of the wrong type falls back to the server's region: one problem.
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn every_field_of_the_update_table_is_checked_in_one_answer() {
        let e = UpdateAccount::read(&all_wrong(UPDATE_FIELDS)).unwrap_err();
        let want: Vec<String> = UPDATE_FIELDS.iter().map(|f| f.name.to_owned()).collect();
        assert_eq!(problems(e), want);
    }

    #[test]
    fn a_full_create_request_reads_into_the_document() {
        let body = object(json!({
            "login": "123", "password": "pw", "server": "S", "name": "N", "platform": "mt4",
            "type": "cloud", "region": "r", "reliability": "high", "magic": 7,
            "quoteStreamingIntervalInSeconds": 0, "tags": ["t"], "keywords": ["k"],
            "metadata": {"a": 1}, "riskManagementApiEnabled": true, "metastatsApiEnabled": true,
            "manualTrades": true, "resourceSlots": 2, "copyFactoryResourceSlots": 3,
            "symbol": "EURUSD", "slippage": 1.5, "baseCurrency": "USD",
            "copyFactoryRoles": ["PROVIDER"], "provisioningProfileId": "p"
        }));
        let request = CreateAccount::read(&body, "r").unwrap();
        let now = Timestamp::from_millis(0);
        let (doc, password) = request.into_account("a".into(), "u".into(), now);
        assert_eq!(password, "pw");
        let v = serde_json::to_value(&doc).unwrap();
        for (key, value) in &body {
            match key.as_str() {
                "password" => assert!(v.get(key).is_none()),
                "type" => assert_eq!(v[key], "cloud-g2", "cloud is cloud-g2"),
                "quoteStreamingIntervalInSeconds" => assert_eq!(v[key], 0.0),
                _ => assert_eq!(&v[key], value, "{key}"),
            }
        }
        assert_eq!(
            (v["version"].clone(), v["region"].clone()),
            (json!(4), json!("r"))
        );
    }

    #[test]
    fn an_empty_create_request_names_the_required_fields_in_table_order() {
        let e = CreateAccount::read(&Map::new(), "r").unwrap_err();
        assert_eq!(problems(e), ["login", "password", "server", "name"]);
        let minimal = object(json!({"login": "1", "password": "p", "server": "s", "name": "n"}));
        let read = CreateAccount::read(&minimal, "r").unwrap();
        assert_eq!(
            (
                read.platform,
                read.kind,
                read.reliability,
                read.region.as_str()
            ),
            (
                Platform::Mt5,
                AccountKind::CloudG2,
                Reliability::Regular,
                "r"
            )
        );
    }

    #[test]
    fn the_kind_values_are_cloud_then_every_account_kind() {
        assert_eq!(KIND_VALUES[0], "cloud");
        assert_eq!(&KIND_VALUES[1..], AccountKind::WIRE);
    }

    #[test]
    fn an_update_changes_what_it_names_and_asks_the_broker_again_for_credentials() {
        let mut doc = AccountDoc::new(
            "a".into(),
            "u".into(),
            "old".into(),
            "1".into(),
            "S".into(),
            "r",
            Timestamp::from_millis(0),
        );
        let update = UpdateAccount::read(&object(json!({"name": "new", "magic": 3}))).unwrap();
        assert!(!update.credentials_named);
        update.apply(&mut doc);
        assert_eq!(
            (doc.name.as_str(), doc.magic, doc.server.as_str()),
            ("new", 3, "S")
        );
        let update = UpdateAccount::read(&object(json!({"server": null}))).unwrap();
        assert!(
            update.credentials_named,
            "a server key, even null, reconnects"
        );
    }
}
