//! What access-sync knows about Kisi access besides the assignments it owns: the grants it is
//! about to make (intents), the assignments it found but did not make (held by hand), and the
//! people an operator removed from Kisi (exclusions).
//!
//! - An **intent** is written before every `POST /role_assignments`, naming the pair and the
//!   exact `valid_until` asked for. When Kisi later shows an assignment for that pair that we
//!   have no ownership record of (a 409 on a retried create, a dropped connection, a crash
//!   between Kisi's create and the ownership write), it is ours only if an intent with the same
//!   `valid_until` exists. Intents are forgotten once the ownership record is written.
//! - **Held by hand**: an assignment in a managed group that no intent of ours explains. It is
//!   never changed or deleted; converge grants ours only once it has disappeared.
//! - An **exclusion**: the Kisi user we used for an e-mail was deleted in Kisi by a person.
//!   access-sync neither re-creates the user nor grants it anything until an operator lifts
//!   the exclusion (`access-sync kisi include EMAIL`).

use crate::pair::Pair;
use crate::store::StoreError;
use access_sync_rules::Email;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// A grant access-sync is about to ask Kisi for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantIntent {
    /// Who and which group.
    pub pair: Pair,
    /// The exact `valid_until` asked for (every grant carries one: the lease).
    pub valid_until: DateTime<Utc>,
    /// When the intent was written.
    pub at: DateTime<Utc>,
}

/// A role assignment in a managed group that access-sync did not create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldByHand {
    /// Who and which group.
    pub pair: Pair,
    /// Kisi's id of the hand-made assignment.
    pub assignment_id: u64,
    /// Kisi's id of its user.
    pub user_id: u64,
    /// When access-sync first found it.
    pub since: DateTime<Utc>,
}

/// An e-mail whose Kisi user was deleted by a person: access-sync leaves it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The person.
    pub email: Email,
    /// The Kisi user id that was deleted.
    pub user_id: u64,
    /// When access-sync noticed.
    pub since: DateTime<Utc>,
}

/// The exclusions, for the operator's list.
pub trait ExclusionList {
    /// Every exclusion, oldest first, at most `limit`.
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn exclusions(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Exclusion>, StoreError>> + Send;
}
