//! What the safety net keeps beside ownership: which pairs should be open (so reconcile repairs
//! a grant that was lost on the way), and the one brake (its budget and the revokes it holds).
//!
//! Per person, next to each other so converge reads them in one round trip
//! ([`SafetyStore::notes`]):
//! - **wanted** — the repair index: the pair should be open from `from` until `until`
//!   (written by converge whenever its answer changes);
//! - **dirty** — an event changed facts that can change the pair and no converge has seen it
//!   since (written by event handling after the facts are saved, cleared by converge);
//! - **holds** — a revoke or shortening the brake held back, or one the operator discarded.
//!
//! Reconcile walks the wanted and dirty entries shard by shard (no scan) and the holds as one
//! list. The budget is one record every process updates with a version check.

use crate::pair::Pair;
use crate::store::{StoreError, Version, Versioned};
use access_sync_rules::Instant;
pub use access_sync_rules::brake::{Budget, Reduction, Wanted};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// An event changed facts that can change `pair` at `at`; `mark` identifies the write so
/// converge clears only what it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirty {
    /// Which pair.
    pub pair: Pair,
    /// When the event was handled.
    pub at: Instant,
    /// The event's delivery id.
    pub mark: String,
}

/// A revoke or shortening the brake holds back, or one the operator discarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Which pair.
    pub pair: Pair,
    /// When it was first held.
    pub at: Instant,
    /// What was held (the latest decision).
    pub reduction: Reduction,
    /// What asked for it (`event`, `edge`, `reconcile`, `mapping`).
    pub trigger: String,
    /// Set when the operator discarded it: the access stays as it is while the facts and the
    /// mapping keep this fingerprint.
    pub discarded: Option<Discarded>,
}

/// The operator's discard of a held revoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discarded {
    /// When.
    pub at: Instant,
    /// `access_sync_rules::brake::fingerprint` of the person's facts and the mapping then.
    pub fingerprint: String,
}

/// Everything the safety net keeps about one person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    /// Repair-index entries, by pair.
    pub wanted: Vec<(Pair, Wanted)>,
    /// Dirty marks.
    pub dirty: Vec<Dirty>,
    /// Holds.
    pub holds: Vec<Hold>,
}

/// One change to a person's notes.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteChange {
    /// Write the repair-index entry of a pair.
    Want(Pair, Wanted),
    /// Remove it (the pair should not be open now or later).
    Unwant(Pair),
    /// Remove a dirty mark, if it is still the one read (a newer mark stays).
    Clean(Dirty),
    /// Write a hold.
    Hold(Hold),
    /// Remove a hold.
    Release(Pair),
}

/// One page of a walk.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyPage<T> {
    /// Items in pair order.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` when done.
    pub next: Option<String>,
}

/// Store of the repair index, dirty marks, holds and the brake's budget.
pub trait SafetyStore {
    /// A person's wanted entries, dirty marks and holds, in one round trip (strongly
    /// consistent).
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn notes(&self, email: &str) -> impl Future<Output = Result<Notes, StoreError>> + Send;

    /// Writes dirty marks (unconditionally; a newer mark replaces an older one).
    ///
    /// # Errors
    /// `Unavailable` (some marks may be written; writing again is harmless).
    fn mark_dirty(&self, marks: &[Dirty]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies changes to notes. A `Clean` whose mark was replaced meanwhile leaves the newer
    /// mark in place (not an error). Not atomic across changes; each is safe to repeat.
    ///
    /// # Errors
    /// `Unavailable`.
    fn apply_notes(
        &self,
        changes: &[NoteChange],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One page of the repair index of one shard (`0..OWNERSHIP_SHARDS`), without a scan.
    ///
    /// # Errors
    /// `Invalid` for a shard out of range or a foreign cursor; `Unavailable`; `Corrupt`.
    fn wanted_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<SafetyPage<(Pair, Wanted)>, StoreError>> + Send;

    /// One page of the dirty marks of one shard.
    ///
    /// # Errors
    /// As [`SafetyStore::wanted_page`].
    fn dirty_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<SafetyPage<Dirty>, StoreError>> + Send;

    /// One page of every hold (held or discarded).
    ///
    /// # Errors
    /// `Invalid` for a foreign cursor; `Unavailable`; `Corrupt`.
    fn holds_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<SafetyPage<Hold>, StoreError>> + Send;

    /// The brake's budget and its version (`None` before the first write).
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn budget(&self) -> impl Future<Output = Result<Option<Versioned<Budget>>, StoreError>> + Send;

    /// Writes the budget if it is still at `expected` (`None`: must not exist yet).
    ///
    /// # Errors
    /// `VersionMismatch` (another process took from it: read again); `Unavailable`.
    fn save_budget(
        &self,
        budget: &Budget,
        expected: Option<Version>,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;
}
