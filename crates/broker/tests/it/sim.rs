//! The simulator as clients and the control API see it: demo accounts, sessions, the feed,
//! pushed ticks, deposits and the account kinds that report differently.

use crate::support::start;
use drawbridge_broker::account::{Access, AccountKind, NewAccount};
use drawbridge_broker::broker::{BrokerError, BrokerEvent};
use drawbridge_broker::engine::command::Stops;
use drawbridge_broker::engine::records::{Side, Tags};
use drawbridge_broker::engine::{Event, Retcode, TradeCommand};
use drawbridge_broker::sim::{DEMO_SERVER, DemoRequest, NETTING_SERVER, SimBroker, SimConfig};
use drawbridge_broker::symbol::Currency;
use drawbridge_model::time::MS_PER_MINUTE;
use drawbridge_model::{Money, Price, Timeframe, Timestamp, Volume};

fn demo(b: &mut SimBroker, server: &str, balance: f64) -> drawbridge_broker::sim::DemoAccount {
    let req = DemoRequest {
        name: "Ada".into(),
        currency: Currency::USD,
        leverage: 100,
        balance: Money::from_f64(balance),
    };
    b.open_demo_account(server, req, &mut Vec::new()).unwrap()
}

#[test]
fn demo_accounts_open_with_master_and_investor_passwords() {
    let mut b = SimBroker::new(SimConfig::new(1, start()));
    let d = demo(&mut b, DEMO_SERVER, 5_000.0);
    assert_eq!(d.server, DEMO_SERVER);
    assert_ne!(d.password, d.investor_password);
    let master = b.connect(DEMO_SERVER, d.login, &d.password).unwrap();
    let investor = b
        .connect(DEMO_SERVER, d.login, &d.investor_password)
        .unwrap();
    assert_eq!(
        (master.access, investor.access),
        (Access::Master, Access::Investor)
    );
    assert_eq!(
        b.connect(DEMO_SERVER, d.login, "guess"),
        Err(BrokerError::Auth)
    );
    assert_eq!(
        b.connect(DEMO_SERVER, d.login + 1, &d.password),
        Err(BrokerError::Auth)
    );
    assert!(matches!(
        b.connect("Nowhere-Live", d.login, &d.password),
        Err(BrokerError::ServerNotFound(_))
    ));
    let s = b.account_summary(&investor).unwrap().unwrap();
    assert_eq!(
        (s.balance, s.investor_mode, s.trade_allowed, s.hedging),
        (Money(500_000), true, false, true)
    );
    let deals = b.deals(&master, Timestamp(0), Timestamp(i64::MAX)).unwrap();
    assert_eq!(deals.len(), 1, "the initial deposit is a balance deal");
    // The netting server hands out netting accounts.
    let n = demo(&mut b, NETTING_SERVER, 1_000.0);
    let ns = b.connect(NETTING_SERVER, n.login, &n.password).unwrap();
    assert!(!b.account_summary(&ns).unwrap().unwrap().hedging);
}

#[test]
fn the_feed_quotes_trades_and_builds_candles_and_can_be_paused() {
    let mut b = SimBroker::new(SimConfig::new(2, start()));
    let d = demo(&mut b, DEMO_SERVER, 10_000.0);
    let s = b.connect(DEMO_SERVER, d.login, &d.password).unwrap();
    let mut events: Vec<BrokerEvent> = Vec::new();
    b.advance(start().plus_millis(30 * MS_PER_MINUTE), &mut events);
    let eurusd = b.server(0).engine.symbol("EURUSD").unwrap();
    let q = b.quote(0, eurusd).expect("the generator quoted EURUSD");
    assert!(q.bid < q.ask);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.event, Event::Quote { .. }))
    );
    let bars = b.server(0).candles[eurusd.index()].candles(Timeframe::M1, None, 100);
    assert!(
        bars.len() >= 20,
        "about 30 one-minute bars, got {}",
        bars.len()
    );

    let cmd = TradeCommand::Market {
        symbol: eurusd,
        side: Side::Buy,
        volume: Volume(10_000_000),
        stops: Stops::default(),
        tags: Tags::default(),
    };
    let out = b.trade(&s, cmd.clone(), &mut events).unwrap();
    assert_eq!(out.retcode, Retcode::Done);
    assert_eq!(b.positions(&s).unwrap().len(), 1);
    let investor = b
        .connect(DEMO_SERVER, d.login, &d.investor_password)
        .unwrap();
    assert_eq!(
        b.trade(&investor, cmd, &mut events),
        Err(BrokerError::Trade(Retcode::TradeDisabled))
    );

    b.pause_feed(0);
    let before = b.quote(0, eurusd).unwrap();
    b.advance(start().plus_millis(40 * MS_PER_MINUTE), &mut events);
    assert_eq!(b.quote(0, eurusd).unwrap(), before, "paused: no new quote");
    b.push_tick(
        0,
        "EURUSD",
        Price(120_000_000),
        Price(120_010_000),
        &mut events,
    )
    .unwrap();
    assert_eq!(b.quote(0, eurusd).unwrap().bid, Price(120_000_000));
    assert!(
        b.push_tick(0, "EURUSD", Price(2), Price(1), &mut events)
            .is_err()
    );
    assert!(matches!(
        b.push_tick(0, "NOPE", Price(2), Price(3), &mut events),
        Err(BrokerError::SymbolNotFound(_))
    ));
    b.resume_feed(0);
    b.advance(start().plus_millis(45 * MS_PER_MINUTE), &mut events);
    let resumed = b.quote(0, eurusd).unwrap();
    assert!(
        resumed.time > start().plus_millis(40 * MS_PER_MINUTE),
        "resumed from the pushed price"
    );
    assert!(
        (resumed.bid.0 - 120_000_000).abs() < 1_000_000,
        "the walk continues from the pushed price"
    );
}

#[test]
fn deposits_withdrawals_and_credit_are_deals() {
    let mut b = SimBroker::new(SimConfig::new(3, start()));
    let d = demo(&mut b, DEMO_SERVER, 1_000.0);
    let s = b.connect(DEMO_SERVER, d.login, &d.password).unwrap();
    let mut ev = Vec::new();
    b.deposit(s.account, Money::from_f64(250.0), Some("top-up"), &mut ev)
        .unwrap();
    b.deposit(
        s.account,
        Money::from_f64(-100.0),
        Some("withdrawal"),
        &mut ev,
    )
    .unwrap();
    assert_eq!(
        b.deposit(s.account, Money::from_f64(-5_000.0), None, &mut ev),
        Err(BrokerError::Trade(Retcode::NoMoney))
    );
    b.credit(s.account, Money::from_f64(50.0), None, &mut ev)
        .unwrap();
    let sum = b.account_summary(&s).unwrap().unwrap();
    assert_eq!(
        (sum.balance, sum.credit, sum.equity),
        (Money(115_000), Money(5_000), Money(120_000))
    );
    assert_eq!(
        b.deals(&s, Timestamp(0), Timestamp(i64::MAX))
            .unwrap()
            .len(),
        4
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e.event, Event::DealAdded { .. }))
    );
}

#[test]
fn not_cleared_accounts_report_no_positions_and_group_members_no_free_margin() {
    let mut b = SimBroker::new(SimConfig::new(4, start()));
    let mut ev = Vec::new();
    b.advance(start().plus_millis(MS_PER_MINUTE), &mut ev);
    let mut new = NewAccount::usd("statements pending", "m", "i", Money::from_f64(1_000.0));
    new.kind = AccountKind::NotCleared;
    let login = b.open_account(0, new, &mut ev).unwrap();
    let s = b.connect(DEMO_SERVER, login, "m").unwrap();
    let eurusd = b.server(0).engine.symbol("EURUSD").unwrap();
    let cmd = TradeCommand::Market {
        symbol: eurusd,
        side: Side::Sell,
        volume: Volume(1_000_000),
        stops: Stops::default(),
        tags: Tags::default(),
    };
    b.trade(&s, cmd, &mut ev).unwrap();
    assert!(
        b.positions(&s).unwrap().is_empty(),
        "trades are accepted but positions are not reported"
    );
    assert_eq!(b.account_summary(&s).unwrap(), None);

    let mut master = NewAccount::usd("group", "m", "i", Money::from_f64(1_000.0));
    master.kind = AccountKind::GroupMaster;
    let master_login = b.open_account(0, master, &mut ev).unwrap();
    let master_idx = b.server(0).engine.find_login(master_login).unwrap();
    let mut member = NewAccount::usd("member", "m2", "i2", Money::ZERO);
    member.kind = AccountKind::GroupMember { master: master_idx };
    let member_login = b.open_account(0, member, &mut ev).unwrap();
    let ms = b.connect(DEMO_SERVER, member_login, "m2").unwrap();
    assert_eq!(b.account_summary(&ms).unwrap().unwrap().free_margin, None);
    let mut bad = NewAccount::usd("orphan", "m", "i", Money::ZERO);
    bad.kind = AccountKind::GroupMember {
        master: drawbridge_broker::account::AccountIdx(999),
    };
    assert!(b.open_account(0, bad, &mut ev).is_err());
}
