//! `drawbridge replay`: reads a tick file as the simulated broker replays it, and prints the
//! candles it builds from it.
//!
//! The file's format is detected from its first line (or forced with `--format`); see
//! `drawbridge_broker::feed::replay` for both formats. A long import shows a progress bar on a
//! terminal. Candles are built in the trade server's time zone (`--zone`, the default servers'
//! `EET` unless told), exactly as the running server builds them, and printed as CSV, oldest
//! first.

use anyhow::{Context, bail};
use drawbridge_broker::catalog::{default_catalog, find};
use drawbridge_broker::feed::{CANDLES_PER_TIMEFRAME_MAX, CandleBuilder, TickFormat, import_file};
use drawbridge_broker::sim::DEFAULT_ZONE;
use drawbridge_model::{ServerZone, Timeframe};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The tick file: HistData ASCII ticks or a `time,bid,ask` CSV.
    file: PathBuf,
    /// The catalogue symbol the ticks are for (its tick size rounds the prices).
    #[arg(long)]
    symbol: String,
    /// The file's format; detected from its first line when absent.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The candle timeframe to print (MetaApi names: 1m 2m … 1h … 1d 1w 1mn).
    #[arg(long, default_value = "1h")]
    timeframe: Timeframe,
    /// The trade server's IANA time zone, in which candles start.
    #[arg(long, default_value = DEFAULT_ZONE)]
    zone: String,
    /// At most this many candles, the newest.
    #[arg(long, default_value_t = CANDLES_PER_TIMEFRAME_MAX)]
    limit: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Histdata,
    Csv,
}

pub(crate) fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let catalog = default_catalog();
    let Some(symbol) = find(&catalog, &args.symbol) else {
        bail!(
            "unknown symbol {:?}; the catalogue has {}",
            args.symbol,
            catalog
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    };
    let spec = &catalog[symbol.index()];
    let zone = ServerZone::parse(&args.zone)
        .with_context(|| format!("--zone {:?} is not an IANA time zone", args.zone))?;
    let format = args.format.map(|f| match f {
        Format::Histdata => TickFormat::HistData,
        Format::Csv => TickFormat::Csv,
    });
    let ticks = import_file(&args.file, format, symbol, spec)?;
    let (Some(first), Some(last)) = (ticks.first(), ticks.last()) else {
        bail!("{} holds no ticks", args.file.display());
    };
    eprintln!(
        "{} ticks of {} from {} to {}",
        ticks.len(),
        spec.name,
        first.time,
        last.time
    );
    let mut candles = CandleBuilder::with_capacity(spec, zone, args.limit);
    for t in &ticks {
        candles.push(t);
    }
    let mut bars = candles.candles(args.timeframe, None, args.limit);
    bars.reverse();
    let mut out = std::io::stdout().lock();
    writeln!(out, "time,brokerTime,open,high,low,close,tickVolume,spread")?;
    for c in bars {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            c.time,
            zone.broker_time(c.time),
            c.open.with_digits(spec.digits),
            c.high.with_digits(spec.digits),
            c.low.with_digits(spec.digits),
            c.close.with_digits(spec.digits),
            c.tick_volume,
            c.spread
        )?;
    }
    Ok(())
}
