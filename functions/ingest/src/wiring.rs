//! What `ingest` builds once at cold start: the bus, the webhook secrets, the clock, and
//! read-only access to the table.
//!
//! The platforms' webhook secrets: one Secrets Manager secret per platform (never in
//! environment variables or logs). `WEBHOOK_SECRET_OFFICERND`, `WEBHOOK_SECRET_OPTIX`,
//! `WEBHOOK_SECRET_NEXUDUS` and `WEBHOOK_SECRET_TEAMUP` hold the secrets' *names* (the CDK app
//! creates them empty); [`StoredWebhookSecrets`] reads them. A platform whose variable is unset,
//! or whose secret is still empty, has no route (404). The canonical route's secret likewise,
//! named by `WEBHOOK_SECRET_CANONICAL`. The bounds and the replay ledger: [`crate::trust`].

use crate::trust::{CANONICAL_SECRET_VARIABLE, Door, TrustSettings};
use access_sync_aws::SecretsManagerApiTokens;
use access_sync_aws::{
    DynamoStore, EventBridgePublisher, SdkConfig, SecretsManagerSource, load_sdk_config,
};
use access_sync_platforms::Platform;
use access_sync_ports::{
    ApiTokens, FactsDirectory, SecretValue, StoredWebhookSecrets, WebhookSecretError,
    WebhookSecrets,
};
use access_sync_runtime::Clock;
use access_sync_runtime::config::{ConfigError, event_bus_from_env};
use access_sync_runtime::redact::ScrubbedSecrets;
use access_sync_runtime::wiring::publisher;
use std::collections::BTreeMap;

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

/// What `ingest` holds: the bus, the webhook secrets, the clock, and read-only access to the
/// table (members and teams, for the platforms' normalisers). No Kisi, no writes.
pub struct IngestApp {
    /// The EventBridge publisher (`EVENT_BUS_NAME`).
    pub events: EventBridgePublisher,
    /// The platforms' secrets (`WEBHOOK_SECRET_<PLATFORM>`: Secrets Manager names).
    /// Each value is registered with the log scrubber when read.
    pub secrets: IngestSecrets,
    /// Where `now` comes from (`ACCESS_SYNC_CLOCK_URL`, for signature windows).
    pub clock: Clock,
    /// Reads of members and teams for the platforms' normalisers (`TABLE_NAME`; read-only).
    pub directory: FactsDirectory<DynamoStore>,
    /// The replay ledger (`REPLAY#` items of `TABLE_NAME`, written with `PutItem` only) and
    /// the bounds.
    pub door: Door<DynamoStore>,
}

impl IngestApp {
    /// Builds ingest's clients from the environment.
    ///
    /// # Errors
    /// `TABLE_NAME` missing, a bad `ACCESS_SYNC_CLOCK_URL`, bad limits (`MAX_*`, `REPLAY_DAYS`).
    pub async fn from_env() -> Result<IngestApp, ConfigError> {
        let sdk = load_sdk_config().await;
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let table = var("TABLE_NAME").ok_or_else(|| {
            ConfigError(vec![
                "TABLE_NAME is not set (ingest reads members and teams)".into(),
            ])
        })?;
        let trust = TrustSettings::from_lookup(var).map_err(|problems| {
            tracing::error!(?problems, "bad configuration");
            ConfigError(problems)
        })?;
        IngestApp::new(
            &sdk,
            IngestSettings {
                bus: event_bus_from_env(),
                table,
                webhook_secrets: secret_names(var),
                canonical_secret: var(CANONICAL_SECRET_VARIABLE),
                clock_url: var("ACCESS_SYNC_CLOCK_URL"),
                trust,
                api_token_secrets: api_token_secrets(var),
            },
        )
    }

    /// Builds ingest's clients.
    ///
    /// # Errors
    /// A bad clock URL.
    pub fn new(sdk: &SdkConfig, s: IngestSettings) -> Result<IngestApp, ConfigError> {
        let clock = Clock::new(s.clock_url.as_deref()).map_err(|e| ConfigError(vec![e]))?;
        let source = SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(sdk));
        let platforms: Vec<&str> = s.webhook_secrets.keys().map(|p| p.as_str()).collect();
        tracing::info!(
            ?platforms,
            canonical = s.canonical_secret.is_some(),
            "webhook routes"
        );
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &s.table);
        Ok(IngestApp {
            events: publisher(sdk, s.bus),
            secrets: IngestSecrets {
                webhooks: StoredWebhookSecrets::new(ScrubbedSecrets(source), s.webhook_secrets)
                    .with_canonical(s.canonical_secret),
                tokens: s.api_token_secrets.map(|names| {
                    SecretsManagerApiTokens::new(aws_sdk_secretsmanager::Client::new(sdk), names)
                }),
            },
            clock,
            directory: FactsDirectory(store.clone()),
            door: Door {
                ledger: store,
                settings: s.trust,
            },
        })
    }
}

impl IngestApp {
    /// Reads every configured platform's secret once, at cold start, so the log scrubber
    /// knows them before any request is logged by anyone (best effort: a secret that cannot be
    /// read now is read, and registered, on its route's first request).
    pub async fn warm_secrets(&self) {
        for p in Platform::ALL {
            let _ = self.secrets.secret(p).await;
        }
        let _ = self.secrets.canonical().await;
    }
}

/// Where replacement API tokens are kept: with `PLATFORM_SECRETS_PREFIX` set, each platform
/// that replaces its token by webhook (Optix) has it in its credentials secret
/// `<prefix>/<platform>`; unset, ingest keeps no tokens (and logs that one must be set by hand).
pub fn api_token_secrets(
    get: impl Fn(&str) -> Option<String>,
) -> Option<BTreeMap<Platform, String>> {
    let prefix = get("PLATFORM_SECRETS_PREFIX")?;
    let prefix = prefix.trim().trim_end_matches('/');
    Some(BTreeMap::from([(
        Platform::Optix,
        format!("{prefix}/{}", Platform::Optix.as_str()),
    )]))
}

/// ingest's secrets: the webhook secrets (read) and, when configured, the platforms' API
/// tokens, where a replacement token a verified webhook carries is kept as a candidate
/// (`SecretsManagerApiTokens`; the API client checks it before it promotes it).
pub struct IngestSecrets {
    /// The webhook and canonical secrets.
    pub webhooks: StoredWebhookSecrets<ScrubbedSecrets<SecretsManagerSource>>,
    /// The API tokens, if `PLATFORM_SECRETS_PREFIX` is set.
    pub tokens: Option<SecretsManagerApiTokens>,
}

impl WebhookSecrets for IngestSecrets {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.webhooks.secret(platform).await
    }

    async fn canonical(&self) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.webhooks.canonical().await
    }

    async fn offer_api_token(
        &self,
        platform: Platform,
        token: SecretValue,
    ) -> Result<bool, WebhookSecretError> {
        let Some(tokens) = &self.tokens else {
            return Ok(false);
        };
        tokens
            .offer(platform, token)
            .await
            .map(|()| true)
            .map_err(|source| WebhookSecretError::Unreadable { platform, source })
    }
}

/// What `ingest` is configured with.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// `EVENT_BUS_NAME`.
    pub bus: String,
    /// `TABLE_NAME` (member/team look-ups and replay records).
    pub table: String,
    /// `WEBHOOK_SECRET_<PLATFORM>`: the secret name of each configured platform.
    pub webhook_secrets: BTreeMap<Platform, String>,
    /// `WEBHOOK_SECRET_CANONICAL`: the secret name of the canonical route.
    pub canonical_secret: Option<String>,
    /// Bounds and replay settings (`MAX_*`, `REPLAY_DAYS`).
    pub trust: TrustSettings,
    /// `ACCESS_SYNC_CLOCK_URL`.
    pub clock_url: Option<String>,
    /// `PLATFORM_SECRETS_PREFIX`: where offered API tokens are kept ([`api_token_secrets`]).
    pub api_token_secrets: Option<BTreeMap<Platform, String>>,
}
