//! Tests of the real `drawbridge` binary, one test binary for all of them.

mod bench_delegation;
mod catalog_doc;
mod replay_cli;
mod sdk;
mod serve;
mod support;
