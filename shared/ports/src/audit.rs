//! The audit log: every grant, revoke, adoption, skip, hold and brake, with its cause.
//!
//! Operators read it per person ("why could Joe not open the door at 9?"), so entries are
//! keyed by e-mail. Entries are plain data with their own instant; writing the same entry
//! twice stores it once, so a retried handler does not double the history.

use crate::pair::Pair;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// What access-sync did (or deliberately did not do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Added the person to the group in Kisi.
    Grant,
    /// Removed the person from the group in Kisi.
    Revoke,
    /// Found an existing Kisi assignment matching what we would create and took it over.
    Adopt,
    /// Decided not to act (e.g. an assignment we do not own).
    Skip,
    /// Kept access despite a revoke decision (e.g. a pending platform correction).
    Hold,
    /// The safety brake stopped a mass change.
    Brake,
    /// Found a hand-made assignment where the rules grant access: left exactly as it is.
    ByHand,
    /// The person's Kisi user was deleted by a person: access-sync leaves the person alone.
    Exclude,
    /// An operator lifted an exclusion.
    Include,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened (the caller's clock).
    pub at: DateTime<Utc>,
    /// Whom and which group it concerns; `None` for system-wide entries (a brake).
    pub pair: Option<Pair>,
    /// What was done.
    pub action: AuditAction,
    /// Why, for a human: entitlement ids, the rule, the Kisi answer.
    pub cause: String,
}

/// Append-only log of what access-sync did to Kisi.
pub trait AuditLog: Send + Sync {
    /// Appends entries (idempotently: the same entry twice is stored once).
    ///
    /// # Errors
    /// `Unavailable` (retryable; some entries may already be stored, a retry is harmless).
    fn record(&self, entries: &[AuditEntry])
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest `limit` entries about one person, newest first.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt` if an entry cannot be read.
    fn history(
        &self,
        email: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;

    /// The activity feed: the newest `limit` entries about anyone (system-wide ones
    /// included) at or after `since` and before `until`, newest first. Entries recorded before
    /// the store kept the feed index are not in it (they stay in [`AuditLog::history`]).
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt` if an entry cannot be read.
    fn recent(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;

    /// Deletes every entry about one person (an erasure request; `access-sync erase`);
    /// answers how many. Entries otherwise expire after the retention period.
    ///
    /// # Errors
    /// `Unavailable` (retryable; what was deleted stays deleted, a retry finishes the job).
    fn erase(&self, email: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
