//! Everything an engine-backed function builds once at cold start.
//!
//! One SDK configuration (region, credentials, `AWS_ENDPOINT_URL` for moto), the adapters on
//! it, the Kisi port, the engine over them, the EventBridge publisher and the clock. Nothing
//! here runs at import time: `main` calls [`App::from_env`] once and hands references to the
//! handler.

use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use access_sync_aws::{
    Adapters, DynamoStore, EventBridgePublisher, SchedulerEdges, SdkConfig, SecretsManagerSource,
    load_sdk_config,
};
use access_sync_engine::{Engine, ReconcileConfig, Settings};
use access_sync_kisi::{
    ApiKey, KisiAccess, KisiClient, KisiConfig, RequestBudget, RetryPolicy, SecretKey,
};
use access_sync_rules::brake::BrakeConfig;
use std::sync::Arc;

/// The idempotency scope of canonical events: shared by every `on_*` function, so a delivery
/// is recorded once whichever queue it arrived on.
pub const EVENT_SCOPE: &str = "on_event";

/// The engine as deployed.
pub type AwsEngine = Engine<DynamoStore, KisiAccess, SchedulerEdges>;

/// What an engine-backed function holds for its lifetime.
pub struct App {
    /// The engine.
    pub engine: AwsEngine,
    /// The EventBridge publisher (`EVENT_BUS_NAME`).
    pub events: EventBridgePublisher,
    /// Where `now` comes from.
    pub clock: Clock,
    /// The settings it was built from.
    pub config: Config,
}

impl App {
    /// Reads the configuration and builds every client.
    ///
    /// # Errors
    /// [`ConfigError`] naming every missing or bad variable (also logged).
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::from_env().inspect_err(|e| {
            tracing::error!(problems = ?e.0, "bad configuration");
        })?;
        let sdk = load_sdk_config().await;
        App::new(config, &sdk)
    }

    /// Builds every client from settings and an SDK configuration (what [`App::from_env`]
    /// does after reading the environment; end-to-end tests call it with moto's).
    ///
    /// # Errors
    /// [`ConfigError`] when the clock URL or the Kisi base URL is bad.
    pub fn new(config: Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        App::build(config, sdk, None)
    }

    /// [`App::new`] with another Kisi request budget than the in-process 5 requests/s one and
    /// another retry policy (`KISI_MAX_ATTEMPTS` is ignored then): for the local stack's
    /// benchmarks, whose virtual clock stands still while a handler runs, so real waits only
    /// cost wall time.
    ///
    /// # Errors
    /// As [`App::new`].
    pub fn with_kisi_pacing(
        config: Config,
        sdk: &SdkConfig,
        budget: Arc<dyn RequestBudget>,
        retry: RetryPolicy,
    ) -> Result<App, ConfigError> {
        App::build(config, sdk, Some((budget, retry)))
    }

    fn build(
        config: Config,
        sdk: &SdkConfig,
        pacing: Option<(Arc<dyn RequestBudget>, RetryPolicy)>,
    ) -> Result<App, ConfigError> {
        let clock = Clock::new(config.clock_url.as_deref()).map_err(|e| ConfigError(vec![e]))?;
        let a = Adapters::new(sdk, &config.aws);
        let kisi = kisi(&config, a.secrets, pacing)?;
        let settings = Settings {
            function: EVENT_SCOPE.into(),
            brake: BrakeConfig {
                share: config.brake_share,
                floor: config.brake_floor,
                ..BrakeConfig::default()
            },
            lease: access_sync_rules::lease::Lease::days(config.lease_days),
            ..Settings::default()
        };
        let engine = Engine::new(a.store, kisi, a.edges, settings);
        tracing::info!(
            table = %config.aws.table_name,
            bus = %config.aws.event_bus_name,
            test_clock = config.clock_url.is_some(),
            "cold start"
        );
        Ok(App {
            engine,
            events: a.events,
            clock,
            config,
        })
    }

    /// Reconcile settings (the brake's are the engine's).
    pub fn reconcile_config(&self) -> ReconcileConfig {
        ReconcileConfig::default()
    }
}

/// The Kisi port: the API key in Secrets Manager (`KISI_TOKEN_SECRET`), read on the first Kisi
/// call (the event functions never call Kisi, so they never read it) and again once when Kisi
/// answers 401; each call tried at most `KISI_MAX_ATTEMPTS` times within one invocation (what
/// still fails is retried by the trigger). The client's one request budget serves the whole
/// process; with reserved concurrency 1 on `on_edge` this keeps the deployment under Kisi's 5
/// requests/s (see `access_sync_kisi`'s budget module).
fn kisi(
    config: &Config,
    secrets: SecretsManagerSource,
    pacing: Option<(Arc<dyn RequestBudget>, RetryPolicy)>,
) -> Result<KisiAccess, ConfigError> {
    // The key comes from the secret; the one in the client configuration is not used.
    let mut kisi = KisiConfig::new(config.kisi_base_url.clone(), ApiKey::new(""));
    kisi.retry.max_attempts = config.kisi_max_attempts.max(1);
    // Registered with the log scrubber when read.
    let secrets = crate::redact::ScrubbedSecrets(secrets);
    let budget = pacing.map(|(budget, retry)| {
        kisi.retry = retry;
        budget
    });
    let key = SecretKey::new(secrets, config.aws.kisi_token_secret.clone());
    let mut client =
        KisiClient::with_key_source(kisi, key).map_err(|e| ConfigError(vec![e.to_string()]))?;
    if let Some(budget) = budget {
        client = client.with_budget(budget);
    }
    Ok(KisiAccess::new(client))
}

/// The EventBridge publisher on `bus`.
pub fn publisher(sdk: &SdkConfig, bus: String) -> EventBridgePublisher {
    tracing::info!(bus = %bus, "cold start");
    EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus)
}
