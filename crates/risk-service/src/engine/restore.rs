//! The engine back from the store at start: every followed account and tracker, then the
//! deals booked since each account's cursor.

use super::{AccountSaved, Engine, FROM_NOW, Followed, RulesSaved, TrackerSaved};
use crate::RiskError;
use crate::command::{AccountKey, RulesMeta, TrackerMeta, find_account};
use crate::rules::compile_stored;
use drawbridge_model::ServerZone;
use drawbridge_model::wire::AccountDoc;
use drawbridge_risk::{AccountRisk, NewTracker};
use std::collections::HashMap;
use std::sync::Arc;

impl Engine {
    /// Every tracker and account state back from the store, then the deals since.
    pub(super) async fn restore(&mut self) -> Result<(), RiskError> {
        let trackers = self.store.all_trackers().await?;
        let rules = self.store.all_rules().await?;
        let mut saved: HashMap<String, AccountSaved> = HashMap::new();
        for (id, state) in self.store.risk_account_states().await? {
            match serde_json::from_str(&state) {
                Ok(s) => {
                    saved.insert(id, s);
                }
                Err(e) => tracing::warn!(account_id = %id, error = %e, "risk: state unreadable"),
            }
        }
        let mut ids: Vec<String> = trackers.iter().map(|t| t.account_id.clone()).collect();
        ids.extend(saved.keys().cloned());
        ids.extend(rules.iter().map(|r| r.account_id.clone()));
        ids.sort_unstable();
        ids.dedup();
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = self.store.account(&id).await?
                && let Ok(doc) = serde_json::from_str::<AccountDoc>(&row.doc)
            {
                rows.push((id, row.user_id, doc.server, doc.login.parse::<u64>().ok()));
            }
        }
        let asks: Vec<(String, Option<u64>)> =
            rows.iter().map(|(_, _, s, l)| (s.clone(), *l)).collect();
        let found = self
            .desk
            .read(move |b| {
                asks.iter()
                    .map(|(server, login)| find_account(b, server, *login))
                    .collect::<Vec<_>>()
            })
            .await?;
        for ((id, user_id, _, _), found) in rows.into_iter().zip(found) {
            let Some((aref, zone)) = found else { continue };
            let key = AccountKey {
                id: Arc::from(id.as_str()),
                user_id: Arc::from(user_id.as_str()),
                aref,
                zone,
            };
            let state = saved.get(&id);
            let risk = match state {
                Some(s) => AccountRisk::resume(zone, s.last(), s.chart()),
                None => AccountRisk::new(zone),
            };
            let mut f = Followed::new(key, risk, state.map_or(FROM_NOW, |s| s.deals));
            if state.is_some_and(|s| s.halted) {
                // The stored flag does not keep which action halted; a halt is a halt.
                f.risk.resume_halt(drawbridge_risk::BreachAction::Halt);
            }
            f.closeout_pending = state.is_some_and(|s| s.closeout_pending);
            for row in trackers.iter().filter(|t| t.account_id == id) {
                let Some(meta) = restore_tracker(row, zone) else {
                    continue;
                };
                let st = row
                    .state
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<TrackerSaved>(s).ok())
                    .map(|s| s.restore())
                    .unwrap_or_default();
                f.track(&meta, st);
            }
            if let Some(row) = rules.iter().find(|r| r.account_id == id) {
                restore_rules(&mut f, row, zone);
            }
            if f.halted() {
                self.shared
                    .halted
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(Arc::clone(&f.key.id));
            }
            self.by_ref.insert(aref, Arc::clone(&f.key.id));
            self.accounts.insert(Arc::clone(&f.key.id), f);
        }
        tracing::info!(accounts = self.accounts.len(), "risk state restored");
        let all: Vec<Arc<str>> = self.accounts.keys().cloned().collect();
        self.feed(all).await;
        // Close-outs a breach ordered that had not closed everything when the server stopped.
        for f in self.accounts.values().filter(|f| f.closeout_pending) {
            tracing::info!(account_id = %f.key.id, "risk: pending close-out resumed");
            self.spawn_close_out(Arc::clone(&f.key.id), f.key.aref);
        }
        Ok(())
    }
}

/// A stored tracker compiled again (with its creation time, so its window is the same).
fn restore_tracker(
    row: &drawbridge_store::TrackerRow,
    zone: drawbridge_model::ServerZone,
) -> Option<TrackerMeta> {
    let doc: NewTracker = serde_json::from_str(&row.doc).ok()?;
    let spec = doc.validate(zone, row.created).ok()?;
    Some(TrackerMeta {
        id: Arc::from(row.id.as_str()),
        name: row.name.clone(),
        period: spec.period,
        spec,
    })
}

/// An account's stored rules compiled again, resuming their progress.
fn restore_rules(f: &mut Followed, row: &drawbridge_store::RulesRow, zone: ServerZone) {
    let Some((name, spec)) = compile_stored(&row.doc, zone) else {
        tracing::warn!(account_id = %row.account_id, "risk: stored rules unreadable");
        return;
    };
    let state = (row.state.as_deref())
        .and_then(|s| serde_json::from_str::<RulesSaved>(s).ok())
        .map(|s| s.restore())
        .unwrap_or_default();
    f.risk.set_rules_state(spec, state);
    f.rules = Some(RulesMeta {
        id: Arc::from(row.id.as_str()),
        name,
    });
}
