//! The audit log for the operator: the grant / revoke / replace history with causes.
//!
//! Entries are keyed by e-mail in the store (`AUDIT#<email>`, newest first), so one person's
//! history is one query; system-wide entries (a brake, an event held for a member not yet
//! described) are under `AUDIT#*`. Filters by instant and group apply to what was read.

use crate::kisi::KisiLookup;
use crate::{DeadLetters, Operator, OperatorError};
use access_sync_engine::Store;
use access_sync_ports::{
    AccessControl, AuditEntry, EdgeScheduler, ExclusionList, RunLog, SyncStateStore,
};
use access_sync_rules::{Email, GroupId, Instant};

/// The most entries one query returns.
pub const MAX_LIMIT: u32 = 1000;

/// Which entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// One person's entries; `None`: the system-wide entries (brake, held events).
    pub email: Option<Email>,
    /// Only entries at or after this instant.
    pub since: Option<Instant>,
    /// Only entries about this group.
    pub group: Option<GroupId>,
    /// At most this many (capped at [`MAX_LIMIT`]; 0 means 100).
    pub limit: u32,
}

impl AuditQuery {
    /// Whether `e` passes the instant and group filters.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.since.is_none_or(|s| e.at >= s)
            && self
                .group
                .is_none_or(|g| e.pair.as_ref().is_some_and(|p| p.group == g))
    }

    fn limit(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(MAX_LIMIT),
        }
    }
}

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// The entries the query asks for, newest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, OperatorError> {
        let key = q.email.as_ref().map_or("*", |e| e.as_str());
        // The filters apply after the read: read the most a query may return, then cut.
        let read = if q.since.is_none() && q.group.is_none() {
            q.limit()
        } else {
            MAX_LIMIT
        };
        let entries = self.engine().store().history(key, read).await?;
        Ok(entries
            .into_iter()
            .filter(|e| q.matches(e))
            .take(q.limit() as usize)
            .collect())
    }
}
