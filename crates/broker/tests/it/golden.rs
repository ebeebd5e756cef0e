//! Golden scenarios: the trade engine against hand-computed MetaTrader 5 arithmetic.
//!
//! Every scenario runs on the default catalogue with explicit overrides of what its arithmetic
//! depends on (commission, swap points, stops level), at a fixed broker time on a Wednesday.

use crate::support::{lots, px, server_config, start, t, usd};
use drawbridge_broker::account::{Access, AccountIdx, AccountKind, MarginMode, NewAccount};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::engine::command::Stops;
use drawbridge_broker::engine::records::{
    DealEntry, DealKind, Expiration, OrderState, PendingKind, Reason, Side, Tags,
};
use drawbridge_broker::engine::{Engine, Event, Retcode, ServerConfig, TradeCommand, TradeOutcome};
use drawbridge_broker::symbol::{Currency, SymbolSpec};
use drawbridge_model::Money;

struct World {
    e: Engine,
    ev: Vec<Event>,
}

impl World {
    /// The default catalogue with no commission, no swap and a zero stops level, unless a test
    /// changes them through `tweak`.
    fn new(mode: MarginMode, tweak: impl Fn(&mut SymbolSpec)) -> Self {
        let specs = default_catalog()
            .into_iter()
            .map(|mut s| {
                s.commission_per_lot = 0.0;
                s.swap_long_points = 0.0;
                s.swap_short_points = 0.0;
                s.stops_level = 0;
                tweak(&mut s);
                s
            })
            .collect();
        let cfg = ServerConfig {
            margin_mode: mode,
            ..server_config()
        };
        Self {
            e: Engine::new(cfg, specs, start()),
            ev: Vec::new(),
        }
    }

    fn hedging() -> Self {
        Self::new(MarginMode::Hedging, |_| {})
    }

    fn quote(&mut self, symbol: &str, bid: f64, ask: f64) {
        let s = self.e.symbol(symbol).unwrap();
        let now = self.e.now();
        self.e
            .on_quote(s, now, px(bid), px(ask), &mut self.ev)
            .unwrap();
    }

    fn account(&mut self, currency: Currency, deposit: f64, kind: AccountKind) -> AccountIdx {
        let mut n = NewAccount::usd("golden", "master1", "investor1", usd(deposit));
        n.currency = currency;
        n.kind = kind;
        self.e.open_account(n, self.e.now(), &mut self.ev).unwrap()
    }

    fn usd_account(&mut self, deposit: f64) -> AccountIdx {
        self.account(Currency::USD, deposit, AccountKind::Standalone)
    }

    fn trade(&mut self, a: AccountIdx, cmd: TradeCommand) -> Result<TradeOutcome, Retcode> {
        let now = self.e.now();
        self.e.trade(a, Access::Master, cmd, now, &mut self.ev)
    }

    fn market(
        &mut self,
        a: AccountIdx,
        symbol: &str,
        side: Side,
        volume: f64,
        stops: Stops,
    ) -> Result<TradeOutcome, Retcode> {
        let symbol = self.e.symbol(symbol).unwrap();
        self.trade(
            a,
            TradeCommand::Market {
                symbol,
                side,
                volume: lots(volume),
                stops,
                tags: Tags::default(),
            },
        )
    }

    fn buy(&mut self, a: AccountIdx, symbol: &str, volume: f64) -> u64 {
        self.market(a, symbol, Side::Buy, volume, Stops::default())
            .unwrap()
            .position_id
            .unwrap()
    }

    fn sell(&mut self, a: AccountIdx, symbol: &str, volume: f64) -> u64 {
        self.market(a, symbol, Side::Sell, volume, Stops::default())
            .unwrap()
            .position_id
            .unwrap()
    }

    fn close(
        &mut self,
        a: AccountIdx,
        position_id: u64,
        volume: Option<f64>,
    ) -> Result<TradeOutcome, Retcode> {
        self.trade(
            a,
            TradeCommand::ClosePosition {
                position_id,
                volume: volume.map(lots),
                tags: Tags::default(),
            },
        )
    }

    fn pending(
        &mut self,
        a: AccountIdx,
        symbol: &str,
        kind: PendingKind,
        price: f64,
        stop_limit: Option<f64>,
        expiration: Expiration,
    ) -> Result<TradeOutcome, Retcode> {
        let symbol = self.e.symbol(symbol).unwrap();
        self.trade(
            a,
            TradeCommand::Pending {
                symbol,
                kind,
                volume: lots(1.0),
                price: px(price),
                stop_limit_price: stop_limit.map(px),
                stops: Stops::default(),
                expiration,
                tags: Tags::default(),
            },
        )
    }

    fn balance(&self, a: AccountIdx) -> Money {
        self.e.account(a).unwrap().balance
    }

    fn last_deal(&self, a: AccountIdx) -> drawbridge_broker::engine::records::Deal {
        self.e.history(a).unwrap().deals.last().unwrap().clone()
    }
}

#[test]
fn eurusd_one_lot_buy_closed_100_points_higher_is_plus_100_usd() {
    let mut w = World::new(MarginMode::Hedging, |s| s.commission_per_lot = 3.5);
    w.quote("EURUSD", 1.09990, 1.10000);
    let a = w.usd_account(10_000.0);
    let p = w.buy(a, "EURUSD", 1.0);
    assert_eq!(
        w.e.position(p).unwrap().open_price,
        px(1.10000),
        "a buy fills at the ask"
    );
    w.quote("EURUSD", 1.10100, 1.10110);
    w.close(a, p, None).unwrap();
    let d = w.last_deal(a);
    // (1.10100 − 1.10000) × 100 000 × 1 lot = 100.00 USD; commission 3.50 per lot per side.
    assert_eq!(d.profit, usd(100.00));
    assert_eq!(d.entry, Some(DealEntry::Out));
    assert_eq!(d.kind, DealKind::Sell);
    assert_eq!(d.commission, usd(-3.50));
    // 10 000 − 3.50 (in) + 100.00 − 3.50 (out) = 10 093.00
    assert_eq!(w.balance(a), usd(10_093.00));
}

#[test]
fn gbpjpy_profit_is_converted_into_a_eur_account() {
    let mut w = World::hedging();
    w.quote("EURJPY", 160.000, 160.020);
    w.quote("GBPJPY", 189.980, 190.000);
    let a = w.account(Currency::EUR, 10_000.0, AccountKind::Standalone);
    let p = w.buy(a, "GBPJPY", 1.0);
    w.quote("GBPJPY", 190.500, 190.520);
    w.close(a, p, None).unwrap();
    // (190.500 − 190.000) × 100 000 = 50 000 JPY; a gain in JPY buys EUR at EURJPY's ask:
    // 50 000 / 160.020 = 312.4609… → 312.46 EUR.
    assert_eq!(w.last_deal(a).profit, Money(31_246));
    assert_eq!(w.balance(a), Money(1_000_000 + 31_246));
}

#[test]
fn margin_of_half_a_lot_of_gold_at_1_to_100() {
    let mut w = World::hedging();
    w.quote("XAUUSD", 1_999.80, 2_000.00);
    let a = w.usd_account(10_000.0);
    w.buy(a, "XAUUSD", 0.5);
    // 0.5 lot × 100 oz × 2 000.00 / 100 = 1 000.00 USD
    assert_eq!(w.e.margin(a), usd(1_000.00));
    // Equity: bought at 2 000.00, valued at the bid 1 999.80: −0.20 × 50 oz = −10.00
    assert_eq!(w.e.equity(a), usd(9_990.00));
    assert_eq!(w.e.free_margin(a), usd(8_990.00));
    assert_eq!(w.e.margin_level(a), Some(999.0));
}

#[test]
fn swaps_are_charged_at_broker_midnight_and_tripled_on_wednesday() {
    let mut w = World::new(MarginMode::Hedging, |s| {
        if s.name == "EURUSD" {
            s.swap_long_points = -7.0;
            s.swap_rollover3days = chrono::Weekday::Wed;
        }
    });
    w.quote("EURUSD", 1.09990, 1.10000);
    let a = w.usd_account(10_000.0);
    let p = w.buy(a, "EURUSD", 1.0);
    // Wednesday 10:00 UTC = 12:00 EET. The rollover ending Wednesday is Thursday 00:00 EET =
    // Wednesday 22:00 UTC: 3 × (−7 points × 0.00001 × 100 000 × 1 lot) = −21.00 USD.
    w.e.advance_time(t("2026-01-07T22:00:00Z"), &mut w.ev);
    assert_eq!(w.e.position(p).unwrap().swap, usd(-21.00));
    // Thursday's rollover is single: −7.00 more.
    w.e.advance_time(t("2026-01-08T22:00:00Z"), &mut w.ev);
    assert_eq!(w.e.position(p).unwrap().swap, usd(-28.00));
    // Saturday and Sunday are not charged (the Wednesday triple covers them); Friday is.
    w.e.advance_time(t("2026-01-11T22:00:00Z"), &mut w.ev);
    assert_eq!(w.e.position(p).unwrap().swap, usd(-35.00));
    // The swap is realized into the balance by the closing deal.
    w.e.advance_time(t("2026-01-12T08:00:00Z"), &mut w.ev);
    w.quote("EURUSD", 1.10000, 1.10010);
    w.close(a, p, None).unwrap();
    let d = w.last_deal(a);
    assert_eq!((d.profit, d.swap), (usd(0.0), usd(-35.00)));
    assert_eq!(w.balance(a), usd(9_965.00));
}

#[test]
fn stop_out_closes_the_most_losing_position_first_until_the_level_recovers() {
    let mut w = World::hedging();
    w.quote("USDJPY", 149.990, 150.000);
    let a = w.usd_account(1_100.0);
    // Margin of USDJPY is in USD: 0.5 lot × 100 000 / 100 = 500.00 each.
    let first = w.buy(a, "USDJPY", 0.5);
    w.quote("USDJPY", 150.490, 150.500);
    let second = w.buy(a, "USDJPY", 0.5);
    assert_eq!(w.e.margin(a), usd(1_000.00));
    // Bid falls to 148.800. Losses in JPY are bought at USDJPY's bid:
    // first:  (148.800 − 150.000) × 50 000 = −60 000 JPY / 148.800 = −403.23 USD
    // second: (148.800 − 150.500) × 50 000 = −85 000 JPY / 148.800 = −571.24 USD
    // equity = 1 100 − 974.47 = 125.53 → level 12.6 % ≤ 50 %: the second (worse) goes first,
    // realizing −571.24: balance 528.76, equity 528.76 − 403.23 = 125.53, margin 500 → 25.1 %:
    // still under, so the first goes too.
    w.quote("USDJPY", 148.800, 148.810);
    assert!(w.e.position(second).is_none() && w.e.position(first).is_none());
    let deals = &w.e.history(a).unwrap().deals;
    let outs: Vec<_> = deals
        .iter()
        .filter(|d| d.entry == Some(DealEntry::Out))
        .collect();
    assert_eq!(outs.len(), 2);
    assert_eq!(
        (outs[0].position_id, outs[0].reason, outs[0].profit),
        (Some(second), Reason::StopOut, usd(-571.24))
    );
    assert_eq!(
        (outs[1].position_id, outs[1].reason, outs[1].profit),
        (Some(first), Reason::StopOut, usd(-403.23))
    );
    assert_eq!(w.balance(a), usd(1_100.0 - 571.24 - 403.23));
    assert!(
        w.ev.iter()
            .any(|e| matches!(e, Event::MarginCall { account } if *account == a))
    );
}

#[test]
fn stop_out_stops_once_the_margin_level_recovers() {
    let mut w = World::hedging();
    w.quote("USDJPY", 149.990, 150.000);
    let a = w.usd_account(1_100.0);
    let first = w.buy(a, "USDJPY", 0.5);
    w.quote("USDJPY", 150.490, 150.500);
    let second = w.buy(a, "USDJPY", 0.5);
    // Bid 149.300: first −35 000 JPY / 149.3 = −234.43; second −60 000 / 149.3 = −401.88.
    // equity = 1 100 − 636.31 = 463.69, margin 1 000 → 46.4 % ≤ 50 %: close the second.
    // Then balance 698.12, equity 698.12 − 234.43 = 463.69, margin 500 → 92.7 %: stop.
    w.quote("USDJPY", 149.300, 149.310);
    assert!(w.e.position(second).is_none());
    assert!(w.e.position(first).is_some());
    assert_eq!(w.balance(a), usd(698.12));
    assert_eq!(w.e.equity(a), usd(463.69));
}

#[test]
fn a_buy_limit_gapped_through_fills_at_the_better_market_price() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.09990, 1.10000);
    let a = w.usd_account(10_000.0);
    let order = w
        .pending(
            a,
            "EURUSD",
            PendingKind::BuyLimit,
            1.09500,
            None,
            Expiration::Gtc,
        )
        .unwrap()
        .order_id
        .unwrap();
    w.quote("EURUSD", 1.09600, 1.09610);
    assert!(
        w.e.order(order).is_some(),
        "ask 1.09610 is above the limit: still waiting"
    );
    // The market gaps down to ask 1.09300, 200 points under the limit.
    w.quote("EURUSD", 1.09290, 1.09300);
    assert!(w.e.order(order).is_none());
    let p = w.e.positions_of(a).next().unwrap();
    assert_eq!(
        (p.id, p.open_price, p.side),
        (order, px(1.09300), Side::Buy)
    );
    let h = w.e.history(a).unwrap();
    assert_eq!(h.orders.last().unwrap().state, OrderState::Filled);
    assert_eq!(h.deals.last().unwrap().price, px(1.09300));
}

#[test]
fn close_by_realizes_the_pair_at_the_opposite_open_price_without_spread() {
    let mut w = World::new(MarginMode::Hedging, |s| s.commission_per_lot = 3.5);
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let long = w.buy(a, "EURUSD", 1.0); // at 1.10010, commission −3.50
    w.quote("EURUSD", 1.10500, 1.10510);
    let short = w.sell(a, "EURUSD", 0.6); // at 1.10500, commission −2.10
    w.trade(
        a,
        TradeCommand::CloseBy {
            position_id: long,
            by_position_id: short,
            tags: Tags::default(),
        },
    )
    .unwrap();
    // 0.6 lot of the long closes at the short's open price 1.10500:
    // (1.10500 − 1.10010) × 100 000 × 0.6 = 294.00; the short closes at its own price: 0.
    let deals = &w.e.history(a).unwrap().deals;
    let by: Vec<_> = deals
        .iter()
        .filter(|d| d.entry == Some(DealEntry::OutBy))
        .collect();
    assert_eq!(by.len(), 2);
    assert_eq!(
        (by[0].position_id, by[0].profit, by[0].commission),
        (Some(long), usd(294.00), Money::ZERO)
    );
    assert_eq!(
        (by[1].position_id, by[1].profit),
        (Some(short), Money::ZERO)
    );
    assert!(w.e.position(short).is_none());
    assert_eq!(w.e.position(long).unwrap().volume, lots(0.4));
    assert_eq!(w.balance(a), usd(10_000.0 - 3.50 - 2.10 + 294.00));
    assert_eq!(
        w.e.history(a)
            .unwrap()
            .orders
            .last()
            .unwrap()
            .close_by_position_id,
        Some(short)
    );
}

#[test]
fn a_group_sub_account_is_limited_by_the_groups_free_margin() {
    let mut w = World::hedging();
    w.quote("USDJPY", 149.990, 150.000);
    let master = w.account(Currency::USD, 1_000.0, AccountKind::GroupMaster);
    let a = w.account(Currency::USD, 0.0, AccountKind::GroupMember { master });
    let b = w.account(Currency::USD, 0.0, AccountKind::GroupMember { master });
    // b uses 0.9 lot × 100 000 / 100 = 900.00 USD of the group's 1 000.00.
    w.buy(b, "USDJPY", 0.9);
    // Spread cost: (149.990 − 150.000) × 90 000 = −900 JPY / 149.99 = −6.00 USD.
    assert_eq!(w.e.free_margin(a), usd(1_000.00 - 6.00 - 900.00));
    // a needs 200.00 for 0.2 lot: refused; 0.09 lot (90.00) fits.
    assert_eq!(
        w.market(a, "USDJPY", Side::Buy, 0.2, Stops::default()),
        Err(Retcode::NoMoney)
    );
    w.buy(a, "USDJPY", 0.09);
    assert_eq!(w.e.margin(a), usd(90.00));
    assert_eq!(
        w.e.free_margin(master),
        usd(1_000.00 - 6.00 - 0.60 - 990.00)
    );
}

#[test]
fn netting_adds_reduces_and_reverses_one_position_per_symbol() {
    let mut w = World::new(MarginMode::Netting, |_| {});
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let id = w.buy(a, "EURUSD", 1.0); // 1 lot at 1.10010
    w.quote("EURUSD", 1.10100, 1.10110);
    assert_eq!(w.buy(a, "EURUSD", 1.0), id, "same position");
    // Average price: (1.10010 + 1.10110) / 2 = 1.10060
    let p = w.e.position(id).unwrap();
    assert_eq!((p.volume, p.open_price), (lots(2.0), px(1.10060)));
    // Sell 0.5 at 1.10100: (1.10100 − 1.10060) × 100 000 × 0.5 = 20.00
    assert_eq!(w.sell(a, "EURUSD", 0.5), id);
    assert_eq!(w.last_deal(a).profit, usd(20.00));
    assert_eq!(w.e.position(id).unwrap().volume, lots(1.5));
    // Sell 2 at 1.10100: closes 1.5 ((1.10100 − 1.10060) × 150 000 = +60.00) and opens 0.5
    // short, in one INOUT deal.
    assert_eq!(w.sell(a, "EURUSD", 2.0), id);
    let d = w.last_deal(a);
    assert_eq!(
        (d.entry, d.volume, d.profit),
        (Some(DealEntry::InOut), lots(2.0), usd(60.00))
    );
    let p = w.e.position(id).unwrap();
    assert_eq!(
        (p.side, p.volume, p.open_price),
        (Side::Sell, lots(0.5), px(1.10100))
    );
    assert_eq!(w.e.positions_of(a).count(), 1);
}

#[test]
fn partial_close_realizes_a_proportional_part() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let p = w.buy(a, "EURUSD", 1.0);
    w.quote("EURUSD", 1.10210, 1.10220);
    w.close(a, p, Some(0.3)).unwrap();
    // (1.10210 − 1.10010) × 100 000 × 0.3 = 60.00
    assert_eq!(w.last_deal(a).profit, usd(60.00));
    assert_eq!(w.e.position(p).unwrap().volume, lots(0.7));
    // A remainder below the minimum volume is refused.
    assert_eq!(w.close(a, p, Some(0.695)), Err(Retcode::InvalidVolume));
    assert_eq!(w.close(a, p, Some(0.8)), Err(Retcode::InvalidCloseVolume));
}

#[test]
fn stop_loss_gapped_through_closes_at_the_worse_market_price() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let stops = Stops {
        stop_loss: Some(px(1.09500)),
        take_profit: Some(px(1.11000)),
        trailing_points: None,
    };
    let p = w
        .market(a, "EURUSD", Side::Buy, 1.0, stops)
        .unwrap()
        .position_id
        .unwrap();
    w.quote("EURUSD", 1.09600, 1.09610);
    assert!(w.e.position(p).is_some());
    w.quote("EURUSD", 1.09400, 1.09410);
    assert!(w.e.position(p).is_none());
    let d = w.last_deal(a);
    // (1.09400 − 1.10010) × 100 000 = −610.00, reason SL
    assert_eq!(
        (d.price, d.profit, d.reason),
        (px(1.09400), usd(-610.00), Reason::Sl)
    );
}

#[test]
fn take_profit_of_a_sell_fires_on_the_ask() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let stops = Stops {
        stop_loss: None,
        take_profit: Some(px(1.09800)),
        trailing_points: None,
    };
    let p = w
        .market(a, "EURUSD", Side::Sell, 1.0, stops)
        .unwrap()
        .position_id
        .unwrap();
    w.quote("EURUSD", 1.09795, 1.09805); // bid below TP, ask not yet: no fire
    assert!(w.e.position(p).is_some());
    w.quote("EURUSD", 1.09790, 1.09800);
    // (1.10000 − 1.09800) × 100 000 = 200.00
    assert_eq!(
        (w.last_deal(a).profit, w.last_deal(a).reason),
        (usd(200.00), Reason::Tp)
    );
}

#[test]
fn trailing_stop_follows_the_price_and_never_backs_off() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let stops = Stops {
        stop_loss: None,
        take_profit: None,
        trailing_points: Some(200),
    };
    let p = w
        .market(a, "EURUSD", Side::Buy, 1.0, stops)
        .unwrap()
        .position_id
        .unwrap();
    w.quote("EURUSD", 1.10150, 1.10160); // +140 points: not yet beyond the 200-point distance
    assert_eq!(w.e.position(p).unwrap().stop_loss, None);
    w.quote("EURUSD", 1.10400, 1.10410); // SL = 1.10400 − 0.00200
    assert_eq!(w.e.position(p).unwrap().stop_loss, Some(px(1.10200)));
    w.quote("EURUSD", 1.10300, 1.10310); // falls back: SL stays
    assert_eq!(w.e.position(p).unwrap().stop_loss, Some(px(1.10200)));
    w.quote("EURUSD", 1.10190, 1.10200); // hits the trailed SL: +180.00 locked in
    assert_eq!(w.last_deal(a).profit, usd(180.00));
}

#[test]
fn a_buy_stop_limit_becomes_a_limit_then_fills() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let id = w
        .pending(
            a,
            "EURUSD",
            PendingKind::BuyStopLimit,
            1.10200,
            Some(1.10100),
            Expiration::Gtc,
        )
        .unwrap()
        .order_id
        .unwrap();
    w.quote("EURUSD", 1.10200, 1.10210); // ask ≥ stop: now a buy limit at 1.10100
    let o = w.e.order(id).unwrap();
    assert_eq!(
        (o.open_price, o.kind),
        (
            px(1.10100),
            drawbridge_broker::engine::records::OrderKind::Pending(PendingKind::BuyLimit)
        )
    );
    w.quote("EURUSD", 1.10090, 1.10100);
    assert_eq!(w.e.position(id).unwrap().open_price, px(1.10100));
}

#[test]
fn a_day_order_expires_at_broker_midnight() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(10_000.0);
    let id = w
        .pending(
            a,
            "EURUSD",
            PendingKind::SellLimit,
            1.11000,
            None,
            Expiration::Day,
        )
        .unwrap()
        .order_id
        .unwrap();
    w.e.advance_time(t("2026-01-07T21:59:59Z"), &mut w.ev);
    assert!(w.e.order(id).is_some());
    w.e.advance_time(t("2026-01-07T22:00:00Z"), &mut w.ev); // 00:00 EET
    assert!(w.e.order(id).is_none());
    assert_eq!(
        w.e.history(a).unwrap().orders.last().unwrap().state,
        OrderState::Expired
    );
    let past = Expiration::Specified(t("2026-01-07T21:00:00Z"));
    assert_eq!(
        w.pending(a, "EURUSD", PendingKind::SellLimit, 1.11000, None, past),
        Err(Retcode::InvalidExpiration)
    );
}

#[test]
fn rejections_carry_mt5_retcodes() {
    let mut w = World::new(MarginMode::Hedging, |s| s.stops_level = 10);
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(1_000.0);
    let none = Stops::default();
    assert_eq!(
        w.market(a, "EURUSD", Side::Buy, 0.015, none),
        Err(Retcode::InvalidVolume)
    );
    assert_eq!(
        w.market(a, "EURUSD", Side::Buy, 0.0, none),
        Err(Retcode::InvalidVolume)
    );
    assert_eq!(
        w.market(a, "EURUSD", Side::Buy, 1_000.0, none),
        Err(Retcode::InvalidVolume)
    );
    // SL 5 points under the bid with a 10-point stops level.
    let close = Stops {
        stop_loss: Some(px(1.09995)),
        ..none
    };
    assert_eq!(
        w.market(a, "EURUSD", Side::Buy, 0.1, close),
        Err(Retcode::InvalidStops)
    );
    // 1 lot needs 1 000 EUR × 1.10010 = 1 100.10 USD of margin; the account has 1 000.00.
    assert_eq!(
        w.market(a, "EURUSD", Side::Buy, 1.0, none),
        Err(Retcode::NoMoney)
    );
    assert_eq!(w.close(a, 42, None), Err(Retcode::PositionNotFound));
    assert_eq!(
        w.pending(
            a,
            "EURUSD",
            PendingKind::BuyLimit,
            1.10050,
            None,
            Expiration::Gtc
        ),
        Err(Retcode::InvalidPrice)
    );
    assert_eq!(
        w.pending(
            a,
            "EURUSD",
            PendingKind::BuyLimit,
            1.099999,
            None,
            Expiration::Gtc
        ),
        Err(Retcode::InvalidPrice)
    );
    // The investor password reads but never trades.
    let s = w.e.symbol("EURUSD").unwrap();
    let cmd = TradeCommand::Market {
        symbol: s,
        side: Side::Buy,
        volume: lots(0.1),
        stops: none,
        tags: Tags::default(),
    };
    assert_eq!(
        w.e.trade(a, Access::Investor, cmd.clone(), w.e.now(), &mut w.ev),
        Err(Retcode::TradeDisabled)
    );
    // Saturday: the FX market is closed.
    w.e.advance_time(t("2026-01-10T12:00:00Z"), &mut w.ev);
    assert_eq!(
        w.e.trade(a, Access::Master, cmd, w.e.now(), &mut w.ev),
        Err(Retcode::MarketClosed)
    );
    // A withdrawal beyond the free margin is refused; within it, it is a balance deal.
    assert_eq!(
        w.e.balance_operation(a, usd(-1_000.01), None, w.e.now(), &mut w.ev),
        Err(Retcode::NoMoney)
    );
    w.e.balance_operation(a, usd(-400.0), Some("withdrawal"), w.e.now(), &mut w.ev)
        .unwrap();
    assert_eq!(
        (w.last_deal(a).kind, w.balance(a)),
        (DealKind::Balance, usd(600.0))
    );
}

#[test]
fn credit_counts_in_equity_but_not_in_balance() {
    let mut w = World::hedging();
    w.quote("EURUSD", 1.10000, 1.10010);
    let a = w.usd_account(1_000.0);
    w.e.credit_operation(a, usd(500.0), Some("bonus"), w.e.now(), &mut w.ev)
        .unwrap();
    let d = w.last_deal(a);
    assert_eq!((d.kind, d.profit), (DealKind::Credit, usd(500.0)));
    assert_eq!(
        (w.balance(a), w.e.account(a).unwrap().credit, w.e.equity(a)),
        (usd(1_000.0), usd(500.0), usd(1_500.0))
    );
    // With credit, 1 lot (1 100.00 margin) fits.
    w.buy(a, "EURUSD", 1.0);
}
