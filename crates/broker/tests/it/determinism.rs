//! Same seed and inputs → byte-identical history: a simulated week of market and random
//! trading on both default servers, run twice on a virtual clock.

use drawbridge_broker::broker::{AccountRef, BrokerEvent, Session};
use drawbridge_broker::engine::TradeCommand;
use drawbridge_broker::engine::command::Stops;
use drawbridge_broker::engine::records::{Expiration, PendingKind, Side, Tags};
use drawbridge_broker::sim::{DEMO_SERVER, DemoRequest, NETTING_SERVER, SimBroker, SimConfig};
use drawbridge_broker::symbol::{Currency, SymbolIdx};
use drawbridge_model::time::MS_PER_MINUTE;
use drawbridge_model::{Clock, Money, Price, Rng, Timestamp, VirtualClock, Volume};
use std::fmt::Write;

const TRADED: [&str; 6] = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "GBPJPY", "BTCUSD"];

/// Runs `days` of market and random trading every ten minutes and returns every account's
/// history as text, plus how many deals it holds. With `extra_steps`, time also stops at
/// random instants between the trading instants (drawn from their own stream): that must
/// change nothing, because the server journals only its ops and replays them at their
/// instants, whatever steps time took in between.
fn run(seed: u64, days: i64, extra_steps: bool) -> (String, usize) {
    let start = Timestamp::parse_iso("2026-01-05T00:00:00Z").unwrap(); // a Monday
    let clock = VirtualClock::new(start);
    let mut broker = SimBroker::new(SimConfig {
        seed,
        start,
        tick_gap_scale: 600.0,
    });
    let mut events: Vec<BrokerEvent> = Vec::new();
    let mut sessions: Vec<Session> = Vec::new();
    for server in [DEMO_SERVER, NETTING_SERVER] {
        for i in 0..4 {
            let req = DemoRequest {
                name: format!("trader {i}"),
                currency: if i == 3 { Currency::EUR } else { Currency::USD },
                leverage: 100,
                balance: Money::from_f64(10_000.0),
            };
            let demo = broker.open_demo_account(server, req, &mut events).unwrap();
            sessions.push(broker.connect(server, demo.login, &demo.password).unwrap());
        }
    }
    let mut rng = Rng::seeded(seed ^ 0x5eed);
    let mut steps = Rng::seeded(seed ^ 0x57e9);
    for _ in 0..(days * 24 * 60 / 10) {
        if extra_steps {
            for _ in 0..steps.range(0, 4) {
                let at = clock
                    .now()
                    .plus_millis(steps.range(0, 10 * MS_PER_MINUTE as u64) as i64);
                broker.advance(at, &mut events);
                events.clear();
            }
        }
        let now = clock.advance(10 * MS_PER_MINUTE);
        broker.advance(now, &mut events);
        events.clear();
        for s in &sessions {
            if rng.unit() < 0.3 {
                let cmd = random_command(&broker, s, &mut rng);
                // Rejections are part of the history too: they must repeat exactly.
                let _ = broker.trade(s, cmd, &mut events);
            }
        }
    }
    let mut out = String::new();
    let mut deals = 0;
    for s in &sessions {
        let all = (Timestamp(0), Timestamp(i64::MAX));
        let d = broker.deals(s, all.0, all.1).unwrap();
        deals += d.len();
        writeln!(
            out,
            "{:?}\n{:?}\n{:?}",
            d,
            broker.history_orders(s, all.0, all.1).unwrap(),
            broker.positions(s).unwrap()
        )
        .unwrap();
    }
    (out, deals)
}

fn random_command(broker: &SimBroker, s: &Session, rng: &mut Rng) -> TradeCommand {
    let AccountRef { server, .. } = s.account;
    let name = TRADED[rng.range(0, TRADED.len() as u64) as usize];
    let symbol: SymbolIdx = broker.server(server).engine.symbol(name).unwrap();
    let volume = Volume(1_000_000 * rng.range(1, 20) as i64);
    let side = if rng.unit() < 0.5 {
        Side::Buy
    } else {
        Side::Sell
    };
    let positions = broker.positions(s).unwrap();
    let q = broker.server(server).engine.quote(symbol);
    match rng.range(0, 6) {
        0 | 1 => TradeCommand::Market {
            symbol,
            side,
            volume,
            stops: Stops::default(),
            tags: Tags::default(),
        },
        2 if !positions.is_empty() => {
            let p = &positions[rng.range(0, positions.len() as u64) as usize];
            TradeCommand::ClosePosition {
                position_id: p.id,
                volume: None,
                tags: Tags::default(),
            }
        }
        3 if q.is_live() => {
            let tick = broker.server(server).engine.spec(symbol).tick_size;
            let offset = Price(tick.0 * rng.range(50, 500) as i64);
            TradeCommand::Pending {
                symbol,
                kind: PendingKind::BuyLimit,
                volume,
                price: q.ask - offset,
                stop_limit_price: None,
                stops: Stops::default(),
                expiration: Expiration::Day,
                tags: Tags::default(),
            }
        }
        4 if !positions.is_empty() && q.is_live() => {
            let p = &positions[0];
            let q = broker.server(server).engine.quote(p.symbol);
            let tick = broker.server(server).engine.spec(p.symbol).tick_size;
            let d = Price(tick.0 * 300);
            let stops = match p.side {
                Side::Buy => Stops {
                    stop_loss: Some(q.bid - d),
                    take_profit: Some(q.bid + d),
                    trailing_points: None,
                },
                Side::Sell => Stops {
                    stop_loss: Some(q.ask + d),
                    take_profit: Some(q.ask - d),
                    trailing_points: None,
                },
            };
            TradeCommand::ModifyPosition {
                position_id: p.id,
                stops,
            }
        }
        _ => TradeCommand::Market {
            symbol,
            side: side.opposite(),
            volume,
            stops: Stops::default(),
            tags: Tags::default(),
        },
    }
}

#[test]
fn same_seed_and_inputs_give_a_byte_identical_history() {
    let (a, deals) = run(7, 7, false);
    let (b, _) = run(7, 7, false);
    assert!(deals > 500, "the week traded: {deals} deals");
    assert_eq!(a, b);
    let (c, _) = run(8, 7, false);
    assert_ne!(a, c, "another seed, another market");
}

#[test]
fn stopping_time_at_other_instants_changes_nothing() {
    let (a, deals) = run(9, 2, false);
    let (b, _) = run(9, 2, true);
    assert!(deals > 100, "the days traded: {deals} deals");
    assert_eq!(a, b);
}
