//! The Kisi adapter of the [`AccessControl`] port: [`KisiAccess`] over a [`KisiClient`],
//! translating our terms (e-mails, group ids, the notify policy) into Kisi's and Kisi's errors
//! into [`AccessError`].
//!
//! A target that stands for a place ([`GroupId::place`], from `[[place]]`) becomes a place
//! role assignment ([`KisiClient::grant_place`], [`KisiClient::list_place_assignments`]):
//! Kisi keeps no window on those, so its [`Assignment::valid_until`] is always `None`.
//!
//! As deployed, the client reads its API key from a secret store ([`crate::SecretKey`]) on the
//! first Kisi call, and again once when Kisi answers 401 (see [`KisiClient::with_key_source`]).

use crate::{
    Grant, GrantOutcome, InvitePolicy, KisiClient, KisiError, NewUser, PlaceId,
    PlaceRoleAssignment, RevokeOutcome, RoleAssignmentId, UserId,
};
use access_sync_ports::{AccessControl, AccessError, Assignment, Granted};
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant};

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

fn assignment(a: &crate::RoleAssignment) -> Option<Assignment> {
    Some(Assignment {
        id: a.id.0,
        user: a.user.0,
        group: GroupId::group(i64::try_from(a.group.0).ok()?)?,
        valid_until: a.valid_until,
    })
}

fn place_assignment(a: &PlaceRoleAssignment) -> Option<Assignment> {
    Some(Assignment {
        id: a.id.0,
        user: a.user.0,
        group: GroupId::place(a.place.0)?,
        valid_until: None,
    })
}

fn granted<A>(out: GrantOutcome<A>, read: impl Fn(&A) -> Option<Assignment>) -> Option<Granted> {
    Some(match out {
        GrantOutcome::Created(a) => Granted::Created(read(&a)?),
        GrantOutcome::Adopted(a) => Granted::Adopted(read(&a)?),
        GrantOutcome::OtherRole(a) => Granted::OtherRole(read(&a)?),
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
        if let Some(place) = group.as_place() {
            // A place role has no window in Kisi: `valid_until` is not sent.
            let out = self
                .client
                .grant_place(UserId(user), PlaceId(place))
                .await
                .map_err(error)?;
            return granted(out, place_assignment)
                .ok_or_else(|| AccessError::Refused("Kisi answered with a bad place id".into()));
        }
        let g = Grant {
            user: UserId(user),
            group: crate::GroupId(group.get()),
            valid_from: None,
            valid_until,
            invite: invite(policy),
        };
        let out = self.client.grant(&g).await.map_err(error)?;
        granted(out, assignment)
            .ok_or_else(|| AccessError::Refused("Kisi answered with a bad group id".into()))
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
        if let Some(place) = group.as_place() {
            let list = self
                .client
                .list_place_assignments(PlaceId(place))
                .await
                .map_err(error)?;
            return Ok(list.iter().filter_map(place_assignment).collect());
        }
        let list = self
            .client
            .list_group_assignments(crate::GroupId(group.get()))
            .await
            .map_err(error)?;
        Ok(list.iter().filter_map(assignment).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KisiConfig, SecretKey};
    use access_sync_ports::memory::MemorySecrets;
    use std::sync::Arc;

    /// The adapter as deployed: the key read from secret `name`.
    fn from_secret(secrets: Arc<MemorySecrets>, name: &str, base_url: &str) -> KisiAccess {
        let config = KisiConfig::new(base_url, crate::ApiKey::new(""));
        let client = KisiClient::with_key_source(config, SecretKey::new(secrets, name)).unwrap();
        KisiAccess::new(client)
    }

    #[tokio::test]
    async fn a_rotated_key_is_read_again_after_a_401_and_the_call_succeeds() {
        let sim = kisi_sim::spawn(kisi_sim::SimConfig::with_key("new-key"))
            .await
            .unwrap();
        let group = GroupId::new(sim.seed_group("Front door", None) as i64).unwrap();
        let secrets = Arc::new(MemorySecrets::default());
        secrets.set("kisi", "old-key");
        let kisi = from_secret(secrets.clone(), "kisi", &sim.base_url);

        // The stored key is wrong and re-reading it gives the same one: Kisi's answer stands.
        let err = kisi.group_assignments(group).await.unwrap_err();
        assert!(err.is_unauthorized(), "{err}");
        assert!(!format!("{err} {kisi:?}").contains("old-key"));

        // The operator rotates the secret; the cached key gets a 401 and is read again.
        secrets.set("kisi", "new-key");
        assert_eq!(kisi.group_assignments(group).await.unwrap(), vec![]);
        assert_eq!(kisi.group_assignments(group).await.unwrap(), vec![]);
    }

    #[tokio::test]
    async fn a_missing_secret_is_a_refusal_not_a_retry() {
        let kisi = from_secret(Arc::default(), "nope", "http://127.0.0.1:9");
        let err = kisi.revoke(1).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
    }
}
