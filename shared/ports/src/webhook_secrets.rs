//! The platforms' webhook secrets: what `ingest` checks a platform's signature with.
//!
//! As deployed it is [`StoredWebhookSecrets`]: one secret per platform in a [`SecretSource`]
//! (Secrets Manager), by name; never in environment variables or logs. A platform with no
//! name configured, or whose secret is still empty, has no secret (`ingest` answers 404). The
//! canonical route's secret (`POST /`, `/events`) is kept the same way, by its own name. For
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
    /// The canonical route's secret could not be read (`ingest` answers 503).
    #[error("webhook secret of the canonical route: {source}")]
    CanonicalUnreadable {
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

    /// Offers a platform's replacement API token that a verified webhook carried (see
    /// [`crate::ApiTokens`]); `Ok(false)` when this store keeps no API tokens (the default:
    /// `ingest` then logs that the token must be set by hand).
    ///
    /// # Errors
    /// [`WebhookSecretError::Unreadable`]: the store could not be written.
    fn offer_api_token(
        &self,
        platform: Platform,
        token: SecretValue,
    ) -> impl Future<Output = Result<bool, WebhookSecretError>> + Send {
        let _ = (platform, token);
        async { Ok(false) }
    }

    /// The canonical route's secret; `Ok(None)` when the route is not configured.
    ///
    /// # Errors
    /// [`WebhookSecretError::CanonicalUnreadable`]: the secret store could not be read.
    fn canonical(
        &self,
    ) -> impl Future<Output = Result<Option<SecretValue>, WebhookSecretError>> + Send;
}

/// The secrets in a [`SecretSource`], by name (see the module docs).
pub struct StoredWebhookSecrets<S> {
    source: S,
    names: BTreeMap<Platform, String>,
    canonical: Option<String>,
}

impl<S> StoredWebhookSecrets<S> {
    /// Secrets from `source`, the secret of each configured platform by name.
    pub fn new(source: S, names: BTreeMap<Platform, String>) -> Self {
        StoredWebhookSecrets {
            source,
            names,
            canonical: None,
        }
    }

    /// The canonical route's secret, by name (`WEBHOOK_SECRET_CANONICAL`).
    pub fn with_canonical(mut self, name: Option<String>) -> Self {
        self.canonical = name;
        self
    }
}

impl<S: SecretSource> StoredWebhookSecrets<S> {
    /// The secret called `name`: `None` when there is no name, or the secret is empty.
    async fn read(&self, name: Option<&String>) -> Result<Option<SecretValue>, SecretError> {
        let Some(name) = name else {
            return Ok(None);
        };
        match self.source.secret(name).await {
            Ok(v) if v.expose().trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(SecretError::Empty(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<S: SecretSource> WebhookSecrets for StoredWebhookSecrets<S> {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.read(self.names.get(&platform))
            .await
            .map_err(|source| WebhookSecretError::Unreadable { platform, source })
    }

    async fn canonical(&self) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.read(self.canonical.as_ref())
            .await
            .map_err(|source| WebhookSecretError::CanonicalUnreadable { source })
    }
}
