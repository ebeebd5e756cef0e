//! The limit catalogue: every limit drawbridge enforces, with a stable numeric id, a name, a
//! kind, a value and (for rates) a period. The defaults are the MetaApi rate-limiting docs'
//! and the CQG WebAPI's; the `[limits]` section of the config file overrides values by name.
//!
//! Ids: where a limit matches a CQG `ApiLimit`, its id (1 connection rate, 3 connections per
//! IP, 100 socket unready period, 110 client messages rate, 261 historical orders days, 390
//! API-limit requests in processing, 611 trade subscription accounts). MetaApi's own limits
//! are numbered from 1000: 10xx CPU credits, 11xx historical market data, 12xx terminal
//! synchronization, 13xx streaming credits, 14xx connections, accounts and their risk trackers.

use crate::credits::Credits;
use crate::ledger::{LedgerQuotas, Quota};
use std::collections::BTreeMap;

/// The CQG limit kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rate,
    RequestsInProcessing,
    Subscriptions,
    Operational,
    CloseConnection,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::RequestsInProcessing => "requests_in_processing",
            Self::Subscriptions => "subscriptions",
            Self::Operational => "operational",
            Self::CloseConnection => "close_connection",
        }
    }
}

/// One limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub id: u32,
    /// Stable name: the config key.
    pub name: &'static str,
    /// The message key of the description: `limit.<name>`.
    pub key: &'static str,
    pub kind: Kind,
    pub value: u64,
    pub period_secs: Option<u32>,
    /// English description; `{0}` is the value, `{1}` the period in seconds.
    pub description: &'static str,
}

macro_rules! limits {
    ($($id:literal $const_name:ident $name:literal $kind:ident $value:literal $period:expr, $desc:literal;)*) => {
        /// Limit ids by name.
        pub mod id {
            $(pub const $const_name: u32 = $id;)*
        }
        fn defaults() -> Vec<Limit> {
            vec![$(Limit {
                id: $id,
                name: $name,
                key: concat!("limit.", $name),
                kind: Kind::$kind,
                value: $value,
                period_secs: $period,
                description: $desc,
            }),*]
        }
    };
}

limits! {
    1 CONNECTION_RATE "connection_rate" Rate 1000 Some(100),
        "At most {0} new connections per {1} s from one IP address";
    3 CONNECTIONS_PER_IP "connections_per_ip" Operational 100 None,
        "At most {0} open connections from one IP address";
    100 UNREADY_SOCKET_CLOSE "unready_socket_close_secs" CloseConnection 60 None,
        "A connection that has not authenticated within {0} s is closed";
    110 CLIENT_MESSAGES_RATE "client_messages_rate" CloseConnection 1000 Some(10),
        "A connection sending more than {0} messages per {1} s is warned, then closed";
    261 HISTORICAL_ORDERS_DAYS "historical_orders_days" Operational 365 None,
        "History requests reach back at most {0} days; an older range is truncated";
    390 API_LIMIT_REQUESTS_IN_PROCESSING "api_limit_requests_in_processing" RequestsInProcessing 1 None,
        "At most {0} API-limit request in processing per connection";
    611 TRADE_SUBSCRIPTION_ACCOUNTS "trade_subscription_accounts" Subscriptions 100 None,
        "At most {0} accounts subscribed per streaming connection";
    1001 CPU_PER_USER_1S "cpu_per_user_1s" Rate 1000 Some(1),
        "{0} CPU credits per {1} s per application, times its deployed accounts";
    1002 CPU_PER_USER_1M "cpu_per_user_1m" Rate 6000 Some(60),
        "{0} CPU credits per {1} s per application, times its deployed accounts";
    1003 CPU_PER_USER_1H "cpu_per_user_1h" Rate 18000 Some(3600),
        "{0} CPU credits per {1} s per application, times its deployed accounts";
    1004 CPU_PER_USER_6H "cpu_per_user_6h" Rate 43200 Some(21600),
        "{0} CPU credits per {1} s per application, times its deployed accounts";
    1011 CPU_PER_SERVER_1S "cpu_per_server_1s" Rate 2000 Some(1),
        "{0} CPU credits per {1} s per application on one front-end server";
    1012 CPU_PER_SERVER_1M "cpu_per_server_1m" Rate 18000 Some(60),
        "{0} CPU credits per {1} s per application on one front-end server";
    1013 CPU_PER_SERVER_1H "cpu_per_server_1h" Rate 180000 Some(3600),
        "{0} CPU credits per {1} s per application on one front-end server";
    1014 CPU_PER_SERVER_6H "cpu_per_server_6h" Rate 432000 Some(21600),
        "{0} CPU credits per {1} s per application on one front-end server";
    1021 CPU_PER_ACCOUNT_10S "cpu_per_account_10s" Rate 5000 Some(10),
        "{0} CPU credits per {1} s per account";
    1030 FRONT_END_SERVERS "front_end_servers" Operational 12 None,
        "{0} virtual front-end servers; the client-id header picks one";
    1031 LEDGER_KEYS_MAX "ledger_keys_max" Operational 4000000 None,
        "At most {0} users, servers or accounts tracked per credit scope";
    1101 HISTORY_PER_USER_1S "history_per_user_1s" Rate 1000 Some(1),
        "{0} historical-market-data credits per {1} s per application, times its deployed accounts";
    1102 HISTORY_PER_USER_1M "history_per_user_1m" Rate 6000 Some(60),
        "{0} historical-market-data credits per {1} s per application, times its deployed accounts";
    1103 HISTORY_PER_USER_1H "history_per_user_1h" Rate 18000 Some(3600),
        "{0} historical-market-data credits per {1} s per application, times its deployed accounts";
    1104 HISTORY_PER_USER_6H "history_per_user_6h" Rate 43200 Some(21600),
        "{0} historical-market-data credits per {1} s per application, times its deployed accounts";
    1111 HISTORY_PER_SERVER_1S "history_per_server_1s" Rate 2000 Some(1),
        "{0} historical-market-data credits per {1} s per application on one front-end server";
    1112 HISTORY_PER_SERVER_1M "history_per_server_1m" Rate 18000 Some(60),
        "{0} historical-market-data credits per {1} s per application on one front-end server";
    1113 HISTORY_PER_SERVER_1H "history_per_server_1h" Rate 180000 Some(3600),
        "{0} historical-market-data credits per {1} s per application on one front-end server";
    1114 HISTORY_PER_SERVER_6H "history_per_server_6h" Rate 432000 Some(21600),
        "{0} historical-market-data credits per {1} s per application on one front-end server";
    1121 HISTORY_PER_ACCOUNT_10S "history_per_account_10s" Rate 5000 Some(10),
        "{0} historical-market-data credits per {1} s per account";
    1122 HISTORY_CONCURRENT_PER_ACCOUNT "history_concurrent_per_account" RequestsInProcessing 5 None,
        "At most {0} historical-market-data requests in processing per account";
    1201 SUBSCRIBE_RATE "subscribe_rate" Rate 10 Some(60),
        "{0} subscribe requests per {1} s per deployed account";
    1202 SUBSCRIPTIONS_PER_USER_PER_SERVER "subscriptions_per_user_per_server" Subscriptions 300 None,
        "At most {0} account subscriptions per application on one front-end server";
    1203 SUBSCRIPTIONS_PER_DEPLOYED_ACCOUNT "subscriptions_per_deployed_account" Subscriptions 10 None,
        "At most {0} account subscriptions per deployed account of the application";
    1204 SUBSCRIPTIONS_PER_SERVER "subscriptions_per_server" Subscriptions 25000 None,
        "At most {0} account subscriptions on one front-end server";
    1205 CONCURRENT_SYNCHRONIZATIONS_PCT "concurrent_synchronizations_pct" Operational 10 None,
        "At most {0}% of the subscribed accounts (at least one) synchronizing at once";
    1301 STREAMING_PER_ACCOUNT_10S "streaming_per_account_10s" Rate 31500 Some(10),
        "{0} streaming credits per {1} s per account";
    1302 STREAMING_PER_ACCOUNT_1M "streaming_per_account_1m" Rate 126000 Some(60),
        "{0} streaming credits per {1} s per account";
    1303 STREAMING_PER_ACCOUNT_5M "streaming_per_account_5m" Rate 315000 Some(300),
        "{0} streaming credits per {1} s per account";
    1401 REQUESTS_IN_PROCESSING_PER_SESSION "requests_in_processing_per_session" RequestsInProcessing 100 None,
        "At most {0} requests in processing per streaming connection";
    1402 ACCOUNTS_PER_USER "accounts_per_user" Operational 5000 None,
        "At most {0} trading accounts per user; a warning at 99%";
    1403 TRACKERS_PER_ACCOUNT "trackers_per_account" Operational 100 None,
        "At most {0} risk management trackers per trading account";
}

/// The largest value a limit may be set to: credits are counted in thousandths in `u64`,
/// every other limit in `u32`.
pub fn max_value(limit: u32) -> u64 {
    match limit {
        id::CPU_PER_USER_1S..=id::CPU_PER_ACCOUNT_10S
        | id::HISTORY_PER_USER_1S..=id::HISTORY_PER_ACCOUNT_10S => u64::MAX / 1_000_000,
        _ => u64::from(u32::MAX),
    }
}

/// Every limit, defaults overridden by configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    limits: Vec<Limit>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Self { limits: defaults() }
    }
}

impl Catalogue {
    /// The defaults with `overrides` (limit name → value) applied; every unknown name or
    /// unusable value is reported at once.
    pub fn with_overrides(overrides: &BTreeMap<String, u64>) -> Result<Self, Vec<String>> {
        let mut c = Self::default();
        let mut problems = Vec::new();
        for (name, &value) in overrides {
            match c.limits.iter_mut().find(|l| l.name == name) {
                None => problems.push(format!("limits.{name}: no such limit")),
                // Zero would forbid everything the limit governs.
                Some(_) if value == 0 => {
                    problems.push(format!("limits.{name}: must be at least 1"));
                }
                Some(l) if value > max_value(l.id) => problems.push(format!(
                    "limits.{name}: at most {} (the counters are sized for it)",
                    max_value(l.id)
                )),
                Some(l) => l.value = value,
            }
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems)
        }
    }

    pub fn all(&self) -> &[Limit] {
        &self.limits
    }

    pub fn get(&self, id: u32) -> Option<&Limit> {
        self.limits.iter().find(|l| l.id == id)
    }

    /// The value of limit `id` (one of [`id`]); 0 for an id the catalogue does not define.
    pub fn value(&self, id: u32) -> u64 {
        self.get(id).map_or(0, |l| l.value)
    }

    fn quota(&self, id: u32) -> Quota {
        let l = self.get(id);
        Quota {
            period_ms: l
                .and_then(|l| l.period_secs)
                .map_or(1_000, |s| i64::from(s) * 1_000),
            credits: Credits::whole(l.map_or(0, |l| l.value)),
        }
    }

    fn quotas(&self, user: [u32; 4], server: [u32; 4], account: u32) -> LedgerQuotas {
        LedgerQuotas {
            per_user: user.map(|i| self.quota(i)),
            per_server: server.map(|i| self.quota(i)),
            per_account: [self.quota(account)],
            max_keys: usize::try_from(self.value(id::LEDGER_KEYS_MAX)).unwrap_or(usize::MAX),
        }
    }

    /// The quotas of the REST/RPC CPU-credit ledger.
    pub fn cpu_quotas(&self) -> LedgerQuotas {
        use id::*;
        self.quotas(
            [
                CPU_PER_USER_1S,
                CPU_PER_USER_1M,
                CPU_PER_USER_1H,
                CPU_PER_USER_6H,
            ],
            [
                CPU_PER_SERVER_1S,
                CPU_PER_SERVER_1M,
                CPU_PER_SERVER_1H,
                CPU_PER_SERVER_6H,
            ],
            CPU_PER_ACCOUNT_10S,
        )
    }

    /// The quotas of the historical-market-data ledger.
    pub fn history_quotas(&self) -> LedgerQuotas {
        use id::*;
        self.quotas(
            [
                HISTORY_PER_USER_1S,
                HISTORY_PER_USER_1M,
                HISTORY_PER_USER_1H,
                HISTORY_PER_USER_6H,
            ],
            [
                HISTORY_PER_SERVER_1S,
                HISTORY_PER_SERVER_1M,
                HISTORY_PER_SERVER_1H,
                HISTORY_PER_SERVER_6H,
            ],
            HISTORY_PER_ACCOUNT_10S,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_cqg_ids_are_kept() {
        let c = Catalogue::default();
        let mut ids: Vec<u32> = c.all().iter().map(|l| l.id).collect();
        let mut names: Vec<&str> = c.all().iter().map(|l| l.name).collect();
        ids.sort_unstable();
        ids.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!(ids.len(), c.all().len());
        assert_eq!(names.len(), c.all().len());
        for l in c.all() {
            assert!(
                l.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{} has a name of its own",
                l.name
            );
            if l.kind == Kind::Rate {
                assert!(
                    l.period_secs.is_some(),
                    "{} is a rate without a period",
                    l.name
                );
            }
        }
        for (cqg, name) in [
            (1, "connection_rate"),
            (3, "connections_per_ip"),
            (100, "unready_socket_close_secs"),
            (110, "client_messages_rate"),
            (261, "historical_orders_days"),
            (390, "api_limit_requests_in_processing"),
            (611, "trade_subscription_accounts"),
        ] {
            assert_eq!(c.get(cqg).map(|l| l.name), Some(name));
        }
    }

    #[test]
    fn overrides_by_name_and_every_problem_at_once() {
        let mut o = BTreeMap::new();
        o.insert("cpu_per_account_10s".to_owned(), 50);
        let c = Catalogue::with_overrides(&o).expect("valid");
        assert_eq!(c.cpu_quotas().per_account[0], Quota::per_secs(50, 10));
        assert_eq!(c.cpu_quotas().per_user[3], Quota::per_secs(43_200, 21_600));
        o.insert("nope".to_owned(), 1);
        o.insert("cpu_per_user_1s".to_owned(), 0);
        o.insert("connections_per_ip".to_owned(), 5_000_000_000);
        let errs = Catalogue::with_overrides(&o).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
    }
}
