//! The desk's contract on a real SQLite journal: an answer means durable, a refused request
//! leaves no record, a restart replays the journal into the same broker, and every durable
//! change is announced.

use drawbridge_broker::account::Access;
use drawbridge_broker::broker::{AccountRef, Session};
use drawbridge_broker::engine::records::Position;
use drawbridge_broker::sim::{DEMO_SERVER, DemoAccount, SimConfig};
use drawbridge_desk::{Desk, DeskError, Op, Outcome};
use drawbridge_model::wire::TradeRequest;
use drawbridge_model::{SharedClock, Timestamp, VirtualClock};
use drawbridge_store::{SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

/// A Wednesday morning: the simulated markets are open.
const START: Timestamp = Timestamp(1_767_780_000_000);
const SEED: u64 = 7;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    clock: Arc<VirtualClock>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("desk.db"))
                .await
                .unwrap(),
        );
        let clock = Arc::new(VirtualClock::new(START));
        Self {
            _dir: dir,
            store,
            clock,
        }
    }

    async fn desk(&self) -> Desk {
        let clock: SharedClock = self.clock.clone();
        let (desk, _task) =
            drawbridge_desk::start(SimConfig::new(SEED, START), self.store.clone(), clock)
                .await
                .unwrap();
        desk
    }

    async fn journal_len(&self) -> usize {
        self.store.journal(0, 1_000).await.unwrap().len()
    }
}

fn open_demo() -> Op {
    Op::OpenDemo {
        server: DEMO_SERVER.into(),
        name: "desk test".into(),
        currency: "USD".into(),
        leverage: 100,
        balance_cents: 1_000_000,
    }
}

/// A demo account, with a EURUSD quote to trade at.
async fn demo(desk: &Desk) -> DemoAccount {
    let Outcome::Demo(account) = desk.apply(open_demo()).await.unwrap() else {
        panic!("a demo account")
    };
    let quote = Op::Tick {
        server: 0,
        symbol: "EURUSD".into(),
        bid: 1.1000,
        ask: 1.1002,
    };
    desk.apply(quote).await.unwrap();
    account
}

fn buy(volume: f64) -> Box<TradeRequest> {
    Box::new(
        serde_json::from_value(serde_json::json!({
            "actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": volume
        }))
        .unwrap(),
    )
}

fn trade(login: u64, investor: bool, request: Box<TradeRequest>) -> Op {
    Op::Trade {
        server: 0,
        login,
        investor,
        request,
    }
}

/// The account's open positions, as the broker reports them.
async fn positions(desk: &Desk, login: u64) -> Vec<Position> {
    let session = Session {
        account: AccountRef { server: 0, login },
        access: Access::Master,
    };
    desk.read(move |broker| broker.positions(&session).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_answered_change_is_already_in_the_journal() {
    let f = Fixture::new().await;
    let desk = f.desk().await;
    assert_eq!(f.journal_len().await, 0);
    demo(&desk).await;
    assert_eq!(
        f.journal_len().await,
        2,
        "the demo account and the quote are journaled"
    );
}

#[tokio::test]
async fn a_request_refused_before_the_broker_leaves_no_record() {
    let f = Fixture::new().await;
    let desk = f.desk().await;
    let account = demo(&desk).await;
    let refused = desk.apply(trade(account.login, false, buy(0.0))).await;
    assert!(
        matches!(refused, Err(DeskError::Request(ref problems)) if !problems.is_empty()),
        "{refused:?}"
    );
    assert_eq!(
        f.journal_len().await,
        2,
        "only the demo account and the quote are"
    );
}

#[tokio::test]
async fn an_investor_session_never_opens_a_position() {
    let f = Fixture::new().await;
    let desk = f.desk().await;
    let account = demo(&desk).await;
    let Outcome::Trade(answer) = desk
        .apply(trade(account.login, true, buy(0.1)))
        .await
        .unwrap()
    else {
        panic!("a trade answer")
    };
    assert_ne!(answer.string_code, "TRADE_RETCODE_DONE", "{answer:?}");
    assert!(positions(&desk, account.login).await.is_empty());
}

#[tokio::test]
async fn a_restart_replays_the_journal_into_the_same_broker() {
    let f = Fixture::new().await;
    let desk = f.desk().await;
    let account = demo(&desk).await;
    for _ in 0..3 {
        f.clock.advance(1_000);
        let answer = desk.apply(trade(account.login, false, buy(0.1))).await;
        assert!(
            matches!(&answer, Ok(Outcome::Trade(t)) if t.string_code == "TRADE_RETCODE_DONE"),
            "{answer:?}"
        );
    }
    let before = positions(&desk, account.login).await;
    assert_eq!(before.len(), 3);
    drop(desk);

    let again = f.desk().await;
    let after = positions(&again, account.login).await;
    assert_eq!(
        format!("{before:?}"),
        format!("{after:?}"),
        "replay rebuilds the positions exactly"
    );
}

#[tokio::test]
async fn a_durable_trade_is_announced_to_both_streams() {
    let f = Fixture::new().await;
    let desk = f.desk().await;
    let account = demo(&desk).await;
    let mut trading = desk.trading_changes();
    let mut equity = desk.equity_changes();
    let answer = desk.apply(trade(account.login, false, buy(0.1))).await;
    assert!(
        matches!(&answer, Ok(Outcome::Trade(t)) if t.string_code == "TRADE_RETCODE_DONE"),
        "{answer:?}"
    );
    let me = AccountRef {
        server: 0,
        login: account.login,
    };
    for stream in [&mut trading, &mut equity] {
        let announced = tokio::time::timeout(Duration::from_secs(10), stream.recv())
            .await
            .expect("announced within 10 s")
            .unwrap();
        assert!(announced.contains(&me), "{announced:?}");
    }
}
