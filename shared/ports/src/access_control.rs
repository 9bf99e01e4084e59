//! The Kisi port: what converge and reconcile need from the door-access system, in our terms.
//! Its adapter over the Kisi client is `access_sync_kisi::KisiAccess`; an in-memory one for
//! handler tests is `memory::MemoryKisi` (feature `testing`).
//!
//! The port is narrow on purpose: find or create a user by exact e-mail, grant one group with a
//! `valid_until`, revoke one assignment we own, and list a group's assignments completely (or
//! fail). There is no way to delete a user through it. A target that stands for a Kisi place
//! (`GroupId::place`, from `[[place]]`) means the same calls on place role assignments, which
//! Kisi keeps without a window (their `valid_until` is always `None`).

use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant};
use std::future::Future;

/// A role assignment in Kisi (user → group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Kisi's id of the assignment.
    pub id: u64,
    /// Kisi's id of the user.
    pub user: u64,
    /// The group.
    pub group: GroupId,
    /// When Kisi stops honouring it.
    pub valid_until: Option<Instant>,
}

/// How a grant came about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Granted {
    /// We created it.
    Created(Assignment),
    /// One with the same user, group and role existed (a retry after a lost answer, or one made
    /// by hand): converge decides whether it is ours from its intents.
    Adopted(Assignment),
    /// The user holds another role in the group (given by hand): never ours.
    OtherRole(Assignment),
}

impl Granted {
    /// The assignment.
    pub fn assignment(&self) -> &Assignment {
        match self {
            Granted::Created(a) | Granted::Adopted(a) | Granted::OtherRole(a) => a,
        }
    }
}

/// A failure talking to the access system.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Worth retrying later (outage, rate limit, timeout): nothing is lost, the trigger is
    /// retried.
    #[error("Kisi is unavailable: {0}")]
    Unavailable(String),
    /// A read came back incomplete: never to be read as "nobody has access".
    #[error("incomplete read from Kisi: {0}")]
    Incomplete(String),
    /// Kisi refused (validation, conflict with something we do not own).
    #[error("Kisi refused: {0}")]
    Refused(String),
    /// Kisi rejected the API key (HTTP 401): re-reading the key may help; retrying with the
    /// same key does not.
    #[error("{0}")]
    Unauthorized(String),
}

impl AccessError {
    /// Whether retrying the trigger later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            AccessError::Unavailable(_) | AccessError::Incomplete(_) => true,
            AccessError::Refused(_) | AccessError::Unauthorized(_) => false,
        }
    }

    /// Whether Kisi refused the API key (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, AccessError::Unauthorized(_))
    }
}

/// The door-access system, as converge sees it.
pub trait AccessControl: Send + Sync {
    /// The id of the user with exactly this e-mail, creating one (per the invite policy) if
    /// there is none.
    ///
    /// # Errors
    /// [`AccessError`].
    fn ensure_user(
        &self,
        email: &Email,
        name: Option<&str>,
        invite: NotifyPolicy,
    ) -> impl Future<Output = Result<u64, AccessError>> + Send;

    /// Grants `group` to `user` until `valid_until`, with Kisi's notification per `invite`.
    ///
    /// # Errors
    /// [`AccessError`].
    fn grant(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        invite: NotifyPolicy,
    ) -> impl Future<Output = Result<Granted, AccessError>> + Send;

    /// Deletes an assignment we own; one that is already gone is success.
    ///
    /// # Errors
    /// [`AccessError`].
    fn revoke(&self, assignment: u64) -> impl Future<Output = Result<(), AccessError>> + Send;

    /// The e-mail of a Kisi user (`None` if the user does not exist): to judge an assignment
    /// someone added by hand.
    ///
    /// # Errors
    /// [`AccessError`].
    fn user_email(
        &self,
        user: u64,
    ) -> impl Future<Output = Result<Option<Email>, AccessError>> + Send;

    /// Every user→group assignment of `group`, complete, or an error.
    ///
    /// # Errors
    /// [`AccessError::Incomplete`] when the listing could not be proven complete.
    fn group_assignments(
        &self,
        group: GroupId,
    ) -> impl Future<Output = Result<Vec<Assignment>, AccessError>> + Send;
}
