//! The platforms' webhook secrets: what `ingest` checks a platform's signature with.
//!
//! As deployed it is [`StoredWebhookSecrets`]: one secret per platform in a [`SecretSource`]
//! (Secrets Manager), by name; never in environment variables or logs. A platform with no
//! name configured, or whose secret is still empty, has no secret (`ingest` answers 404). For
//! tests, `memory::FixedWebhookSecrets` (feature `testing`).

use crate::secrets::{SecretError, SecretSource, SecretValue};
use access_sync_platforms::Platform;
use std::collections::BTreeMap;
use std::future::Future;

/// Why a platform's secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSecretError {
    /// The secret store could not be read (`ingest` answers 503: the platform retries).
    #[error("webhook secret of {}: {source}", .platform.as_str())]
    Unreadable {
        /// Whose secret.
        platform: Platform,
        /// What the secret store said.
        source: SecretError,
    },
}

/// Where `ingest` finds a platform's secret.
pub trait WebhookSecrets: Send + Sync {
    /// The platform's secret; `Ok(None)` when the platform is not configured.
    ///
    /// # Errors
    /// [`WebhookSecretError::Unreadable`]: the secret store could not be read.
    fn secret(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<SecretValue>, WebhookSecretError>> + Send;
}

/// The secrets in a [`SecretSource`], by name (see the module docs).
pub struct StoredWebhookSecrets<S> {
    source: S,
    names: BTreeMap<Platform, String>,
}

impl<S> StoredWebhookSecrets<S> {
    /// Secrets from `source`, the secret of each configured platform by name.
    pub fn new(source: S, names: BTreeMap<Platform, String>) -> Self {
        StoredWebhookSecrets { source, names }
    }
}

impl<S: SecretSource> WebhookSecrets for StoredWebhookSecrets<S> {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, WebhookSecretError> {
        let Some(name) = self.names.get(&platform) else {
            return Ok(None);
        };
        match self.source.secret(name).await {
            Ok(v) if v.expose().trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(SecretError::Empty(_)) => Ok(None),
            Err(source) => Err(WebhookSecretError::Unreadable { platform, source }),
        }
    }
}
