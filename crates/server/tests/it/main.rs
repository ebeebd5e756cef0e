//! The server's integration tests over real sockets and SQLite files, one binary.

mod messages_doc;
mod rest;
mod tls;
