//! What the broker's test files share: instants, prices, volumes and amounts written as
//! literals, symbols of the default catalogue, and the demo trade server most scenarios run on.

use drawbridge_broker::account::MarginMode;
use drawbridge_broker::catalog::{default_catalog, find};
use drawbridge_broker::engine::ServerConfig;
use drawbridge_broker::symbol::SymbolSpec;
use drawbridge_model::{Money, Price, ServerZone, Timestamp, Volume};

/// Wednesday 2026-01-07 10:00 UTC, noon on the EET trade server: where scenarios start.
pub(crate) const WEDNESDAY_10_UTC: &str = "2026-01-07T10:00:00Z";

/// [`WEDNESDAY_10_UTC`] as an instant.
pub(crate) fn start() -> Timestamp {
    t(WEDNESDAY_10_UTC)
}

/// An instant written in ISO 8601 (`2026-01-07T10:00:00Z`).
pub(crate) fn t(iso: &str) -> Timestamp {
    Timestamp::parse_iso(iso).unwrap()
}

pub(crate) fn px(v: f64) -> Price {
    Price::from_f64(v).unwrap()
}

pub(crate) fn lots(v: f64) -> Volume {
    Volume::from_f64(v).unwrap()
}

/// An amount in the account currency (USD in most scenarios).
pub(crate) fn usd(v: f64) -> Money {
    Money::from_f64(v)
}

/// The trade servers' zone: UTC+2, UTC+3 in summer.
pub(crate) fn eet() -> ServerZone {
    ServerZone::parse("EET").unwrap()
}

/// A symbol of the default catalogue, by name.
pub(crate) fn spec(name: &str) -> SymbolSpec {
    let catalog = default_catalog();
    catalog[find(&catalog, name).unwrap().index()].clone()
}

/// The demo trade server: EET, hedging, margin call at 100 %, stop-out at 50 %.
pub(crate) fn server_config() -> ServerConfig {
    ServerConfig {
        name: "Drawbridge-Demo".to_owned(),
        zone: eet(),
        margin_mode: MarginMode::Hedging,
        margin_call_pct: 100,
        stop_out_pct: 50,
        first_login: 100_000,
    }
}
