//! `drawbridge`: a self-hosted, MetaApi-compatible trading-account server.
//!
//! # Layout
//!
//! - `serve`: the MetaApi-compatible server; `token create`: API and account tokens.
//! - `certs`: the local CA and server certificate for `serve --tls`.
//! - `bench`: runs the performance benchmarks, which are their own executable beside this one
//!   (`drawbridge-bench`, `crates/bench`), so that what only they need is not linked here.
//! - `messages`: the message catalogue (`docs/messages.md`).
//! - `catalog`: the simulated trade servers' symbol catalogue (`docs/catalog.md`).
//! - `replay`: reads a tick file as the simulated broker replays it and prints its candles.

mod bench;
mod catalog;
mod certs;
mod replay;
mod serve;

use clap::{CommandFactory, Parser, Subcommand};

/// mimalloc, not the system allocator: the streaming hub's tasks allocate packets on every
/// worker thread and the sockets' writers free them on another, and glibc's malloc made the
/// threads queue on its arena locks (seen as futex sleeps in `free` under quote fan-out).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "drawbridge",
    version,
    about = "A self-hosted, MetaApi-compatible trading-account server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the MetaApi REST API on the embedded simulated broker.
    Serve(serve::ServeArgs),
    /// Manage tokens (works while a server runs on the same data dir).
    Token(serve::TokenArgs),
    /// Create the local CA and a server certificate for a MetaApi domain.
    Certs(certs::CertsArgs),
    /// Run a benchmark (`drawbridge bench` lists them).
    Bench(bench::BenchArgs),
    /// Print the simulated trade servers' symbol catalogue as a Markdown table.
    Catalog,
    /// Print the catalogue of user-facing messages as a Markdown table.
    Messages,
    /// Read a tick file (HistData ASCII or `time,bid,ask` CSV) and print its candles.
    Replay(replay::ReplayArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Some(Command::Serve(args)) => serve::serve(args),
        Some(Command::Token(args)) => serve::token(args),
        Some(Command::Certs(args)) => certs::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Replay(args)) => replay::run(args),
        Some(Command::Messages) => {
            print!("{}", drawbridge_server::messages::markdown());
            Ok(())
        }
        Some(Command::Catalog) => {
            print!("{}", catalog::markdown());
            Ok(())
        }
        None => {
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
