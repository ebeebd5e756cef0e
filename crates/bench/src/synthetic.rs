//! A synthetic trade server to benchmark: many accounts holding random positions on the first
//! [`SYMBOLS`] symbols of the default catalogue, with live quotes.
//!
//! One account in [`EUR_ACCOUNT_EVERY`] is in EUR, the rest in USD; each holds
//! `--positions-per-account` hedging positions with random symbols, sides, volumes and open
//! prices near the market. `--order` says in which order the positions enter the engine's
//! slab: `shuffled` (the default) as a day of live trading leaves them, accounts interleaved;
//! `by-account` as a store reload restores them, each account's positions next to each other.

use super::describe_lap as total;
use super::stopwatch::{Lap, Stopwatch};
use anyhow::{Context, ensure};
use drawbridge_broker::account::{MarginMode, NewAccount};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::engine::records::Side;
use drawbridge_broker::engine::{Engine, Event, QuoteUpdate, RestoredPosition, ServerConfig};
use drawbridge_broker::symbol::{Currency, SymbolIdx, SymbolSpec};
use drawbridge_model::num::MONEY_SCALE;
use drawbridge_model::{Money, Price, Rng, ServerZone, Timestamp, Volume};

/// Symbols the positions are spread over: the first ones of the default catalogue.
pub(super) const SYMBOLS: usize = 30;
/// One account in this many is a EUR account, so revaluation converts into two currencies.
const EUR_ACCOUNT_EVERY: u32 = 20;
/// Initial deposit of every account, in whole units of its currency. The largest position
/// mix drawn here needs a small fraction of it as margin, so nothing is ever stopped out.
const DEPOSIT_UNITS: i64 = 10_000;
/// A position's volume is the symbol's minimum plus up to this many volume steps.
const VOLUME_STEPS_MAX: u64 = 10;
/// Open prices lie within this many points of the build-time bid.
const OPEN_OFFSET_POINTS: i64 = 200;
/// After the build every symbol's bid moves by up to this many points either way.
const MOVE_POINTS: i64 = 50;
/// When the server is built: a Wednesday mid-session, far from the broker's midnight rollover.
const T0: &str = "2024-01-10T10:00:00Z";

/// In which order positions enter the engine's slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Order {
    /// Accounts interleaved at random, as live trading leaves the slab.
    Shuffled,
    /// Each account's positions next to each other, as a store reload restores them.
    ByAccount,
}

/// The shape of the synthetic trade server; shared by the benchmarks that need one.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct SyntheticArgs {
    /// Accounts to open.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) accounts: u32,
    /// Open positions per account.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) positions_per_account: u32,
    /// Seed of the random accounts and positions.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// In which order positions enter the engine.
    #[arg(long, value_enum, default_value_t = Order::Shuffled)]
    pub(super) order: Order,
}

/// The engine under test, with the quotes it was built around.
#[derive(Debug)]
pub(super) struct SyntheticServer {
    pub(super) engine: Engine,
    /// The events of the last engine call; cleared after every call.
    pub(super) events: Vec<Event>,
    /// Each symbol's current base bid and its spread.
    bids: Vec<(Price, Price)>,
    /// Engine time of the next quote; every quote is one millisecond after the previous.
    now: Timestamp,
    pub(super) accounts: usize,
    pub(super) positions: usize,
}

impl SyntheticServer {
    /// Builds the server and moves the market once, printing how long each part took.
    pub(super) fn build(args: &SyntheticArgs) -> anyhow::Result<Self> {
        let t0 = Timestamp::parse_iso(T0)?;
        let specs: Vec<SymbolSpec> = default_catalog().into_iter().take(SYMBOLS).collect();
        let n = specs.len();
        ensure!(
            n == SYMBOLS,
            "the default catalogue has {n} symbols, not {SYMBOLS}"
        );
        let bids = specs
            .iter()
            .map(|s| (s.feed.start_bid, spread(s)))
            .collect();
        let accounts = args.accounts as usize;
        let positions = accounts * args.positions_per_account as usize;
        let mut server = Self {
            engine: Engine::new(server_config()?, specs, t0),
            events: Vec::new(),
            bids,
            now: t0,
            accounts,
            positions,
        };
        server.engine.reserve(accounts, positions);
        for s in 0..SYMBOLS {
            server.tick(s, 0)?;
        }
        let opened = server.open_accounts(args.accounts)?;
        println!("open_account x {accounts}: {}", total(opened));
        let mut rng = Rng::seeded(args.seed);
        let restored = server.restore_positions(args, &mut rng);
        println!(
            "restore_position x {positions} ({:?} order, {SYMBOLS} symbols): {}",
            args.order,
            total(restored)
        );
        server.move_market(&mut rng.fork(1))?;
        Ok(server)
    }

    fn open_accounts(&mut self, n: u32) -> anyhow::Result<Lap> {
        let deposit = Money(DEPOSIT_UNITS * MONEY_SCALE);
        let sw = Stopwatch::start();
        for i in 0..n {
            let name = format!("Trader {i:07}");
            let mut new = NewAccount::usd(&name, "bench-master", "bench-investor", deposit);
            if i % EUR_ACCOUNT_EVERY == EUR_ACCOUNT_EVERY - 1 {
                new.currency = Currency::EUR;
            }
            self.engine.open_account(new, self.now, &mut self.events)?;
            self.events.clear();
        }
        Ok(sw.lap())
    }

    fn restore_positions(&mut self, args: &SyntheticArgs, rng: &mut Rng) -> Lap {
        let k = args.positions_per_account as usize;
        let mut owners: Vec<u32> = (0..args.accounts)
            .flat_map(|a| std::iter::repeat_n(a, k))
            .collect();
        if args.order == Order::Shuffled {
            for i in (1..owners.len()).rev() {
                owners.swap(i, rng.range(0, i as u64 + 1) as usize);
            }
        }
        let sw = Stopwatch::start();
        for a in owners {
            let s = rng.range(0, SYMBOLS as u64) as usize;
            let side = if rng.next_u64() & 1 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let spec = &self.engine.specs()[s];
            let steps = rng.range(0, VOLUME_STEPS_MAX + 1) as i64;
            let volume =
                Volume(spec.volume_min.0 + steps * spec.volume_step.0).min(spec.volume_max);
            let offset =
                rng.range(0, 2 * OPEN_OFFSET_POINTS as u64 + 1) as i64 - OPEN_OFFSET_POINTS;
            let price = (self.bids[s].0 + Price::from_points(offset, spec.point)).max(spec.point);
            let (account, symbol) = (
                drawbridge_broker::account::AccountIdx(a),
                SymbolIdx(s as u32),
            );
            self.engine.restore_position(RestoredPosition {
                account,
                symbol,
                side,
                volume,
                open_price: price,
                open_time: self.now,
                id: None,
            });
        }
        sw.lap()
    }

    /// Moves every symbol's bid by a few points, so positions carry non-zero profits (this
    /// is also every account's first revaluation), and checks that no account went into
    /// margin call or stop-out on the way.
    fn move_market(&mut self, rng: &mut Rng) -> anyhow::Result<()> {
        let sw = Stopwatch::start();
        let mut alarms = 0;
        for s in 0..SYMBOLS {
            let points = rng.range(0, 2 * MOVE_POINTS as u64 + 1) as i64 - MOVE_POINTS;
            let point = self.engine.specs()[s].point;
            self.bids[s].0 = (self.bids[s].0 + Price::from_points(points, point)).max(point);
            self.tick(s, 0)?;
            let alarm = |e: &&Event| matches!(e, Event::MarginCall { .. } | Event::StopOut { .. });
            alarms += self.events.iter().filter(alarm).count();
            self.events.clear();
        }
        println!(
            "first move of {SYMBOLS} quotes (revalues every account): {}",
            total(sw.lap())
        );
        ensure!(
            alarms == 0,
            "{alarms} margin calls or stop-outs: raise DEPOSIT_UNITS"
        );
        Ok(())
    }

    /// One quote on symbol `s`, `offset` points above its base bid, through `on_quote`. The
    /// events it caused are left in `events`.
    pub(super) fn tick(&mut self, s: usize, offset: i64) -> anyhow::Result<()> {
        let (bid, spread) = self.bids[s];
        let bid = bid + Price::from_points(offset, self.engine.specs()[s].point);
        let symbol = SymbolIdx(s as u32);
        self.engine
            .on_quote(symbol, self.now, bid, bid + spread, &mut self.events)
            .with_context(|| format!("quote {bid} on symbol {s}"))?;
        self.now = self.now.plus_millis(1);
        Ok(())
    }
}

impl SyntheticServer {
    /// Quotes that arrived together, each `(symbol, offset)` as [`SyntheticServer::tick`] takes it,
    /// through `on_quotes_in_parts`: the accounts they affect are revalued once, and `part`
    /// gets the engine and the events after about every `part_accounts` of them.
    pub(super) fn ticks(
        &mut self,
        moves: &[(usize, i64)],
        part_accounts: usize,
        part: impl FnMut(&Engine, &mut Vec<Event>),
    ) -> anyhow::Result<()> {
        let mut quotes = Vec::with_capacity(moves.len());
        for &(s, offset) in moves {
            let (bid, spread) = self.bids[s];
            let bid = bid + Price::from_points(offset, self.engine.specs()[s].point);
            quotes.push(QuoteUpdate {
                symbol: SymbolIdx(s as u32),
                time: self.now,
                bid,
                ask: bid + spread,
            });
            self.now = self.now.plus_millis(1);
        }
        self.engine
            .on_quotes_in_parts(&quotes, part_accounts, &mut self.events, part)
            .with_context(|| format!("{} quotes", quotes.len()))?;
        Ok(())
    }
}

fn server_config() -> anyhow::Result<ServerConfig> {
    Ok(ServerConfig {
        name: "Drawbridge-Demo".into(),
        zone: ServerZone::parse("EET")?,
        margin_mode: MarginMode::Hedging,
        margin_call_pct: 100,
        stop_out_pct: 50,
        first_login: 1_000_000,
    })
}

/// The symbol's typical spread as a price difference.
fn spread(spec: &SymbolSpec) -> Price {
    Price::from_points(i64::from(spec.feed.spread_points), spec.point)
}
