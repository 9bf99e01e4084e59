//! What an operator can do from the CLI or the console, each through the engine's one
//! converge path (nothing here writes Kisi itself):
//!
//! - converge a person now (after fixing something on the platform, or to check);
//! - exclude a person (access-sync then grants them nothing and takes back what it granted,
//!   through the brake) and include them again;
//! - release or discard held revokes (`access-sync brake`).

use crate::kisi::KisiLookup;
use crate::{DeadLetters, Operator, OperatorError};
use access_sync_engine::{Included, Outcome, Step, Store, Trigger};
use access_sync_ports::{
    AccessControl, AuditAction, AuditEntry, EdgeScheduler, Exclusion, ExclusionList,
    OwnershipChange, RunLog, SyncStateStore,
};
use access_sync_rules::converge::Decision;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, GroupId, Instant, Pair};
use serde::Serialize;
use std::collections::BTreeSet;

/// What converge did for one pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionStep {
    /// Which pair.
    pub pair: Pair,
    /// What was done, for a human (`kept`, `granted until …`, `replaced until …`, `revoked`).
    pub done: String,
    /// When converge runs again for it.
    pub next_edge: Option<Instant>,
}

impl From<&Step> for ActionStep {
    fn from(s: &Step) -> Self {
        let until = |u: Option<Instant>| u.map_or("open-ended".into(), format_instant);
        ActionStep {
            pair: s.pair.clone(),
            done: match s.decision {
                Decision::Keep => "kept".into(),
                Decision::Grant { valid_until } => format!("granted until {}", until(valid_until)),
                Decision::Replace { valid_until } => {
                    format!("replaced until {}", until(valid_until))
                }
                Decision::Revoke => "revoked".into(),
            },
            next_edge: s.next_edge,
        }
    }
}

/// What excluding a person did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "steps")]
pub enum Excluded {
    /// The person was excluded already: nothing changed.
    AlreadyExcluded,
    /// Excluded (audited); the person was converged (what access-sync granted is revoked,
    /// through the brake).
    Excluded(Vec<ActionStep>),
}

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// The groups a person's converge covers: every mapped group and every group where we own
    /// an assignment (its mapping may have been removed).
    async fn person_groups(
        &self,
        email: &Email,
        now: Instant,
    ) -> Result<BTreeSet<GroupId>, OperatorError> {
        let mut groups = self.engine().mapping(now).await?.managed_groups();
        let owned = self
            .engine()
            .store()
            .owned_for_email(email.as_str())
            .await?;
        groups.extend(owned.iter().map(|o| o.value.pair.group));
        Ok(groups)
    }

    /// Converges one person now in every group (audited as an operator's converge).
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (safe to run again).
    pub async fn converge_now(
        &self,
        email: &Email,
        now: Instant,
    ) -> Result<Vec<ActionStep>, OperatorError> {
        let groups = self.person_groups(email, now).await?;
        let steps = self
            .engine()
            .converge(email, &groups, now, Trigger::Operator)
            .await?;
        Ok(steps.iter().map(ActionStep::from).collect())
    }

    /// Excludes a person: access-sync neither creates their Kisi user nor grants them anything
    /// until [`Operator::include`], and the converge that follows takes back what access-sync
    /// granted (through the brake). Hand-made assignments stay as they are.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (safe to run again).
    pub async fn exclude(&self, email: &Email, now: Instant) -> Result<Excluded, OperatorError> {
        let store = self.engine().store();
        let view = store.owner_view(email.as_str()).await?;
        if view.excluded.is_some() {
            return Ok(Excluded::AlreadyExcluded);
        }
        let groups = self.person_groups(email, now).await?;
        let audit: Vec<AuditEntry> = groups
            .iter()
            .take(1)
            .map(|&group| AuditEntry {
                at: now,
                pair: Some(Pair {
                    email: email.clone(),
                    group,
                }),
                action: AuditAction::Exclude,
                cause: "excluded by an operator: access-sync grants nothing and takes back what \
                        it granted until `access-sync kisi include`"
                    .into(),
            })
            .collect();
        store
            .apply_ownership(
                &[OwnershipChange::Exclude(Exclusion {
                    email: email.clone(),
                    user_id: view.kisi_user.unwrap_or(0),
                    since: now,
                })],
                &audit,
            )
            .await?;
        let steps = self
            .engine()
            .converge(email, &groups, now, Trigger::Operator)
            .await?;
        Ok(Excluded::Excluded(
            steps.iter().map(ActionStep::from).collect(),
        ))
    }

    /// Lifts an exclusion (audited) and converges the person; `None` when they were not
    /// excluded.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (safe to run again).
    pub async fn include(
        &self,
        email: &Email,
        now: Instant,
    ) -> Result<Option<Vec<ActionStep>>, OperatorError> {
        Ok(match self.engine().include(email, now).await? {
            Included::NotExcluded => None,
            Included::Lifted(steps) => Some(steps.iter().map(ActionStep::from).collect()),
        })
    }

    /// Carries out held revokes (all, or one pair's): `access-sync brake release`.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (what was released stays released).
    pub async fn release(
        &self,
        pair: Option<&Pair>,
        now: Instant,
    ) -> Result<Vec<Outcome>, OperatorError> {
        Ok(self.engine().release_held(pair, now).await?)
    }

    /// Drops held revokes (all, or one pair's): `access-sync brake discard`.
    ///
    /// # Errors
    /// Store failures.
    pub async fn discard(
        &self,
        pair: Option<&Pair>,
        now: Instant,
    ) -> Result<Vec<Outcome>, OperatorError> {
        Ok(self.engine().discard_held(pair, now).await?)
    }
}
