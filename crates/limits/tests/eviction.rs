//! Memory stays bounded under a flood of distinct keys: idle keys are swept, and past the
//! configured maximum a new key is refused instead of an active key being forgotten.

use drawbridge_limits::{Catalogue, Credits, Keys, Ledger, MemoryLedger, Refusal, Scope};
use drawbridge_model::Timestamp;

const FLOOD: u64 = 10_000_000;

fn keys(user: u64, account: u64) -> Keys {
    Keys {
        user,
        user_multiplier: 1,
        server: user,
        account: Some(account),
    }
}

#[test]
fn ten_million_distinct_accounts_leave_only_the_live_ones() {
    let mut quotas = Catalogue::default().cpu_quotas();
    quotas.max_keys = 200_000;
    let ledger = MemoryLedger::new(&quotas);
    let start = 1_700_000_000_000i64;
    let mut peak = 0;
    for i in 0..FLOOD {
        // One new account every 2 ms: 5,000 of them inside any 10 s account window.
        let now = Timestamp(start + (i as i64) * 2);
        // Spread over many users so that no user quota binds (1,000 credits per second each).
        let k = keys(i % 5_000, 1_000_000_000 + i);
        ledger
            .try_charge(&k, Credits::whole(1), now)
            .unwrap_or_else(|e| panic!("charge {i}: {e:?}"));
        if i % 100_000 == 0 {
            let [_, _, accounts] = ledger.tracked();
            peak = peak.max(accounts);
        }
    }
    let [users, servers, accounts] = ledger.tracked();
    assert_eq!((users, servers), (5_000, 5_000));
    // Live accounts are the last 10 s (5,000) plus one bucket; a shard sweeps at twice what
    // survived its last sweep (and never below 256 per shard).
    assert!(
        peak <= 64 * 256 + 2 * 5_500,
        "peak {peak} account keys tracked"
    );
    assert!(
        accounts <= 64 * 256 + 2 * 5_500,
        "{accounts} account keys tracked"
    );
    assert!(
        ledger.account_bytes() < 8 << 20,
        "{} bytes for the account table",
        ledger.account_bytes()
    );
}

#[test]
fn past_the_maximum_new_keys_are_refused_and_active_ones_kept() {
    let mut quotas = Catalogue::default().cpu_quotas();
    quotas.max_keys = 6_400;
    let ledger = MemoryLedger::new(&quotas);
    let now = Timestamp(1_700_000_000_000);
    let mut full = 0;
    // Users stay live for six hours: none of them can be swept.
    for user in 0..20_000u64 {
        match ledger.try_charge(&keys(user, user), Credits::whole(1), now) {
            Ok(()) => {}
            // Every scope has the same maximum here; whichever fills first refuses.
            Err(Refusal::Full(_)) => full += 1,
            Err(e) => panic!("user {user}: {e:?}"),
        }
    }
    for (scope, n) in [Scope::User, Scope::Server, Scope::Account]
        .iter()
        .zip(ledger.tracked())
    {
        assert!(n <= 6_400, "{n} {scope:?} keys tracked");
    }
    assert!(full >= 20_000 - 6_400, "{full} refused");
    // An admitted user is still charged: its 1 s window holds what it spent.
    let spent = (0..20_000u64)
        .find(|&u| {
            ledger
                .usage(&keys(u, u), Scope::User, now)
                .first()
                .is_some_and(|w| w.used == Credits::whole(1))
        })
        .expect("some user was admitted");
    let again = ledger.try_charge(&keys(spent, spent), Credits::whole(1_000), now);
    assert!(matches!(again, Err(Refusal::Exhausted(_))), "{again:?}");
}

#[test]
fn account_quotas_past_the_counters_range_are_counted_coarser_never_looser() {
    let mut quotas = Catalogue::default().cpu_quotas();
    // 5,000,000 credits = 5e9 thousandths: past u32, so the account windows count pairs.
    quotas.per_account[0].credits = Credits::whole(5_000_000);
    for q in quotas
        .per_user
        .iter_mut()
        .chain(quotas.per_server.iter_mut())
    {
        q.credits = Credits::whole(1_000_000_000);
    }
    let ledger = MemoryLedger::new(&quotas);
    let now = Timestamp(1_700_000_000_000);
    let k = keys(1, 2);
    for i in 0..5 {
        ledger
            .try_charge(&k, Credits::whole(1_000_000), now)
            .unwrap_or_else(|e| panic!("charge {i}: {e:?}"));
    }
    let refused = ledger.try_charge(&k, Credits(1), now);
    assert!(
        matches!(refused, Err(Refusal::Exhausted(e)) if e.scope == Scope::Account),
        "{refused:?}"
    );
    let usage = ledger.usage(&k, Scope::Account, now);
    assert_eq!(usage[0].used, Credits::whole(5_000_000));
    assert_eq!(usage[0].available(), Credits::ZERO);
}
