//! The platforms' webhook secrets, one Secrets Manager secret per platform (never in
//! environment variables or logs): `WEBHOOK_SECRET_OFFICERND`, `WEBHOOK_SECRET_OPTIX`,
//! `WEBHOOK_SECRET_NEXUDUS` and `WEBHOOK_SECRET_TEAMUP` hold the secrets' *names* (the CDK app
//! creates them empty). A platform whose variable is unset, or whose secret is still empty,
//! has no route (404).

use access_sync_platforms::Platform;
use access_sync_ports::{SecretError, SecretSource, SecretValue};
use std::collections::BTreeMap;
use std::future::Future;

/// Where ingest finds a platform's secret.
pub trait WebhookSecrets: Send + Sync {
    /// The platform's secret; `Ok(None)` when the platform is not configured.
    ///
    /// # Errors
    /// The secret store could not be read (answer 503: the platform retries).
    fn secret(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<SecretValue>, String>> + Send;
}

/// The variable naming a platform's secret: `WEBHOOK_SECRET_<PLATFORM>`.
pub fn secret_variable(platform: Platform) -> String {
    format!("WEBHOOK_SECRET_{}", platform.as_str().to_ascii_uppercase())
}

/// The secret names from `WEBHOOK_SECRET_<PLATFORM>` through `get`.
pub fn secret_names(get: impl Fn(&str) -> Option<String>) -> BTreeMap<Platform, String> {
    Platform::ALL
        .iter()
        .filter_map(|p| get(&secret_variable(*p)).map(|n| (*p, n)))
        .collect()
}

/// The secrets in Secrets Manager, by name (see the module docs).
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

impl<S: SecretSource + Send + Sync> WebhookSecrets for StoredWebhookSecrets<S> {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, String> {
        let Some(name) = self.names.get(&platform) else {
            return Ok(None);
        };
        match self.source.secret(name).await {
            Ok(v) if v.expose().trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(SecretError::Empty(_)) => Ok(None),
            Err(e) => Err(format!("webhook secret of {}: {e}", platform.as_str())),
        }
    }
}

/// Fixed secrets (tests, local runs).
#[derive(Debug, Default, Clone)]
pub struct FixedWebhookSecrets(pub BTreeMap<Platform, String>);

impl WebhookSecrets for FixedWebhookSecrets {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, String> {
        Ok(self.0.get(&platform).map(SecretValue::new))
    }
}
