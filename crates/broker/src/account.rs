//! Trading accounts as a trade server keeps them.

use crate::symbol::Currency;
use drawbridge_model::Money;
use sha2::{Digest, Sha256};

/// Dense index of an account within its trade server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AccountIdx(pub u32);

impl AccountIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// MT5 `ACCOUNT_MARGIN_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarginMode {
    /// Many positions per symbol, in both directions (`ACCOUNT_MARGIN_MODE_RETAIL_HEDGING`).
    Hedging,
    /// At most one position per symbol (`ACCOUNT_MARGIN_MODE_RETAIL_NETTING`).
    Netting,
}

impl MarginMode {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Hedging => "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING",
            Self::Netting => "ACCOUNT_MARGIN_MODE_RETAIL_NETTING",
        }
    }
}

/// Account kinds from the CQG WebAPI seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// An ordinary account with its own purchasing power.
    Standalone,
    /// The master of a group: its funds back every member's trades.
    GroupMaster,
    /// A sub-account of a group: margin is checked against the group's free margin and its
    /// own free margin is not reported (empty purchasing power).
    GroupMember { master: AccountIdx },
    /// An omnibus account holding the aggregated positions of many end clients.
    Omnibus,
    /// Not cleared by statements: trades are accepted, but positions and the account summary
    /// are not reported (queries succeed with no data).
    NotCleared,
}

impl AccountKind {
    /// Whether positions and the account summary are reported for this account.
    pub fn is_reported(self) -> bool {
        !matches!(self, Self::NotCleared)
    }

    /// The group master whose pooled funds back this account, if any.
    pub fn group_master(self, me: AccountIdx) -> Option<AccountIdx> {
        match self {
            Self::GroupMember { master } => Some(master),
            Self::GroupMaster => Some(me),
            _ => None,
        }
    }
}

/// Which password opened the session: the master password trades, the investor one only reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Master,
    Investor,
}

/// Salted digests of the two passwords; the passwords themselves are never kept.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    master: [u8; 16],
    investor: [u8; 16],
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Credentials {
    pub fn new(login: u64, master: &str, investor: &str) -> Self {
        Self {
            master: digest(login, 'm', master),
            investor: digest(login, 'i', investor),
        }
    }

    /// Which access `password` grants, if any.
    pub fn check(&self, login: u64, password: &str) -> Option<Access> {
        if digest(login, 'm', password) == self.master {
            Some(Access::Master)
        } else if digest(login, 'i', password) == self.investor {
            Some(Access::Investor)
        } else {
            None
        }
    }
}

fn digest(login: u64, role: char, password: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"drawbridge-sim-account\0");
    h.update(login.to_le_bytes());
    h.update([role as u8]);
    h.update(password.as_bytes());
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// No position or order in a linked list.
pub(crate) const NIL: u32 = u32::MAX;

/// One trading account. Positions and orders hang off it as intrusive lists through the
/// engine's slabs, so an account costs no allocation of its own.
///
/// Laid out in declaration order, what revaluing and the margin checks read first (42
/// bytes), so they span one cache line or two, not two or three.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Account {
    pub balance: Money,
    pub credit: Money,
    pub(crate) first_position: u32,
    pub leverage: u32,
    pub kind: AccountKind,
    /// Margin-call and stop-out levels, in percent of margin.
    pub margin_call_pct: u16,
    pub stop_out_pct: u16,
    pub margin_mode: MarginMode,
    /// Set while the margin level is at or under the margin-call level.
    pub in_margin_call: bool,
    pub trade_allowed: bool,
    pub currency: Currency,
    pub(crate) first_order: u32,
    pub login: u64,
    pub credentials: Credentials,
    pub name: Box<str>,
}

/// What the last revaluation made of an account's open positions. Kept apart from
/// [`Account`] in a dense array, so a mark-to-market sweep writes 24 bytes per account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Valuation {
    /// Σ (profit + swap) of the open positions.
    pub floating: Money,
    /// Margin held by the open positions.
    pub margin: Money,
    /// Index of the account currency in the engine's currency list.
    pub(crate) currency_slot: u16,
}

/// Equity / margin × 100, or `None` with no margin in use.
pub fn margin_level(equity: Money, margin: Money) -> Option<f64> {
    (margin.0 > 0).then(|| equity.0 as f64 / margin.0 as f64 * 100.0)
}

/// What a new account is opened with.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub login: Option<u64>,
    pub name: String,
    pub master_password: String,
    pub investor_password: String,
    pub currency: Currency,
    pub leverage: u32,
    pub deposit: Money,
    pub margin_mode: Option<MarginMode>,
    pub kind: AccountKind,
}

impl NewAccount {
    /// A USD account with 1:100 leverage and the given deposit.
    pub fn usd(name: &str, master: &str, investor: &str, deposit: Money) -> Self {
        Self {
            login: None,
            name: name.to_owned(),
            master_password: master.to_owned(),
            investor_password: investor.to_owned(),
            currency: Currency::USD,
            leverage: 100,
            deposit,
            margin_mode: None,
            kind: AccountKind::Standalone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_tell_master_from_investor() {
        let c = Credentials::new(1001, "m4ster", "inv3stor");
        assert_eq!(c.check(1001, "m4ster"), Some(Access::Master));
        assert_eq!(c.check(1001, "inv3stor"), Some(Access::Investor));
        assert_eq!(c.check(1001, "wrong"), None);
        assert_eq!(c.check(1002, "m4ster"), None, "the login salts the digest");
        assert_eq!(margin_level(Money(20_000), Money(10_000)), Some(200.0));
        assert_eq!(margin_level(Money(20_000), Money::ZERO), None);
    }
}
