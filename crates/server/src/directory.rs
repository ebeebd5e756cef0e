//! The account directory: account rows by id, read through from the store, and the account
//! creations in flight per user ([`Creating`]).
//!
//! Every client-API request names an account and must check that it belongs to the caller
//! and is deployed; asking SQLite each time would cost more than the request itself. The
//! server is the only writer of accounts and every write goes through provisioning, which
//! drops the entry after the store acknowledged it, so an entry is never older than the
//! store. A fill that raced a write is discarded (the generation moved), and the
//! directory holds at most [`DIRECTORY_ENTRIES_MAX`] rows: beyond that it starts over.

use crate::error::ApiError;
use drawbridge_model::wire::AccountDoc;
use drawbridge_model::{AccountId, UserId};
use drawbridge_store::{AccountRow, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Rows kept in memory at most.
pub const DIRECTORY_ENTRIES_MAX: usize = 2_000_000;

/// An account row with its parsed document.
#[derive(Debug)]
pub struct Entry {
    pub row: AccountRow,
    pub doc: AccountDoc,
}

#[derive(Debug, Default)]
pub struct Directory {
    entries: RwLock<HashMap<AccountId, Arc<Entry>>>,
    /// Bumped by every write, so that a read-through fill started before it is dropped.
    generation: AtomicU64,
}

impl Directory {
    /// The account a request names `id`, from memory or the store.
    pub async fn get(&self, store: &dyn Store, id: &str) -> Result<Option<Arc<Entry>>, ApiError> {
        if let Some(e) = self.read().get(id) {
            return Ok(Some(Arc::clone(e)));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(row) = store.account(id).await? else {
            return Ok(None);
        };
        let doc: AccountDoc = serde_json::from_str(&row.doc).map_err(ApiError::internal)?;
        let entry = Arc::new(Entry { row, doc });
        let mut map = self.write();
        if self.generation.load(Ordering::Acquire) == generation {
            if map.len() >= DIRECTORY_ENTRIES_MAX {
                map.clear();
            }
            map.insert(AccountId::from(id), Arc::clone(&entry));
        }
        Ok(Some(entry))
    }

    /// Forgets `id` after the store acknowledged a write of it; the next read fills it
    /// again. (Dropping rather than storing the new row keeps two racing writers from leaving
    /// the older one behind.)
    pub fn invalidate(&self, id: &AccountId) {
        let mut map = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(id);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<AccountId, Arc<Entry>>> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<AccountId, Arc<Entry>>> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Account creations in flight per user: the account limit counts them with the stored
/// accounts, so that parallel creates cannot pass it together.
#[derive(Debug, Default)]
pub struct Creating(std::sync::Mutex<HashMap<UserId, usize>>);

/// A reserved place, given back when the create ends either way.
#[derive(Debug)]
pub struct CreateSlot<'a> {
    creating: &'a Creating,
    user_id: UserId,
}

impl Creating {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        // A panic while holding it left counts only: still the best answer there is.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more of `user_id`'s accounts, if `stored` plus those in flight stay
    /// under `max`.
    pub fn reserve(&self, user_id: &UserId, stored: usize, max: usize) -> Option<CreateSlot<'_>> {
        let mut map = self.lock();
        let in_flight = map.entry(user_id.clone()).or_insert(0);
        if stored.saturating_add(*in_flight) >= max {
            if *in_flight == 0 {
                map.remove(user_id);
            }
            return None;
        }
        *in_flight += 1;
        Some(CreateSlot {
            creating: self,
            user_id: user_id.clone(),
        })
    }
}

impl Drop for CreateSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.creating.lock();
        if let Some(n) = map.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user_id);
            }
        }
    }
}
