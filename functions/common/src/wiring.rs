//! Everything an engine-backed function builds once at cold start.
//!
//! One SDK configuration (region, credentials, `AWS_ENDPOINT_URL` for moto), the adapters on
//! it, the Kisi port, the engine over them, the EventBridge publisher and the clock. Nothing
//! here runs at import time: `main` calls [`App::from_env`] once and hands references to the
//! handler.

use crate::clock::Clock;
use crate::config::{Config, ConfigError, event_bus_from_env};
use crate::kisi::RefreshingKisi;
use access_sync_aws::{
    Adapters, DynamoStore, EventBridgePublisher, SchedulerEdges, SdkConfig, SecretsManagerSource,
    load_sdk_config,
};
use access_sync_engine::{Engine, ReconcileConfig, Settings};

/// The idempotency scope of canonical events: shared by every `on_*` function, so a delivery
/// is recorded once whichever queue it arrived on.
pub const EVENT_SCOPE: &str = "on_event";

/// The engine as deployed.
pub type AwsEngine = Engine<DynamoStore, RefreshingKisi<SecretsManagerSource>, SchedulerEdges>;

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
    /// [`ConfigError`] when the clock URL is bad.
    pub fn new(config: Config, sdk: &SdkConfig) -> Result<App, ConfigError> {
        let clock = Clock::new(config.clock_url.as_deref()).map_err(|e| ConfigError(vec![e]))?;
        let a = Adapters::new(sdk, &config.aws);
        let kisi = RefreshingKisi::new(
            a.secrets,
            config.aws.kisi_token_secret.clone(),
            config.kisi_base_url.clone(),
        )
        .with_max_attempts(config.kisi_max_attempts);
        let settings = Settings {
            function: EVENT_SCOPE.into(),
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

    /// Reconcile settings from the configuration.
    pub fn reconcile_config(&self) -> ReconcileConfig {
        ReconcileConfig {
            brake_share: self.config.brake_share,
            ..ReconcileConfig::default()
        }
    }
}

/// The publisher `ingest` needs (`EVENT_BUS_NAME` only: ingest touches nothing else).
pub async fn publisher_from_env() -> EventBridgePublisher {
    let sdk = load_sdk_config().await;
    publisher(&sdk, event_bus_from_env())
}

/// The EventBridge publisher on `bus`.
pub fn publisher(sdk: &SdkConfig, bus: String) -> EventBridgePublisher {
    tracing::info!(bus = %bus, "cold start");
    EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus)
}
