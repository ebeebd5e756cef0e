//! The close-out of a `close-and-halt` breach.

use crate::desk::{Desk, Op};
use drawbridge_broker::account::Access;
use drawbridge_broker::broker::{AccountRef, Broker, Session};
use drawbridge_model::wire as w;

/// Closes every position and cancels every pending order of the account through the desk's
/// normal trade ops (journaled, announced like any trade).
pub(super) async fn close_out(desk: Desk, r: AccountRef) {
    let session = Session {
        account: r,
        access: Access::Master,
    };
    let lists = desk
        .read(move |b| {
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
        .await;
    let Ok((positions, orders)) = lists else {
        return;
    };
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
