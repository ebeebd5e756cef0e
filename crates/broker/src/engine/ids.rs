//! Position id → slab slot, as an open-addressing table of slots alone.
//!
//! A `HashMap<u64, u32>` holds each entry as 16 bytes plus a control byte, in a table at most
//! seven-eighths full: about 36 bytes a position. This table keeps only the slot (4 bytes) in
//! a power-of-two table at most half full, about 8.4 bytes a position at two million, and
//! reads an entry's id from the slab when it compares keys (the id lives there anyway).
//! Linear probing; removal shifts the entries behind the hole back (no tombstones), so a
//! lookup never probes past the end of its run.

/// An empty bucket.
const EMPTY: u32 = u32::MAX;
/// The smallest table allocated.
const BUCKETS_MIN: usize = 16;

#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    buckets: Vec<u32>,
    len: usize,
}

impl IdIndex {
    /// The home bucket of `id` in a table of `buckets` (a power of two).
    #[inline]
    fn home(id: u64, buckets: usize) -> usize {
        // Fibonacci hashing: the top bits of the product spread consecutive tickets.
        let bits = buckets.trailing_zeros();
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// Room for `n` entries without growing.
    pub(crate) fn reserve(&mut self, n: usize, id_of: impl Fn(u32) -> u64) {
        let want = (2 * n).next_power_of_two().max(BUCKETS_MIN);
        if want > self.buckets.len() {
            self.rebuild(want, id_of);
        }
    }

    fn rebuild(&mut self, buckets: usize, id_of: impl Fn(u32) -> u64) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; buckets]);
        for slot in old.into_iter().filter(|&s| s != EMPTY) {
            let mut i = Self::home(id_of(slot), buckets);
            while self.buckets[i] != EMPTY {
                i = (i + 1) & (buckets - 1);
            }
            self.buckets[i] = slot;
        }
    }

    /// The slot of `id`, if indexed.
    pub(crate) fn get(&self, id: u64, id_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.find(id, id_of).map(|i| self.buckets[i])
    }

    fn find(&self, id: u64, id_of: impl Fn(u32) -> u64) -> Option<usize> {
        let n = self.buckets.len();
        if n == 0 {
            return None;
        }
        let mut i = Self::home(id, n);
        loop {
            match self.buckets[i] {
                EMPTY => return None,
                slot if id_of(slot) == id => return Some(i),
                _ => i = (i + 1) & (n - 1),
            }
        }
    }

    /// Indexes `slot` under `id` (not indexed yet).
    pub(crate) fn insert(&mut self, id: u64, slot: u32, id_of: impl Fn(u32) -> u64) {
        debug_assert!(
            slot != EMPTY,
            "invariant: slot u32::MAX marks an empty bucket"
        );
        if 2 * (self.len + 1) > self.buckets.len() {
            let grown = (2 * self.buckets.len()).max(BUCKETS_MIN);
            self.rebuild(grown, &id_of);
        }
        let n = self.buckets.len();
        let mut i = Self::home(id, n);
        while self.buckets[i] != EMPTY {
            debug_assert!(id_of(self.buckets[i]) != id, "invariant: ids are unique");
            i = (i + 1) & (n - 1);
        }
        self.buckets[i] = slot;
        self.len += 1;
    }

    /// Removes `id`; `id_of` must still read it (call before the slab drops the slot).
    pub(crate) fn remove(&mut self, id: u64, id_of: impl Fn(u32) -> u64) -> Option<u32> {
        let mut hole = self.find(id, &id_of)?;
        let slot = self.buckets[hole];
        let n = self.buckets.len();
        let mut j = hole;
        loop {
            j = (j + 1) & (n - 1);
            let moved = self.buckets[j];
            if moved == EMPTY {
                break;
            }
            // `moved` may fill the hole unless its home lies cyclically in (hole, j].
            let home = Self::home(id_of(moved), n);
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.buckets[hole] = moved;
                hole = j;
            }
        }
        self.buckets[hole] = EMPTY;
        self.len -= 1;
        Some(slot)
    }

    /// Bytes of the table.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Inserts and removes in any order answer as a `HashMap` does, ids clustered or not.
        #[test]
        fn answers_as_a_hash_map(ops in proptest::collection::vec((any::<bool>(), 0u64..300, any::<bool>()), 0..400)) {
            let mut ids: Vec<u64> = Vec::new(); // slot → id
            let mut index = IdIndex::default();
            let mut want: HashMap<u64, u32> = HashMap::new();
            for &(insert, k, spread) in &ops {
                let id = if spread { k.wrapping_mul(1 << 40) } else { 1_000_000 + k };
                let id_of = |s: u32| ids[s as usize];
                if insert && !want.contains_key(&id) {
                    ids.push(id);
                    let slot = (ids.len() - 1) as u32;
                    index.insert(id, slot, |s: u32| ids[s as usize]);
                    want.insert(id, slot);
                } else if !insert {
                    prop_assert_eq!(index.remove(id, id_of), want.remove(&id));
                }
                for (&id, &slot) in &want {
                    prop_assert_eq!(index.get(id, |s: u32| ids[s as usize]), Some(slot));
                }
                prop_assert_eq!(index.len, want.len());
            }
        }
    }
}
