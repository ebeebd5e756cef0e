//! `drawbridge`: a self-hosted, MetaApi-compatible trading-account server.
//!
//! - `bench`: performance benchmarks printing `BENCH <id> <value> <unit> target <op><bound>`.

mod bench;

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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Some(Command::Bench(args)) => bench::run(args),
        None => {
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
