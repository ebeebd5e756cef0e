//! User messages (CQG `UserMessage`): notices the server sends a user outside any request —
//! a warning as it nears a limit, a notice before a connection is closed. Each has a CQG type
//! (1 critical error, 2 warning, 3 info, 4 log), a catalogue text and a time. They are queued
//! per user, for its streaming connections and for `GET /users/current/user-messages`
//! ([`crate::rest::limits::user_messages`]); the queue keeps the last [`USER_MESSAGES_KEPT`]
//! of each user.

use crate::messages::Text;
use drawbridge_model::Timestamp;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Messages kept per user.
pub const USER_MESSAGES_KEPT: usize = 100;

/// The CQG user message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    CriticalError = 1,
    Warning = 2,
    Info = 3,
    Log = 4,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMessage {
    /// Increasing per server run.
    pub id: u64,
    /// The CQG type: 1 critical error, 2 warning, 3 info, 4 log.
    #[serde(rename = "type")]
    pub kind: u8,
    pub message: String,
    pub text: Text,
    pub time: Timestamp,
}

#[derive(Debug)]
pub struct UserMessages {
    inner: Mutex<Queues>,
    /// Messages for the users' streaming connections, as they are queued.
    live: tokio::sync::broadcast::Sender<(Arc<str>, UserMessage)>,
}

impl Default for UserMessages {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            live: tokio::sync::broadcast::channel(LIVE_BACKLOG).0,
        }
    }
}

/// Messages a slow streaming connection may fall behind by before it misses some (they
/// stay readable by REST).
const LIVE_BACKLOG: usize = 1_024;

#[derive(Debug, Default)]
struct Queues {
    next_id: u64,
    by_user: HashMap<String, VecDeque<UserMessage>>,
}

impl UserMessages {
    /// Queues `text` for `user_id` and sends it to the user's streaming connections.
    pub fn notify(&self, user_id: &str, kind: MessageType, text: Text, time: Timestamp) {
        let message = self.push(user_id, kind, text, time);
        // No streaming connection listening is no error.
        let _ = self.live.send((Arc::from(user_id), message));
    }

    /// The messages queued from now on, for streaming connections to pick their user's.
    pub fn live(&self) -> tokio::sync::broadcast::Receiver<(Arc<str>, UserMessage)> {
        self.live.subscribe()
    }

    /// Queues `text` for `user_id` only (REST reads it; a notice about one connection goes to
    /// that connection alone).
    pub fn push(
        &self,
        user_id: &str,
        kind: MessageType,
        text: Text,
        time: Timestamp,
    ) -> UserMessage {
        let mut q = self.queues();
        q.next_id += 1;
        let message = UserMessage {
            id: q.next_id,
            kind: kind as u8,
            message: text.text.clone(),
            text,
            time,
        };
        let queue = q.by_user.entry(user_id.to_owned()).or_default();
        if queue.len() >= USER_MESSAGES_KEPT {
            queue.pop_front();
        }
        queue.push_back(message.clone());
        message
    }

    /// `user_id`'s messages with an id above `after`, oldest first, at most `limit`.
    pub fn after(&self, user_id: &str, after: u64, limit: usize) -> Vec<UserMessage> {
        let q = self.queues();
        q.by_user.get(user_id).map_or_else(Vec::new, |queue| {
            queue
                .iter()
                .filter(|m| m.id > after)
                .take(limit)
                .cloned()
                .collect()
        })
    }

    /// The queues; a panic elsewhere while they were held leaves them usable.
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
