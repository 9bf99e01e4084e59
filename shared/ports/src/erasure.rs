//! Erasing one person's stored facts on request (`access-sync erase EMAIL`).
//!
//! The audit entries go through [`crate::AuditLog::erase`]; this port removes the rest of
//! what names the address: the member records with that address, the copies filed under it,
//! the carried copies of those member records inside team and entitlement records, and the
//! remembered Kisi user id. It never touches ownership of a live Kisi assignment (the engine
//! revokes those first, through converge) and never a Kisi user.

use crate::store::StoreError;
use access_sync_rules::{Email, MemberId};
use std::future::Future;

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Audit entries deleted.
    pub audit_entries: usize,
    /// Member records deleted.
    pub member_records: usize,
    /// Items of the person's own partitions deleted (copies of facts, the remembered Kisi user).
    pub items: usize,
    /// Team and entitlement records rewritten without the person's member record.
    pub rewritten: usize,
}

/// Removal of one person's stored facts (see the module docs).
pub trait PersonalData {
    /// Deletes the records of `members` (the members whose address is `email`), the copies
    /// filed under `email`, the member records carried inside their teams' and entitlements'
    /// records, and the remembered Kisi user of `email`. Ownership of Kisi assignments is
    /// kept (the caller makes sure there is none). Entitlements naming `email` as a guest
    /// keep it: they belong to their holder.
    ///
    /// # Errors
    /// `Unavailable` (retryable: running it again finishes the job); `VersionMismatch` when a
    /// record kept changing under it.
    fn erase_facts(
        &self,
        email: &Email,
        members: &[MemberId],
    ) -> impl Future<Output = Result<Erased, StoreError>> + Send;
}
