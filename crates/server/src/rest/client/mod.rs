//! The client REST API of a deployed account (split by concern in the next commit).

pub mod terminal;

pub use terminal::*;
