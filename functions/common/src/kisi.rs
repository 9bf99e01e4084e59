//! The Kisi port for the functions: [`KisiAccess`] built from the API key in Secrets Manager.
//!
//! - The key is read on the first Kisi call, not at cold start: the event functions never
//!   call Kisi, so they never read the secret.
//! - When Kisi answers 401 (the key was rotated), the secret is read again once and the call
//!   retried with a new client; a second 401 is the answer.
//! - Every client of the process draws on one [`SlidingWindow::kisi`], so a key refresh does not
//!   reset the budget. With reserved concurrency 1 on `on_edge` this keeps the deployment
//!   under Kisi's 5 requests/s (see `access_sync_kisi`'s budget module).

use access_sync_engine::{AccessControl, AccessError, Assignment, Granted, KisiAccess};
use access_sync_kisi::{ApiKey, KisiClient, KisiConfig, RetryPolicy, SlidingWindow};
use access_sync_ports::SecretSource;
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::RwLock;

/// [`KisiAccess`] whose key comes from a [`SecretSource`] and is refreshed on 401.
pub struct RefreshingKisi<S> {
    secrets: S,
    secret_name: String,
    base_url: String,
    budget: Arc<SlidingWindow>,
    retry: RetryPolicy,
    current: RwLock<Option<Arc<KisiAccess>>>,
}

impl<S> std::fmt::Debug for RefreshingKisi<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingKisi")
            .field("secret_name", &self.secret_name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Whether Kisi refused the API key (HTTP 401).
pub fn is_unauthorized(e: &AccessError) -> bool {
    matches!(e, AccessError::Unauthorized(_))
}

impl<S: SecretSource + Send + Sync> RefreshingKisi<S> {
    /// Kisi at `base_url` with the key in secret `secret_name`.
    pub fn new(secrets: S, secret_name: impl Into<String>, base_url: impl Into<String>) -> Self {
        RefreshingKisi {
            secrets,
            secret_name: secret_name.into(),
            base_url: base_url.into(),
            budget: Arc::new(SlidingWindow::kisi()),
            retry: RetryPolicy::default(),
            current: RwLock::new(None),
        }
    }

    /// Tries each Kisi call at most `attempts` times within one invocation (default 6, over up
    /// to 30 s); what still fails is retried by the trigger (SQS redelivery, Scheduler).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.retry.max_attempts = attempts.max(1);
        self
    }

    /// The secret source (for tests).
    pub fn secrets(&self) -> &S {
        &self.secrets
    }

    async fn client(&self, refresh: bool) -> Result<Arc<KisiAccess>, AccessError> {
        if !refresh && let Some(k) = self.current.read().await.as_ref() {
            return Ok(k.clone());
        }
        let mut slot = self.current.write().await;
        if !refresh && let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let read = if refresh {
            self.secrets.refresh(&self.secret_name).await
        } else {
            self.secrets.secret(&self.secret_name).await
        };
        let key = read.map_err(|e| {
            let text = format!("Kisi API key: {e}");
            if e.is_retryable() {
                AccessError::Unavailable(text)
            } else {
                AccessError::Refused(text)
            }
        })?;
        let mut config = KisiConfig::new(&self.base_url, ApiKey::new(key.expose()));
        config.retry = self.retry.clone();
        let client = KisiClient::new(config)
            .map_err(|e| AccessError::Refused(e.to_string()))?
            .with_budget(self.budget.clone());
        let k = Arc::new(KisiAccess::new(client));
        *slot = Some(k.clone());
        Ok(k)
    }

    /// Runs `call` on the current client; on 401 re-reads the key once and runs it again.
    async fn with_refresh<T, F, Fut>(&self, call: F) -> Result<T, AccessError>
    where
        F: Fn(Arc<KisiAccess>) -> Fut,
        Fut: Future<Output = Result<T, AccessError>>,
    {
        match call(self.client(false).await?).await {
            Err(e) if is_unauthorized(&e) => {
                tracing::warn!(secret = %self.secret_name, "Kisi refused the API key: reading it again");
                call(self.client(true).await?).await
            }
            r => r,
        }
    }
}

impl<S: SecretSource + Send + Sync> AccessControl for RefreshingKisi<S> {
    async fn ensure_user(
        &self,
        email: &Email,
        name: Option<&str>,
        invite: NotifyPolicy,
    ) -> Result<u64, AccessError> {
        self.with_refresh(|k| async move { k.ensure_user(email, name, invite).await })
            .await
    }

    async fn grant(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        invite: NotifyPolicy,
    ) -> Result<Granted, AccessError> {
        self.with_refresh(|k| async move { k.grant(user, group, valid_until, invite).await })
            .await
    }

    async fn revoke(&self, assignment: u64) -> Result<(), AccessError> {
        self.with_refresh(|k| async move { k.revoke(assignment).await })
            .await
    }

    async fn user_email(&self, user: u64) -> Result<Option<Email>, AccessError> {
        self.with_refresh(|k| async move { k.user_email(user).await })
            .await
    }

    async fn group_assignments(&self, group: GroupId) -> Result<Vec<Assignment>, AccessError> {
        self.with_refresh(|k| async move { k.group_assignments(group).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_ports::memory::MemorySecrets;

    #[tokio::test]
    async fn a_rotated_key_is_read_again_after_a_401_and_the_call_succeeds() {
        let sim = kisi_sim::spawn(kisi_sim::SimConfig::with_key("new-key"))
            .await
            .unwrap();
        let group = GroupId::new(sim.seed_group("Front door", None) as i64).unwrap();
        let secrets = MemorySecrets::default();
        secrets.set("kisi", "old-key");
        let kisi = RefreshingKisi::new(secrets, "kisi", sim.base_url.clone());

        // The stored key is wrong and re-reading it gives the same one: Kisi's answer stands.
        let err = kisi.group_assignments(group).await.unwrap_err();
        assert!(is_unauthorized(&err), "{err}");
        assert!(!format!("{err} {kisi:?}").contains("old-key"));

        // The operator rotates the secret; the cached client gets a 401 and is rebuilt.
        kisi.secrets().set("kisi", "new-key");
        assert_eq!(kisi.group_assignments(group).await.unwrap(), vec![]);
        assert_eq!(kisi.group_assignments(group).await.unwrap(), vec![]);
    }

    #[tokio::test]
    async fn a_missing_secret_is_a_refusal_not_a_retry() {
        let kisi = RefreshingKisi::new(MemorySecrets::default(), "nope", "http://127.0.0.1:9");
        let err = kisi.revoke(1).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
    }
}
