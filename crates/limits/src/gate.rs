//! Concurrency gates: at most `max` requests in processing per key (historical market data
//! per account, API-limit requests per connection). A [`Permit`] is held while the request
//! runs and releases its place when dropped; a key with nothing in processing holds no memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct Gate {
    max: u32,
    inflight: Mutex<HashMap<u64, u32>>,
}

/// Refused: `current` requests already in processing for the key, `max` allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{current} of {max} concurrent requests already in processing")]
pub struct Busy {
    pub max: u32,
    pub current: u32,
}

/// A place in a [`Gate`], released on drop.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    key: u64,
}

impl Gate {
    pub fn new(max: u32) -> Arc<Self> {
        Arc::new(Self {
            max,
            inflight: Mutex::new(HashMap::new()),
        })
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// Takes a place for `key`, or says how busy it is.
    pub fn enter(self: &Arc<Self>, key: u64) -> Result<Permit, Busy> {
        let mut map = self
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(key).or_insert(0);
        if *n >= self.max {
            let current = *n;
            if current == 0 {
                map.remove(&key);
            }
            return Err(Busy {
                max: self.max,
                current,
            });
        }
        *n += 1;
        Ok(Permit {
            gate: Arc::clone(self),
            key,
        })
    }

    /// Requests in processing for `key`.
    pub fn current(&self, key: u64) -> u32 {
        self.inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Keys with a request in processing.
    pub fn busy_keys(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut map = self
            .gate
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_in_processing_and_nothing_kept_when_idle() {
        let gate = Gate::new(2);
        let a = gate.enter(7).expect("first");
        let b = gate.enter(7).expect("second");
        assert_eq!(gate.enter(7).unwrap_err(), Busy { max: 2, current: 2 });
        let other = gate.enter(8).expect("another key has its own places");
        drop(a);
        let c = gate.enter(7).expect("a place was released");
        drop((b, c, other));
        assert_eq!(gate.busy_keys(), 0);
        assert_eq!(Gate::new(0).enter(1).unwrap_err().current, 0);
    }
}
