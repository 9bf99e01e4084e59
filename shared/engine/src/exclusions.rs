//! Lifting an exclusion: the operator's way back after deleting a person's Kisi user.
//!
//! Converge records the exclusion itself (see [`crate::claims`]); lifting it forgets the
//! exclusion and the deleted user id, and converges the person through the one converge path,
//! which finds or creates the Kisi user afresh where the rules grant access.

use crate::engine::{Engine, EngineError, Step, Store, Trigger};
use access_sync_ports::{AccessControl, AuditAction, AuditEntry, EdgeScheduler, OwnershipChange};
use access_sync_rules::{Email, Instant, Pair};
use std::collections::BTreeSet;

/// What lifting an exclusion did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Included {
    /// There was no exclusion for the e-mail: nothing changed.
    NotExcluded,
    /// Lifted; the person was converged.
    Lifted(Vec<Step>),
}

impl<S: Store, K: AccessControl + Send + Sync, E: EdgeScheduler + Send + Sync> Engine<S, K, E> {
    /// Lifts the exclusion of `email` (audited) and converges the person in every managed
    /// group.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (safe to run again).
    pub async fn include(&self, email: &Email, now: Instant) -> Result<Included, EngineError> {
        let view = self.store().owner_view(email.as_str()).await?;
        let Some(x) = view.excluded else {
            return Ok(Included::NotExcluded);
        };
        let mapping = self.mapping(now).await?;
        let mut groups: BTreeSet<_> = mapping.managed_targets();
        groups.extend(view.owned.iter().map(|o| o.value.pair.group));
        let audit: Vec<AuditEntry> = groups
            .iter()
            .take(1)
            .map(|&group| AuditEntry {
                at: now,
                pair: Some(Pair {
                    email: email.clone(),
                    group,
                }),
                action: AuditAction::Include,
                cause: format!(
                    "exclusion lifted by an operator (Kisi user {} had been deleted in Kisi on {}); \
                     the Kisi user is found or created again where the rules grant access",
                    x.user_id,
                    access_sync_rules::time::format_instant(x.since)
                ),
            })
            .collect();
        self.store()
            .apply_ownership(
                &[OwnershipChange::Include {
                    email: email.as_str().to_string(),
                }],
                &audit,
            )
            .await?;
        let steps = self
            .converge(email, &groups, now, Trigger::Operator)
            .await?;
        Ok(Included::Lifted(steps))
    }
}
