//! Why a trade request was refused: the MT5 `TRADE_RETCODE_*` values (and MetaApi's own
//! not-found codes), shared with the wire so each code has one definition.

pub use drawbridge_model::wire::TradeRetcode as Retcode;
