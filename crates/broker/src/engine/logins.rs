//! The login → account index: two parallel arrays sorted by login, 12 bytes an account.
//!
//! Logins are handed out in increasing order, so an insert is almost always an append; one
//! below the highest (an explicit login) shifts the entries above it. A lookup is a binary
//! search. A hash map would spend about three times the bytes (16-byte entries, a control
//! byte each, and up to half its buckets empty).

use crate::account::AccountIdx;

#[derive(Debug, Clone, Default)]
pub(crate) struct Logins {
    logins: Vec<u64>,
    accounts: Vec<AccountIdx>,
}

impl Logins {
    pub(crate) fn reserve(&mut self, n: usize) {
        self.logins.reserve_exact(n);
        self.accounts.reserve_exact(n);
    }

    pub(crate) fn get(&self, login: u64) -> Option<AccountIdx> {
        let i = self.logins.binary_search(&login).ok()?;
        Some(self.accounts[i])
    }

    /// Adds a login that is not yet in the index.
    pub(crate) fn insert(&mut self, login: u64, account: AccountIdx) {
        let i = self.logins.partition_point(|&l| l < login);
        debug_assert!(
            self.logins.get(i) != Some(&login),
            "invariant: a login is inserted once"
        );
        self.logins.insert(i, login);
        self.accounts.insert(i, account);
    }

    /// Bytes the index holds (capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.logins.capacity() * size_of::<u64>()
            + self.accounts.capacity() * size_of::<AccountIdx>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_in_any_order_are_found() {
        let mut index = Logins::default();
        for (i, login) in [1_000, 1_001, 5, 1_003, 1_002].into_iter().enumerate() {
            index.insert(login, AccountIdx(i as u32));
        }
        assert_eq!(index.get(5), Some(AccountIdx(2)));
        assert_eq!(index.get(1_002), Some(AccountIdx(4)));
        assert_eq!(index.get(1_003), Some(AccountIdx(3)));
        assert_eq!(index.get(1_000), Some(AccountIdx(0)));
        assert_eq!(index.get(4), None);
        assert_eq!(index.get(1_004), None);
    }
}
