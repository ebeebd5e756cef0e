//! The close-out of a `close-and-halt` breach.

use drawbridge_broker::account::Access;
use drawbridge_broker::broker::{AccountRef, Session};
use drawbridge_desk::{Desk, Op};
use drawbridge_model::wire as w;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Closes every position and cancels every pending order of the account through the desk's
/// normal trade ops (journaled, announced like any trade), then tells `done` the account's id
/// when nothing is left open (else the close-out stays pending, and runs again at start).
pub(super) async fn close_out(
    desk: Desk,
    r: AccountRef,
    id: Arc<str>,
    done: mpsc::Sender<Arc<str>>,
) {
    let Some((positions, orders)) = open_of(&desk, r).await else {
        return;
    };
    close_all(&desk, r, positions, orders).await;
    if open_of(&desk, r)
        .await
        .is_some_and(|(p, o)| p.is_empty() && o.is_empty())
    {
        // A stopped engine reads the flag again at start.
        let _ = done.send(id).await;
    }
}

/// The ids of the account's positions and pending orders.
async fn open_of(desk: &Desk, r: AccountRef) -> Option<(Vec<u64>, Vec<u64>)> {
    let session = Session {
        account: r,
        access: Access::Master,
    };
    desk.read(move |b| {
        let positions: Vec<u64> = b
            .positions(&session)
            .unwrap_or_default()
            .iter()
            .map(|p| p.id)
            .collect();
        let orders: Vec<u64> = b
            .orders(&session)
            .unwrap_or_default()
            .iter()
            .map(|o| o.id)
            .collect();
        (positions, orders)
    })
    .await
    .ok()
}

async fn close_all(desk: &Desk, r: AccountRef, positions: Vec<u64>, orders: Vec<u64>) {
    let close = positions.into_iter().map(|id| {
        let mut req = w::TradeRequest::new(w::ActionType::PositionCloseId);
        req.position_id = Some(id.to_string());
        req
    });
    let cancel = orders.into_iter().map(|id| {
        let mut req = w::TradeRequest::new(w::ActionType::OrderCancel);
        req.order_id = Some(id.to_string());
        req
    });
    for request in close.chain(cancel) {
        let op = Op::Trade {
            server: r.server,
            login: r.login,
            investor: false,
            request: Box::new(request),
        };
        match desk.apply(op).await {
            Ok(outcome) => tracing::info!(login = r.login, ?outcome, "risk: close-out"),
            Err(e) => tracing::warn!(login = r.login, error = %e, "risk: close-out failed"),
        }
    }
}
