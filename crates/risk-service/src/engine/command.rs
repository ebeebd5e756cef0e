//! The engine's side of each [`Command`] the handle sends: following, re-pointing and
//! forgetting accounts, adding and dropping trackers, attaching rules, lifting halts, and
//! the reads of the current period, rules progress and chart hour.

use super::outputs::event_row;
use super::{Engine, FROM_NOW, Followed};
use crate::command::{AccountKey, Command, CurrentPeriod, RulesMeta, RulesProgress, TrackerMeta};
use crate::rules::{RULES_TRACKER_ID, halt_lifted_doc};
use drawbridge_model::ServerZone;
use drawbridge_risk::{AccountRisk, ChartItem, RuleSpec};
use std::sync::Arc;

impl Engine {
    /// Runs one command; those with a reply are answered once done.
    pub(super) async fn command(&mut self, command: Command) {
        match command {
            Command::Follow { account, reply } => {
                self.follow_fresh(account).await;
                let _ = reply.send(());
            }
            Command::Forget { account_id } => self.forget(&account_id),
            Command::Relocate {
                account_id,
                to,
                reply,
            } => {
                self.relocate(&account_id, to).await;
                let _ = reply.send(());
            }
            Command::Track {
                account,
                tracker,
                reply,
            } => {
                self.track(account, &tracker).await;
                let _ = reply.send(());
            }
            Command::Untrack {
                account_id,
                tracker_id,
                reply,
            } => {
                self.untrack(&account_id, &tracker_id);
                let _ = reply.send(());
            }
            Command::Rename {
                account_id,
                tracker_id,
                name,
            } => self.rename(&account_id, &tracker_id, name),
            Command::Current {
                account_id,
                tracker_id,
                reply,
            } => {
                let _ = reply.send(self.current(&account_id, &tracker_id));
            }
            Command::SetRules {
                account,
                rules,
                spec,
                reply,
            } => {
                self.set_rules(account, rules, spec).await;
                let _ = reply.send(());
            }
            Command::ClearRules { account_id, reply } => {
                self.clear_rules(&account_id);
                let _ = reply.send(());
            }
            Command::Rules { account_id, reply } => {
                let _ = reply.send(self.rules_progress(&account_id));
            }
            Command::LiftHalt { account_id, reply } => self.lift(&account_id, reply).await,
            Command::Chart { account_id, reply } => {
                let _ = reply.send(self.chart_hour(&account_id));
            }
            Command::Watch { account_id, on } => self.watch(account_id, on),
        }
    }

    /// Follows the account unless it is followed at this broker account already.
    async fn follow_fresh(&mut self, account: AccountKey) {
        let fresh = self
            .accounts
            .get(&account.id)
            .is_none_or(|f| f.detached || f.key.aref != account.aref);
        if fresh {
            let id = self.follow(account);
            self.feed(vec![id]).await;
        }
    }

    /// Re-points a followed account (nothing for one not followed), or detaches it when
    /// the broker does not know it (`None`).
    async fn relocate(&mut self, account_id: &Arc<str>, to: Option<AccountKey>) {
        if self.accounts.contains_key(account_id) {
            match to {
                Some(key) => {
                    let id = self.follow(key);
                    self.feed(vec![id]).await;
                }
                None => self.detach(account_id),
            }
        }
    }

    async fn track(&mut self, account: AccountKey, tracker: &TrackerMeta) {
        let id = self.follow(account);
        if let Some(f) = self.accounts.get_mut(&id) {
            f.track(tracker, drawbridge_risk::TrackerState::new());
        }
        self.feed(vec![id]).await;
    }

    fn untrack(&mut self, account_id: &str, tracker_id: &str) {
        if let Some(f) = self.accounts.get_mut(account_id)
            && let Some(key) = f.tracked(tracker_id).map(|t| t.key)
        {
            f.risk.remove_tracker(key);
            f.trackers.retain(|t| t.key != key);
        }
    }

    fn rename(&mut self, account_id: &str, tracker_id: &str, name: String) {
        if let Some(f) = self.accounts.get_mut(account_id)
            && let Some(t) = f.trackers.iter_mut().find(|t| &*t.id == tracker_id)
        {
            t.name = name;
        }
    }

    fn current(&self, account_id: &str, tracker_id: &str) -> CurrentPeriod {
        let f = self.accounts.get(account_id)?;
        let t = f.tracked(tracker_id)?;
        let stats = *f.risk.tracker(t.key)?.state.current()?;
        Some((stats, t.period, f.key.zone))
    }

    async fn set_rules(&mut self, account: AccountKey, rules: RulesMeta, spec: RuleSpec) {
        let id = self.follow(account);
        if let Some(f) = self.accounts.get_mut(&id) {
            f.risk.set_rules(spec);
            f.rules = Some(rules);
            f.rules_dirty = true;
        }
        self.feed(vec![id]).await;
    }

    fn clear_rules(&mut self, account_id: &str) {
        if let Some(f) = self.accounts.get_mut(account_id) {
            f.risk.clear_rules();
            f.rules = None;
            f.rules_dirty = false;
        }
    }

    fn rules_progress(&self, account_id: &str) -> RulesProgress {
        let f = self.accounts.get(account_id)?;
        let (spec, state) = f.risk.rules()?;
        Some((*spec, *state, f.key.zone))
    }

    fn chart_hour(&self, account_id: &str) -> Option<(ChartItem, ServerZone)> {
        let f = self.accounts.get(account_id)?;
        Some((*f.risk.chart().current()?, f.key.zone))
    }

    /// Follows an account from now on; a followed one whose broker account changed (or
    /// that was detached) is re-pointed to `key`'s, its deals fed from now on.
    pub(super) fn follow(&mut self, key: AccountKey) -> Arc<str> {
        let id = Arc::clone(&key.id);
        match self.accounts.get_mut(&id) {
            None => {
                self.by_ref.insert(key.aref, Arc::clone(&id));
                let risk = AccountRisk::new(key.zone);
                let mut f = Followed::new(key, risk, FROM_NOW);
                f.watched = self.watchers.contains_key(&id);
                self.accounts.insert(Arc::clone(&id), f);
            }
            Some(f) if f.detached || f.key.aref != key.aref => {
                if self.by_ref.get(&f.key.aref) == Some(&id) {
                    self.by_ref.remove(&f.key.aref);
                }
                let login = key.aref.login;
                tracing::info!(account_id = %id, login, "risk: account re-pointed");
                self.by_ref.insert(key.aref, Arc::clone(&id));
                f.key = key;
                f.deals = FROM_NOW;
                f.detached = false;
            }
            Some(_) => {}
        }
        id
    }

    /// Stops reading an account whose broker account is gone; the rest of it stays.
    fn detach(&mut self, id: &Arc<str>) {
        let Some(f) = self.accounts.get_mut(id) else {
            return;
        };
        if self.by_ref.get(&f.key.aref) == Some(id) {
            self.by_ref.remove(&f.key.aref);
        }
        f.detached = true;
        tracing::info!(account_id = %id, "risk: account detached from its broker account");
    }

    /// Lifts an account's halt; the lift is an event, answered once it is durable.
    async fn lift(&mut self, id: &Arc<str>, reply: tokio::sync::oneshot::Sender<bool>) {
        let Some(f) = self.accounts.get_mut(id).filter(|f| f.halted()) else {
            let _ = reply.send(false);
            return;
        };
        f.risk.lift_halt();
        self.shared
            .halted
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        tracing::info!(account_id = %id, "risk: halt lifted");
        let doc = halt_lifted_doc(&f.key.id, self.clock.now(), f.key.zone);
        self.sink
            .write
            .events
            .push(event_row(f, RULES_TRACKER_ID, doc));
        if !f.dirty {
            f.dirty = true;
            self.sink.dirty.push(Arc::clone(id));
        }
        self.sink.lifts.push(reply);
        self.flush().await;
    }

    /// Stops following an account (deleted): its state, deadline and halt go.
    fn forget(&mut self, id: &Arc<str>) {
        let Some(f) = self.accounts.remove(id) else {
            return;
        };
        self.by_ref.remove(&f.key.aref);
        if let Some(at) = f.deadline {
            self.deadlines.remove(&(at, Arc::clone(id)));
        }
        self.shared
            .halted
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }
}
