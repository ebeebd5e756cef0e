//! The trade engine of one simulated trade server: a synchronous state machine.
//!
//! Commands come in with the instant they happen at (`trade`, `on_tick`, `advance_time`,
//! balance operations) and changes go out as [`Event`]s; nothing here reads a clock or does
//! I/O, so a virtual clock replays a week in seconds and the same inputs give the same
//! history byte for byte.
//!
//! - [`records`]: positions, pending and history orders, deals.
//! - [`calc`]: profit, margin and currency conversion formulas.
//! - [`command`]: trade requests in engine terms, and their outcome.
//! - `execute`: market orders, modify, close, partial close, close-by, netting.
//! - `pending`: pending orders: placement, modify, cancel, expiry, triggered fills.
//! - `tick`: quote updates, pending/SL/TP/trailing triggers, revaluation, margin call, stop-out.
//! - `rollover`: swaps at broker midnight and order expiration.
//! - `revalue`: the full mark-to-market sweep and the incremental per-symbol path.
//! - `legs`: the per-symbol position records the incremental path walks, and its deltas.
//! - `ids`: position id → slab slot.
//! - `rates`: conversion factors per (account currency, symbol), kept current with the quotes.
//! - [`retcode`]: MT5 `TRADE_RETCODE_*`.

pub mod calc;
pub mod command;
mod execute;
mod ids;
mod legs;
mod logins;
mod pending;
mod rates;
pub mod records;
pub mod retcode;
mod revalue;
mod rollover;
mod slab;
mod tick;
mod trigger;

use crate::account::{
    Access, Account, AccountIdx, AccountKind, Credentials, MarginMode, NIL, NewAccount, Valuation,
};
use crate::symbol::Currency;
use crate::symbol::{SymbolIdx, SymbolSpec};
use calc::{Converter, Quote, Rates};
pub use command::{TradeCommand, TradeOutcome};
use drawbridge_model::{Money, ServerZone, Timestamp};
pub use execute::RestoredPosition;
use logins::Logins;
use records::{Deal, DealKind, History, Order, Position, Reason, Side, Tags};
pub use retcode::Retcode;
use slab::Slab;

/// The largest balance or credit a balance operation may leave (10^13 in the account's
/// currency): far above any real account, far below where cent arithmetic could overflow.
pub const ACCOUNT_MONEY_MAX: Money = Money(1_000_000_000_000_000);
use std::collections::{BTreeSet, HashMap};
pub use tick::{QuoteError, QuoteUpdate};
use trigger::SymbolTriggers;

/// Appends to a history list, allocating room for exactly one record when the list has none:
/// most accounts keep their one deposit deal for good, and `Vec`'s first allocation would
/// hold four.
pub(crate) fn push_exact<T>(list: &mut Vec<T>, item: T) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(item);
}

/// What a trade server is: its name, zone, default margin mode and levels.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub name: String,
    pub zone: ServerZone,
    pub margin_mode: MarginMode,
    pub margin_call_pct: u16,
    pub stop_out_pct: u16,
    /// Logins are handed out from here upwards.
    pub first_login: u64,
}

/// A change the engine made, for streaming and persistence. Ids refer to engine state that
/// can be read right after.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Quote {
        symbol: SymbolIdx,
    },
    AccountChanged {
        account: AccountIdx,
    },
    PositionUpdated {
        account: AccountIdx,
        position_id: u64,
    },
    PositionClosed {
        account: AccountIdx,
        position_id: u64,
    },
    OrderUpdated {
        account: AccountIdx,
        order_id: u64,
    },
    /// The order left the book and is now in history (filled, canceled, expired, rejected).
    OrderDone {
        account: AccountIdx,
        order_id: u64,
    },
    DealAdded {
        account: AccountIdx,
        deal_id: u64,
    },
    MarginCall {
        account: AccountIdx,
    },
    StopOut {
        account: AccountIdx,
        position_id: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("login {0} is already taken on this server")]
    LoginTaken(u64),
    #[error("leverage must be between 1 and 10000, got {0}")]
    Leverage(u32),
    #[error("group master {0:?} does not exist or is not a group master")]
    NoSuchGroup(AccountIdx),
    #[error("account {0:?} does not exist")]
    NoSuchAccount(AccountIdx),
    #[error("{0}")]
    Rejected(Retcode),
}

#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) cfg: ServerConfig,
    pub(crate) specs: Vec<SymbolSpec>,
    pub(crate) quotes: Vec<Quote>,
    pub(crate) conv: Converter,
    pub(crate) accounts: Vec<Account>,
    pub(crate) values: Vec<Valuation>,
    /// Account currencies in use; `Valuation::currency_slot` indexes this.
    pub(crate) currencies: Vec<Currency>,
    /// Conversion factors per (currency slot, symbol) at current quotes (see `rates`).
    pub(crate) rates: Vec<Rates>,
    /// For each symbol, the `rates` entries that read its quote: laid out as `by_symbol`,
    /// they are also the leg lists a change of the quote revalues besides its own.
    pub(crate) rate_readers: Vec<Vec<u32>>,
    /// Scratch list of accounts touched by one incremental revaluation, in account order.
    pub(crate) touched: Vec<AccountIdx>,
    /// The full sweep's lists, kept from one sweep to the next.
    pub(crate) sweep: revalue::Shares,
    /// Scratch set of the accounts the incremental path touches, one bit an account (all
    /// clear between calls).
    pub(crate) touched_bits: Vec<u64>,
    /// Scratch set of the accounts it recomputes in full (wide legs); clear between calls.
    pub(crate) wide_bits: Vec<u64>,
    /// Scratch: the accounts of the grouped legs of the list being walked.
    pub(crate) grouped: Vec<AccountIdx>,
    /// Scratch: the incremental path's changes by block, kept from one call to the next.
    pub(crate) deltas: legs::Deltas,
    /// Scratch: the leg lists one incremental revaluation walks.
    pub(crate) lists: Vec<u32>,
    /// Scratch: the touched accounts of a block the incremental path settles.
    pub(crate) active: Vec<AccountIdx>,
    /// Accounts whose margin levels a quote must enforce even when it leaves their
    /// valuation as it was, one bit an account: group accounts, accounts in margin call or
    /// near a level, and those recomputed since their levels were last enforced. Any other
    /// account was above both levels when last enforced, and nothing has changed it since.
    pub(crate) alert_bits: Vec<u64>,
    pub(crate) logins: Logins,
    pub(crate) members: HashMap<AccountIdx, Vec<AccountIdx>>,
    pub(crate) positions: Slab<Position>,
    pub(crate) position_slots: ids::IdIndex,
    /// For each (account currency slot, symbol), laid out as `rates`, the legs of the open
    /// positions of accounts in that currency on that symbol (see `legs`): a quote revalues
    /// them without reading a position, and a conversion through the quote's symbol walks
    /// only the lists of the currencies it converts into.
    pub(crate) by_symbol: Vec<Vec<legs::Leg>>,
    /// The exposure and margin of each (account, leg list) the account holds several
    /// positions in (see `legs`).
    pub(crate) groups: legs::Groups,
    pub(crate) orders: Slab<Order>,
    pub(crate) order_slots: HashMap<u64, u32>,
    pub(crate) triggers: Vec<SymbolTriggers>,
    pub(crate) trailing: Vec<BTreeSet<u64>>,
    pub(crate) expirations: BTreeSet<(Timestamp, u64)>,
    /// Every account's history, indexed by account (empty until its first deal or order).
    pub(crate) histories: Vec<History>,
    pub(crate) next_ticket: u64,
    pub(crate) next_deal: u64,
    pub(crate) next_login: u64,
    pub(crate) next_rollover: Timestamp,
    pub(crate) now: Timestamp,
}

impl Engine {
    pub fn new(cfg: ServerConfig, specs: Vec<SymbolSpec>, now: Timestamp) -> Self {
        let conv = Converter::new(&specs);
        let n = specs.len();
        let next_rollover = cfg.zone.next_midnight(now);
        Self {
            next_login: cfg.first_login,
            cfg,
            quotes: vec![Quote::default(); n],
            conv,
            accounts: Vec::new(),
            values: Vec::new(),
            currencies: Vec::new(),
            rates: Vec::new(),
            rate_readers: vec![Vec::new(); n],
            touched: Vec::new(),
            sweep: revalue::Shares::default(),
            touched_bits: Vec::new(),
            wide_bits: Vec::new(),
            grouped: Vec::new(),
            deltas: legs::Deltas::default(),
            lists: Vec::new(),
            active: Vec::new(),
            alert_bits: Vec::new(),
            logins: Logins::default(),
            members: HashMap::new(),
            positions: Slab::default(),
            position_slots: ids::IdIndex::default(),
            by_symbol: Vec::new(),
            groups: legs::Groups::default(),
            orders: Slab::default(),
            order_slots: HashMap::new(),
            triggers: vec![SymbolTriggers::default(); n],
            trailing: vec![BTreeSet::new(); n],
            expirations: BTreeSet::new(),
            histories: Vec::new(),
            next_ticket: 1_000_001,
            next_deal: 5_000_001,
            next_rollover,
            now,
            specs,
        }
    }

    /// Reserves room for `accounts` accounts and `positions` positions.
    pub fn reserve(&mut self, accounts: usize, positions: usize) {
        self.accounts.reserve(accounts);
        self.values.reserve(accounts);
        self.logins.reserve(accounts);
        self.histories.reserve_exact(accounts);
        self.positions = Slab::with_capacity(positions);
        let slab = &self.positions;
        self.position_slots
            .reserve(positions, |s| position_id(slab, s));
    }

    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    pub fn specs(&self) -> &[SymbolSpec] {
        &self.specs
    }

    pub fn spec(&self, s: SymbolIdx) -> &SymbolSpec {
        &self.specs[s.index()]
    }

    pub fn symbol(&self, name: &str) -> Option<SymbolIdx> {
        self.specs
            .iter()
            .position(|s| s.name == name)
            .map(|i| SymbolIdx(i as u32))
    }

    pub fn quote(&self, s: SymbolIdx) -> Quote {
        self.quotes.get(s.index()).copied().unwrap_or_default()
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn account(&self, a: AccountIdx) -> Option<&Account> {
        self.accounts.get(a.index())
    }

    pub fn find_login(&self, login: u64) -> Option<AccountIdx> {
        self.logins.get(login)
    }

    /// The account and the access a login/password pair opens, if any.
    pub fn authenticate(&self, login: u64, password: &str) -> Option<(AccountIdx, Access)> {
        let idx = self.find_login(login)?;
        let access = self.accounts[idx.index()]
            .credentials
            .check(login, password)?;
        Some((idx, access))
    }

    /// Opens an account; a positive deposit is booked as a balance deal.
    pub fn open_account(
        &mut self,
        new: NewAccount,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<AccountIdx, AccountError> {
        if !(1..=10_000).contains(&new.leverage) {
            return Err(AccountError::Leverage(new.leverage));
        }
        let login = new.login.unwrap_or(self.next_login);
        if self.logins.get(login).is_some() {
            return Err(AccountError::LoginTaken(login));
        }
        if let AccountKind::GroupMember { master } = new.kind {
            let ok = self
                .accounts
                .get(master.index())
                .is_some_and(|m| m.kind == AccountKind::GroupMaster);
            if !ok {
                return Err(AccountError::NoSuchGroup(master));
            }
        }
        self.next_login = self.next_login.max(login + 1);
        let idx = AccountIdx(u32::try_from(self.accounts.len()).expect("fewer than 2^32 accounts"));
        self.accounts.push(Account {
            login,
            balance: Money::ZERO,
            credit: Money::ZERO,
            leverage: new.leverage,
            currency: new.currency,
            margin_mode: new.margin_mode.unwrap_or(self.cfg.margin_mode),
            kind: new.kind,
            margin_call_pct: self.cfg.margin_call_pct,
            stop_out_pct: self.cfg.stop_out_pct,
            trade_allowed: true,
            in_margin_call: false,
            credentials: Credentials::new(login, &new.master_password, &new.investor_password),
            name: new.name.into_boxed_str(),
            first_position: NIL,
            first_order: NIL,
        });
        let currency_slot = self.currency_slot(new.currency);
        self.values.push(Valuation {
            currency_slot,
            ..Valuation::default()
        });
        self.histories.push(History::default());
        let words = self.accounts.len().div_ceil(64);
        self.touched_bits.resize(words, 0);
        self.wide_bits.resize(words, 0);
        self.alert_bits.resize(words, 0);
        self.set_alert(idx, true);
        self.logins.insert(login, idx);
        match new.kind {
            AccountKind::GroupMember { master } => {
                self.members.entry(master).or_default().push(idx)
            }
            AccountKind::GroupMaster => {
                self.members.entry(idx).or_default();
            }
            _ => {}
        }
        if new.deposit.0 != 0 {
            self.balance_operation(idx, new.deposit, Some("initial deposit"), now, events)
                .map_err(AccountError::Rejected)?;
        }
        Ok(idx)
    }

    /// A deposit (positive) or withdrawal (negative) as a `DEAL_TYPE_BALANCE` deal. A
    /// withdrawal may not exceed the free margin.
    pub fn balance_operation(
        &mut self,
        a: AccountIdx,
        amount: Money,
        comment: Option<&str>,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<u64, Retcode> {
        self.money_operation(a, DealKind::Balance, amount, comment, now, events)
    }

    /// Credit given (positive) or taken back (negative) as a `DEAL_TYPE_CREDIT` deal.
    pub fn credit_operation(
        &mut self,
        a: AccountIdx,
        amount: Money,
        comment: Option<&str>,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<u64, Retcode> {
        self.money_operation(a, DealKind::Credit, amount, comment, now, events)
    }

    fn money_operation(
        &mut self,
        a: AccountIdx,
        kind: DealKind,
        amount: Money,
        comment: Option<&str>,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<u64, Retcode> {
        let acc = self.accounts.get(a.index()).ok_or(Retcode::Invalid)?;
        if amount.0 == 0 {
            return Err(Retcode::Invalid);
        }
        if amount.is_negative() && -amount > self.free_margin(a).max(Money::ZERO) {
            return Err(Retcode::NoMoney);
        }
        if kind == DealKind::Credit && acc.credit + amount < Money::ZERO {
            return Err(Retcode::NoMoney);
        }
        let held = if kind == DealKind::Credit {
            acc.credit
        } else {
            acc.balance
        };
        if amount.0 > ACCOUNT_MONEY_MAX.0.saturating_sub(held.0) {
            return Err(Retcode::Invalid);
        }
        self.now = self.now.max(now);
        let tags = Tags {
            comment: comment.map(Into::into),
            ..Tags::default()
        };
        let deal = Deal {
            id: 0,
            account: a,
            kind,
            entry: None,
            symbol: None,
            volume: Default::default(),
            price: Default::default(),
            profit: amount,
            commission: Money::ZERO,
            swap: Money::ZERO,
            order_id: None,
            position_id: None,
            reason: Reason::Client,
            time: self.now,
            tags,
        };
        let id = self.book_deal(deal, events);
        if kind == DealKind::Credit {
            self.accounts[a.index()].credit += amount;
        }
        self.check_account(a, events);
        Ok(id)
    }

    /// Records a deal in the account's history and applies its balance effect.
    pub(crate) fn book_deal(&mut self, mut deal: Deal, events: &mut Vec<Event>) -> u64 {
        deal.id = self.next_deal;
        self.next_deal += 1;
        let a = deal.account;
        self.accounts[a.index()].balance += deal.balance_effect();
        events.push(Event::DealAdded {
            account: a,
            deal_id: deal.id,
        });
        events.push(Event::AccountChanged { account: a });
        let id = deal.id;
        push_exact(&mut self.histories[a.index()].deals, deal);
        id
    }

    /// The slot of an account currency, registering it (and the symbols whose conversion
    /// into it depend on other symbols' quotes) on first use.
    fn currency_slot(&mut self, c: Currency) -> u16 {
        if let Some(i) = self.currencies.iter().position(|x| *x == c) {
            return i as u16;
        }
        let slot =
            u16::try_from(self.currencies.len()).expect("fewer than 65 536 account currencies");
        self.currencies.push(c);
        self.by_symbol
            .resize_with(self.by_symbol.len() + self.specs.len(), Vec::new);
        self.add_currency_rates(slot);
        slot
    }

    /// Marks an account as one whose levels a quote must enforce (see `alert_bits`), or not.
    pub(crate) fn set_alert(&mut self, a: AccountIdx, alert: bool) {
        let (w, bit) = (a.index() / 64, 1u64 << (a.index() % 64));
        if alert {
            self.alert_bits[w] |= bit;
        } else {
            self.alert_bits[w] &= !bit;
        }
    }

    /// Where the positions of accounts in currency `slot` on `s` are listed in `by_symbol`.
    pub(crate) fn legs_index(&self, slot: u16, s: SymbolIdx) -> usize {
        usize::from(slot) * self.specs.len() + s.index()
    }

    pub(crate) fn next_ticket(&mut self) -> u64 {
        let t = self.next_ticket;
        self.next_ticket += 1;
        t
    }

    pub fn history(&self, a: AccountIdx) -> Option<&History> {
        self.histories.get(a.index()).filter(|h| !h.is_empty())
    }

    pub fn position(&self, id: u64) -> Option<&Position> {
        self.positions.get(self.position_slot(id)?)
    }

    /// The slab slot of an open position.
    pub(crate) fn position_slot(&self, id: u64) -> Option<u32> {
        let slab = &self.positions;
        self.position_slots.get(id, |s| position_id(slab, s))
    }

    pub fn order(&self, id: u64) -> Option<&Order> {
        self.orders.get(*self.order_slots.get(&id)?)
    }

    /// Open positions of an account, oldest last-in first.
    pub fn positions_of(&self, a: AccountIdx) -> impl Iterator<Item = &Position> {
        let head = self
            .accounts
            .get(a.index())
            .map_or(NIL, |acc| acc.first_position);
        std::iter::successors(self.positions.get(head), |p| {
            self.positions.get(p.next_in_account)
        })
    }

    /// Pending orders of an account.
    pub fn orders_of(&self, a: AccountIdx) -> impl Iterator<Item = &Order> {
        let head = self
            .accounts
            .get(a.index())
            .map_or(NIL, |acc| acc.first_order);
        std::iter::successors(self.orders.get(head), |o| {
            self.orders.get(o.next_in_account)
        })
    }

    pub fn position_count(&self) -> usize {
        self.positions.len()
    }

    /// Current profit of a position in its account's currency (swap and commission excluded).
    pub fn position_profit(&self, p: &Position) -> Money {
        let q = self.quotes[p.symbol.index()];
        if !q.is_live() {
            return Money::ZERO;
        }
        let raw = calc::raw_profit(
            self.specs[p.symbol.index()].contract_size,
            p.side,
            p.volume,
            p.open_price,
            q.close_price(p.side),
        );
        let r = self.rates(p.symbol, p.currency_slot);
        calc::to_money(raw, r.gain, r.loss)
    }

    /// The last revaluation of an account.
    pub fn valuation(&self, a: AccountIdx) -> Valuation {
        self.values.get(a.index()).copied().unwrap_or_default()
    }

    /// Balance + credit + Σ (profit + swap) of open positions.
    pub fn equity(&self, a: AccountIdx) -> Money {
        let acc = &self.accounts[a.index()];
        acc.balance + acc.credit + self.values[a.index()].floating
    }

    pub fn margin(&self, a: AccountIdx) -> Money {
        self.values[a.index()].margin
    }

    /// The margin a new `volume` lots of `symbol` on `side` at `price` would need on its own
    /// (MT5's `OrderCalcMargin`: not netted or hedged against open positions), in the
    /// account's currency at current conversion rates.
    pub fn order_margin(
        &self,
        a: AccountIdx,
        symbol: SymbolIdx,
        side: Side,
        volume: drawbridge_model::Volume,
        price: drawbridge_model::Price,
    ) -> Money {
        let acc = &self.accounts[a.index()];
        let slot = self.values[a.index()].currency_slot;
        let mut exposure = calc::Exposure::default();
        match side {
            Side::Buy => exposure.buy = volume,
            Side::Sell => exposure.sell = volume,
        }
        let at = Quote {
            bid: price,
            ask: price,
            time: self.now,
        };
        let rate = self.rates(symbol, slot).margin;
        calc::exposure_margin_at(
            &self.specs[symbol.index()],
            exposure,
            &at,
            rate,
            acc.leverage,
        )
    }

    /// Free margin of the account alone (equity − margin).
    pub fn own_free_margin(&self, a: AccountIdx) -> Money {
        self.equity(a) - self.margin(a)
    }

    /// Equity / margin × 100 of the account alone, `None` with no margin in use.
    pub fn margin_level(&self, a: AccountIdx) -> Option<f64> {
        crate::account::margin_level(self.equity(a), self.margin(a))
    }

    /// Free margin available to an account's new trades: its own, or its group's for group
    /// accounts.
    pub fn free_margin(&self, a: AccountIdx) -> Money {
        let acc = &self.accounts[a.index()];
        match acc.kind.group_master(a) {
            Some(master) => self
                .group_members(master)
                .map(|m| self.own_free_margin(m))
                .sum(),
            None => self.own_free_margin(a),
        }
    }

    /// Equity and margin of the unit that carries an account's risk (its group, or itself).
    pub fn risk_unit(&self, a: AccountIdx) -> (Money, Money) {
        let acc = &self.accounts[a.index()];
        match acc.kind.group_master(a) {
            Some(master) => self
                .group_members(master)
                .fold((Money::ZERO, Money::ZERO), |(e, m), i| {
                    (e + self.equity(i), m + self.margin(i))
                }),
            None => (self.equity(a), self.margin(a)),
        }
    }

    /// The master and every member of a group.
    pub fn group_members(&self, master: AccountIdx) -> impl Iterator<Item = AccountIdx> + '_ {
        std::iter::once(master).chain(self.members.get(&master).into_iter().flatten().copied())
    }

    /// Allows or forbids trading on an account (e.g. a risk rule's halt).
    pub fn set_trade_allowed(
        &mut self,
        a: AccountIdx,
        allowed: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), AccountError> {
        let acc = self
            .accounts
            .get_mut(a.index())
            .ok_or(AccountError::NoSuchAccount(a))?;
        acc.trade_allowed = allowed;
        events.push(Event::AccountChanged { account: a });
        Ok(())
    }

    /// Bytes this engine's account and position structures hold (history excluded):
    /// `(accounts and their indexes, positions and their indexes)`.
    pub fn memory_footprint(&self) -> (usize, usize) {
        use std::mem::size_of;
        let accounts = self.accounts.capacity() * size_of::<Account>()
            + self.values.capacity() * size_of::<Valuation>()
            + self.accounts.iter().map(|a| a.name.len()).sum::<usize>()
            + self.alert_bits.capacity() * size_of::<u64>()
            + self.logins.heap_bytes();
        let positions = self.positions.heap_bytes()
            + self.position_slots.heap_bytes()
            + self.groups.heap_bytes()
            + self.by_symbol.capacity() * size_of::<Vec<legs::Leg>>()
            + self
                .by_symbol
                .iter()
                .map(|v| v.capacity() * size_of::<legs::Leg>())
                .sum::<usize>();
        (accounts, positions)
    }

    /// Bytes of the scratch buffers the revaluations keep from one call to the next (not
    /// state: [`Engine::memory_footprint`] leaves them out). At most a few bytes an account
    /// and a share word a position once the full sweep has run.
    pub fn scratch_bytes(&self) -> usize {
        use std::mem::size_of;
        (self.touched_bits.capacity() + self.wide_bits.capacity()) * size_of::<u64>()
            + self.touched.capacity() * size_of::<AccountIdx>()
            + self.lists.capacity() * size_of::<u32>()
            + self.grouped.capacity() * size_of::<AccountIdx>()
            + self.active.capacity() * size_of::<AccountIdx>()
            + self.deltas.heap_bytes()
            + self.sweep.heap_bytes()
    }
}

/// The id of the position in `slot` (`u64::MAX`, never a ticket, for an empty slot).
fn position_id(slab: &Slab<Position>, slot: u32) -> u64 {
    slab.get(slot).map_or(u64::MAX, |p| p.id)
}
