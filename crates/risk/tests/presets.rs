//! Golden scenarios for each built-in preset, with the arithmetic in comments. Amounts are
//! in cents; every account starts at 100 000.00.

use drawbridge_model::{Money, ServerZone, Timestamp};
use drawbridge_risk::account::Exposure;
use drawbridge_risk::preset::{PRESETS, builtin};
use drawbridge_risk::{AccountRisk, BreachAction, Input, Output, RuleEvent, RuleOutcome, Snapshot};

const INITIAL: i64 = 10_000_000;

struct Run {
    account: AccountRisk,
    events: Vec<RuleEvent>,
}

impl Run {
    fn new(preset: &str) -> Self {
        let zone = ServerZone::parse("EET").unwrap();
        let mut account = AccountRisk::new(zone);
        account.set_rules(builtin(preset).unwrap().compile(zone).unwrap());
        Self {
            account,
            events: vec![],
        }
    }

    fn feed(&mut self, input: Input) -> Option<RuleEvent> {
        let mut out = vec![];
        self.account.apply(&input, &mut out);
        let got: Vec<_> = out
            .into_iter()
            .filter_map(|o| match o {
                Output::Rule(e) => Some(e),
                _ => None,
            })
            .collect();
        assert!(got.len() <= 1, "one decision at most: {got:?}");
        self.events.extend(&got);
        got.first().copied()
    }

    fn sample(&mut self, t: &str, balance: i64, equity: i64) -> Option<RuleEvent> {
        self.feed(Input::Sample(snap(t, balance, equity)))
    }

    fn trade(&mut self, t: &str, balance: i64, equity: i64) -> Option<RuleEvent> {
        self.feed(Input::Trade {
            after: snap(t, balance, equity),
        })
    }

    fn state(&self) -> drawbridge_risk::RuleState {
        self.account.rules().unwrap().1
    }

    fn floor(&self) -> Money {
        let (spec, state) = self.account.rules().unwrap();
        state.floor(spec).unwrap()
    }
}

fn snap(t: &str, balance: i64, equity: i64) -> Snapshot {
    Snapshot {
        time: Timestamp::parse_iso(t).unwrap(),
        balance: Money(balance),
        equity: Money(equity),
    }
}

#[test]
fn every_preset_parses_and_compiles() {
    let zone = ServerZone::parse("EET").unwrap();
    for (name, _) in PRESETS {
        let set = builtin(name).unwrap();
        assert_eq!(set.name, name);
        set.compile(zone).unwrap();
        let again = toml::to_string(&set).unwrap();
        assert_eq!(
            drawbridge_risk::preset::parse(&again).unwrap(),
            set,
            "round trip"
        );
    }
    assert!(builtin("ftmo-ultra").is_err());
    assert!(drawbridge_risk::preset::parse("name = \"x\"\nsurprise = 1").is_err());
}

/// Two-step, phase 1: daily loss 5 % of 100 000 = 5 000 from max(balance, equity) at
/// midnight Prague (23:00Z in January).
#[test]
fn two_step_floating_loss_carried_over_midnight_breaches_the_daily_loss() {
    let mut r = Run::new("two-step-phase-1");
    assert!(r.trade("2026-01-07T10:00:00Z", INITIAL, INITIAL).is_none());
    // Floating −3 000 at the end of the day; the day's loss is 3 000 ≤ 5 000.
    assert!(
        r.sample("2026-01-07T20:00:00Z", INITIAL, 9_700_000)
            .is_none()
    );
    // Day 2 starts at 23:00Z: reference = max(100 000, 97 000) = 100 000, so the carried
    // floating loss already counts 3 000 of the new day's 5 000.
    assert!(
        r.sample("2026-01-08T08:00:00Z", INITIAL, 9_510_000)
            .is_none()
    );
    assert_eq!(r.state().day_reference, Money(INITIAL));
    // Exactly 5 000 lost: not beyond the limit.
    assert!(
        r.sample("2026-01-08T08:30:00Z", INITIAL, 9_500_000)
            .is_none()
    );
    // 5 000.01 lost: breach.
    let e = r
        .sample("2026-01-08T09:00:00Z", INITIAL, 9_499_999)
        .unwrap();
    assert_eq!(e.outcome, RuleOutcome::DailyLoss);
    assert_eq!(e.action, BreachAction::CloseAndHalt);
    assert_eq!(
        (e.reference, e.limit, e.equity),
        (Money(INITIAL), Money(500_000), Money(9_499_999))
    );
    assert_eq!(r.account.halted(), Some(BreachAction::CloseAndHalt));
    assert!(!r.account.permits(Exposure::Increases));
    assert!(r.account.permits(Exposure::Reduces));
    // Final: nothing more fires.
    assert!(
        r.sample("2026-01-08T10:00:00Z", INITIAL, 8_000_000)
            .is_none()
    );
}

/// Same path under a day-start *equity* reference (instant funding, 3 %): the carried loss
/// does not count, the day starts from 97 000.
#[test]
fn equity_reference_starts_the_day_from_carried_equity() {
    let mut r = Run::new("instant-funding");
    r.sample("2026-01-07T10:00:00Z", INITIAL, INITIAL);
    r.sample("2026-01-07T20:00:00Z", INITIAL, 9_700_000);
    // Midnight EET is 22:00Z. Reference 97 000; 94 000.01 is a loss of 2 999.99 ≤ 3 000.
    assert!(
        r.sample("2026-01-08T08:00:00Z", INITIAL, 9_400_001)
            .is_none()
    );
    assert_eq!(r.state().day_reference, Money(9_700_000));
    // Max loss floor: HWM 100 000 − 6 000 = 94 000, under the lock at 100 000.
    assert_eq!(r.floor(), Money(9_400_000));
    let e = r
        .sample("2026-01-08T08:30:00Z", INITIAL, 9_399_999)
        .unwrap();
    assert_eq!(e.outcome, RuleOutcome::DailyLoss, "3 000.01 > 3 000 first");
}

/// Two-step phase 1: the 8 % target (8 000 on balance) passes only with 4 trading days.
#[test]
fn two_step_passes_after_target_and_four_trading_days() {
    let mut r = Run::new("two-step-phase-1");
    // Rules start from the first input: the account as funded.
    assert!(r.sample("2026-01-07T09:00:00Z", INITIAL, INITIAL).is_none());
    assert!(
        r.trade("2026-01-07T10:00:00Z", 10_200_000, 10_200_000)
            .is_none()
    );
    assert!(
        r.trade("2026-01-08T10:00:00Z", 10_400_000, 10_400_000)
            .is_none()
    );
    // 108 500 − 100 000 = 8 500 ≥ 8 000, but only 3 trading days.
    assert!(
        r.trade("2026-01-09T10:00:00Z", 10_850_000, 10_850_000)
            .is_none()
    );
    assert_eq!(r.state().trading_days, 3);
    // 23:30Z is 00:30 in Prague: a fourth day. 8 400 ≥ 8 000 and 4 days: passed.
    let e = r
        .trade("2026-01-09T23:30:00Z", 10_840_000, 10_840_000)
        .unwrap();
    assert_eq!(e.outcome, RuleOutcome::Passed);
    assert_eq!(e.action, BreachAction::Notify);
    assert_eq!((e.trading_days, e.limit), (4, Money(800_000)));
    assert!(
        r.account.permits(Exposure::Increases),
        "a pass halts nothing"
    );
}

/// Two-step phase 2: 5 % target reached exactly passes; a deposit is not profit.
#[test]
fn two_step_phase_2_target_is_net_of_deposits() {
    let mut r = Run::new("two-step-phase-2");
    r.trade("2026-01-05T10:00:00Z", INITIAL, INITIAL);
    r.trade("2026-01-06T10:00:00Z", INITIAL, INITIAL);
    r.trade("2026-01-07T10:00:00Z", INITIAL, INITIAL);
    // A 10 000 deposit: balance 110 000, net 100 000.
    let deposit = Input::BalanceOperation {
        kind: drawbridge_risk::BalanceKind::Balance,
        amount: Money(1_000_000),
        after: snap("2026-01-07T11:00:00Z", 11_000_000, 11_000_000),
    };
    assert!(r.feed(deposit).is_none());
    // Net profit 4 999.99: not yet.
    assert!(
        r.trade("2026-01-08T10:00:00Z", 11_499_999, 11_499_999)
            .is_none()
    );
    // Net profit 5 000.00 ≥ 5 000 on the 4th day: passed.
    let e = r
        .trade("2026-01-08T11:00:00Z", 11_500_000, 11_500_000)
        .unwrap();
    assert_eq!(
        (e.outcome, e.balance),
        (RuleOutcome::Passed, Money(10_500_000))
    );
}

/// Two-step: static max loss 10 % → floor 90 000, reached over days within daily limits.
#[test]
fn two_step_static_max_loss() {
    let mut r = Run::new("two-step-phase-1");
    r.trade("2026-01-07T10:00:00Z", INITIAL, INITIAL);
    r.trade("2026-01-07T20:00:00Z", 9_600_000, 9_600_000); // −4 000 on day 1
    r.trade("2026-01-08T20:00:00Z", 9_200_000, 9_200_000); // −4 000 on day 2
    // Day 3 from 92 000: equity 90 000 is the floor itself, not below it.
    assert!(
        r.sample("2026-01-09T10:00:00Z", 9_200_000, 9_000_000)
            .is_none()
    );
    let e = r
        .sample("2026-01-09T11:00:00Z", 9_200_000, 8_999_999)
        .unwrap();
    assert_eq!(
        (e.outcome, e.reference),
        (RuleOutcome::MaxLoss, Money(9_000_000))
    );
}

/// One-step: 6 % max loss trailing the end-of-day balance (days end 17:00 New York = 22:00Z
/// in January), locked at the initial balance; 4 % daily loss from the day-start balance.
#[test]
fn one_step_trailing_eod_balance_with_lock() {
    let mut r = Run::new("one-step");
    r.trade("2026-01-07T15:00:00Z", INITIAL, INITIAL);
    // An intraday equity peak does not move an end-of-day high-water mark.
    r.sample("2026-01-07T18:00:00Z", INITIAL, 11_000_000);
    r.trade("2026-01-07T20:00:00Z", 10_100_000, 10_100_000);
    // After the 22:00Z roll: HWM 101 000 → floor 95 000.
    r.sample("2026-01-08T14:00:00Z", 10_100_000, 10_050_000);
    assert_eq!(r.floor(), Money(9_500_000));
    r.trade("2026-01-08T20:00:00Z", 10_650_000, 10_650_000);
    // HWM 106 500 → 100 500, locked at 100 000.
    r.trade("2026-01-09T20:00:00Z", 10_300_000, 10_300_000); // −3 500 ≤ 4 000
    assert_eq!(r.floor(), Money(INITIAL));
    // Day 4 from 103 000: equity 100 000.00 is on the floor: no breach (3 000 daily loss).
    assert!(
        r.sample("2026-01-10T15:00:00Z", 10_300_000, INITIAL)
            .is_none()
    );
    let e = r
        .sample("2026-01-10T15:30:00Z", 10_300_000, INITIAL - 1)
        .unwrap();
    assert_eq!(
        (e.outcome, e.reference),
        (RuleOutcome::MaxLoss, Money(INITIAL))
    );
    assert_eq!(e.action, BreachAction::CloseAndHalt);
}

/// Instant funding: 6 % max loss trailing the intraday equity peak, locked at 100 000;
/// action `halt`.
#[test]
fn instant_funding_trailing_intraday_equity() {
    let mut r = Run::new("instant-funding");
    r.sample("2026-01-07T10:00:00Z", INITIAL, INITIAL);
    r.sample("2026-01-07T11:00:00Z", INITIAL, 10_400_000);
    // Peak 104 000 → floor 98 000.
    assert_eq!(r.floor(), Money(9_800_000));
    r.sample("2026-01-07T12:00:00Z", INITIAL, 10_700_000);
    // Peak 107 000 → 101 000, locked at 100 000.
    assert_eq!(r.floor(), Money(INITIAL));
    r.sample("2026-01-07T21:00:00Z", INITIAL, 10_200_000);
    // Day 2 (from 22:00Z) starts from equity 102 000: 100 000 is a 2 000 daily loss.
    assert!(r.sample("2026-01-08T08:00:00Z", INITIAL, INITIAL).is_none());
    let e = r
        .sample("2026-01-08T08:01:00Z", INITIAL, INITIAL - 1)
        .unwrap();
    assert_eq!(
        (e.outcome, e.action),
        (RuleOutcome::MaxLoss, BreachAction::Halt)
    );
    assert_eq!(r.account.halted(), Some(BreachAction::Halt));
}
