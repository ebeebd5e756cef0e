//! The Broker trait and the embedded simulated MetaTrader 5 broker.

pub mod account;
pub mod catalog;
pub mod engine;
pub mod feed;
pub mod symbol;
