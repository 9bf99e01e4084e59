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
use access_sync_kisi::{ApiKey, KisiAccess, KisiClient, KisiConfig, SecretKey};
use access_sync_rules::brake::BrakeConfig;

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
        let clock = Clock::new(config.clock_url.as_deref()).map_err(|e| ConfigError(vec![e]))?;
        let a = Adapters::new(sdk, &config.aws);
        let kisi = kisi(&config, a.secrets)?;
        let settings = Settings {
            function: EVENT_SCOPE.into(),
            brake: BrakeConfig {
                share: config.brake_share,
                floor: config.brake_floor,
                ..BrakeConfig::default()
            },
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
fn kisi(config: &Config, secrets: SecretsManagerSource) -> Result<KisiAccess, ConfigError> {
    // The key comes from the secret; the one in the client configuration is not used.
    let mut kisi = KisiConfig::new(config.kisi_base_url.clone(), ApiKey::new(""));
    kisi.retry.max_attempts = config.kisi_max_attempts.max(1);
    let key = SecretKey::new(secrets, config.aws.kisi_token_secret.clone());
    let client =
        KisiClient::with_key_source(kisi, key).map_err(|e| ConfigError(vec![e.to_string()]))?;
    Ok(KisiAccess::new(client))
}

/// The EventBridge publisher on `bus`.
pub fn publisher(sdk: &SdkConfig, bus: String) -> EventBridgePublisher {
    tracing::info!(bus = %bus, "cold start");
    EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus)
}
