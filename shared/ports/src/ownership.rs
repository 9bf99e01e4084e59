//! Which Kisi role assignments access-sync created, per (e-mail, group).
//!
//! A group membership in Kisi that we did not create (staff, manual grants) is never touched;
//! this record is how converge tells ours from theirs, and how reconcile finds every pair it
//! manages without scanning Kisi or the whole table.

use crate::audit::AuditEntry;
use crate::claims::{Exclusion, GrantIntent, HeldByHand};
use crate::pair::Pair;
use crate::store::{StoreError, Version, Versioned};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;

/// How many shards the reconcile walk is split into (see [`OwnershipStore::owned_page`]).
/// Changing it re-homes every record; it is part of the table design.
pub const OWNERSHIP_SHARDS: u16 = 16;

/// The shard of a pair: the first two bytes of sha256(`email#group`) modulo
/// [`OWNERSHIP_SHARDS`], so pairs spread evenly and each shard can be walked on its own.
pub fn shard_of(pair: &Pair) -> u16 {
    let digest = Sha256::digest(crate::pair::pair_key(pair).as_bytes());
    u16::from_be_bytes([digest[0], digest[1]]) % OWNERSHIP_SHARDS
}

/// A Kisi role assignment access-sync created for one (e-mail, group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// Who and which group.
    pub pair: Pair,
    /// Kisi's id of the role assignment we created.
    pub assignment_id: u64,
    /// Kisi's id of the user the assignment belongs to.
    pub user_id: u64,
    /// The `valid_until` we set on the assignment, if any.
    pub valid_until: Option<DateTime<Utc>>,
}

/// One change to ownership records, applied with others atomically.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnershipChange {
    /// Remember the Kisi user id of a person (so later grants need no look-up). Unconditional:
    /// the same id twice is the same record.
    RememberUser {
        /// Normalised e-mail.
        email: String,
        /// Kisi's user id.
        user_id: u64,
    },
    /// We created an assignment: the record must not exist yet.
    Create(Ownership),
    /// We changed it (e.g. a new `valid_until`): the record must still be at `expected`.
    Update {
        /// The new state.
        ownership: Ownership,
        /// The version that was read.
        expected: Version,
    },
    /// We removed the assignment: the record must still be at `expected`.
    Delete {
        /// Which pair.
        pair: Pair,
        /// The version that was read.
        expected: Version,
    },
    /// We are about to ask Kisi for this grant (written before the call). Unconditional.
    Intend(GrantIntent),
    /// The intent is settled (the ownership record is written, or nothing came of it).
    /// Unconditional; forgetting one that is gone is no error.
    ForgetIntent(GrantIntent),
    /// A hand-made assignment was found for the pair: leave it alone. Unconditional.
    HoldByHand(HeldByHand),
    /// The hand-made assignment is gone (ours replaces it). Unconditional.
    ReleaseByHand {
        /// Which pair.
        pair: Pair,
    },
    /// The person's Kisi user was deleted by a person: record the exclusion. Unconditional.
    Exclude(Exclusion),
    /// An operator lifted the exclusion: forget it and the remembered (deleted) Kisi user, so
    /// the next converge finds or creates the user afresh. Unconditional.
    Include {
        /// Normalised e-mail.
        email: String,
    },
}

/// One page of the reconcile walk over one shard.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnershipPage {
    /// Records in (e-mail, group) order.
    pub items: Vec<Versioned<Ownership>>,
    /// Pass back to get the next page; `None` when the shard is done.
    pub next: Option<String>,
}

/// Everything we hold about one person in Kisi.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnerView {
    /// The assignments we own, one per group.
    pub owned: Vec<Versioned<Ownership>>,
    /// The person's Kisi user id, once known.
    pub kisi_user: Option<u64>,
    /// Grants asked of Kisi and not yet settled (see [`crate::claims`]).
    pub intents: Vec<GrantIntent>,
    /// Hand-made assignments of this person in managed groups, left alone.
    pub by_hand: Vec<HeldByHand>,
    /// Set when an operator removed the person's Kisi user.
    pub excluded: Option<Exclusion>,
}

/// Store of the Kisi assignments we own.
pub trait OwnershipStore: Send + Sync {
    /// The person's owned assignments and remembered Kisi user, in one round trip.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn owner_view(&self, email: &str)
    -> impl Future<Output = Result<OwnerView, StoreError>> + Send;

    /// Every ownership record of one person (all groups), in one round trip.
    ///
    /// # Errors
    /// `Unavailable` (retryable); `Corrupt` if a stored record cannot be read.
    fn owned_for_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Vec<Versioned<Ownership>>, StoreError>> + Send;

    /// Applies `changes` and appends `audit` entries, all or nothing, in one round trip.
    ///
    /// # Errors
    /// `VersionMismatch` naming the first record whose condition failed (a `Create` that
    /// found a record, an `Update`/`Delete` whose version moved or whose record vanished):
    /// nothing was written, re-read and decide again. `Invalid` if the batch is too large for
    /// one transaction (more than 100 items together with the audit entries). `Unavailable`.
    fn apply_ownership(
        &self,
        changes: &[OwnershipChange],
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One page of every managed pair of one shard (`0..OWNERSHIP_SHARDS`), without a scan.
    /// `cursor` is the `next` of the previous page (`None` to start).
    ///
    /// # Errors
    /// `Invalid` for a shard out of range or a cursor this store did not produce;
    /// `Unavailable`; `Corrupt`.
    fn owned_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<OwnershipPage, StoreError>> + Send;
}
