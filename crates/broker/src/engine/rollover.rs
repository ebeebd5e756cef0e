//! Time passing on the trade server: order expiry and the nightly swap rollover.
//!
//! At each broker midnight the day that just ended is rolled over: every position on a symbol
//! that traded that day is charged its swap (long or short, in points per lot, converted to
//! the account currency), three times on the symbol's triple-swap day when it does not trade
//! over the weekend.

use super::calc;
use super::records::Side;
use super::{Engine, Event};
use crate::account::AccountIdx;
use chrono::Weekday;
use drawbridge_model::{Money, Timestamp};

impl Engine {
    /// Moves engine time forward to `now`, running every rollover and expiry due on the way.
    /// Time never runs backwards: an earlier `now` is ignored.
    pub fn advance_time(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        while self.next_rollover <= now {
            let at = self.next_rollover;
            self.now = self.now.max(at);
            self.expire_orders(at, events);
            self.rollover(at, events);
            self.next_rollover = self.cfg.zone.next_midnight(at);
        }
        self.now = self.now.max(now);
        self.expire_orders(self.now, events);
    }

    /// Charges swaps for the broker day ending at `midnight`.
    fn rollover(&mut self, midnight: Timestamp, events: &mut Vec<Event>) {
        let ended = self.cfg.zone.weekday(midnight.plus_millis(-1));
        let slots: Vec<u32> = self.positions.iter().map(|(slot, _)| slot).collect();
        let mut touched: Vec<AccountIdx> = Vec::new();
        for slot in slots {
            let p = self.positions.get(slot).expect("live");
            let spec = &self.specs[p.symbol.index()];
            let traded =
                !spec.trade_sessions.days[ended.num_days_from_monday() as usize].is_empty();
            if !traded {
                continue;
            }
            let weekend =
                !spec.trade_sessions.days[Weekday::Sat.num_days_from_monday() as usize].is_empty();
            let nights = if ended == spec.swap_rollover3days && !weekend {
                3.0
            } else {
                1.0
            };
            let points = match p.side {
                Side::Buy => spec.swap_long_points,
                Side::Sell => spec.swap_short_points,
            };
            let raw = p.volume.lots() * points * spec.point.to_f64() * spec.contract_size * nights;
            let cur = self.accounts[p.account.index()].currency;
            let (kg, kl) = self
                .conv
                .profit_factors(spec, cur, &self.quotes)
                .unwrap_or((1.0, 1.0));
            let swap = calc::to_money(raw, kg, kl);
            if swap == Money::ZERO {
                continue;
            }
            let (account, id) = (p.account, p.id);
            let pos = self.positions.get_mut(slot).expect("live");
            pos.swap += swap;
            pos.update_time = midnight;
            events.push(Event::PositionUpdated {
                account,
                position_id: id,
            });
            touched.push(account);
        }
        touched.sort_unstable();
        touched.dedup();
        for a in touched {
            self.check_account(a, events);
        }
    }
}
