//! The `request` events of a socket: each answered with a `response` or a
//! `processingError`, at most `requests_in_processing_per_session` at once; `subscribe`,
//! `synchronize`, `unsubscribe` and the other requests the SDK sends, and every RPC call
//! through [`super::rpc`].

use super::sync::{Synchronization, send_update};
use super::{Connection, HOST, market, rpc::Rpc};
use crate::error::{ApiError, Kind};
use crate::messages;
use crate::rest::client::session::deployed;
use crate::rest::client::symbols::read_quotes;
use crate::state::{Shared, lock};
use drawbridge_model::wire as w;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;
use std::sync::Arc;

/// The `processingError` of `e` for request `request_id`.
pub(super) fn error_body(request_id: &str, e: &ApiError) -> Value {
    if let Some(cause) = &e.cause {
        tracing::error!(%cause, request_id, "streaming request failed");
    }
    let mut body = e.body();
    body["requestId"] = json!(request_id);
    body
}

/// Answers one `request`: a `response` or a `processingError`.
pub(super) async fn request(state: &Shared, conn: &Arc<Connection>, s: &SocketRef, req: Value) {
    use std::sync::atomic::Ordering;
    let field = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (request_id, account, kind) = (field("requestId"), field("accountId"), field("type"));
    let max = (state.limits.catalogue)
        .value(drawbridge_limits::catalog::id::REQUESTS_IN_PROCESSING_PER_SESSION);
    if conn.in_flight.fetch_add(1, Ordering::AcqRel) >= max {
        conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        let e = ApiError::of(
            Kind::TooManyRequests,
            &messages::LIMIT_REQUESTS_IN_PROCESSING,
            &[&max],
        )
        .with_metadata(json!({
            "type": "LIMIT_REQUESTS_IN_PROCESSING_PER_SESSION",
            "maxRequestsInProcessing": max,
            "recommendedRetryTime": state.now().plus_millis(1_000),
        }));
        let _ = s.emit("processingError", &error_body(&request_id, &e));
        return;
    }
    // Given back however the answer ends, a panic included.
    let _slot = InFlight(&conn.in_flight);
    answer_request(state, conn, s, &req, request_id, account, kind).await;
}

/// A request in processing on a socket; dropping it gives its place back.
struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn answer_request(
    state: &Shared,
    conn: &Arc<Connection>,
    s: &SocketRef,
    req: &Value,
    request_id: String,
    account: String,
    kind: String,
) {
    match answer(state, conn, s, req, &kind, &account).await {
        Ok((mut reply, then)) => {
            reply["type"] = json!("response");
            reply["requestId"] = json!(request_id);
            reply["accountId"] = json!(account);
            let _ = s.emit("response", &reply);
            if let Some(sync) = then {
                let (account, instance) = (sync.account.clone(), sync.instance);
                sync.send(state, s, conn);
                crate::limits::streaming::finish_synchronization(state, &conn.caller, &account);
                // A change announced after the state was read and before the instance was
                // recorded as synchronized found nothing to update: catch up on it.
                if lock(&conn.synced).contains_key(&(account.clone(), instance)) {
                    send_update(state, s, conn, &account, instance).await;
                }
            }
        }
        Err(mut error) => {
            error["requestId"] = json!(request_id);
            let _ = s.emit("processingError", &error);
        }
    }
}

/// A request's answer: the `response` fields besides `type`, `requestId` and `accountId`,
/// or the `processingError` fields besides `requestId`.
type Answer = Result<(Value, Option<Synchronization>), Value>;

/// What a request of type `kind` answers, and the synchronization to send after the answer,
/// if it asked for one.
async fn answer(
    state: &Shared,
    conn: &Arc<Connection>,
    s: &SocketRef,
    req: &Value,
    kind: &str,
    account: &str,
) -> Answer {
    let caller = &conn.caller;
    let own = |e: ApiError| error_body("", &e);
    match kind {
        "synchronize" => {
            let instance = req
                .get("instanceIndex")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let subscribed = lock(&conn.subscribed).contains(&(account.to_owned(), instance));
            if !subscribed {
                return Err(own(ApiError::of(
                    Kind::Validation,
                    &messages::STREAMING_NOT_SUBSCRIBED,
                    &[&account, &instance],
                )));
            }
            let turn = conn.turns.take(&caller.user_id, account, instance).await;
            crate::limits::streaming::start_synchronization(state, caller, account).map_err(own)?;
            match Synchronization::of(state, caller, req, account, turn).await {
                Ok(sync) => Ok((json!({}), Some(sync))),
                Err(e) => {
                    crate::limits::streaming::finish_synchronization(state, caller, account);
                    Err(own(e))
                }
            }
        }
        "subscribe" => {
            subscribe(state, conn, s, req, account).await.map_err(own)?;
            Ok((json!({}), None))
        }
        "subscribeToMarketData"
        | "unsubscribeFromMarketData"
        | "refreshMarketDataSubscriptions" => {
            let reply = market::answer(state, conn, req, kind, account).await;
            Ok((reply.map_err(own)?, None))
        }
        "unsubscribe" => {
            let owned = crate::access::owned_entry(state, caller, account).await;
            owned.map_err(own)?;
            super::connection::forget_and_release(state, conn, account, None);
            Ok((json!({}), None))
        }
        "refreshSymbolQuotes" => {
            let symbols: Vec<String> = (req.get("symbols").and_then(Value::as_array))
                .map(|v| {
                    v.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let (prices, info) = read_quotes(state, caller, account, symbols)
                .await
                .map_err(own)?;
            // Only the symbols that have a quote: "a subset of the symbols asked for".
            let quotes: Vec<w::SymbolPrice> = prices.into_iter().flatten().flatten().collect();
            let mut refreshed = json!({ "quotes": quotes });
            if let Some(i) = info {
                refreshed["balance"] = json!(i.balance);
                refreshed["equity"] = json!(i.equity);
                refreshed["margin"] = json!(i.margin);
                refreshed["freeMargin"] = json!(i.free_margin);
                if let Some(level) = i.margin_level {
                    refreshed["marginLevel"] = json!(level);
                }
            }
            Ok((json!({ "refreshedQuotes": refreshed }), None))
        }
        // Uptime statistics are the client's own; applications are not kept apart here.
        "saveUptime" | "removeApplication" | "waitSynchronized" => {
            let owned = crate::access::owned_entry(state, caller, account).await;
            owned.map_err(own)?;
            Ok((json!({}), None))
        }
        _ => match Rpc::of(kind, req, account) {
            Some(rpc) => rpc.call(conn).await.map(|v| (v, None)),
            None => Err(own(ApiError::of(
                Kind::Validation,
                &messages::STREAMING_REQUEST_UNSUPPORTED,
                &[&kind],
            ))),
        },
    }
}

/// `subscribe`: the account must be the caller's and deployed; a new instance gets
/// `authenticated` once, before the answer (the SDK starts over on every further one).
///
/// Only the account's replicas stream (one, or two with `reliability: high`), as in MetaApi:
/// the SDK subscribes instances 0 and 1 of every account, a subscription of an instance the
/// account does not run is answered and never authenticated, and the SDK stops asking when
/// the other says `replicas: 1`. (Streaming both made the SDK merge two synchronizations of
/// one terminal.)
async fn subscribe(
    state: &Shared,
    conn: &Connection,
    s: &SocketRef,
    req: &Value,
    account: &str,
) -> Result<(), ApiError> {
    let (entry, _) = deployed(state, &conn.caller, account).await?;
    let replicas = entry.doc.replicas();
    let instance = req
        .get("instanceIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if instance >= INSTANCES_MAX {
        return Err(ApiError::field(crate::error::FieldError::invalid(
            "instanceIndex",
            Some(json!(instance)),
            "must be 0 to 3",
        )));
    }
    let max = state
        .limits
        .catalogue
        .value(drawbridge_limits::catalog::id::TRADE_SUBSCRIPTION_ACCOUNTS);
    let fresh = {
        let mut subscribed = lock(&conn.subscribed);
        let key = (account.to_owned(), instance);
        let fresh = !subscribed.contains(&key);
        // An instance the account does not run is answered, and held nowhere.
        let serves = instance < replicas;
        let new_account = serves && !subscribed.iter().any(|(a, _)| a == account);
        let mut accounts: Vec<&str> = subscribed.iter().map(|(a, _)| a.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        if new_account && accounts.len() as u64 >= max {
            return Err(ApiError::of(
                Kind::TooManyRequests,
                &messages::LIMIT_SUBSCRIPTIONS_PER_SOCKET,
                &[&max],
            )
            .with_metadata(json!({
                "type": "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SOCKET",
                "maxAccountsPerSocket": max,
                "recommendedRetryTime": state.now().plus_millis(60_000),
            })));
        }
        // Every subscribe request counts against the subscribe rate; a new account also
        // against the subscription limits.
        crate::limits::streaming::subscribe(
            state,
            &conn.caller,
            &conn.client_id,
            account,
            new_account,
        )?;
        let fresh = fresh && serves;
        if fresh {
            subscribed.push(key);
        }
        fresh
    };
    if fresh {
        let mut packet = json!({"type": "authenticated", "accountId": account,
            "instanceIndex": instance, "host": HOST, "replicas": replicas});
        if let Some(session) = req.get("sessionId") {
            packet["sessionId"] = session.clone();
        }
        let _ = s.emit("synchronization", &packet);
    }
    Ok(())
}

/// Which of the account's instances this socket subscribed a request is for: the one it
/// names, else all of them.
pub(super) fn instances(conn: &Connection, req: &Value, account: &str) -> Vec<u64> {
    let named = req.get("instanceIndex").and_then(Value::as_u64);
    lock(&conn.subscribed)
        .iter()
        .filter(|(a, i)| a == account && named.is_none_or(|n| n == *i))
        .map(|(_, i)| *i)
        .collect()
}

/// Instances per account a socket may subscribe (the SDK uses 0 and 1).
const INSTANCES_MAX: u64 = 4;
