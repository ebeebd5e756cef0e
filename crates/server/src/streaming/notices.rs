//! What the server sends a socket on its own, while it lives: `disconnected` when a
//! subscribed account's broker session goes, the user's messages, and `status` packets (with
//! the token checked again). Risk events are [`super::risk`]'s; `update` packets are
//! [`super::sync`]'s.

use super::{Connection, HOST, STATUS_INTERVAL, protection::close_with};
use crate::messages;
use crate::state::{Shared, lock};
use serde_json::json;
use socketioxide::extract::SocketRef;
use std::sync::Arc;

/// `disconnected` for every subscribed instance of an account whose broker session went
/// (undeployed, deleted): the instance is forgotten, and the SDK subscribes again until the
/// account is back.
pub(super) async fn announce_disconnects(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut dropped = state.dropped_sessions();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = dropped.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        let gone: Vec<(String, u64)> = match next {
            Ok(account) => (lock(&conn.subscribed).iter())
                .filter(|(a, _)| **a == *account)
                .cloned()
                .collect(),
            // Fell behind: check every subscribed account.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => (lock(&conn.subscribed)
                .iter())
            .filter(|(a, _)| state.session(a).is_none())
            .cloned()
            .collect(),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        for (account, instance) in gone {
            if state.session(&account).is_some() {
                continue; // deployed again meanwhile
            }
            let host = (lock(&conn.synced).get(&(account.clone(), instance)))
                .map_or_else(|| HOST.to_owned(), |k| k.host.clone());
            let _ = s.emit(
                "synchronization",
                &json!({"type": "disconnected", "accountId": account,
                        "instanceIndex": instance, "host": host}),
            );
            super::connection::forget_and_release(&state, &conn, &account, Some(instance));
        }
    }
}

/// The user's messages (`userMessage` events) as they are queued, while the socket lives.
pub(super) async fn forward_user_messages(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut live = state.user_messages.live();
    let mut closed = conn.closed.subscribe();
    loop {
        let next = tokio::select! {
            next = live.recv() => next,
            _ = closed.wait_for(|c| *c) => return,
        };
        match next {
            Ok((user, message)) if *user == *conn.caller.user_id => {
                let _ = s.emit("userMessage", &message);
            }
            // Missed ones stay readable by REST.
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// `status` for every subscribed instance while the socket lives, and the token checked
/// again at each.
pub(super) async fn keep_alive(state: Shared, s: SocketRef, conn: Arc<Connection>) {
    let mut tick = tokio::time::interval(STATUS_INTERVAL);
    tick.tick().await;
    while s.connected() {
        tick.tick().await;
        // A revoked token ends its sockets too, not only its next REST call.
        if state.tokens.authenticate(&conn.token).await.is_err() {
            close_with(&state, &s, Some(&conn), &messages::UNAUTHORIZED, &[]);
            return;
        }
        let subscribed = lock(&conn.subscribed).clone();
        for (account, instance) in subscribed {
            let _ = s.emit(
                "synchronization",
                &json!({"type": "status", "accountId": account, "instanceIndex": instance,
                        "host": HOST, "connected": true, "authenticated": true,
                        "healthStatus": {"rpcApiHealthy": true}}),
            );
        }
    }
}
