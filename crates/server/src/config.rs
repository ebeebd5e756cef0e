//! One configuration from defaults, a TOML file, `DRAWBRIDGE_*` environment variables and
//! flags (later sources win), validated in one pass that reports every problem at once.
//!
//! The binary turns flags and environment (clap reads both) into a [`Layer`]; the file is
//! another [`Layer`] with unknown keys refused.

use drawbridge_limits::Catalogue;
use drawbridge_model::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where HTTP listens unless told.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where the database and certificates live unless told.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// The region the server reports; the SDK puts it into host names.
pub const DEFAULT_REGION: &str = "vint-hill";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockKind {
    /// Wall-clock time.
    Real,
    /// Starts at `clock_start` and moves only through `POST /sim/clock/advance`.
    Virtual,
}

/// One source of settings; every field optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Layer {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// The MetaApi domain clients are configured with; enables host-name routing and TLS.
    pub domain: Option<String>,
    pub tls: Option<bool>,
    /// Seed demo accounts and keep the feed running.
    pub demo: Option<bool>,
    pub clock: Option<ClockKind>,
    /// ISO-8601 start of a virtual clock.
    pub clock_start: Option<String>,
    /// Seed of the simulated broker (fixed at the first start; later values must match).
    pub seed: Option<u64>,
    pub log_json: Option<bool>,
    pub region: Option<String>,
    /// Largest accepted request body.
    pub body_limit_bytes: Option<usize>,
    /// Longest accepted request target (path and query).
    pub url_limit_bytes: Option<usize>,
    /// Limit values by name (the `[limits]` section; see `GET /users/current/api-limits`).
    pub limits: Option<BTreeMap<String, u64>>,
}

impl Layer {
    /// `other`'s settings where it has them, else `self`'s.
    pub fn under(self, other: Layer) -> Layer {
        Layer {
            listen: other.listen.or(self.listen),
            data_dir: other.data_dir.or(self.data_dir),
            domain: other.domain.or(self.domain),
            tls: other.tls.or(self.tls),
            demo: other.demo.or(self.demo),
            clock: other.clock.or(self.clock),
            clock_start: other.clock_start.or(self.clock_start),
            seed: other.seed.or(self.seed),
            log_json: other.log_json.or(self.log_json),
            region: other.region.or(self.region),
            body_limit_bytes: other.body_limit_bytes.or(self.body_limit_bytes),
            url_limit_bytes: other.url_limit_bytes.or(self.url_limit_bytes),
            limits: match (self.limits, other.limits) {
                (Some(mut mine), Some(theirs)) => {
                    mine.extend(theirs);
                    Some(mine)
                }
                (mine, theirs) => theirs.or(mine),
            },
        }
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Layer, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub domain: Option<String>,
    pub tls: bool,
    pub demo: bool,
    pub clock: ClockKind,
    pub clock_start: Option<Timestamp>,
    pub seed: Option<u64>,
    pub log_json: bool,
    pub region: String,
    pub body_limit_bytes: usize,
    pub url_limit_bytes: usize,
    pub limits: Catalogue,
}

/// Default largest request body: a trade request is a few hundred bytes; account metadata
/// is capped at 1 KiB.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Default longest request target: the longest MetaApi path with its query is under 300
/// bytes; 8 KiB is the common HTTP server default.
const URL_LIMIT_BYTES: usize = 8 * 1024;

impl Config {
    /// Validates `layer`, reporting every problem.
    pub fn build(layer: Layer) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let listen_text = layer.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            problems.push(format!(
                "listen: {listen_text:?} is not an address like 127.0.0.1:8080"
            ))
        });
        let clock = layer.clock.unwrap_or(ClockKind::Real);
        let clock_start = match &layer.clock_start {
            None => None,
            Some(s) => match Timestamp::parse_iso(s) {
                Ok(t) => Some(t),
                Err(_) => {
                    problems.push(format!(
                        "clock-start: {s:?} is not an ISO-8601 instant like 2026-01-07T10:00:00Z"
                    ));
                    None
                }
            },
        };
        if layer.clock_start.is_some() && clock == ClockKind::Real {
            problems.push("clock-start: needs --clock virtual".to_owned());
        }
        let tls = layer.tls.unwrap_or(false);
        if let Some(d) = &layer.domain
            && !valid_domain(d)
        {
            problems.push(format!(
                "domain: {d:?} is not a host name, optionally with a port (drawbridge.local:8443)"
            ));
        }
        if tls && layer.domain.is_none() {
            problems.push("tls: needs --domain (the certificate covers its host names)".into());
        }
        let region = layer.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            problems.push(format!(
                "region: {region:?} must be lowercase letters and dashes"
            ));
        }
        let body_limit_bytes = layer.body_limit_bytes.unwrap_or(BODY_LIMIT_BYTES);
        if body_limit_bytes < 1024 {
            problems.push("body-limit-bytes: must be at least 1024".into());
        }
        let url_limit_bytes = layer.url_limit_bytes.unwrap_or(URL_LIMIT_BYTES);
        if url_limit_bytes < 256 {
            problems.push("url-limit-bytes: must be at least 256".into());
        }
        let limits =
            Catalogue::with_overrides(&layer.limits.unwrap_or_default()).unwrap_or_else(|p| {
                problems.extend(p);
                Catalogue::default()
            });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            listen: listen.unwrap_or_else(|()| unreachable_listen()),
            data_dir: layer
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            domain: layer.domain,
            tls,
            demo: layer.demo.unwrap_or(false),
            clock,
            clock_start,
            seed: layer.seed,
            log_json: layer.log_json.unwrap_or(false),
            region,
            body_limit_bytes,
            url_limit_bytes,
            limits,
        })
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("drawbridge.db")
    }
}

/// Only reached if validation passed, where `listen` parsed.
fn unreachable_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() {
        let layer = Layer {
            listen: Some("nowhere".into()),
            clock_start: Some("yesterday".into()),
            tls: Some(true),
            region: Some("Bad Region".into()),
            ..Layer::default()
        };
        let problems = Config::build(layer).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn later_layers_win_and_defaults_fill_the_rest() {
        let file = Layer {
            listen: Some("127.0.0.1:9000".into()),
            demo: Some(true),
            ..Layer::default()
        };
        let flags = Layer {
            listen: Some("127.0.0.1:9001".into()),
            ..Layer::default()
        };
        let c = Config::build(file.under(flags)).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert!(c.demo);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.clock, ClockKind::Real);
    }

    #[test]
    fn domains_may_carry_a_port() {
        assert!(valid_domain("drawbridge.local"));
        assert!(valid_domain("drawbridge.local:8443"));
        assert!(!valid_domain("drawbridge..local"));
        assert!(!valid_domain("drawbridge.local:0"));
        assert!(!valid_domain("https://x"));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let err = toml::from_str::<Layer>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
        assert!(err.is_err());
    }
}
