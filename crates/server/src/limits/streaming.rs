//! The streaming API's gates, as the socket side applies them:
//! - account subscriptions: a subscribe counts against the subscribe rate and the
//!   subscription limits of the caller's application, its front-end server (the socket's
//!   `clientId`) and that server's capacity; an account stays subscribed until the last socket
//!   holding it lets go;
//! - synchronizations: at most so many at once;
//! - streaming credits: each sent market-data packet is charged to its account's budget,
//!   which says when the subscriptions must be downgraded;
//! - sessions: new streaming sessions per address (CQG limit 1).

use super::{Limits, STREAMING_SHARDS, SubscriptionTable};
use crate::auth::Caller;
use crate::error::{ApiError, Kind};
use crate::messages;
use crate::state::{Shared, lock};
use drawbridge_limits::catalog::id;
use drawbridge_limits::connections::address_key;
use drawbridge_limits::ledger::key_of;
use drawbridge_limits::sync::SyncRefusal;
use serde_json::json;
use std::sync::MutexGuard;

impl Limits {
    fn subscriptions(&self) -> MutexGuard<'_, SubscriptionTable> {
        lock(&self.subscriptions)
    }
}

/// The key of `account` in the subscription table.
fn subscription_key(caller: &Caller, account: &str) -> u64 {
    key_of(&[&caller.user_id, account])
}

/// A subscribe request for `account` on a socket whose `clientId` is `client_id`; `new`
/// when the socket did not hold the account yet (sockets holding one account are counted,
/// so the account stays subscribed until the last of them lets go).
pub(crate) fn subscribe(
    state: &Shared,
    caller: &Caller,
    client_id: &str,
    account: &str,
    new: bool,
) -> Result<(), ApiError> {
    let limits = &state.limits;
    let deployed = state.user_session_count(&caller.user_id);
    let now = state.now();
    let key = subscription_key(caller, account);
    let mut subscriptions = limits.subscriptions();
    let refused = subscriptions.table.subscribe(
        key_of(&[&caller.user_id]),
        limits.server_of(client_id),
        key,
        deployed,
        now,
    );
    refused.map_err(sync_refusal)?;
    if new {
        *subscriptions.holders.entry(key).or_insert(0) += 1;
    }
    Ok(())
}

/// A socket lets go of `account`: the subscription ends with its last holder.
pub(crate) fn unsubscribe(state: &Shared, caller: &Caller, account: &str) {
    let key = subscription_key(caller, account);
    let mut subscriptions = state.limits.subscriptions();
    match subscriptions.holders.get_mut(&key) {
        Some(n) if *n > 1 => *n -= 1,
        _ => {
            subscriptions.holders.remove(&key);
            subscriptions.table.unsubscribe(key);
        }
    }
}

/// Starts a synchronization of `account` if the concurrent-synchronization limit allows;
/// [`finish_synchronization`] ends it.
pub(crate) fn start_synchronization(
    state: &Shared,
    caller: &Caller,
    account: &str,
) -> Result<(), ApiError> {
    let now = state.now();
    let started =
        (state.limits.subscriptions().table).start_sync(subscription_key(caller, account), now);
    match started {
        Ok(true) => Ok(()),
        // Not subscribed in the table: the socket's subscription is checked first, so this
        // is a synchronization the limits cannot account for.
        Ok(false) => Err(ApiError::of(
            Kind::Validation,
            &messages::STREAMING_NOT_SUBSCRIBED,
            &[&account, &"any"],
        )),
        Err(refusal) => Err(sync_refusal(refusal)),
    }
}

/// Ends a synchronization started by [`start_synchronization`].
pub(crate) fn finish_synchronization(state: &Shared, caller: &Caller, account: &str) {
    (state.limits.subscriptions().table).finish_sync(subscription_key(caller, account));
}

fn sync_refusal(refusal: SyncRefusal) -> ApiError {
    let mut metadata = json!({
        "type": refusal.kind(),
        "recommendedRetryTime": refusal.retry_at(),
    });
    if refusal.change_client_id() {
        metadata["changeClientIdHeader"] = json!(true);
    }
    ApiError::of(
        Kind::TooManyRequests,
        &messages::LIMIT_SYNCHRONIZATION,
        &[&refusal],
    )
    .with_metadata(metadata)
}

/// Accounts whose streaming budgets a shard keeps before idle ones are swept.
const STREAMING_SWEEP_AT: usize = 100_000 / STREAMING_SHARDS;

/// An account's key among the streaming budgets: what [`charge_streaming`] takes (a streaming
/// instance keeps it rather than hashing the ids again for every packet).
pub(crate) fn streaming_key(caller: &Caller, account: &str) -> u64 {
    subscription_key(caller, account)
}

/// Charges a sent market-data packet's `credits` to the budget of the account whose
/// [`streaming_key`] is `key`; true when a window is now over its quota (the subscriptions
/// must be downgraded).
pub(crate) fn charge_streaming(state: &Shared, key: u64, credits: u64) -> bool {
    let limits = &state.limits;
    let now = state.now();
    let shard = (key as usize) % STREAMING_SHARDS;
    let mut budgets = lock(&limits.streaming[shard]);
    if budgets.len() >= STREAMING_SWEEP_AT && !budgets.contains_key(&key) {
        budgets.retain(|_, budget| !budget.idle_at(&limits.streaming_quotas, now));
    }
    let budget = budgets.entry(key).or_default();
    budget
        .charge(&limits.streaming_quotas, credits, now)
        .is_some()
}

/// A new streaming session from `peer`: admitted, or past the connection rate from its
/// address (CQG limit 1), when it gets the limit and the period to close it with. Counted on
/// wall time: a virtual clock standing still must not lock a client out for good.
pub(crate) fn open_session(state: &Shared, peer: std::net::IpAddr) -> Result<(), (u64, u32)> {
    let now = drawbridge_model::Clock::now(&drawbridge_model::SystemClock);
    let mut sessions = lock(&state.limits.sessions);
    let key = address_key(peer);
    let opened = sessions.open(key, now);
    // Only the rate counts here: the session is not held open.
    sessions.close(key);
    match opened {
        Ok(()) => Ok(()),
        Err(_) => {
            let period = (state.limits.catalogue.get(id::CONNECTION_RATE))
                .and_then(|limit| limit.period_secs)
                .unwrap_or(100);
            Err((state.limits.catalogue.value(id::CONNECTION_RATE), period))
        }
    }
}
