//! What one desk read sees of a followed account, and the inputs it makes.

use drawbridge_broker::broker::AccountRef;
use drawbridge_broker::engine::records::DealKind;
use drawbridge_broker::sim::SimBroker;
use drawbridge_model::{Money, Timestamp};
use drawbridge_risk::{BalanceKind, Input, Snapshot};

/// One deal as the engine needs it.
pub(super) struct DealIn {
    pub(super) time: Timestamp,
    pub(super) kind: Option<BalanceKind>,
    pub(super) amount: Money,
    pub(super) effect: Money,
}

/// One account as a desk read saw it.
pub(super) struct Read {
    pub(super) now: Timestamp,
    pub(super) balance: Money,
    pub(super) equity: Money,
    pub(super) deals: Vec<DealIn>,
    pub(super) count: usize,
}

pub(super) fn read(b: &SimBroker, r: AccountRef, cursor: usize) -> Option<Read> {
    if usize::from(r.server) >= b.server_count() {
        return None;
    }
    let e = &b.server(r.server).engine;
    let a = e.find_login(r.login)?;
    let acc = e.account(a)?;
    let all = e.history(a).map_or(&[][..], |h| h.deals.as_slice());
    let deals = all[cursor.min(all.len())..]
        .iter()
        .map(|d| DealIn {
            time: d.time,
            kind: match d.kind {
                DealKind::Balance => Some(BalanceKind::Balance),
                DealKind::Credit => Some(BalanceKind::Credit),
                DealKind::Buy | DealKind::Sell => None,
            },
            amount: d.profit,
            effect: d.balance_effect(),
        })
        .collect();
    Some(Read {
        now: b.now(),
        balance: acc.balance,
        equity: e.equity(a),
        deals,
        count: all.len(),
    })
}

/// The read as inputs: each deal with the account right after it (rebuilt backwards from
/// now: a balance operation moved balance and equity, credit only equity, a trading deal
/// realized floating profit into the balance), then the account now.
pub(super) fn inputs(read: &Read, out: &mut Vec<Input>) {
    let start = out.len();
    let (mut balance, mut equity) = (read.balance, read.equity);
    for d in read.deals.iter().rev() {
        let after = Snapshot {
            time: d.time,
            balance,
            equity,
        };
        out.push(match d.kind {
            Some(kind) => Input::BalanceOperation {
                kind,
                amount: d.amount,
                after,
            },
            None => Input::Trade { after },
        });
        match d.kind {
            Some(BalanceKind::Balance) => {
                balance -= d.amount;
                equity -= d.amount;
            }
            Some(BalanceKind::Credit) => equity -= d.amount,
            None => balance -= d.effect,
        }
    }
    out[start..].reverse();
    out.push(Input::Sample(Snapshot {
        time: read.now,
        balance: read.balance,
        equity: read.equity,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deals_are_rebuilt_backwards_from_now() {
        let t = |ms| Timestamp(ms);
        let read = Read {
            now: t(100),
            balance: Money(11_500),
            equity: Money(11_300),
            deals: vec![
                DealIn {
                    time: t(10),
                    kind: Some(BalanceKind::Balance),
                    amount: Money(1_000),
                    effect: Money(1_000),
                },
                DealIn {
                    time: t(20),
                    kind: None,
                    amount: Money(500),
                    effect: Money(500),
                },
            ],
            count: 7,
        };
        let mut out = Vec::new();
        inputs(&read, &mut out);
        let snap = |time, balance, equity| Snapshot {
            time: t(time),
            balance: Money(balance),
            equity: Money(equity),
        };
        assert_eq!(
            out,
            [
                Input::BalanceOperation {
                    kind: BalanceKind::Balance,
                    amount: Money(1_000),
                    after: snap(10, 11_000, 11_300),
                },
                Input::Trade {
                    after: snap(20, 11_500, 11_300)
                },
                Input::Sample(snap(100, 11_500, 11_300)),
            ]
        );
    }
}
