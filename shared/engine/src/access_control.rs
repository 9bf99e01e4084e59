//! The Kisi port: what converge and reconcile need from the door-access system, in our terms,
//! and its adapter over [`access_sync_kisi::KisiClient`].
//!
//! The port is narrow on purpose: find or create a user by exact e-mail, grant one group with a
//! `valid_until`, revoke one assignment we own, and list a group's assignments completely (or
//! fail). There is no way to delete a user through it.

use access_sync_kisi::{
    Grant, GrantOutcome, InvitePolicy, KisiClient, KisiError, NewUser, RevokeOutcome,
    RoleAssignmentId, UserId,
};
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
    /// One with the same user, group and role existed (a retry after a crash, or a hand-made
    /// one for someone the rules do grant): we take it over.
    Adopted(Assignment),
}

impl Granted {
    /// The assignment.
    pub fn assignment(&self) -> &Assignment {
        match self {
            Granted::Created(a) | Granted::Adopted(a) => a,
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
}

/// The door-access system, as converge sees it.
pub trait AccessControl {
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

/// The Kisi adapter.
#[derive(Debug)]
pub struct KisiAccess {
    client: KisiClient,
}

impl KisiAccess {
    /// Wraps a configured client.
    pub fn new(client: KisiClient) -> Self {
        KisiAccess { client }
    }

    /// The client (for call statistics).
    pub fn client(&self) -> &KisiClient {
        &self.client
    }
}

fn invite(p: NotifyPolicy) -> InvitePolicy {
    match p {
        NotifyPolicy::KisiDefault => InvitePolicy::KisiDefault,
        NotifyPolicy::Always => InvitePolicy::Always,
        NotifyPolicy::Never => InvitePolicy::Never,
    }
}

fn error(e: KisiError) -> AccessError {
    match e {
        KisiError::IncompleteRead { .. } => AccessError::Incomplete(e.to_string()),
        KisiError::Unauthorized => AccessError::Unauthorized(e.to_string()),
        e if e.is_transient() => AccessError::Unavailable(e.to_string()),
        e => AccessError::Refused(e.to_string()),
    }
}

fn assignment(a: &access_sync_kisi::RoleAssignment) -> Option<Assignment> {
    Some(Assignment {
        id: a.id.0,
        user: a.user.0,
        group: GroupId::new(i64::try_from(a.group.0).ok()?)?,
        valid_until: a.valid_until,
    })
}

impl AccessControl for KisiAccess {
    async fn ensure_user(
        &self,
        email: &Email,
        name: Option<&str>,
        policy: NotifyPolicy,
    ) -> Result<u64, AccessError> {
        let new = NewUser {
            email: email.as_str().to_string(),
            name: name.map(str::to_string),
        };
        let u = self
            .client
            .ensure_user(&new, invite(policy))
            .await
            .map_err(error)?;
        Ok(u.user.id.0)
    }

    async fn grant(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        policy: NotifyPolicy,
    ) -> Result<Granted, AccessError> {
        let g = Grant {
            user: UserId(user),
            group: access_sync_kisi::GroupId(group.get()),
            valid_from: None,
            valid_until,
            invite: invite(policy),
        };
        let out = self.client.grant(&g).await.map_err(error)?;
        let a = assignment(out.assignment())
            .ok_or_else(|| AccessError::Refused("Kisi answered with a bad group id".into()))?;
        Ok(match out {
            GrantOutcome::Created(_) => Granted::Created(a),
            GrantOutcome::Adopted(_) => Granted::Adopted(a),
        })
    }

    async fn revoke(&self, id: u64) -> Result<(), AccessError> {
        match self
            .client
            .revoke(RoleAssignmentId(id))
            .await
            .map_err(error)?
        {
            RevokeOutcome::Deleted | RevokeOutcome::AlreadyGone => Ok(()),
        }
    }

    async fn user_email(&self, user: u64) -> Result<Option<Email>, AccessError> {
        match self.client.get_user(UserId(user)).await {
            Ok(u) => Ok(Email::parse(&u.email)),
            Err(KisiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(error(e)),
        }
    }

    async fn group_assignments(&self, group: GroupId) -> Result<Vec<Assignment>, AccessError> {
        let list = self
            .client
            .list_group_assignments(access_sync_kisi::GroupId(group.get()))
            .await
            .map_err(error)?;
        Ok(list.iter().filter_map(assignment).collect())
    }
}
