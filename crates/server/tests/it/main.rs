//! The server's integration tests over real sockets and SQLite files, one binary.

mod limits;
mod messages_doc;
mod operations;
mod rest;
mod risk;
mod streaming;
mod support;
mod tls;
