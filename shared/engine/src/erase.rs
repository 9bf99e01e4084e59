//! Erasing one person's records on request (`access-sync erase EMAIL`).
//!
//! The audit trail keeps e-mails (it must: "why could Joe not open the door at 9?"), and the
//! facts name people. On request, one person's records are removed:
//!
//! 1. **Refused while they have access**: a managed group open now or opening later by the
//!    rules, or a Kisi assignment access-sync holds for them. Erasing then would leave a door
//!    open with nothing on record to close it. Remove them at the platform first (the change
//!    reaches Kisi through converge), then erase. `force` instead erases and revokes now.
//! 2. The pending edge schedules of their pairs are cancelled (a schedule's input names the
//!    address).
//! 3. Their stored facts are erased ([`PersonalData::erase_facts`]); with `force`, converge
//!    then takes back what we hold in Kisi (the one converge path; nothing grants access any
//!    more).
//! 4. Last, their audit entries, including those step 3 wrote.
//!
//! What stays: Kisi users (access-sync never deletes one; the operator can), entitlements
//! that name the address as a guest (their holder's records), and idempotency records
//! (hashed keys; they expire within hours).

use crate::engine::{Engine, EngineError, Store, Trigger, until_text};
use access_sync_ports::AccessControl;
use access_sync_ports::{Edge, EdgeScheduler, Erased, PersonalData};
use access_sync_rules::facts::Facts;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, GroupId, Instant, MemberId, Pair};
use std::collections::BTreeSet;

/// What an erasure found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EraseReport {
    /// Why the person still has access (empty: none): one line per group or assignment.
    pub access: Vec<String>,
    /// Set when nothing was erased because they still have access and `force` was not given.
    pub refused: Option<String>,
    /// The members whose address it is.
    pub members: Vec<MemberId>,
    /// Edge schedules cancelled.
    pub edges_cancelled: usize,
    /// Kisi changes made by the forced converge.
    pub kisi_changes: usize,
    /// What was removed from the store.
    pub erased: Erased,
}

impl<S, K, E> Engine<S, K, E>
where
    S: Store + PersonalData,
    K: AccessControl + Send + Sync,
    E: EdgeScheduler + Send + Sync,
{
    /// Erases `email`'s records (see the module docs); `force` revokes and erases a person who
    /// still has access.
    ///
    /// # Errors
    /// Store, Kisi and scheduler failures (running it again finishes the job).
    pub async fn erase_person(
        &self,
        email: &Email,
        now: Instant,
        force: bool,
    ) -> Result<EraseReport, EngineError> {
        let mapping = self.mapping(now).await?;
        let facts = Facts::from_records(self.store().facts_for_email(email).await?);
        let view = self.store().owner_view(email.as_str()).await?;
        let mut report = EraseReport {
            members: facts.members_with_email(email).to_vec(),
            ..EraseReport::default()
        };
        let mut groups: BTreeSet<GroupId> = BTreeSet::new();
        let mut edges = Vec::new();
        for group in mapping.managed_targets() {
            let pair = Pair {
                email: email.clone(),
                group,
            };
            let access = facts.access(&mapping, &pair, now);
            if access.open {
                report.access.push(format!(
                    "group {group} is open until {}",
                    until_text(access.until)
                ));
                groups.insert(group);
            } else if let Some(t) = access.next_open {
                report
                    .access
                    .push(format!("group {group} opens at {}", format_instant(t)));
                groups.insert(group);
            }
            if let Some(t) = access.next_change {
                edges.push(Edge::new(&pair, t));
            }
        }
        for o in &view.owned {
            report.access.push(format!(
                "access-sync holds their Kisi assignment {} in group {}",
                o.value.assignment_id, o.value.pair.group
            ));
            groups.insert(o.value.pair.group);
        }
        if !report.access.is_empty() && !force {
            report.refused = Some(
                "they still have access: remove them at the platform (or end their \
                 entitlements) and let the change reach Kisi, then erase; or erase with \
                 --force to revoke what access-sync granted them now"
                    .into(),
            );
            return Ok(report);
        }
        for edge in &edges {
            if matches!(
                self.edges().cancel(edge).await?,
                access_sync_ports::CancelOutcome::Deleted
            ) {
                report.edges_cancelled += 1;
            }
        }
        report.erased = self.store().erase_facts(email, &report.members).await?;
        if !groups.is_empty() {
            report.kisi_changes = self
                .converge(email, &groups, now, Trigger::Erasure)
                .await?
                .len();
        }
        report.erased.audit_entries = self.store().erase(email.as_str()).await?;
        Ok(report)
    }
}
