//! `drawbridge serve` and `drawbridge token create`: flags and `DRAWBRIDGE_*` variables become
//! a configuration layer over the optional TOML file; the server crate does the rest.

use anyhow::{Context, anyhow};
use drawbridge_model::Clock;
use drawbridge_server::auth::Grant;
use drawbridge_server::config::{ClockKind, Config, Layer};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// A TOML configuration file (keys as the long flags: listen, data-dir, …).
    #[arg(long, env = "DRAWBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Where the SQLite database, key and certificates live [default: ./data].
    #[arg(long, env = "DRAWBRIDGE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DRAWBRIDGE_LISTEN")]
    listen: Option<String>,
    /// The MetaApi domain clients use (e.g. drawbridge.local or drawbridge.local:8443).
    #[arg(long, env = "DRAWBRIDGE_DOMAIN")]
    domain: Option<String>,
    /// Serve https with the data dir's certificate for --domain (issued if missing; see
    /// `drawbridge certs`).
    #[arg(long, env = "DRAWBRIDGE_TLS")]
    tls: bool,
    /// The region the server reports; the SDK puts it into host names [default: vint-hill].
    #[arg(long, env = "DRAWBRIDGE_REGION")]
    region: Option<String>,
    /// Seed demo accounts (for the admin user) and keep the feed running.
    #[arg(long, env = "DRAWBRIDGE_DEMO")]
    demo: bool,
    /// real (default) or virtual: virtual time moves only through POST /sim/clock/advance.
    #[arg(long, env = "DRAWBRIDGE_CLOCK", value_enum)]
    clock: Option<ClockKind>,
    /// Start of a virtual clock, ISO-8601 (e.g. 2026-01-07T10:00:00Z).
    #[arg(long, env = "DRAWBRIDGE_CLOCK_START")]
    clock_start: Option<String>,
    /// Seed of the simulated broker (fixed by the first start of a data dir).
    #[arg(long, env = "DRAWBRIDGE_SEED")]
    seed: Option<u64>,
    /// Log JSON lines instead of text.
    #[arg(long, env = "DRAWBRIDGE_LOG_JSON")]
    log_json: bool,
}

impl ServeArgs {
    fn layer(&self) -> Layer {
        Layer {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            domain: self.domain.clone(),
            tls: self.tls.then_some(true),
            region: self.region.clone(),
            demo: self.demo.then_some(true),
            clock: self.clock,
            clock_start: self.clock_start.clone(),
            seed: self.seed,
            log_json: self.log_json.then_some(true),
            ..Layer::default()
        }
    }
}

fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let file = match &args.config {
        Some(path) => Layer::from_file(path).map_err(|e| anyhow!(e))?,
        None => Layer::default(),
    };
    Config::build(file.under(args.layer()))
        .map_err(|problems| anyhow!("invalid configuration:\n  {}", problems.join("\n  ")))
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRAWBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = config(&args)?;
    init_logs(config.log_json);
    let key = std::env::var("DRAWBRIDGE_SECRET_KEY").ok();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(drawbridge_server::serve(config, key.as_deref()))?;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Create a token; prints it as the last line of stdout.
    Create {
        /// The data dir of the server the token is for [default: ./data].
        #[arg(long, env = "DRAWBRIDGE_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// May use the sim control API.
        #[arg(long)]
        admin: bool,
        /// May only read.
        #[arg(long)]
        read_only: bool,
        /// An account token (one part) granting this account id only.
        #[arg(long)]
        account: Option<String>,
        /// An existing (or new) user's name; each call makes a new user otherwise.
        #[arg(long)]
        user: Option<String>,
    },
}

pub(crate) fn token(args: TokenArgs) -> anyhow::Result<()> {
    let TokenCommand::Create {
        data_dir,
        admin,
        read_only,
        account,
        user,
    } = args.command;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let token = runtime.block_on(async {
        let store = drawbridge_server::open_store(&data_dir).await?;
        let grant = Grant {
            admin,
            read_only,
            accounts: None,
            account_token: account.is_some(),
        };
        let now = drawbridge_model::SystemClock.now();
        drawbridge_server::create_token(store, user.as_deref(), grant, account.as_deref(), now)
            .await
    })?;
    println!("{token}");
    Ok(())
}
