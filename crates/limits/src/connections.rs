//! Connection protection (CQG WebAPI limits 1 and 3): at most so many new connections per
//! period from one address, and so many open at once.
//!
//! Addresses are keyed by the caller (an IPv4 address, or an IPv6 /64, which one host
//! usually owns whole). The rate uses the same bucketed window as the credit ledgers, so it
//! never admits more than the quota within any window of the period. Keys with nothing open
//! and nothing live in the window are swept as the table grows; past `max_tracked` live keys
//! a new address is refused rather than a live one forgotten.

use crate::catalog::{Catalogue, id};
use crate::window::{Ring, Span};
use drawbridge_model::Timestamp;
use std::collections::HashMap;

const RATE_BUCKETS: usize = 100;
const RATE_SLOTS: usize = RATE_BUCKETS + 1;
/// The table sweeps idle keys when it reaches this many, then at twice what survives.
const SWEEP_MIN: usize = 1_024;

/// The values of the connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionQuotas {
    pub per_period: u64,
    pub period_ms: i64,
    pub open_max: u32,
    pub tracked_max: usize,
}

impl ConnectionQuotas {
    pub fn from_catalogue(c: &Catalogue) -> Self {
        let period_s = c
            .get(id::CONNECTION_RATE)
            .and_then(|l| l.period_secs)
            .unwrap_or(100);
        Self {
            per_period: c.value(id::CONNECTION_RATE),
            period_ms: i64::from(period_s) * 1_000,
            open_max: u32::try_from(c.value(id::CONNECTIONS_PER_IP)).unwrap_or(u32::MAX),
            tracked_max: usize::try_from(c.value(id::LEDGER_KEYS_MAX)).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionRefusal {
    #[error("more than {allowed} new connections per period from one address")]
    Rate { allowed: u64, retry_at: Timestamp },
    #[error("{open} of {allowed} connections already open from one address")]
    TooMany { allowed: u32, open: u32 },
    #[error("too many addresses tracked")]
    Full,
}

#[derive(Debug, Default)]
struct Address {
    opened: Ring<u32, RATE_SLOTS>,
    open: u32,
}

/// Open connections and recent connection attempts per address.
#[derive(Debug)]
pub struct Connections {
    quotas: ConnectionQuotas,
    span: Span,
    addresses: HashMap<u64, Address>,
    sweep_at: usize,
}

impl Connections {
    pub fn new(quotas: ConnectionQuotas) -> Self {
        Self {
            quotas,
            span: Span::new(quotas.period_ms, RATE_BUCKETS),
            addresses: HashMap::new(),
            sweep_at: SWEEP_MIN,
        }
    }

    /// A new connection from `address` at `now`: admitted (and counted open until
    /// [`Connections::close`]) or refused, changing nothing.
    pub fn open(&mut self, address: u64, now: Timestamp) -> Result<(), ConnectionRefusal> {
        let bucket = self.span.bucket(now.0);
        if !self.addresses.contains_key(&address) {
            if self.addresses.len() >= self.sweep_at.min(self.quotas.tracked_max) {
                self.addresses
                    .retain(|_, a| a.open > 0 || !a.opened.idle_at(bucket));
                self.sweep_at = (2 * self.addresses.len()).max(SWEEP_MIN);
            }
            if self.addresses.len() >= self.quotas.tracked_max {
                return Err(ConnectionRefusal::Full);
            }
        }
        let a = self.addresses.entry(address).or_default();
        a.opened.advance(bucket);
        if a.open >= self.quotas.open_max {
            return Err(ConnectionRefusal::TooMany {
                allowed: self.quotas.open_max,
                open: a.open,
            });
        }
        match a
            .opened
            .retry_at(self.span, now.0, 1, self.quotas.per_period)
        {
            Some(t) if t <= now.0 => {}
            retry => {
                return Err(ConnectionRefusal::Rate {
                    allowed: self.quotas.per_period,
                    retry_at: Timestamp(retry.unwrap_or(i64::MAX)),
                });
            }
        }
        a.opened.add(1);
        a.open += 1;
        Ok(())
    }

    /// A connection from `address` closed.
    pub fn close(&mut self, address: u64) {
        if let Some(a) = self.addresses.get_mut(&address) {
            a.open = a.open.saturating_sub(1);
        }
    }

    /// Connections open from `address`.
    pub fn open_from(&self, address: u64) -> u32 {
        self.addresses.get(&address).map_or(0, |a| a.open)
    }

    /// Addresses tracked.
    pub fn tracked(&self) -> usize {
        self.addresses.len()
    }
}

/// The key of an address: IPv4 whole, IPv6 by its /64 prefix.
pub fn address_key(ip: std::net::IpAddr) -> u64 {
    match ip {
        std::net::IpAddr::V4(v4) => u64::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u64::from(u32::from(v4)),
            // The top 64 bits; a set high bit keeps them apart from IPv4 keys.
            None => (u128::from(v6) >> 64) as u64 | (1 << 63),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    fn quotas() -> ConnectionQuotas {
        ConnectionQuotas {
            per_period: 5,
            period_ms: 100_000,
            open_max: 3,
            tracked_max: 10,
        }
    }

    #[test]
    fn open_connections_are_capped_and_released_on_close() {
        let mut c = Connections::new(quotas());
        for _ in 0..3 {
            c.open(1, T0).expect("within the cap");
        }
        assert_eq!(
            c.open(1, T0),
            Err(ConnectionRefusal::TooMany {
                allowed: 3,
                open: 3
            })
        );
        c.open(2, T0).expect("another address");
        c.close(1);
        c.open(1, T0).expect("a place was freed");
        assert_eq!(c.open_from(1), 3);
    }

    #[test]
    fn the_rate_counts_attempts_admitted_over_the_period() {
        let mut c = Connections::new(quotas());
        for _ in 0..5 {
            c.open(1, T0).expect("5 per 100 s");
            c.close(1);
        }
        // Bucket width 1 s: the five left the window 101 s after their bucket began.
        let start = T0.0 - T0.0.rem_euclid(1_000);
        assert_eq!(
            c.open(1, T0),
            Err(ConnectionRefusal::Rate {
                allowed: 5,
                retry_at: Timestamp(start + 101_000)
            })
        );
        assert!(c.open(1, Timestamp(start + 100_999)).is_err());
        c.open(1, Timestamp(start + 101_000))
            .expect("at the retry instant");
    }

    #[test]
    fn idle_addresses_are_swept_and_live_ones_never_forgotten() {
        let mut c = Connections::new(ConnectionQuotas {
            tracked_max: 2_000,
            ..quotas()
        });
        for a in 0..1_500u64 {
            c.open(a, T0).expect("room");
            c.close(a);
        }
        assert_eq!(c.tracked(), 1_500);
        // 200 s later all of them are idle: the next sweep drops them.
        let later = Timestamp(T0.0 + 200_000);
        for a in 10_000..10_600u64 {
            c.open(a, later).expect("room after the sweep");
        }
        assert!(c.tracked() <= 1_100, "{} tracked", c.tracked());
        // Full of live addresses: a new one is refused.
        let mut full = Connections::new(quotas());
        for a in 0..10u64 {
            full.open(a, T0).expect("room");
        }
        assert_eq!(full.open(99, T0), Err(ConnectionRefusal::Full));
    }

    #[test]
    fn ipv6_hosts_are_keyed_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(address_key(v4), address_key(mapped));
    }
}
