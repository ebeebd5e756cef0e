//! The changes the desk journals, and what each does to the broker.

use crate::DeskError;
use drawbridge_broker::account::Access;
use drawbridge_broker::broker::{AccountRef, BrokerError, BrokerEvent, Session};
use drawbridge_broker::metaapi as bw;
use drawbridge_broker::sim::{DemoAccount, DemoRequest, SimBroker};
use drawbridge_broker::symbol::Currency;
use drawbridge_model::wire as w;
use drawbridge_model::{Money, Price};
use serde::{Deserialize, Serialize};

/// A change to the simulated broker: what the journal records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// Only time passes (a virtual-clock advance).
    Advance,
    #[serde(rename_all = "camelCase")]
    OpenDemo {
        server: String,
        name: String,
        currency: String,
        leverage: u32,
        balance_cents: i64,
    },
    #[serde(rename_all = "camelCase")]
    Trade {
        server: u16,
        login: u64,
        investor: bool,
        request: Box<w::TradeRequest>,
    },
    #[serde(rename_all = "camelCase")]
    Balance {
        server: u16,
        login: u64,
        amount_cents: i64,
        comment: Option<String>,
        credit: bool,
    },
    #[serde(rename_all = "camelCase")]
    Tick {
        server: u16,
        symbol: String,
        bid: f64,
        ask: f64,
    },
    #[serde(rename_all = "camelCase")]
    Feed { server: u16, paused: bool },
}

/// One journal record: the op and the broker time it applied at.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) at: i64,
    #[serde(flatten)]
    pub(crate) op: Op,
}

/// What an op did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Demo(DemoAccount),
    Trade(w::TradeResponse),
    /// The id of the balance or credit deal booked.
    Deal(u64),
}

/// Runs `op` on the broker: what a change does, live and in replay alike.
pub(crate) fn execute(
    broker: &mut SimBroker,
    op: &Op,
    events: &mut Vec<BrokerEvent>,
) -> Result<Outcome, DeskError> {
    match op {
        Op::Advance => Ok(Outcome::Done),
        Op::OpenDemo {
            server,
            name,
            currency,
            leverage,
            balance_cents,
        } => {
            let currency = Currency::new(currency)
                .ok_or_else(|| BrokerError::Invalid(format!("unknown currency {currency}")))?;
            let req = DemoRequest {
                name: name.clone(),
                currency,
                leverage: *leverage,
                balance: Money(*balance_cents),
            };
            Ok(Outcome::Demo(
                broker.open_demo_account(server, req, events)?,
            ))
        }
        Op::Trade {
            server,
            login,
            investor,
            request,
        } => {
            let session = Session {
                account: AccountRef {
                    server: *server,
                    login: *login,
                },
                access: if *investor {
                    Access::Investor
                } else {
                    Access::Master
                },
            };
            if usize::from(*server) >= broker.server_count() {
                return Err(BrokerError::ServerNotFound(server.to_string()).into());
            }
            let cmd = bw::trade_command(&broker.server(*server).engine, request)
                .map_err(DeskError::Request)?;
            let result = match broker.trade(&session, cmd, events) {
                Ok(outcome) => Ok(outcome),
                Err(BrokerError::Trade(code)) => Err(code),
                Err(e) => return Err(e.into()),
            };
            Ok(Outcome::Trade(bw::trade_response(result)))
        }
        Op::Balance {
            server,
            login,
            amount_cents,
            comment,
            credit,
        } => {
            let r = AccountRef {
                server: *server,
                login: *login,
            };
            let amount = Money(*amount_cents);
            let deal = if *credit {
                broker.credit(r, amount, comment.as_deref(), events)?
            } else {
                broker.deposit(r, amount, comment.as_deref(), events)?
            };
            Ok(Outcome::Deal(deal))
        }
        Op::Tick {
            server,
            symbol,
            bid,
            ask,
        } => {
            let price = |v: f64| {
                Price::from_f64(v).ok_or_else(|| BrokerError::Invalid(format!("bad price {v}")))
            };
            broker.push_tick(*server, symbol, price(*bid)?, price(*ask)?, events)?;
            Ok(Outcome::Done)
        }
        Op::Feed { server, paused } => {
            if usize::from(*server) >= broker.server_count() {
                return Err(BrokerError::ServerNotFound(server.to_string()).into());
            }
            if *paused {
                broker.pause_feed(*server);
            } else {
                broker.resume_feed(*server);
            }
            Ok(Outcome::Done)
        }
    }
}
