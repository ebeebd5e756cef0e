//! The limits the server applies (split by concern in the next commit).

pub mod charge;

pub use charge::*;
