//! The tracker-event long poll's shared parts: who waits for a user's next event
//! ([`EventWaiters`], woken by the engine as each event is stored) and where each stream
//! polled without a sequence number is ([`StreamCursors`], bounded).

use drawbridge_model::TokenId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long the tracker-event stream holds a request with nothing new (MetaApi: about a
/// minute; the SDK waits 70 s).
pub const STREAM_HOLD_DEFAULT: Duration = Duration::from_secs(60);

/// Most stream cursors kept; past it the least recently used half goes (a client whose
/// cursor went starts from the latest event again, as a new one does).
pub const STREAM_CURSORS_MAX: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waiters of the tracker-event stream, by user: each user's last sequence number.
#[derive(Debug, Default)]
pub struct EventWaiters {
    users: Mutex<HashMap<Arc<str>, watch::Sender<u64>>>,
}

impl EventWaiters {
    /// Wakes when one of the user's events is stored from now on.
    pub fn subscribe(&self, user_id: &str) -> watch::Receiver<u64> {
        let mut users = lock(&self.users);
        match users.get(user_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(0);
                users.insert(Arc::from(user_id), tx);
                rx
            }
        }
    }

    /// Tells the user's waiters (and forgets users nobody waits for).
    pub(crate) fn publish(&self, user_id: &str, seq: u64) {
        let mut users = lock(&self.users);
        if let Some(tx) = users.get(user_id) {
            if tx.receiver_count() == 0 {
                users.remove(user_id);
            } else {
                tx.send_replace(seq);
            }
        }
    }
}

/// Which stream a cursor belongs to: the token and the request's filters, account and tracker
/// (one token's listeners of different accounts keep their own places).
pub type CursorKey = (TokenId, Option<String>, Option<String>);

/// Where each tracker-event stream polled without `previousSequenceNumber` is: the last
/// sequence number answered to it, so the next poll answers what was stored in between.
#[derive(Debug, Default)]
pub struct StreamCursors {
    /// key → (sequence number, last use).
    map: Mutex<HashMap<CursorKey, (u64, u64)>>,
    uses: AtomicU64,
}

impl StreamCursors {
    /// The stream's place, set to `latest()` when it has none.
    pub fn start(&self, key: &CursorKey, latest: u64) -> u64 {
        let used = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut map = lock(&self.map);
        if let Some((seq, at)) = map.get_mut(key) {
            *at = used;
            return *seq;
        }
        Self::insert(&mut map, key.clone(), latest, used);
        latest
    }

    /// Moves the stream's place forward to `seq`.
    pub fn advance(&self, key: &CursorKey, seq: u64) {
        let used = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut map = lock(&self.map);
        match map.get_mut(key) {
            Some((at_seq, at)) => {
                *at_seq = (*at_seq).max(seq);
                *at = used;
            }
            None => Self::insert(&mut map, key.clone(), seq, used),
        }
    }

    fn insert(map: &mut HashMap<CursorKey, (u64, u64)>, key: CursorKey, seq: u64, used: u64) {
        if map.len() >= STREAM_CURSORS_MAX {
            // The least recently used half goes: amortized O(1) per insert.
            let mut uses: Vec<u64> = map.values().map(|&(_, at)| at).collect();
            let mid = uses.len() / 2;
            let (_, median, _) = uses.select_nth_unstable(mid);
            let median = *median;
            map.retain(|_, &mut (_, at)| at > median);
        }
        map.insert(key, (seq, used));
        debug_assert!(
            map.len() <= STREAM_CURSORS_MAX,
            "invariant: cursors bounded"
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_cursors_start_at_the_latest_then_follow_answers_and_stay_bounded() {
        let c = StreamCursors::default();
        let key = |n: usize| (TokenId::new(format!("token{n}")), None, None);
        assert_eq!(c.start(&key(0), 7), 7, "a new stream starts at the latest");
        assert_eq!(c.start(&key(0), 9), 7, "then where it was");
        c.advance(&key(0), 8);
        c.advance(&key(0), 3);
        assert_eq!(c.start(&key(0), 12), 8, "never backwards");
        for n in 1..=STREAM_CURSORS_MAX + 10 {
            c.start(&key(n), 1);
        }
        assert!(c.len() <= STREAM_CURSORS_MAX);
        assert_eq!(
            c.start(&key(STREAM_CURSORS_MAX + 10), 5),
            1,
            "recent ones stay"
        );
    }
}
