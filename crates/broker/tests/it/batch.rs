//! `Engine::on_quotes`: a batch of quotes leaves every account valued as the same quotes fed
//! one by one through `on_quote` do, each affected account revalued once.

use drawbridge_broker::account::{AccountIdx, NewAccount};
use drawbridge_broker::catalog::default_catalog;
use drawbridge_broker::engine::records::Side;
use drawbridge_broker::engine::{Engine, Event, QuoteUpdate, RestoredPosition};
use drawbridge_broker::symbol::{Currency, SymbolIdx, SymbolSpec};
use drawbridge_model::{Money, Price, Rng, Volume};

use crate::support::{server_config, start};

const SYMBOLS: usize = 12;
const ACCOUNTS: u32 = 40;
const POSITIONS: u32 = 120;

/// Accounts in USD, EUR and JPY with random positions on the first symbols, every symbol
/// quoted at its feed's start.
fn book(seed: u64) -> Engine {
    let cfg = server_config();
    let specs: Vec<SymbolSpec> = default_catalog().into_iter().take(SYMBOLS).collect();
    let mut e = Engine::new(cfg, specs, start());
    let mut events = Vec::new();
    quote_starts(&mut e);
    for i in 0..ACCOUNTS {
        let mut new = NewAccount::usd("t", "m", "i", Money(100_000_000));
        new.currency = [Currency::USD, Currency::EUR, Currency::JPY][i as usize % 3];
        e.open_account(new, start(), &mut events).expect("opens");
    }
    let mut rng = Rng::seeded(seed);
    for _ in 0..POSITIONS {
        let a = AccountIdx(rng.range(0, u64::from(ACCOUNTS)) as u32);
        let s = rng.range(0, SYMBOLS as u64) as usize;
        let side = if rng.next_u64() & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let spec = &e.specs()[s];
        let volume = Volume(spec.volume_min.0 * rng.range(1, 4) as i64);
        let open = spec.feed.start_bid;
        e.restore_position(RestoredPosition {
            account: a,
            symbol: SymbolIdx(s as u32),
            side,
            volume,
            open_price: open,
            open_time: start(),
            id: None,
        });
    }
    // Quoted again, so every account is valued with its positions.
    quote_starts(&mut e);
    e
}

/// Every symbol quoted at its feed's start price.
fn quote_starts(e: &mut Engine) {
    let mut events = Vec::new();
    for s in 0..SYMBOLS {
        let spec = &e.specs()[s];
        let (bid, point) = (spec.feed.start_bid, spec.point);
        let ask = bid + Price::from_points(i64::from(spec.feed.spread_points), point);
        e.on_quote(SymbolIdx(s as u32), start(), bid, ask, &mut events)
            .expect("valid quote");
    }
}

/// Random quotes a few points around each symbol's start, one millisecond apart.
fn quotes(e: &Engine, rng: &mut Rng, n: usize) -> Vec<QuoteUpdate> {
    (0..n)
        .map(|i| {
            let s = rng.range(0, SYMBOLS as u64) as usize;
            let spec = &e.specs()[s];
            let points = rng.range(0, 41) as i64 - 20;
            let bid = spec.feed.start_bid + Price::from_points(points, spec.point);
            let spread = Price::from_points(i64::from(spec.feed.spread_points), spec.point);
            QuoteUpdate {
                symbol: SymbolIdx(s as u32),
                time: start().plus_millis(1 + i as i64),
                bid,
                ask: bid + spread,
            }
        })
        .collect()
}

#[test]
fn a_batch_values_accounts_as_its_quotes_one_by_one() {
    let mut changed_total = 0;
    for seed in 1..=20 {
        let start = book(seed);
        let mut rng = Rng::seeded(seed).fork(1);
        let batch = quotes(&start, &mut rng, 1 + seed as usize % 7);
        let (mut one, mut all) = (start.clone(), start);
        let (mut one_events, mut all_events) = (Vec::new(), Vec::new());
        for q in &batch {
            one.on_quote(q.symbol, q.time, q.bid, q.ask, &mut one_events)
                .expect("valid quote");
        }
        all.on_quotes(&batch, &mut all_events)
            .expect("valid quotes");
        let mut full = all.clone();
        full.revalue_all();
        for a in (0..ACCOUNTS).map(AccountIdx) {
            assert_eq!(all.valuation(a), one.valuation(a), "seed {seed}, {a:?}");
            assert_eq!(all.equity(a), full.equity(a), "seed {seed}, {a:?}");
        }
        let changed = |events: &[Event]| {
            let mut v: Vec<AccountIdx> = (events.iter())
                .filter_map(|e| match e {
                    Event::AccountChanged { account } => Some(*account),
                    _ => None,
                })
                .collect();
            v.sort_unstable();
            v
        };
        let (mut once, twice) = (changed(&all_events), changed(&one_events));
        let n = once.len();
        changed_total += n;
        once.dedup();
        assert_eq!(
            once.len(),
            n,
            "seed {seed}: an account changes once a batch"
        );
        let mut twice_set = twice.clone();
        twice_set.dedup();
        assert!(
            once.iter().all(|a| twice_set.contains(a)),
            "seed {seed}: the batch changes only accounts its quotes change"
        );
        assert_eq!(all.now(), one.now());
    }
    assert!(changed_total > 0, "the batches moved some account");
}

#[test]
fn a_batch_with_an_invalid_quote_applies_nothing() {
    let mut e = book(1);
    let before = e.clone();
    let mut batch = quotes(&e, &mut Rng::seeded(9), 3);
    batch[2].ask = Price(batch[2].bid.0 - 1);
    let mut events = Vec::new();
    assert!(e.on_quotes(&batch, &mut events).is_err());
    assert!(events.is_empty());
    for a in (0..ACCOUNTS).map(AccountIdx) {
        assert_eq!(e.valuation(a), before.valuation(a));
    }
    assert_eq!(e.now(), before.now());
}

#[test]
fn a_batch_in_parts_hands_over_the_same_events() {
    for seed in 1..=10 {
        let start = book(seed);
        let batch = quotes(&start, &mut Rng::seeded(seed).fork(2), 4);
        let (mut whole, mut parted) = (start.clone(), start);
        let mut want = Vec::new();
        whole.on_quotes(&batch, &mut want).expect("valid quotes");
        let (mut got, mut buffer, mut parts) = (Vec::new(), Vec::new(), 0);
        parted
            .on_quotes_in_parts(&batch, 1, &mut buffer, |engine, events| {
                parts += 1;
                for e in events.iter() {
                    if let Event::AccountChanged { account } = *e {
                        assert_eq!(engine.valuation(account), whole.valuation(account));
                    }
                }
                got.append(events);
            })
            .expect("valid quotes");
        assert!(buffer.is_empty(), "every part was drained");
        assert_eq!(got, want, "seed {seed}");
        assert!(parts >= 1);
    }
}
