//! Sizes of the hot structures: a million accounts and two million positions must fit in
//! memory with room to spare, so growth here is a deliberate decision, not an accident.

use drawbridge_broker::account::{Account, Valuation};
use drawbridge_broker::engine::records::Position;
use std::mem::size_of;

#[test]
fn hot_structures_stay_small() {
    println!(
        "Account {} Valuation {} Position {} Option<Position> {}",
        size_of::<Account>(),
        size_of::<Valuation>(),
        size_of::<Position>(),
        size_of::<Option<Position>>()
    );
    assert!(
        size_of::<Account>() <= 112,
        "Account is {} bytes",
        size_of::<Account>()
    );
    assert_eq!(size_of::<Valuation>(), 24);
    assert!(
        size_of::<Position>() <= 176,
        "Position is {} bytes",
        size_of::<Position>()
    );
    assert_eq!(
        size_of::<Option<Position>>(),
        size_of::<Position>(),
        "the slab's Option uses a niche"
    );
}
