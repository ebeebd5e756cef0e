//! The risk service against the real desk and a real SQLite store, on a virtual clock: a
//! tracker added through the handle sees the desk's equity drop, its breach is stored before
//! it is announced, the halt it orders refuses trades that add exposure, and a restarted
//! service resumes the halt from the store until it is lifted.

use drawbridge_broker::sim::{DEMO_SERVER, SimConfig};
use drawbridge_desk::{Desk, Op, Outcome};
use drawbridge_model::wire::{AccountDoc, TradeRequest};
use drawbridge_model::{SharedClock, Timestamp, VirtualClock};
use drawbridge_risk::NewTracker;
use drawbridge_risk_service::{
    AccountKey, PushKind, Pushed, RULES_TRACKER_ID, Risk, RiskError, TrackerMeta, find_account,
};
use drawbridge_store::{AccountRow, SqliteStore, Store, TrackerEventQuery, TrackerRow, User};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A Wednesday morning (12:00 in the demo server's EET): the simulated markets are open.
const START: Timestamp = Timestamp(1_767_780_000_000);
const SEED: u64 = 7;
const USER: &str = "u1";
const ACCOUNT: &str = "a1";
/// How long an announcement may take.
const WAIT: Duration = Duration::from_secs(10);

/// A desk on a temporary SQLite file with one demo account (10,000.00 USD, EURUSD at
/// 1.1000 / 1.1002) stored as a provisioned account with the risk management API enabled.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    clock: SharedClock,
    desk: Desk,
    login: u64,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("risk.db"))
                .await
                .unwrap(),
        );
        let clock: SharedClock = Arc::new(VirtualClock::new(START));
        let (desk, _task) =
            drawbridge_desk::start(SimConfig::new(SEED, START), store.clone(), clock.clone())
                .await
                .unwrap();
        let open = Op::OpenDemo {
            server: DEMO_SERVER.into(),
            name: "risk test".into(),
            currency: "USD".into(),
            leverage: 100,
            balance_cents: 1_000_000,
        };
        let Outcome::Demo(demo) = desk.apply(open).await.unwrap() else {
            panic!("a demo account")
        };
        let f = Self {
            _dir: dir,
            store,
            clock,
            desk,
            login: demo.login,
        };
        f.tick(1.1000).await;
        f.provision().await;
        f
    }

    /// The user and the account row the restore reads the broker account from.
    async fn provision(&self) {
        let user = User {
            id: USER.into(),
            name: "risk".into(),
            created: START,
        };
        self.store.create_user(&user).await.unwrap();
        let mut doc = AccountDoc::new(
            ACCOUNT.into(),
            USER.into(),
            "risk test".into(),
            self.login.to_string(),
            DEMO_SERVER.into(),
            "vint-hill",
            START,
        );
        doc.risk_management_api_enabled = true;
        let row = AccountRow {
            id: ACCOUNT.into(),
            user_id: USER.into(),
            doc: serde_json::to_string(&doc).unwrap(),
            password: Vec::new(),
            transaction_id: None,
            created: START,
        };
        self.store.create_account(&row).await.unwrap();
    }

    async fn risk(&self) -> Risk {
        Risk::start(self.desk.clone(), self.store.clone(), self.clock.clone())
            .await
            .unwrap()
    }

    async fn account(&self) -> AccountKey {
        let login = Some(self.login);
        let (aref, zone) = (self.desk)
            .read(move |b| find_account(b, DEMO_SERVER, login))
            .await
            .unwrap()
            .expect("the broker knows the demo account");
        AccountKey {
            id: Arc::from(ACCOUNT),
            user_id: Arc::from(USER),
            aref,
            zone,
        }
    }

    /// Stores a tracker (as the REST layer does first) and hands it to the engine.
    async fn track(&self, risk: &Risk, doc: Value) -> String {
        let account = self.account().await;
        let new: NewTracker = serde_json::from_value(doc).unwrap();
        let spec = new.validate(account.zone, self.clock.now()).unwrap();
        let row = TrackerRow {
            id: "t1".into(),
            account_id: ACCOUNT.into(),
            user_id: USER.into(),
            name: new.name.clone(),
            doc: serde_json::to_string(&new).unwrap(),
            created: self.clock.now(),
            state: None,
        };
        assert!(self.store.create_tracker_within(&row, 10).await.unwrap());
        let tracker = TrackerMeta {
            id: Arc::from(row.id.as_str()),
            name: row.name,
            period: spec.period,
            spec,
        };
        risk.track(account, tracker).await.unwrap();
        row.id
    }

    async fn tick(&self, bid: f64) {
        let quote = Op::Tick {
            server: 0,
            symbol: "EURUSD".into(),
            bid,
            ask: bid + 0.0002,
        };
        self.desk.apply(quote).await.unwrap();
    }

    async fn buy_one_lot(&self) {
        let request = Box::new(request(json!({"symbol": "EURUSD", "volume": 1})));
        let trade = Op::Trade {
            server: 0,
            login: self.login,
            investor: false,
            request,
        };
        let answer = self.desk.apply(trade).await.unwrap();
        assert!(
            matches!(&answer, Outcome::Trade(t) if t.string_code == "TRADE_RETCODE_DONE"),
            "{answer:?}"
        );
    }

    async fn events(&self) -> Vec<Value> {
        let query = TrackerEventQuery {
            user_id: USER.into(),
            after_seq: 0,
            from_broker_time: None,
            to_broker_time: None,
            account_id: None,
            tracker_id: None,
            limit: 100,
        };
        let rows = self.store.tracker_events(&query).await.unwrap();
        (rows.iter())
            .map(|r| {
                let mut doc: Value = serde_json::from_str(&r.doc).unwrap();
                doc["sequenceNumber"] = json!(r.seq);
                doc
            })
            .collect()
    }

    /// A running service whose `halt` tracker was breached: a 1-lot buy at 1.1002 marked at
    /// 1.0985 loses (1.1002 - 1.0985) × 100,000 = 170.00 plus its commission, over the
    /// tracker's 100.00.
    async fn breached(&self) -> Risk {
        let risk = self.risk().await;
        let tracker = json!({"name": "daily", "period": "day",
            "absoluteDrawdownThreshold": 100, "breachAction": "halt"});
        self.track(&risk, tracker).await;
        let mut pushed = risk.pushed();
        self.buy_one_lot().await;
        self.tick(1.0985).await;
        let event = next_event(&mut pushed).await;
        assert_eq!(event["trackerId"], "t1");
        risk
    }
}

/// A trade request in MetaApi's shape, a market buy unless `v` says otherwise.
fn request(v: Value) -> TradeRequest {
    let mut v = v;
    if v.get("actionType").is_none() {
        v["actionType"] = json!("ORDER_TYPE_BUY");
    }
    serde_json::from_value(v).unwrap()
}

/// The next stored event announced to the streaming sockets.
async fn next_event(pushed: &mut tokio::sync::broadcast::Receiver<Arc<Pushed>>) -> Value {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let batch = pushed.recv().await.unwrap();
            let event = (batch.of(ACCOUNT).iter()).find(|p| p.kind == PushKind::TrackerEvent);
            if let Some(push) = event {
                assert_eq!(&*push.user_id, USER);
                return push.doc.clone();
            }
        }
    })
    .await;
    found.expect("an event is announced")
}

#[tokio::test]
async fn an_equity_drop_breaches_a_tracker_and_the_event_is_stored_before_it_is_announced() {
    let f = Fixture::new().await;
    let risk = f.risk().await;
    let tracker = json!({"name": "daily", "period": "day",
        "absoluteDrawdownThreshold": 100, "breachAction": "halt"});
    let tracker_id = f.track(&risk, tracker).await;
    let mut pushed = risk.pushed();
    let mut woken = risk.waiters().subscribe(USER);
    f.buy_one_lot().await;
    f.tick(1.0985).await;

    let announced = next_event(&mut pushed).await;
    let stored = f.events().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], announced, "durable when announced");
    assert_eq!(announced["sequenceNumber"], 1);
    assert_eq!(announced["accountId"], ACCOUNT);
    assert_eq!(announced["trackerId"], json!(tracker_id));
    assert_eq!(announced["exceededThresholdType"], "drawdown");
    assert_eq!(announced["action"], "halt");
    assert_eq!(
        announced["brokerTime"], "2026-01-07 12:00:00.000",
        "EET, on the virtual clock"
    );
    let drawdown = announced["absoluteDrawdown"].as_f64().unwrap();
    assert!(
        drawdown >= 170.0,
        "the loss plus any commission: {drawdown}"
    );
    assert_eq!(
        *woken.borrow_and_update(),
        1,
        "the long poll's waiters are told"
    );

    assert!(risk.is_halted(ACCOUNT));
    let more = request(json!({"symbol": "EURUSD", "volume": 1}));
    assert!(matches!(
        risk.check_trade(ACCOUNT, &more),
        Err(RiskError::Halted { account_id }) if account_id == ACCOUNT
    ));
    let close = request(json!({"actionType": "POSITIONS_CLOSE_SYMBOL", "symbol": "EURUSD"}));
    risk.check_trade(ACCOUNT, &close)
        .expect("a trade that reduces exposure passes");
    assert!(risk.check_trade("another", &more).is_ok());
}

#[tokio::test]
async fn a_restarted_service_resumes_the_halt_until_it_is_lifted() {
    let f = Fixture::new().await;
    let before = f.breached().await;
    drop(before);

    let risk = f.risk().await;
    assert!(
        risk.is_halted(ACCOUNT),
        "the halt is restored from the store"
    );
    let period = risk.current_period(ACCOUNT, "t1").await.unwrap();
    let (stats, _, _) = period.expect("the tracker's period is restored");
    assert!(stats.span.start <= f.clock.now());

    let mut pushed = risk.pushed();
    assert!(risk.lift_halt(ACCOUNT).await.unwrap());
    assert!(!risk.is_halted(ACCOUNT));
    assert!(
        !risk.lift_halt(ACCOUNT).await.unwrap(),
        "not halted any more"
    );
    let lifted = next_event(&mut pushed).await;
    assert_eq!(lifted["eventType"], "haltLifted");
    assert_eq!(lifted["sequenceNumber"], 2);
    let stored = f.events().await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1], lifted, "durable when answered");
    let lifts = TrackerEventQuery {
        user_id: USER.into(),
        after_seq: 0,
        from_broker_time: None,
        to_broker_time: None,
        account_id: None,
        tracker_id: Some(RULES_TRACKER_ID.into()),
        limit: 10,
    };
    let rows = f.store.tracker_events(&lifts).await.unwrap();
    assert_eq!(rows.len(), 1, "a lift belongs to no tracker");
}
