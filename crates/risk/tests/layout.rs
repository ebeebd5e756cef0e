//! The size of the hot state: the budget is 2 KB per account with 2 trackers, for a
//! million accounts. Sizes on 64-bit targets; the assertions catch a struct growing by
//! accident.

use drawbridge_risk::{
    AccountRisk, ChartState, RuleSpec, RuleState, TrackerSlot, TrackerSpec, TrackerState,
};
use std::mem::size_of;

/// One account with two trackers: the `AccountRisk` value, its tracker `Vec` buffer and a
/// 16-byte allocator header for that buffer. A rule set adds its boxed spec and state.
fn per_account(trackers: usize) -> usize {
    size_of::<AccountRisk>() + trackers * size_of::<TrackerSlot>() + 16
}

#[test]
fn hot_state_fits_the_budget() {
    let sizes = [
        ("TrackerState", size_of::<TrackerState>()),
        ("TrackerSpec", size_of::<TrackerSpec>()),
        ("TrackerSlot", size_of::<TrackerSlot>()),
        ("ChartState", size_of::<ChartState>()),
        ("RuleState", size_of::<RuleState>()),
        ("RuleSpec", size_of::<RuleSpec>()),
        ("AccountRisk", size_of::<AccountRisk>()),
        ("account with 2 trackers", per_account(2)),
    ];
    for (name, bytes) in sizes {
        println!("{name}: {bytes} bytes");
    }
    assert!(size_of::<TrackerState>() <= 128, "TrackerState grew");
    assert!(size_of::<TrackerSlot>() <= 256, "TrackerSlot grew");
    assert!(size_of::<ChartState>() <= 160, "ChartState grew");
    assert!(
        per_account(2) <= 1024,
        "half the 2 KB budget, leaving room for the map and store"
    );
    let with_rules = per_account(2) + size_of::<RuleSpec>() + size_of::<RuleState>() + 16;
    println!("account with 2 trackers and a rule set: {with_rules} bytes");
    assert!(with_rules <= 2048);
}
