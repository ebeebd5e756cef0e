//! The embedded simulated broker: trade servers with their feeds, candles and engines, plus the
//! control surface tests and the server's control API use (push a tick, pause the feed,
//! deposit, open a demo account).

use crate::account::{Access, AccountIdx, AccountKind, MarginMode, NewAccount};
use crate::broker::{AccountRef, AccountSummary, BrokerError, BrokerEvent, ServerInfo, Session};
use crate::catalog::default_catalog;
use crate::engine::calc::Quote;
use crate::engine::records::{Deal, Order, Position};
use crate::engine::{Engine, Event, ServerConfig, TradeCommand, TradeOutcome};
use crate::feed::{CandleBuilder, Generator, Tick};
use crate::symbol::{Currency, SymbolIdx, SymbolSpec};
use drawbridge_model::{Money, Price, Rng, ServerZone, Timestamp};
use std::collections::VecDeque;

/// The default hedging server.
pub const DEMO_SERVER: &str = "Drawbridge-Demo";
/// The default netting server.
pub const NETTING_SERVER: &str = "Drawbridge-Netting";
/// The usual MT5 server time: UTC+2 in winter, UTC+3 in summer.
pub const DEFAULT_ZONE: &str = "EET";
/// Ticks each symbol keeps for historical-tick queries (24 bytes each).
pub const TICKS_KEPT_PER_SYMBOL: usize = 10_000;

/// One simulated trade server.
#[derive(Debug)]
pub struct SimServer {
    pub engine: Engine,
    pub feed: Generator,
    pub candles: Vec<CandleBuilder>,
    /// The latest ticks of each symbol (at most [`TICKS_KEPT_PER_SYMBOL`]), oldest first:
    /// MetaApi's historical ticks.
    recent: Vec<VecDeque<(Timestamp, Price, Price)>>,
    ticks: Vec<Tick>,
}

impl SimServer {
    fn new(
        cfg: ServerConfig,
        specs: Vec<SymbolSpec>,
        rng: &Rng,
        start: Timestamp,
        gap_scale: f64,
    ) -> Self {
        let feed = Generator::new(&specs, cfg.zone, rng, start).with_gap_scale(gap_scale);
        let candles = specs
            .iter()
            .map(|s| CandleBuilder::new(s, cfg.zone))
            .collect();
        let specs_len = specs.len();
        Self {
            engine: Engine::new(cfg, specs, start),
            feed,
            recent: vec![VecDeque::new(); specs_len],
            candles,
            ticks: Vec::new(),
        }
    }

    /// Up to `limit` ticks of `symbol` at or before `until` (the latest when `None`), after
    /// skipping the `offset` newest of those; oldest first. Only the latest
    /// [`TICKS_KEPT_PER_SYMBOL`] ticks are kept.
    pub fn recent_ticks(
        &self,
        symbol: SymbolIdx,
        until: Option<Timestamp>,
        offset: usize,
        limit: usize,
    ) -> Vec<Tick> {
        let Some(kept) = self.recent.get(symbol.index()) else {
            return Vec::new();
        };
        let until = until.unwrap_or(Timestamp(i64::MAX));
        let mut out: Vec<Tick> = kept
            .iter()
            .rev()
            .filter(|(time, _, _)| *time <= until)
            .skip(offset)
            .take(limit)
            .map(|&(time, bid, ask)| Tick {
                symbol,
                time,
                bid,
                ask,
            })
            .collect();
        out.reverse();
        out
    }

    /// The symbol's last tick, if it has had one.
    pub fn last_tick(&self, symbol: SymbolIdx) -> Option<Tick> {
        self.recent_ticks(symbol, None, 0, 1).pop()
    }

    /// Applies one tick to the engine and the candles.
    fn apply(&mut self, t: Tick, events: &mut Vec<Event>) -> Result<(), BrokerError> {
        self.engine
            .on_quote(t.symbol, t.time, t.bid, t.ask, events)
            .map_err(|e| BrokerError::Invalid(e.to_string()))?;
        self.candles[t.symbol.index()].push(&t);
        if let Some(kept) = self.recent.get_mut(t.symbol.index()) {
            if kept.len() == TICKS_KEPT_PER_SYMBOL {
                kept.pop_front();
            }
            kept.push_back((t.time, t.bid, t.ask));
        }
        Ok(())
    }
}

/// What a new demo account is opened with.
#[derive(Clone, Debug)]
pub struct DemoRequest {
    pub name: String,
    pub currency: Currency,
    pub leverage: u32,
    pub balance: Money,
}

/// A new demo account's credentials, as the demo-account generator returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoAccount {
    pub server: String,
    pub login: u64,
    pub password: String,
    pub investor_password: String,
}

/// Settings of the simulator.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// Seeds the market paths and generated passwords.
    pub seed: u64,
    /// Where simulated time starts.
    pub start: Timestamp,
    /// Stretches the gaps between generated ticks: 1.0 is a realistic feed (about one quote
    /// a second per symbol); 60.0 quotes about once a minute, for long virtual-time runs.
    pub tick_gap_scale: f64,
}

impl SimConfig {
    pub fn new(seed: u64, start: Timestamp) -> Self {
        Self {
            seed,
            start,
            tick_gap_scale: 1.0,
        }
    }
}

#[derive(Debug)]
pub struct SimBroker {
    servers: Vec<SimServer>,
    rng: Rng,
    now: Timestamp,
    scratch: Vec<Event>,
}

impl SimBroker {
    /// `Drawbridge-Demo` (hedging) and `Drawbridge-Netting` (netting), both USD by default, on
    /// the default catalogue in server time `EET`.
    pub fn new(cfg: SimConfig) -> Self {
        let zone = ServerZone::parse(DEFAULT_ZONE).expect("EET is an IANA zone");
        let rng = Rng::seeded(cfg.seed);
        let server = |name: &str, mode, first_login, stream| {
            let c = ServerConfig {
                name: name.into(),
                zone,
                margin_mode: mode,
                margin_call_pct: 100,
                stop_out_pct: 50,
                first_login,
            };
            SimServer::new(
                c,
                default_catalog(),
                &rng.fork(stream),
                cfg.start,
                cfg.tick_gap_scale,
            )
        };
        let servers = vec![
            server(DEMO_SERVER, MarginMode::Hedging, 10_000_001, 1),
            server(NETTING_SERVER, MarginMode::Netting, 20_000_001, 2),
        ];
        Self {
            servers,
            rng: rng.fork(0),
            now: cfg.start,
            scratch: Vec::new(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn server_index(&self, name: &str) -> Option<u16> {
        self.servers
            .iter()
            .position(|s| s.engine.config().name == name)
            .map(|i| i as u16)
    }

    fn server_named(&self, name: &str) -> Result<u16, BrokerError> {
        self.server_index(name)
            .ok_or_else(|| BrokerError::ServerNotFound(name.to_owned()))
    }

    pub fn server(&self, i: u16) -> &SimServer {
        &self.servers[usize::from(i)]
    }

    pub fn server_mut(&mut self, i: u16) -> &mut SimServer {
        &mut self.servers[usize::from(i)]
    }

    fn locate(&self, r: AccountRef) -> Result<(&SimServer, AccountIdx), BrokerError> {
        let srv = self
            .servers
            .get(usize::from(r.server))
            .ok_or(BrokerError::AccountNotFound)?;
        let a = srv
            .engine
            .find_login(r.login)
            .ok_or(BrokerError::AccountNotFound)?;
        Ok((srv, a))
    }

    /// Opens a demo account with generated master and investor passwords.
    pub fn open_demo_account(
        &mut self,
        server: &str,
        req: DemoRequest,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<DemoAccount, BrokerError> {
        let i = self.server_named(server)?;
        if req.balance.is_negative() {
            return Err(BrokerError::Invalid("balance must not be negative".into()));
        }
        let password = self.rng.password(10);
        let investor_password = self.rng.password(10);
        let new = NewAccount {
            login: None,
            name: req.name,
            master_password: password.clone(),
            investor_password: investor_password.clone(),
            currency: req.currency,
            leverage: req.leverage,
            deposit: req.balance,
            margin_mode: None,
            kind: AccountKind::Standalone,
        };
        let login = self.open_account(i, new, events)?;
        Ok(DemoAccount {
            server: server.to_owned(),
            login,
            password,
            investor_password,
        })
    }

    /// Opens an account of any kind with the given passwords; returns its login.
    pub fn open_account(
        &mut self,
        server: u16,
        new: NewAccount,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<u64, BrokerError> {
        let now = self.now;
        let srv = self
            .servers
            .get_mut(usize::from(server))
            .ok_or(BrokerError::AccountNotFound)?;
        let mut ev = std::mem::take(&mut self.scratch);
        let r = srv
            .engine
            .open_account(new, now, &mut ev)
            .map_err(|e| BrokerError::Invalid(e.to_string()));
        let login = r.map(|a| srv.engine.account(a).expect("just opened").login);
        self.flush(server, &mut ev, events);
        login
    }

    /// A deposit (positive) or withdrawal (negative); returns the balance deal's id.
    pub fn deposit(
        &mut self,
        r: AccountRef,
        amount: Money,
        comment: Option<&str>,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<u64, BrokerError> {
        self.money(r, amount, comment, false, events)
    }

    /// Credit given (positive) or taken back (negative); returns the credit deal's id.
    pub fn credit(
        &mut self,
        r: AccountRef,
        amount: Money,
        comment: Option<&str>,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<u64, BrokerError> {
        self.money(r, amount, comment, true, events)
    }

    fn money(
        &mut self,
        r: AccountRef,
        amount: Money,
        comment: Option<&str>,
        credit: bool,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<u64, BrokerError> {
        let a = self.locate(r)?.1;
        let now = self.now;
        let mut ev = std::mem::take(&mut self.scratch);
        let engine = &mut self.servers[usize::from(r.server)].engine;
        let res = if credit {
            engine.credit_operation(a, amount, comment, now, &mut ev)
        } else {
            engine.balance_operation(a, amount, comment, now, &mut ev)
        };
        self.flush(r.server, &mut ev, events);
        res.map_err(BrokerError::Trade)
    }

    /// Applies a quote now, as if the feed had produced it; the generator continues from it.
    pub fn push_tick(
        &mut self,
        server: u16,
        symbol: &str,
        bid: Price,
        ask: Price,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<(), BrokerError> {
        let now = self.now;
        let srv = self
            .servers
            .get_mut(usize::from(server))
            .ok_or_else(|| BrokerError::ServerNotFound(server.to_string()))?;
        let s = srv
            .engine
            .symbol(symbol)
            .ok_or_else(|| BrokerError::SymbolNotFound(symbol.to_owned()))?;
        if bid.0 <= 0 || ask < bid {
            return Err(BrokerError::Invalid("a tick needs 0 < bid <= ask".into()));
        }
        srv.feed.set_price(s, bid, ask);
        let mut ev = std::mem::take(&mut self.scratch);
        let r = self.servers[usize::from(server)].apply(
            Tick {
                symbol: s,
                time: now,
                bid,
                ask,
            },
            &mut ev,
        );
        self.flush(server, &mut ev, events);
        r
    }

    pub fn pause_feed(&mut self, server: u16) {
        self.servers[usize::from(server)].feed.pause();
    }

    pub fn resume_feed(&mut self, server: u16) {
        self.servers[usize::from(server)].feed.resume();
    }

    fn flush(&mut self, server: u16, ev: &mut Vec<Event>, out: &mut Vec<BrokerEvent>) {
        out.extend(ev.drain(..).map(|event| BrokerEvent { server, event }));
        self.scratch = std::mem::take(ev);
    }

    fn summary(&self, s: &Session) -> Result<Option<AccountSummary>, BrokerError> {
        let (srv, a) = self.locate(s.account)?;
        let e = &srv.engine;
        let acc = e.account(a).expect("located");
        if !acc.kind.is_reported() {
            return Ok(None);
        }
        let group_member = matches!(acc.kind, AccountKind::GroupMember { .. });
        Ok(Some(AccountSummary {
            login: acc.login,
            name: acc.name.to_string(),
            server: e.config().name.clone(),
            currency: acc.currency.to_string(),
            leverage: acc.leverage,
            balance: acc.balance,
            credit: acc.credit,
            equity: e.equity(a),
            margin: e.margin(a),
            free_margin: (!group_member).then(|| e.free_margin(a)),
            margin_level: e.margin_level(a),
            trade_allowed: acc.trade_allowed && s.access == Access::Master,
            investor_mode: s.access == Access::Investor,
            hedging: acc.margin_mode == MarginMode::Hedging,
        }))
    }
}

/// What the desk and the API ask of the broker: sessions, terminal state, trades, time.
impl SimBroker {
    /// The trade servers this broker offers, as listed to clients.
    pub fn server_infos(&self) -> Vec<ServerInfo> {
        self.servers
            .iter()
            .map(|s| {
                let c = s.engine.config();
                ServerInfo {
                    name: c.name.clone(),
                    zone: c.zone.name().to_owned(),
                    hedging: c.margin_mode == MarginMode::Hedging,
                }
            })
            .collect()
    }

    /// How many trade servers there are (their indices are `0..server_count()`).
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Opens a session: the master password trades, the investor password only reads.
    pub fn connect(
        &self,
        server: &str,
        login: u64,
        password: &str,
    ) -> Result<Session, BrokerError> {
        let i = self.server_named(server)?;
        let (_, access) = self.servers[usize::from(i)]
            .engine
            .authenticate(login, password)
            .ok_or(BrokerError::Auth)?;
        Ok(Session {
            account: AccountRef { server: i, login },
            access,
        })
    }

    /// The account summary; `Ok(None)` for accounts whose summary is not reported.
    pub fn account_summary(&self, s: &Session) -> Result<Option<AccountSummary>, BrokerError> {
        self.summary(s)
    }

    /// Open positions; empty for accounts whose positions are not reported.
    pub fn positions(&self, s: &Session) -> Result<Vec<Position>, BrokerError> {
        let (srv, a) = self.locate(s.account)?;
        let reported = srv
            .engine
            .account(a)
            .is_some_and(|acc| acc.kind.is_reported());
        Ok(if reported {
            srv.engine.positions_of(a).cloned().collect()
        } else {
            Vec::new()
        })
    }

    /// Pending orders.
    pub fn orders(&self, s: &Session) -> Result<Vec<Order>, BrokerError> {
        let (srv, a) = self.locate(s.account)?;
        Ok(srv.engine.orders_of(a).cloned().collect())
    }

    /// Deals in `[from, to)`.
    pub fn deals(
        &self,
        s: &Session,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Deal>, BrokerError> {
        let (srv, a) = self.locate(s.account)?;
        let h = srv.engine.history(a);
        Ok(h.map(|h| {
            h.deals
                .iter()
                .filter(|d| d.time >= from && d.time < to)
                .cloned()
                .collect()
        })
        .unwrap_or_default())
    }

    /// Finished orders done in `[from, to)`.
    pub fn history_orders(
        &self,
        s: &Session,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Order>, BrokerError> {
        let (srv, a) = self.locate(s.account)?;
        let h = srv.engine.history(a);
        let done = |o: &&Order| o.done_time.is_some_and(|t| t >= from && t < to);
        Ok(h.map(|h| h.orders.iter().filter(done).cloned().collect())
            .unwrap_or_default())
    }

    /// The symbol catalogue of a server.
    pub fn symbols(&self, server: u16) -> &[SymbolSpec] {
        self.servers
            .get(usize::from(server))
            .map_or(&[], |s| s.engine.specs())
    }

    /// The current bid/ask/time of a symbol, while it is live.
    pub fn quote(&self, server: u16, symbol: SymbolIdx) -> Option<Quote> {
        let q = self.servers.get(usize::from(server))?.engine.quote(symbol);
        q.is_live().then_some(q)
    }

    /// Executes a trade request.
    pub fn trade(
        &mut self,
        s: &Session,
        cmd: TradeCommand,
        events: &mut Vec<BrokerEvent>,
    ) -> Result<TradeOutcome, BrokerError> {
        let a = self.locate(s.account)?.1;
        let now = self.now;
        let mut ev = std::mem::take(&mut self.scratch);
        let r = self.servers[usize::from(s.account.server)]
            .engine
            .trade(a, s.access, cmd, now, &mut ev);
        self.flush(s.account.server, &mut ev, events);
        r.map_err(BrokerError::Trade)
    }

    /// Moves the broker's time to `now` and collects what happened on the way.
    pub fn advance(&mut self, now: Timestamp, events: &mut Vec<BrokerEvent>) {
        self.now = self.now.max(now);
        let now = self.now;
        for i in 0..self.servers.len() {
            let mut ev = std::mem::take(&mut self.scratch);
            let srv = &mut self.servers[i];
            let mut ticks = std::mem::take(&mut srv.ticks);
            ticks.clear();
            srv.feed.advance_to(now, &mut ticks);
            for t in ticks.drain(..) {
                // Generated ticks are valid by construction; a bad one is skipped, not fatal.
                let _ = srv.apply(t, &mut ev);
            }
            srv.ticks = ticks;
            srv.engine.advance_time(now, &mut ev);
            self.flush(i as u16, &mut ev, events);
        }
    }
}
