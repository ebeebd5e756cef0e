//! The incremental revaluation adds each position's change to its account (delta
//! revaluation, `engine/legs.rs`); these tests hold it to the full recomputation.
//!
//! Random scenarios on eight accounts (USD, EUR, GBP and JPY; hedging and netting; several
//! leverages) trade symbols whose profit and margin convert into the account currencies
//! directly, through USD, and — while a direct pair has had no quote yet — through the USD
//! fallback legs. Steps: single quotes, batches of quotes through `on_quotes`, market orders
//! with SL/TP (which later quotes fire), restored positions, partial and full closes,
//! deposits and withdrawals, and time passing over broker midnights (swaps). After every
//! step each account's valuation must be exactly what a brute-force recomputation from its
//! positions gives, and the full sweep must leave every floating result as it found it.

use super::engine_props::{brute_floating, brute_margin};
use crate::support::{server_config, start};
use drawbridge_broker::account::{AccountIdx, AccountKind, MarginMode, NewAccount};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::engine::command::Stops;
use drawbridge_broker::engine::records::{Side, Tags};
use drawbridge_broker::engine::{Engine, Event, QuoteUpdate, RestoredPosition, TradeCommand};
use drawbridge_broker::symbol::{Currency, SymbolIdx};
use drawbridge_model::{Money, Price, Timestamp, Volume};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const CASES: u32 = 64;
const OPS_MAX: usize = 160;
const MS_PER_MINUTE: i64 = 60_000;

/// Traded symbols. The last two get no quote until a step quotes them, so until then GBP
/// accounts convert EUR and JPY through USD (EURUSD with GBPUSD, USDJPY with GBPUSD).
const SYMBOLS: [&str; 10] = [
    "EURUSD", "GBPUSD", "USDJPY", "EURJPY", "AUDCAD", "XAUUSD", "US500", "BTCUSD", "EURGBP",
    "GBPJPY",
];
const LATE: usize = 2;

/// (currency, margin mode, leverage, deposit in units).
const ACCOUNTS: [(Currency, MarginMode, u32, i64); 8] = [
    (Currency::USD, MarginMode::Hedging, 100, 20_000),
    (Currency::USD, MarginMode::Netting, 500, 5_000),
    (Currency::EUR, MarginMode::Hedging, 30, 30_000),
    (Currency::EUR, MarginMode::Netting, 200, 8_000),
    (Currency::GBP, MarginMode::Hedging, 50, 20_000),
    (Currency::GBP, MarginMode::Netting, 100, 6_000),
    (Currency::JPY, MarginMode::Hedging, 100, 3_000_000),
    (Currency::JPY, MarginMode::Netting, 25, 1_000_000),
];

#[derive(Clone, Debug)]
enum Op {
    Quote {
        sym: usize,
        step: i32,
    },
    Batch(Vec<(usize, i32)>),
    Market {
        acc: usize,
        sym: usize,
        buy: bool,
        lots: i64,
        stops: Option<(i32, i32)>,
    },
    Restore {
        acc: usize,
        sym: usize,
        buy: bool,
        lots: i64,
        offset: i32,
    },
    ClosePartial {
        acc: usize,
        pick: usize,
        percent: i64,
    },
    Close {
        acc: usize,
        pick: usize,
    },
    Balance {
        acc: usize,
        cents: i64,
    },
    Advance {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let acc = 0..ACCOUNTS.len();
    let sym = 0..SYMBOLS.len();
    let step = -40i32..=40;
    let stops = prop::option::weighted(0.4, (5i32..=60, 5i32..=60));
    prop_oneof![
        6 => (sym.clone(), step.clone()).prop_map(|(sym, step)| Op::Quote { sym, step }),
        2 => prop::collection::vec((sym.clone(), step), 1..6).prop_map(Op::Batch),
        5 => (acc.clone(), sym.clone(), any::<bool>(), 1i64..=30, stops)
            .prop_map(|(acc, sym, buy, lots, stops)| Op::Market { acc, sym, buy, lots, stops }),
        1 => (acc.clone(), sym, any::<bool>(), 1i64..=30, -50i32..=50)
            .prop_map(|(acc, sym, buy, lots, offset)| Op::Restore { acc, sym, buy, lots, offset }),
        2 => (acc.clone(), any::<usize>(), 10i64..=90)
            .prop_map(|(acc, pick, percent)| Op::ClosePartial { acc, pick, percent }),
        2 => (acc.clone(), any::<usize>()).prop_map(|(acc, pick)| Op::Close { acc, pick }),
        1 => (acc, -500_000i64..=500_000).prop_map(|(acc, cents)| Op::Balance { acc, cents }),
        1 => (1i64..=1_800).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// The engine, each symbol's bid in points and the clock.
struct Sim {
    engine: Engine,
    symbols: Vec<SymbolIdx>,
    /// Current bid of each traded symbol in points (0 before its first quote).
    points: Vec<i64>,
    now: Timestamp,
    events: Vec<Event>,
}

impl Sim {
    fn new() -> Self {
        let mut engine = Engine::new(server_config(), default_catalog(), start());
        let symbols: Vec<SymbolIdx> = SYMBOLS
            .iter()
            .map(|n| engine.symbol(n).expect("catalogued"))
            .collect();
        let mut events = Vec::new();
        for (i, &(currency, mode, leverage, units)) in ACCOUNTS.iter().enumerate() {
            let mut new = NewAccount::usd(&format!("delta {i}"), "m", "i", Money(units * 100));
            new.currency = currency;
            new.margin_mode = Some(mode);
            new.leverage = leverage;
            new.kind = AccountKind::Standalone;
            engine
                .open_account(new, start(), &mut events)
                .expect("opens");
        }
        let points = vec![0; SYMBOLS.len()];
        let mut sim = Self {
            engine,
            symbols,
            points,
            now: start(),
            events,
        };
        for i in 0..SYMBOLS.len() - LATE {
            sim.quote(&[(i, 0)]);
        }
        sim
    }

    fn point(&self, i: usize) -> Price {
        self.engine.spec(self.symbols[i]).point
    }

    /// Moves each `(symbol, step)` by `step` points (a first quote starts at the catalogue
    /// price) and sends them together.
    fn quote(&mut self, moves: &[(usize, i32)]) {
        let mut quotes = Vec::new();
        for &(i, step) in moves {
            let spec = self.engine.spec(self.symbols[i]);
            let start = spec.feed.start_bid.in_points(spec.point);
            let p = &mut self.points[i];
            *p = if *p == 0 {
                start
            } else {
                (*p + i64::from(step)).max(start / 2)
            };
            let bid = Price::from_points(*p, spec.point);
            let spread = Price::from_points(i64::from(spec.feed.spread_points), spec.point);
            self.now = self.now.plus_millis(1);
            quotes.push(QuoteUpdate {
                symbol: self.symbols[i],
                time: self.now,
                bid,
                ask: bid + spread,
            });
        }
        if let [q] = quotes[..] {
            self.engine
                .on_quote(q.symbol, q.time, q.bid, q.ask, &mut self.events)
                .expect("valid");
        } else {
            self.engine
                .on_quotes(&quotes, &mut self.events)
                .expect("valid");
        }
    }

    fn volume(&self, i: usize, lots: i64) -> Volume {
        let spec = self.engine.spec(self.symbols[i]);
        Volume(spec.volume_min.0 * lots).min(spec.volume_max)
    }

    fn positions(&self, a: AccountIdx) -> Vec<(u64, Volume)> {
        let mut v: Vec<(u64, Volume)> = self
            .engine
            .positions_of(a)
            .map(|p| (p.id, p.volume))
            .collect();
        v.sort_unstable();
        v
    }

    fn trade(&mut self, a: AccountIdx, cmd: TradeCommand) {
        let access = drawbridge_broker::account::Access::Master;
        // Rejections (no money, market closed, invalid stops) are part of the scenario.
        let _ = self
            .engine
            .trade(a, access, cmd, self.now, &mut self.events);
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Quote { sym, step } => self.quote(&[(sym, step)]),
            Op::Batch(ref moves) => self.quote(moves),
            Op::Market {
                acc,
                sym,
                buy,
                lots,
                stops,
            } => {
                if self.points[sym] == 0 {
                    return;
                }
                let side = if buy { Side::Buy } else { Side::Sell };
                let q = self.engine.quote(self.symbols[sym]);
                let (point, close) = (self.point(sym), q.close_price(side));
                let stops = stops.map_or(Stops::default(), |(sl, tp)| {
                    let (sl, tp) = (
                        Price::from_points(i64::from(sl), point),
                        Price::from_points(i64::from(tp), point),
                    );
                    match side {
                        Side::Buy => Stops {
                            stop_loss: Some(close - sl),
                            take_profit: Some(close + tp),
                            trailing_points: None,
                        },
                        Side::Sell => Stops {
                            stop_loss: Some(close + sl),
                            take_profit: Some(close - tp),
                            trailing_points: None,
                        },
                    }
                });
                let cmd = TradeCommand::Market {
                    symbol: self.symbols[sym],
                    side,
                    volume: self.volume(sym, lots),
                    stops,
                    tags: Tags::default(),
                };
                self.trade(AccountIdx(acc as u32), cmd);
            }
            Op::Restore {
                acc,
                sym,
                buy,
                lots,
                offset,
            } => {
                let spec = self.engine.spec(self.symbols[sym]);
                let base = if self.points[sym] == 0 {
                    spec.feed.start_bid.in_points(spec.point)
                } else {
                    self.points[sym]
                };
                let open = Price::from_points(base + i64::from(offset), spec.point);
                let side = if buy { Side::Buy } else { Side::Sell };
                let (s, v) = (self.symbols[sym], self.volume(sym, lots));
                self.engine.restore_position(RestoredPosition {
                    account: AccountIdx(acc as u32),
                    symbol: s,
                    side,
                    volume: v,
                    open_price: open,
                    open_time: self.now,
                    id: None,
                });
            }
            Op::ClosePartial { acc, pick, percent } => {
                let a = AccountIdx(acc as u32);
                let open = self.positions(a);
                if open.is_empty() {
                    return;
                }
                let (id, volume) = open[pick % open.len()];
                let part = Volume(volume.0 * percent / 100 / 1_000_000 * 1_000_000);
                if part.0 > 0 && part < volume {
                    let cmd = TradeCommand::ClosePosition {
                        position_id: id,
                        volume: Some(part),
                        tags: Tags::default(),
                    };
                    self.trade(a, cmd);
                }
            }
            Op::Close { acc, pick } => {
                let a = AccountIdx(acc as u32);
                let open = self.positions(a);
                if !open.is_empty() {
                    let (id, _) = open[pick % open.len()];
                    let cmd = TradeCommand::ClosePosition {
                        position_id: id,
                        volume: None,
                        tags: Tags::default(),
                    };
                    self.trade(a, cmd);
                }
            }
            Op::Balance { acc, cents } => {
                let a = AccountIdx(acc as u32);
                let _ = self.engine.balance_operation(
                    a,
                    Money(cents),
                    None,
                    self.now,
                    &mut self.events,
                );
            }
            Op::Advance { minutes } => {
                self.now = self.now.plus_millis(minutes * MS_PER_MINUTE);
                self.engine.advance_time(self.now, &mut self.events);
            }
        }
        self.events.clear();
    }

    /// Every account's valuation against the brute force; the full sweep changes nothing.
    fn check(&mut self, step: usize) -> Result<(), TestCaseError> {
        for i in 0..ACCOUNTS.len() {
            let a = AccountIdx(i as u32);
            let v = self.engine.valuation(a);
            prop_assert_eq!(
                v.floating,
                brute_floating(&self.engine, a),
                "floating of account {} after step {}",
                i,
                step
            );
            prop_assert_eq!(
                v.margin,
                brute_margin(&self.engine, a),
                "margin of account {} after step {}",
                i,
                step
            );
        }
        let before: Vec<Money> = (0..ACCOUNTS.len())
            .map(|i| self.engine.valuation(AccountIdx(i as u32)).floating)
            .collect();
        self.engine.revalue_all();
        for (i, f) in before.into_iter().enumerate() {
            prop_assert_eq!(
                self.engine.valuation(AccountIdx(i as u32)).floating,
                f,
                "sweep vs delta, account {}",
                i
            );
        }
        Ok(())
    }
}

use proptest::test_runner::TestCaseError;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// After any sequence of steps, every valuation is the full recomputation's, to the cent.
    #[test]
    fn delta_revaluation_matches_the_full_recomputation(
        ops in prop::collection::vec(op(), 1..OPS_MAX)
    ) {
        let mut sim = Sim::new();
        sim.check(0)?;
        for (k, op) in ops.iter().enumerate() {
            sim.run(op);
            sim.check(k + 1)?;
        }
    }
}

/// A GBP account holding EURJPY converts its profit (JPY) and margin (EUR) through USD while
/// GBPJPY and EURGBP have no quote: a USDJPY or GBPUSD quote changes its valuation, though
/// neither is the direct pair of either conversion. (The index that decided what a quote
/// revalues used to list only the direct pairs, and left such accounts stale.)
#[test]
fn a_usd_fallback_leg_revalues_the_positions_converted_through_it() {
    let mut sim = Sim::new();
    let gbp = AccountIdx(4);
    let eurjpy = 3;
    sim.run(&Op::Market {
        acc: 4,
        sym: eurjpy,
        buy: true,
        lots: 100,
        stops: None,
    });
    assert_eq!(sim.engine.positions_of(gbp).count(), 1, "the order filled");
    for (sym, step) in [(2, 3_000), (1, -3_000), (2, -5_000), (0, 2_000)] {
        let before = sim.engine.valuation(gbp);
        sim.run(&Op::Quote { sym, step });
        let after = sim.engine.valuation(gbp);
        assert_ne!(before, after, "a {} quote moves the account", SYMBOLS[sym]);
        assert_eq!(
            after.floating,
            brute_floating(&sim.engine, gbp),
            "floating after {}",
            SYMBOLS[sym]
        );
        assert_eq!(
            after.margin,
            brute_margin(&sim.engine, gbp),
            "margin after {}",
            SYMBOLS[sym]
        );
    }
}

/// Two positions of one hedging account on one symbol share its margin (the hedged part is
/// charged at `margin_hedged`): quotes keep the account exact while the pair opens, hedges
/// and comes apart again.
#[test]
fn positions_sharing_a_symbol_keep_hedged_margin_exact() {
    let mut sim = Sim::new();
    let usd = AccountIdx(0);
    let steps = [
        Op::Market {
            acc: 0,
            sym: 5,
            buy: true,
            lots: 20,
            stops: None,
        },
        Op::Quote { sym: 5, step: 30 },
        Op::Market {
            acc: 0,
            sym: 5,
            buy: false,
            lots: 10,
            stops: None,
        },
        Op::Quote { sym: 5, step: -45 },
        Op::Batch(vec![(5, 10), (0, 3), (5, -2)]),
        Op::Close { acc: 0, pick: 0 },
        Op::Quote { sym: 5, step: 12 },
    ];
    for (k, op) in steps.iter().enumerate() {
        sim.run(op);
        let v = sim.engine.valuation(usd);
        assert_eq!(
            v.floating,
            brute_floating(&sim.engine, usd),
            "floating after step {k}"
        );
        assert_eq!(
            v.margin,
            brute_margin(&sim.engine, usd),
            "margin after step {k}"
        );
    }
}

/// A group (a master and two members, whose margin levels are the group's) loses on one
/// quote: settling the first member takes the group below stop-out, and the worst position
/// closed is the second member's, whose change the same quote still has to settle. Every
/// valuation stays exact.
#[test]
fn group_stop_outs_keep_every_member_exact() {
    let mut sim = Sim::new();
    let mut open = |kind, deposit: i64| {
        let mut new = NewAccount::usd("group", "m", "i", Money(deposit));
        new.kind = kind;
        (sim.engine.open_account(new, start(), &mut sim.events)).expect("opens")
    };
    let master = open(AccountKind::GroupMaster, 1_000_000);
    let members = [
        open(AccountKind::GroupMember { master }, 0),
        open(AccountKind::GroupMember { master }, 0),
    ];
    for (&m, lots) in members.iter().zip([100, 200]) {
        let cmd = TradeCommand::Market {
            symbol: sim.symbols[0],
            side: Side::Buy,
            volume: sim.volume(0, lots),
            stops: Stops::default(),
            tags: Tags::default(),
        };
        sim.trade(m, cmd);
    }
    assert_eq!(sim.engine.position_count(), 2, "the group's orders filled");
    sim.events.clear();
    let all = sim.engine.accounts().len();
    let mut closed = Vec::new();
    for step in [-400, 800, -10_000] {
        sim.quote(&[(0, step)]);
        closed.extend(sim.events.iter().filter_map(|e| match e {
            Event::PositionClosed { account, .. } => Some(*account),
            _ => None,
        }));
        sim.events.clear();
        for i in 0..all {
            let a = AccountIdx(i as u32);
            let v = sim.engine.valuation(a);
            assert_eq!(
                v.floating,
                brute_floating(&sim.engine, a),
                "floating of {i}"
            );
            assert_eq!(v.margin, brute_margin(&sim.engine, a), "margin of {i}");
        }
    }
    assert_eq!(
        closed.first(),
        Some(&members[1]),
        "the second member's position goes first"
    );
}
