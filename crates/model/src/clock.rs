//! The one way time enters drawbridge.
//!
//! Production uses [`SystemClock`]; tests, replays and `--clock virtual` use [`VirtualClock`],
//! which moves only when told, so a week of market runs in seconds and every run repeats.

use crate::time::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// Wall-clock UTC time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one sanctioned read of wall-clock time"
    )]
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Time that moves only through [`VirtualClock::advance`] / [`VirtualClock::set`]. Clones share
/// the same instant.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now_ms: Arc<AtomicI64>,
}

impl VirtualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            now_ms: Arc::new(AtomicI64::new(start.0)),
        }
    }

    pub fn advance(&self, ms: i64) -> Timestamp {
        debug_assert!(ms >= 0, "invariant: virtual time never runs backwards");
        Timestamp(self.now_ms.fetch_add(ms.max(0), Ordering::SeqCst) + ms.max(0))
    }

    /// Moves to `t`; a `t` in the past is ignored so time stays monotonic.
    pub fn set(&self, t: Timestamp) -> Timestamp {
        Timestamp(self.now_ms.fetch_max(t.0, Ordering::SeqCst).max(t.0))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now_ms.load(Ordering::SeqCst))
    }
}

/// A shareable clock handle.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_is_shared_and_monotonic() {
        let c = VirtualClock::new(Timestamp(1_000));
        let c2 = c.clone();
        assert_eq!(c.advance(500), Timestamp(1_500));
        assert_eq!(c2.now(), Timestamp(1_500));
        assert_eq!(c.set(Timestamp(100)), Timestamp(1_500));
        assert_eq!(c.set(Timestamp(9_000)), Timestamp(9_000));
        assert!(SystemClock.now() > Timestamp(1_700_000_000_000));
    }
}
