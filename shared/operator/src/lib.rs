//! # access-sync-operator
//!
//! The operator's data layer: what the CLI (`access-sync explain | audit | status`) and the web
//! console (`access-sync console`) show and do, computed once here over the ports so both
//! answer the same.
//!
//! - [`Operator::explain`]: for one person, per group, open or closed at an instant and until
//!   when, the next changes over the coming days (the rules core's own windows, pure: see
//!   [`explain::timeline`]), the entitlements and mapping lines that give it with their status,
//!   what Kisi actually holds (ours, held by hand, excluded) and the last audit entries;
//! - [`Operator::audit`]: the grant / revoke / replace history with causes;
//! - [`Operator::status`]: the installation at a glance (brake, held revokes, held events,
//!   dead letters, platform syncs, Kisi key health);
//! - [`Operator::search_people`]: people by e-mail or name prefix;
//! - actions, each through the engine's one converge path: [`Operator::converge_now`],
//!   [`Operator::exclude`], [`Operator::include`], [`Operator::release`],
//!   [`Operator::discard`].
//!
//! [`Operator`] is generic over the ports (the engine's store, Kisi, scheduler) plus two small
//! read-only roles of its own, [`KisiLookup`] (a person's Kisi user and assignments, the key's
//! health) and [`DeadLetters`] (dead-letter queue depths and the first messages), so it can be
//! built over any adapters; [`AwsOperator`] is the deployed one, built by
//! [`AwsOperator::from_env`] from the same settings as the functions (`TABLE_NAME`,
//! `KISI_TOKEN_SECRET`, … and AWS credentials; `AWS_ENDPOINT_URL` for the local stack) or by
//! [`AwsOperator::from_pairs`] from explicit settings (the local stack's `function_env`).
//!
//! Nothing here logs personal data: e-mails appear only in what is returned to the operator.

#![warn(missing_docs)]

pub mod actions;
pub mod audit;
pub mod dead_letters;
pub mod explain;
pub mod kisi;
pub mod people;
pub mod status;

pub use actions::{ActionStep, Excluded};
pub use audit::AuditQuery;
pub use dead_letters::{DeadLetter, DeadLetterQueue, DeadLetters, SqsDeadLetters};
pub use explain::{
    Change, EntitlementLine, EntitlementStatus, Explanation, GroupExplanation, Holding,
    HoldingKind, MappingLine, TimelineWindow,
};
pub use kisi::{KeyHealth, KisiLookup, KisiPerson};
pub use people::Person;
pub use status::{HeldEvent, PlatformSync, Status};

use access_sync_aws::{DynamoStore, SchedulerEdges, SdkConfig};
use access_sync_engine::{Engine, EngineError, Store};
use access_sync_kisi::KisiAccess;
use access_sync_ports::{AccessControl, EdgeScheduler, StoreError};
use access_sync_rules::Instant;
use access_sync_runtime::{App, Clock, Config};

/// Why an operator query or action failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Settings missing or bad (exit 2 in the CLI).
    #[error("{0}")]
    Config(String),
    /// The operator's input is not usable (an address that is not one, an unknown group).
    #[error("{0}")]
    Input(String),
    /// The clock could not be read.
    #[error("{0}")]
    Clock(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine failed (store, Kisi or scheduler).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The operator's view of one installation.
pub struct Operator<S, K, E, Q> {
    engine: Engine<S, K, E>,
    clock: Clock,
    dead_letters: Q,
    brake_share: f64,
}

/// The deployed installation (or the local stack, which is the same over moto and the Kisi
/// simulator).
pub type AwsOperator = Operator<DynamoStore, KisiAccess, SchedulerEdges, SqsDeadLetters>;

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store
        + access_sync_ports::SyncStateStore
        + access_sync_ports::ExclusionList
        + access_sync_ports::RunLog
        + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// An operator over an engine, the clock it runs by and the dead-letter queues.
    /// `brake_share` is `BRAKE_SHARE_PER_HOUR` (for the mapping change preview the console
    /// shows).
    pub fn new(engine: Engine<S, K, E>, clock: Clock, dead_letters: Q, brake_share: f64) -> Self {
        Operator {
            engine,
            clock,
            dead_letters,
            brake_share,
        }
    }

    /// The engine (for what this crate does not wrap, such as `apply_mapping`).
    pub fn engine(&self) -> &Engine<S, K, E> {
        &self.engine
    }

    /// The dead-letter queues.
    pub fn dead_letters(&self) -> &Q {
        &self.dead_letters
    }

    /// `BRAKE_SHARE_PER_HOUR`, for `apply_mapping`'s options.
    pub fn brake_share(&self) -> f64 {
        self.brake_share
    }

    /// The installation's `now` (the system clock in AWS; the simulator's clock locally).
    ///
    /// # Errors
    /// [`OperatorError::Clock`] when a test clock does not answer.
    pub async fn now(&self) -> Result<Instant, OperatorError> {
        self.clock
            .now()
            .await
            .map_err(|e| OperatorError::Clock(e.to_string()))
    }
}

impl AwsOperator {
    /// Builds the operator from the environment: the settings of the deployed functions
    /// (`TABLE_NAME`, `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`, …, AWS credentials, and
    /// `AWS_ENDPOINT_URL` for the local stack), plus the dead-letter queues
    /// ([`SqsDeadLetters::from_lookup`]).
    ///
    /// # Errors
    /// [`OperatorError::Config`] naming every missing or bad variable.
    pub async fn from_env() -> Result<AwsOperator, OperatorError> {
        let app = App::from_env()
            .await
            .map_err(|e| OperatorError::Config(e.to_string()))?;
        let sdk = access_sync_aws::load_sdk_config().await;
        let dead_letters = SqsDeadLetters::from_lookup(&sdk, |k| std::env::var(k).ok());
        Ok(Self::from_app(app, dead_letters))
    }

    /// Builds the operator from explicit settings (name, value) and an SDK configuration: the
    /// local stack's `Names::function_env()` and `LocalStack::sdk`.
    ///
    /// # Errors
    /// [`OperatorError::Config`].
    pub fn from_pairs(
        env: &[(String, String)],
        sdk: &SdkConfig,
    ) -> Result<AwsOperator, OperatorError> {
        let get = |k: &str| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let config = Config::from_lookup(get).map_err(|e| OperatorError::Config(e.to_string()))?;
        let app = App::new(config, sdk).map_err(|e| OperatorError::Config(e.to_string()))?;
        let dead_letters = SqsDeadLetters::from_lookup(sdk, get);
        Ok(Self::from_app(app, dead_letters))
    }

    fn from_app(app: App, dead_letters: SqsDeadLetters) -> AwsOperator {
        Operator::new(app.engine, app.clock, dead_letters, app.config.brake_share)
    }
}
