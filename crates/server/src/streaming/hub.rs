//! The market-data hub: one task reads every subscribed symbol from the desk for all sockets,
//! renders each change to JSON once into a [`Frame`], and sends every socket what is due.
//!
//! Sockets do not poll the broker each: the hub learns what is wanted by scanning the
//! registered connections' subscriptions ([`Interest`]; after every change of them and at
//! least every [`RESCAN`]), then every tick (half the shortest subscription interval, within
//! [`TICK_MIN`]..[`TICK_MAX`], on a fixed schedule) reads, in one step of the desk, each wanted
//! symbol's quote, current candles, new ticks and book, and the equity and margin of the
//! subscribed accounts the desk announced as moved since the last read ([`Moved`]). Only what
//! changed is rendered again; a [`Frame`] shares the rest with the one before. A frame holds
//! its symbols and accounts in the slots of a [`Layout`], made again only when the
//! subscriptions' symbols or accounts change: a stream keeps its symbol's slot, and an
//! instance its account's, and finds them by index at every tick. Every rendering carries a
//! version from one hub-wide counter, so a stream tells a change by comparing numbers. After each read that changed something (or left a change held
//! back by its interval) the hub walks the registered sockets itself and assembles each one's
//! `prices` packets from the shared strings ([`super::market`]): one task for every socket,
//! not a task woken per socket per frame. Intervals are measured on the tick schedule, so a
//! stream at the tick's interval gets every tick's change. A pass works in slices of
//! [`SLICE`], yielding to the runtime between them: one price change can make thousands of
//! streams due at once, and the requests and the sockets' writers that became ready run between
//! the slices rather than after the whole burst (the sockets take turns being first). A yield,
//! not a sleep: when nothing else is ready the pass goes straight on.

use super::{Connection, FastMap};
use crate::rest::client::symbols::BOOK_DEPTH;
use crate::rest::client::terminal::information;
use crate::state::{Shared, lock};
use drawbridge_broker::broker::{AccountRef, Session};
use drawbridge_broker::feed::{self, synthetic_book};
use drawbridge_broker::metaapi as bw;
use drawbridge_broker::sim::SimBroker;
use drawbridge_broker::symbol::Currency;
use drawbridge_model::wire as w;
use drawbridge_model::{Money, Timeframe, Timestamp};
use socketioxide::extract::SocketRef;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// The hub's shortest tick: a stream of every change (interval 0) sees one this late at most.
pub(super) const TICK_MIN: Duration = Duration::from_millis(1);
/// The hub's longest tick.
const TICK_MAX: Duration = Duration::from_millis(100);
/// How often the hub looks at the subscriptions even when nobody said they changed
/// (unsubscribed accounts, closed sockets, expiries).
const RESCAN: Duration = Duration::from_secs(1);
/// The longest a pass of the hub sends without yielding: a burst of due packets (thousands of
/// streams released by one price change) goes out in slices, so requests and the sockets'
/// writers get the threads between them instead of waiting behind the whole burst.
const SLICE: Duration = Duration::from_millis(1);
/// Rendered ticks a symbol keeps for sockets that are behind; new ticks read per tick at most
/// (more since the last read are skipped, with a warning).
const TICKS_KEPT: usize = 256;

/// A JSON rendering shared by every socket, and its version (hub-wide, increasing).
#[derive(Debug, Clone)]
pub(super) struct Rendered {
    pub(super) version: u64,
    pub(super) json: Arc<str>,
}

/// One symbol of one trade server as last read.
#[derive(Debug, Clone, Default)]
pub(super) struct SymbolFrame {
    /// The quote `(time, bid, ask)` the renderings below are of.
    quote: Option<(i64, i64, i64)>,
    /// The price per account currency, all of one version.
    pub(super) prices: Vec<(Currency, Rendered)>,
    /// The current candle per wanted timeframe.
    pub(super) candles: Vec<(Timeframe, feed::Candle, Rendered)>,
    /// The latest ticks, oldest first, each its own version.
    pub(super) ticks: VecDeque<Rendered>,
    /// The last tick read and how many ticks at its instant were read.
    tick_mark: Option<(Timestamp, usize)>,
    /// The book and its entries.
    pub(super) book: Option<(Rendered, u64)>,
}

impl SymbolFrame {
    pub(super) fn price(&self, currency: Currency) -> Option<&Rendered> {
        self.prices
            .iter()
            .find(|(c, _)| *c == currency)
            .map(|(_, r)| r)
    }

    pub(super) fn candle(&self, tf: Timeframe) -> Option<&Rendered> {
        self.candles
            .iter()
            .find(|(t, _, _)| *t == tf)
            .map(|(_, _, r)| r)
    }

    /// The newest tick's version (0 without ticks).
    pub(super) fn tick_version(&self) -> u64 {
        self.ticks.back().map_or(0, |t| t.version)
    }
}

/// A subscribed account as last read: where its symbols live, and its margin fields.
#[derive(Debug, Clone)]
pub(super) struct AccountFrame {
    pub(super) server: u16,
    pub(super) currency: Currency,
    key: (Money, Money),
    /// `,"equity":…,"margin":…,"freeMargin":…[,"marginLevel":…]`, or empty.
    pub(super) margins: Arc<str>,
    /// `,"equity":…`, or empty: what each price item of the account carries too (the SDK's
    /// risk listeners read a price's own `equity`).
    pub(super) equity: Arc<str>,
}

/// Which slot of a [`Frame`] holds which symbol and account: made again only when the wanted
/// symbols or subscribed accounts change, so a stream finds its symbol by index
/// ([`Frame::symbol_at`]) with the slot it looked up once per layout.
#[derive(Debug, Default)]
pub(super) struct Layout {
    /// Hub-wide, increasing: a slot remembered with another id is looked up again.
    pub(super) id: u64,
    /// By trade server, then symbol name (looked up without allocating).
    symbols: FastMap<u16, FastMap<String, usize>>,
    accounts: FastMap<String, usize>,
    /// The session of each account slot, and the slots of each broker account (an account
    /// provisioned twice, with master and investor access, has two).
    sessions: Vec<Session>,
    by_ref: FastMap<AccountRef, Vec<usize>>,
}

impl Layout {
    /// The slots of `interest`, in its order (the order [`read`] fills them in).
    fn of(interest: &Interest, id: u64) -> Self {
        let mut symbols: FastMap<u16, FastMap<String, usize>> = FastMap::default();
        for (slot, (server, name)) in interest.symbols.keys().enumerate() {
            symbols
                .entry(*server)
                .or_default()
                .insert(name.clone(), slot);
        }
        let accounts = (interest.accounts.keys().enumerate())
            .map(|(slot, id)| (id.clone(), slot))
            .collect();
        let sessions: Vec<Session> = interest.accounts.values().cloned().collect();
        let mut by_ref: FastMap<AccountRef, Vec<usize>> = FastMap::default();
        for (slot, s) in sessions.iter().enumerate() {
            by_ref.entry(s.account).or_default().push(slot);
        }
        Self {
            id,
            symbols,
            accounts,
            sessions,
            by_ref,
        }
    }

    /// Whether `interest` has exactly these slots.
    fn fits(&self, interest: &Interest) -> bool {
        self.accounts.len() == interest.accounts.len()
            && self.symbols.values().map(FastMap::len).sum::<usize>() == interest.symbols.len()
            && (interest.accounts.iter().enumerate()).all(|(i, (id, session))| {
                self.accounts.get(id) == Some(&i) && self.sessions.get(i) == Some(session)
            })
            && (interest.symbols.keys().enumerate()).all(|(i, (server, name))| {
                self.symbols.get(server).and_then(|m| m.get(name)) == Some(&i)
            })
    }
}

/// What the sockets read: every wanted symbol and subscribed account, by [`Layout`] slot.
#[derive(Debug, Clone, Default)]
pub(super) struct Frame {
    pub(super) layout: Arc<Layout>,
    symbols: Vec<Option<Arc<SymbolFrame>>>,
    accounts: Arc<Vec<Option<AccountFrame>>>,
}

impl Frame {
    /// The slot of a symbol of a trade server.
    pub(super) fn slot_of(&self, server: u16, name: &str) -> Option<usize> {
        self.layout.symbols.get(&server)?.get(name).copied()
    }

    pub(super) fn symbol_at(&self, slot: usize) -> Option<&Arc<SymbolFrame>> {
        self.symbols.get(slot)?.as_ref()
    }

    /// The slot of an account.
    pub(super) fn account_slot_of(&self, id: &str) -> Option<usize> {
        self.layout.accounts.get(id).copied()
    }

    pub(super) fn account_at(&self, slot: usize) -> Option<&AccountFrame> {
        self.accounts.get(slot)?.as_ref()
    }

    fn account(&self, id: &str) -> Option<&AccountFrame> {
        self.account_at(self.account_slot_of(id)?)
    }

    fn symbol_count(&self) -> usize {
        self.symbols.len()
    }
}

/// What one symbol's subscribers want.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Wants {
    pub(super) quotes: bool,
    pub(super) timeframes: BTreeSet<Timeframe>,
    pub(super) ticks: bool,
    pub(super) book: bool,
}

/// Everything subscribed on every registered socket.
#[derive(Debug, Clone, Default)]
pub(super) struct Interest {
    pub(super) accounts: BTreeMap<String, Session>,
    pub(super) symbols: BTreeMap<(u16, String), Wants>,
    pub(super) shortest: Option<Duration>,
}

/// A registered socket: its connection and where to send.
struct Registered {
    conn: Arc<Connection>,
    socket: SocketRef,
}

/// The hub of one socket.io endpoint; its task starts with the first registered socket and
/// ends when the hub is dropped.
pub(super) struct Hub {
    state: Shared,
    conns: Mutex<Vec<Registered>>,
    dirty: AtomicBool,
    started: AtomicBool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sockets", &lock(&self.conns).len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub(super) fn new(state: Shared) -> Arc<Self> {
        Arc::new(Self {
            state,
            conns: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(false),
            started: AtomicBool::new(false),
        })
    }

    /// Registers a socket: from the next tick on it is sent what its subscriptions want.
    pub(super) fn register(self: &Arc<Self>, conn: &Arc<Connection>, socket: SocketRef) {
        lock(&self.conns).push(Registered {
            conn: Arc::clone(conn),
            socket,
        });
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run(Arc::downgrade(self)));
        }
    }

    /// Forgets a closed socket.
    pub(super) fn unregister(&self, conn: &Arc<Connection>) {
        lock(&self.conns).retain(|r| !Arc::ptr_eq(&r.conn, conn));
        self.touch();
    }

    /// The registered sockets still open (closed ones are dropped).
    fn live(&self) -> Vec<(Arc<Connection>, SocketRef)> {
        let mut all = lock(&self.conns);
        all.retain(|r| !*r.conn.closed.borrow() && r.socket.connected());
        all.iter()
            .map(|r| (Arc::clone(&r.conn), r.socket.clone()))
            .collect()
    }

    /// Some socket's subscriptions changed: look again at the next tick.
    pub(super) fn touch(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Scans the live sockets' subscriptions (dropping expired ones).
    fn scan(&self) -> Interest {
        let now = self.state.now();
        let mut interest = Interest::default();
        for (conn, _) in self.live() {
            let mut market = lock(&conn.market);
            for ((account, _), instance) in market.iter_mut() {
                let Some(session) = self.state.session(account) else {
                    continue;
                };
                let symbols = &mut instance.symbols;
                symbols.retain(|_, subs| !subs.expired(now));
                for (symbol, subs) in symbols.iter() {
                    let key = (session.account.server, symbol.to_owned());
                    let wants = interest.symbols.entry(key).or_default();
                    subs.add_wants(wants, &mut interest.shortest);
                }
                if !symbols.is_empty() {
                    interest.accounts.insert(account.clone(), session);
                }
            }
        }
        interest
    }

    fn tick(&self, interest: &Interest) -> Duration {
        interest
            .shortest
            .map_or(TICK_MAX, |s| (s / 2).clamp(TICK_MIN, TICK_MAX))
    }
}

/// The hub's task: scan, read, render, send, until the hub is gone.
async fn run(hub: Weak<Hub>) {
    let Some(mut moves) = hub.upgrade().map(|h| Some(h.state.desk.equity_changes())) else {
        return;
    };
    let mut frame = Arc::new(Frame::default());
    let mut interest = Arc::new(Interest::default());
    let mut layout = Arc::new(Layout::default());
    let mut scanned: Option<Instant> = None;
    let mut versions = 0u64;
    let mut period = TICK_MAX;
    let mut ticks = schedule(period);
    // A change held back by its interval: look again at the next tick even if nothing moves.
    let mut held = false;
    // Where the next pass starts.
    let mut rotation = 0usize;
    loop {
        let Some(hub) = hub.upgrade() else { return };
        // The scheduled instant, not the wake-up: ticks are exactly `period` apart, so a
        // stream whose interval is the period is due at every one.
        let now = ticks.tick().await;
        let touched = hub.dirty.swap(false, Ordering::AcqRel);
        if touched || scanned.is_none_or(|at| now.duration_since(at) >= RESCAN) {
            interest = Arc::new(hub.scan());
            scanned = Some(now);
            if !layout.fits(&interest) {
                layout = Arc::new(Layout::of(&interest, layout.id + 1));
            }
        }
        let read = read(
            &hub.state,
            &interest,
            &layout,
            &frame,
            &mut moves,
            &mut versions,
        )
        .await;
        let changed = read.is_some();
        if let Some(next) = read {
            frame = Arc::new(next);
        }
        // New subscriptions get the unchanged frame at once.
        if changed || touched || held {
            rotation = rotation.wrapping_add(1);
            held = hub.pass(&frame, rotation, now).await;
        }
        let next = hub.tick(&interest);
        if next != period {
            period = next;
            ticks = schedule(period);
        }
    }
}

fn schedule(period: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

impl Hub {
    /// Sends every live socket what is due in `frame` at the tick `at`, the first one
    /// `rotation` places on (when a pass is cut into slices, no socket is always the last
    /// served); whether a change is held back by its interval on some socket.
    ///
    /// One task walks every socket. Cutting the sockets into a shard per worker thread, each
    /// walked by its own task, was measured slower (1,000 sockets: 105,000-127,000 packets/s
    /// against 141,000-155,000): with the threads busy sending, a second walker only moves
    /// the sockets' writers aside.
    async fn pass(&self, frame: &Frame, rotation: usize, at: Instant) -> bool {
        let mut sockets = self.live();
        if sockets.is_empty() {
            return false;
        }
        let first = rotation % sockets.len();
        sockets.rotate_left(first);
        let mut held = false;
        let mut packet = String::new();
        let mut started = Instant::now();
        let last = sockets.len() - 1;
        for (i, (conn, socket)) in sockets.into_iter().enumerate() {
            if *conn.closed.borrow() {
                continue;
            }
            held |= super::market::send_due(&self.state, &socket, &conn, frame, at, &mut packet);
            if i < last && started.elapsed() >= SLICE {
                // A yield, not a sleep: when nothing else is ready the pass goes straight on.
                tokio::task::yield_now().await;
                started = Instant::now();
            }
        }
        held
    }
}

/// The broker accounts whose equity or margin may have moved since the last read, as the
/// desk announced them.
#[derive(Debug)]
enum Moved {
    These(Vec<AccountRef>),
    /// The hub fell behind the announcements: any may have.
    All,
}

impl Moved {
    /// Takes every announcement waiting.
    fn drain(rx: &mut tokio::sync::broadcast::Receiver<drawbridge_desk::ChangedAccounts>) -> Self {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut these = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(changes) => these.extend_from_slice(&changes),
                Err(TryRecvError::Lagged(_)) => return Self::All,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return Self::These(these),
            }
        }
    }
}

/// Reads what `interest` wants in one step of the desk and renders what changed since
/// `prev`, into `layout`'s slots; `None` when nothing did. Accounts are read again only when
/// the desk's announcements (`moves`) name them, or the layout changed.
///
/// The announcements are taken inside the desk's step: the desk announces a step's changes
/// before it runs the step's reads, so what a read sees has all been announced by then (taken
/// before the step, a quote made in it would go out with its accounts' margins of before). A
/// failed read loses the receiver; the next one subscribes again and reads every account.
async fn read(
    state: &Shared,
    interest: &Arc<Interest>,
    layout: &Arc<Layout>,
    prev: &Arc<Frame>,
    moves: &mut Option<tokio::sync::broadcast::Receiver<drawbridge_desk::ChangedAccounts>>,
    versions: &mut u64,
) -> Option<Frame> {
    if interest.symbols.is_empty() && prev.symbol_count() == 0 {
        return None;
    }
    let (mut rx, lost) = match moves.take() {
        Some(rx) => (rx, false),
        None => (state.desk.equity_changes(), true),
    };
    let (i, l, p) = (Arc::clone(interest), Arc::clone(layout), Arc::clone(prev));
    let mut v = *versions;
    let read = state
        .desk
        .read(move |b| {
            let moved = match Moved::drain(&mut rx) {
                _ if lost => Moved::All,
                moved => moved,
            };
            let accounts = read_accounts(b, &i, &l, &p, &moved, &mut v);
            let current = accounts.as_deref().unwrap_or(&p.accounts);
            let symbols = read_symbols(b, &i, &l, &p, current, &mut v);
            (accounts, symbols, v, rx)
        })
        .await;
    let Ok((accounts, symbols, v, rx)) = read else {
        return None;
    };
    *moves = Some(rx);
    *versions = v;
    if accounts.is_none() && symbols.is_none() {
        return None;
    }
    Some(Frame {
        layout: Arc::clone(layout),
        symbols: symbols.unwrap_or_else(|| prev.symbols.clone()),
        accounts: accounts.unwrap_or_else(|| Arc::clone(&prev.accounts)),
    })
}

/// The subscribed accounts' margin fields, by slot; `None` when none changed (and the
/// layout did not). With the layout unchanged, only the accounts `moved` names are read.
fn read_accounts(
    b: &SimBroker,
    interest: &Interest,
    layout: &Layout,
    prev: &Frame,
    moved: &Moved,
    versions: &mut u64,
) -> Option<Arc<Vec<Option<AccountFrame>>>> {
    let same_layout = prev.layout.id == layout.id;
    if let (Moved::These(refs), true) = (moved, same_layout) {
        let mut out: Option<Vec<Option<AccountFrame>>> = None;
        for r in refs {
            for &slot in layout.by_ref.get(r).map_or(&[][..], Vec::as_slice) {
                let (Some(session), Some(old)) =
                    (layout.sessions.get(slot), prev.accounts.get(slot))
                else {
                    continue;
                };
                if let Some(next) = account_frame(b, session, old.as_ref(), versions) {
                    let list = out.get_or_insert_with(|| prev.accounts.as_ref().clone());
                    list[slot] = next;
                }
            }
        }
        return out.map(Arc::new);
    }
    let mut out = Vec::with_capacity(interest.accounts.len());
    for (slot, (id, session)) in interest.accounts.iter().enumerate() {
        let old = if same_layout {
            prev.accounts.get(slot).and_then(Option::as_ref)
        } else {
            prev.account(id)
        };
        out.push(match account_frame(b, session, old, versions) {
            Some(next) => next,
            None => old.cloned(),
        });
    }
    Some(Arc::new(out))
}

/// An account's margin fields as they are now, or `None` when they are still `old`'s.
fn account_frame(
    b: &SimBroker,
    session: &Session,
    old: Option<&AccountFrame>,
    versions: &mut u64,
) -> Option<Option<AccountFrame>> {
    let engine = &b.server(session.account.server).engine;
    let account = engine.find_login(session.account.login).and_then(|a| {
        let currency = engine.account(a)?.currency;
        Some((a, currency))
    });
    let Some((a, currency)) = account else {
        return old.is_some().then_some(None);
    };
    let key = (engine.equity(a), engine.margin(a));
    if old.is_some_and(|o| o.key == key && o.server == session.account.server) {
        return None;
    }
    *versions += 1;
    let info = information(engine, a, session.access);
    let equity = info
        .as_ref()
        .map_or_else(String::new, |i| format!(",\"equity\":{}", number(i.equity)));
    let margins = info.map_or_else(String::new, |i| {
        let mut s = format!(
            "{equity},\"margin\":{},\"freeMargin\":{}",
            number(i.margin),
            number(i.free_margin)
        );
        if let Some(level) = i.margin_level {
            s.push_str(&format!(",\"marginLevel\":{}", number(level)));
        }
        s
    });
    Some(Some(AccountFrame {
        server: session.account.server,
        currency,
        key,
        margins: margins.into(),
        equity: equity.into(),
    }))
}

/// A float as JSON (`null` for what JSON cannot hold).
fn number(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

fn render<T: serde::Serialize>(value: &T, versions: &mut u64) -> Rendered {
    *versions += 1;
    Rendered {
        version: *versions,
        json: serde_json::to_string(value).unwrap_or_default().into(),
    }
}

/// The wanted symbols, by slot; `None` when none changed (and the layout did not).
fn read_symbols(
    b: &SimBroker,
    interest: &Interest,
    layout: &Layout,
    prev: &Frame,
    accounts: &[Option<AccountFrame>],
    versions: &mut u64,
) -> Option<Vec<Option<Arc<SymbolFrame>>>> {
    let mut currencies: BTreeMap<u16, BTreeSet<Currency>> = BTreeMap::new();
    for a in accounts.iter().flatten() {
        currencies.entry(a.server).or_default().insert(a.currency);
    }
    let same_layout = prev.layout.id == layout.id;
    let mut changed = !same_layout;
    let mut out = Vec::with_capacity(interest.symbols.len());
    for (slot, (key, wants)) in interest.symbols.iter().enumerate() {
        let old = if same_layout {
            prev.symbol_at(slot)
        } else {
            prev.slot_of(key.0, &key.1).and_then(|s| prev.symbol_at(s))
        };
        let wanted = currencies.get(&key.0).cloned().unwrap_or_default();
        let next = read_symbol(b, key, wants, &wanted, old.map(AsRef::as_ref), versions);
        out.push(match (next, old) {
            (Some(next), _) => {
                changed = true;
                Some(Arc::new(next))
            }
            (None, old) => old.cloned(),
        });
    }
    changed.then_some(out)
}

/// One symbol: `None` when nothing it wants changed since `old`.
fn read_symbol(
    b: &SimBroker,
    (server, name): &(u16, String),
    wants: &Wants,
    currencies: &BTreeSet<Currency>,
    old: Option<&SymbolFrame>,
    versions: &mut u64,
) -> Option<SymbolFrame> {
    let srv = b.server(*server);
    let engine = &srv.engine;
    let sym = engine.symbol(name)?;
    let mut next = old.cloned().unwrap_or_default();
    let mut changed = old.is_none();
    let q = engine.quote(sym);
    let quote = q.is_live().then_some((q.time.0, q.bid.0, q.ask.0));
    let moved = quote != next.quote;
    let have: Vec<Currency> = next.prices.iter().map(|(c, _)| *c).collect();
    let want: Vec<Currency> = if wants.quotes {
        currencies.iter().copied().collect()
    } else {
        Vec::new()
    };
    if moved || have != want {
        next.quote = quote;
        next.prices = want
            .iter()
            .filter_map(|&c| {
                Some((
                    c,
                    render(&bw::symbol_price(engine, sym, Some(c))?, versions),
                ))
            })
            .collect();
        changed = true;
    }
    let zone = engine.config().zone;
    let mut candles = Vec::with_capacity(wants.timeframes.len());
    for &tf in &wants.timeframes {
        let Some(bar) = srv.candles.get(sym.index()).and_then(|c| c.current(tf)) else {
            continue;
        };
        match next.candles.iter().find(|(t, c, _)| *t == tf && *c == bar) {
            Some(same) => candles.push(same.clone()),
            None => {
                changed = true;
                candles.push((tf, bar, render(&bw::candle(zone, name, tf, &bar), versions)));
            }
        }
    }
    changed |= candles.len() != next.candles.len();
    next.candles = candles;
    if wants.ticks {
        changed |= read_ticks(srv, sym, name, &mut next, versions);
    } else if next.tick_mark.take().is_some() {
        next.ticks.clear();
        changed = true;
    }
    if wants.book && (moved || next.book.is_none()) {
        let spec = engine.specs().get(sym.index());
        let book = srv.last_tick(sym).zip(spec).map(|(t, spec)| {
            let book = synthetic_book(spec, t.bid, t.ask, BOOK_DEPTH, t.time);
            let book = bw::book(zone, name, &book);
            let entries = book.book.len() as u64;
            (render(&book, versions), entries)
        });
        changed |= book.is_some();
        next.book = book;
    } else if !wants.book && next.book.take().is_some() {
        changed = true;
    }
    changed.then_some(next)
}

/// Appends the ticks after the mark; true when there were any. The first read only sets the
/// mark: a ticks subscription streams ticks from when it started.
fn read_ticks(
    srv: &drawbridge_broker::sim::SimServer,
    sym: drawbridge_broker::symbol::SymbolIdx,
    name: &str,
    next: &mut SymbolFrame,
    versions: &mut u64,
) -> bool {
    let recent = srv.recent_ticks(sym, None, 0, TICKS_KEPT);
    let Some(last) = recent.last() else {
        return false;
    };
    let at_last = recent
        .iter()
        .rev()
        .take_while(|t| t.time == last.time)
        .count();
    let Some((time, seen)) = next.tick_mark.replace((last.time, at_last)) else {
        return false;
    };
    if recent.len() == TICKS_KEPT && recent.first().is_some_and(|t| t.time > time) {
        // More ticks than a read takes came since the last: the oldest are not streamed.
        tracing::warn!(
            symbol = name,
            kept = TICKS_KEPT,
            "ticks skipped between two reads"
        );
    }
    let zone = srv.engine.config().zone;
    let mut same = 0;
    let mut any = false;
    for t in &recent {
        if t.time < time {
            continue;
        }
        if t.time == time {
            same += 1;
            if same <= seen {
                continue;
            }
        }
        let tick: w::Tick = bw::tick(zone, name, t);
        if next.ticks.len() == TICKS_KEPT {
            next.ticks.pop_front();
        }
        next.ticks.push_back(render(&tick, versions));
        any = true;
    }
    any
}
