//! The broker's integration tests, one binary (one link) for all of them.

mod batch;
mod catalog;
mod delta;
mod determinism;
mod engine_props;
mod feed_candles;
mod feed_generator;
mod feed_replay;
mod golden;
mod layout;
mod sim;
mod support;
mod wire_shapes;
