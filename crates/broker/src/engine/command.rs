//! Trade requests in engine terms: exact prices and volumes, resolved symbols.
//!
//! The server translates MetaApi `actionType` requests (relative SL/TP units included) into
//! these; the engine only ever sees absolute prices.

use super::records::{Expiration, PendingKind, Side, Tags};
use super::retcode::Retcode;
use crate::symbol::SymbolIdx;
use drawbridge_model::{Price, Volume};

/// Protective levels of a position or order. `None` means "no level".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stops {
    pub stop_loss: Option<Price>,
    pub take_profit: Option<Price>,
    /// Trailing-stop distance in points.
    pub trailing_points: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TradeCommand {
    /// `ORDER_TYPE_BUY` / `ORDER_TYPE_SELL`.
    Market {
        symbol: SymbolIdx,
        side: Side,
        volume: Volume,
        stops: Stops,
        tags: Tags,
    },
    /// `ORDER_TYPE_{BUY,SELL}_{LIMIT,STOP,STOP_LIMIT}`.
    Pending {
        symbol: SymbolIdx,
        kind: PendingKind,
        volume: Volume,
        price: Price,
        stop_limit_price: Option<Price>,
        stops: Stops,
        expiration: Expiration,
        tags: Tags,
    },
    /// `POSITION_MODIFY`: sets both levels (a `None` removes it).
    ModifyPosition { position_id: u64, stops: Stops },
    /// `POSITION_CLOSE_ID` (volume `None`) and `POSITION_PARTIAL`.
    ClosePosition {
        position_id: u64,
        volume: Option<Volume>,
        tags: Tags,
    },
    /// `POSITION_CLOSE_BY`.
    CloseBy {
        position_id: u64,
        by_position_id: u64,
        tags: Tags,
    },
    /// `POSITIONS_CLOSE_SYMBOL`.
    CloseSymbol { symbol: SymbolIdx, tags: Tags },
    /// `ORDER_MODIFY`.
    ModifyOrder {
        order_id: u64,
        price: Price,
        stop_limit_price: Option<Price>,
        stops: Stops,
        expiration: Expiration,
    },
    /// `ORDER_CANCEL`.
    CancelOrder { order_id: u64 },
}

/// A successful request's result, as MetaApi reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeOutcome {
    pub retcode: Retcode,
    pub order_id: Option<u64>,
    pub position_id: Option<u64>,
}

impl TradeOutcome {
    pub(crate) fn done(order_id: Option<u64>, position_id: Option<u64>) -> Self {
        Self {
            retcode: Retcode::Done,
            order_id,
            position_id,
        }
    }
}
