//! The Broker trait and the embedded simulated MetaTrader 5 broker.

pub mod catalog;
pub mod feed;
pub mod symbol;
