//! `drawbridge`: a self-hosted, MetaApi-compatible trading-account server.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "drawbridge", version, about = "A self-hosted, MetaApi-compatible trading-account server")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
