//! The conformance suite: every [`Store`] backend must pass it. [`store_test_suite!`] expands,
//! in a backend's test file, to one `#[tokio::test]` per check, each on a fresh, empty store,
//! so one failure names its check and hides none of the others.
//!
//! [`store_test_suite!`]: crate::store_test_suite
//!
//! ```text
//! // crates/store/tests/sqlite.rs
//! drawbridge_store::store_test_suite!(fresh_sqlite_store);
//! // a PostgreSQL backend's tests, later:
//! drawbridge_store::store_test_suite!(fresh_postgres_store);
//! ```
//!
//! The argument is anything callable with no argument that returns a future of a
//! [`StoreFixture`]: an `async fn`, or a closure `|| async { .. }`. A fixture is a store, or a
//! `(store, guard)` pair whose guard must outlive the store (a temporary directory, a scratch
//! database). The calling crate needs `tokio` (with `macros` and `rt`) as a dev-dependency.
//!
//! Layout: one module per family of the [`Store`] trait, each check a `pub async fn(&dyn
//! Store)` that seeds what it needs itself:
//! - `identity`: settings, users, tokens;
//! - `accounts`: accounts and the simulated broker's journal;
//! - `trackers`: risk trackers;
//! - `risk`: risk writes (events, periods, chart hours, states) and rule sets.
//!
//! A new check is a function in one of them plus its name in [`store_test_suite!`]'s list
//! (a unit test below fails when the two disagree).

mod accounts;
mod identity;
mod risk;
mod trackers;

pub use accounts::*;
pub use identity::*;
pub use risk::*;
pub use trackers::*;

use crate::Store;

/// What a backend's builder hands to each check: the store, kept alive with anything it
/// needs for the length of the check.
pub trait StoreFixture {
    fn store(&self) -> &dyn Store;
}

impl<S: Store> StoreFixture for S {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// A store with a guard that must outlive it (a temporary directory, a scratch database):
/// a tuple drops its fields in order, so the guard goes after the store.
impl<S: Store, G> StoreFixture for (S, G) {
    fn store(&self) -> &dyn Store {
        &self.0
    }
}

/// One `#[tokio::test]` per conformance check, in a module `store_conformance`, each given
/// a fresh store by `$fresh_store` (see the [module documentation](crate::conformance)).
#[macro_export]
macro_rules! store_test_suite {
    ($fresh_store:expr $(,)?) => {
        $crate::store_test_suite!(@checks $fresh_store;
            settings_keep_their_first_value,
            user_names_are_unique,
            tokens_are_created_once,
            tokens_are_revoked_once,
            transaction_ids_are_unique_per_user,
            accounts_are_listed_oldest_first,
            accounts_are_updated_and_deleted,
            journal_is_read_in_pages,
            journal_takes_each_sequence_number_once,
            tracker_names_are_unique_per_account,
            trackers_need_their_account,
            trackers_are_listed_oldest_first,
            trackers_are_renamed,
            trackers_are_deleted,
            trackers_are_created_within_a_maximum,
            risk_events_are_numbered_per_user,
            risk_states_are_kept,
            risk_events_are_queried,
            risk_periods_and_chart_hours_are_read_by_start,
            risk_records_go_with_their_tracker_or_account,
            rules_need_their_account,
            rules_keep_their_state,
            replaced_rules_start_without_state,
            rules_are_detached_and_go_with_their_account,
        );
    };
    (@checks $fresh_store:expr; $($check:ident),+ $(,)?) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $check() {
                    let fixture = ($fresh_store)().await;
                    let store = $crate::conformance::StoreFixture::store(&fixture);
                    $crate::conformance::$check(store).await;
                }
            )+
        }
    };
}

fn user(id: &str, name: &str) -> crate::User {
    crate::User {
        id: id.into(),
        name: name.into(),
        created: drawbridge_model::Timestamp::from_millis(1_000),
    }
}

/// User u1 ("alice"), the owner of every account the checks create.
async fn seed_owner(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
}

fn account(id: &str, txn: Option<&str>, created_ms: i64) -> crate::AccountRow {
    crate::AccountRow {
        id: id.into(),
        user_id: "u1".into(),
        doc: format!(r#"{{"_id":"{id}"}}"#),
        password: vec![1, 2, 3, 0, 255],
        transaction_id: txn.map(Into::into),
        created: drawbridge_model::Timestamp::from_millis(created_ms),
    }
}

/// Users u1 and u9 ("zed", who owns nothing); u1's accounts a1 (transaction id "txn-1"), a2
/// and a3, oldest first.
async fn seed_accounts(s: &dyn Store) {
    seed_owner(s).await;
    s.create_user(&user("u9", "zed")).await.unwrap();
    s.create_account(&account("a1", Some("txn-1"), 10))
        .await
        .unwrap();
    s.create_account(&account("a2", None, 11)).await.unwrap();
    s.create_account(&account("a3", None, 12)).await.unwrap();
}

fn tracker(id: &str, account: &str, name: &str, created_ms: i64) -> crate::TrackerRow {
    crate::TrackerRow {
        id: id.into(),
        account_id: account.into(),
        user_id: "u1".into(),
        name: name.into(),
        doc: format!(r#"{{"name":"{name}","period":"day"}}"#),
        created: drawbridge_model::Timestamp::from_millis(created_ms),
        state: None,
    }
}

/// [`seed_accounts`] with a2 deleted again, and a tracker named "daily" on each of the others:
/// t1 on a1, t3 on a3.
async fn seed_trackers(s: &dyn Store) {
    seed_accounts(s).await;
    assert!(s.delete_account("a2").await.unwrap());
    s.create_tracker(&tracker("t1", "a1", "daily", 20))
        .await
        .unwrap();
    s.create_tracker(&tracker("t3", "a3", "daily", 23))
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    /// Every `pub async fn` of the check modules is listed in the macro once, and the macro
    /// lists nothing else.
    #[test]
    fn the_macro_lists_every_check() {
        let modules = [
            include_str!("conformance/identity.rs"),
            include_str!("conformance/accounts.rs"),
            include_str!("conformance/trackers.rs"),
            include_str!("conformance/risk.rs"),
        ];
        let mut checks: Vec<&str> = modules
            .iter()
            .flat_map(|source| source.lines())
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .map(|rest| rest.split('(').next().unwrap())
            .collect();
        let this = include_str!("conformance.rs");
        let list = this.split("@checks $fresh_store;").nth(1).unwrap();
        let list = &list[..list.find(");").unwrap()];
        let mut listed: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        checks.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, checks, "store_test_suite! lists the checks");
    }
}
