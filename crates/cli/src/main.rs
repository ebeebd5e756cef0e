//! `drawbridge`: a self-hosted, MetaApi-compatible trading-account server.
//!
//! - `serve`: the MetaApi-compatible server; `token create`: API and account tokens.
//! - `bench`: performance benchmarks printing `BENCH <id> <value> <unit> target <op><bound>`.
//! - `catalog`: the simulated trade servers' symbol catalogue (`docs/catalog.md`).
//! - `replay`: reads a tick file as the simulated broker replays it and prints its candles.

mod bench;
mod catalog;
mod replay;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Run a benchmark (`drawbridge bench` lists them).
    Bench(bench::BenchArgs),
    /// Print the simulated trade servers' symbol catalogue as a Markdown table.
    Catalog,
    /// Read a tick file (HistData ASCII or `time,bid,ask` CSV) and print its candles.
    Replay(replay::ReplayArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Replay(args)) => replay::run(args),
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
