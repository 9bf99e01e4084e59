//! What the binary builds once at cold start, and one invocation over it.
//!
//! | variable | default | |
//! |---|---|---|
//! | `TABLE_NAME` | required | the table: facts, audit, sync state |
//! | `EVENT_BUS_NAME` | `default` | where the canonical events go (as `ingest` publishes them) |
//! | `PLATFORM_SECRETS_PREFIX` | required | a platform's credentials are the secret `<prefix>/<platform>` (`${prefix}/platforms/officernd`) |
//! | `AUDIT_RETENTION_DAYS` | `400` | as for every function |
//! | `ACCESS_SYNC_CLOCK_URL` | unset: system clock | the local stack's clock |
//!
//! plus [`crate::settings`]'s. A platform's client is built on its first invocation and kept
//! (its OAuth token with it, renewed before it expires) for the life of the process; it reads
//! its secret on first use, so an empty secret is the outcome `not_configured` of that
//! invocation ([`crate::handler`]), never a failed cold start.

use crate::handler::handle;
use crate::request::SyncRequest;
use crate::settings::SyncConfig;
use access_sync_aws::{DynamoStore, EventBridgePublisher, SdkConfig, SecretsManagerSource};
use access_sync_engine::sync::{PlatformMapping, PlatformSync};
use access_sync_platforms::Platform;
use access_sync_ports::RereadRequest;
use access_sync_runtime::messages::{canonical_event, envelope};
use access_sync_runtime::redact::ScrubbedSecrets;
use access_sync_runtime::sqs;
use access_sync_runtime::{Clock, ConfigError, HandlerError};
use access_sync_sources::{ConnectError, Pacing, Source, connect_paced};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The secret store as the clients see it: values registered with the log scrubber.
pub type Secrets = Arc<ScrubbedSecrets<SecretsManagerSource>>;

/// The settings of the binary.
#[derive(Clone, Debug, PartialEq)]
pub struct Env {
    /// `TABLE_NAME`.
    pub table: String,
    /// `EVENT_BUS_NAME`.
    pub bus: String,
    /// `PLATFORM_SECRETS_PREFIX`, without a trailing `/`.
    pub secrets_prefix: String,
    /// `AUDIT_RETENTION_DAYS`.
    pub audit_retention_days: i64,
    /// `ACCESS_SYNC_CLOCK_URL`.
    pub clock_url: Option<String>,
    /// The sync's settings.
    pub sync: SyncConfig,
}

impl Env {
    /// Reads the settings through `get`.
    ///
    /// # Errors
    /// Every missing or bad variable, one line each.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Env, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let mut required = |k: &str| {
            get(k).unwrap_or_else(|| {
                problems.push(format!("{k} is not set"));
                String::new()
            })
        };
        let table = required("TABLE_NAME");
        let secrets_prefix = required("PLATFORM_SECRETS_PREFIX")
            .trim_end_matches('/')
            .to_string();
        let audit_retention_days = match get("AUDIT_RETENTION_DAYS") {
            None => 400,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (1..=3650).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "AUDIT_RETENTION_DAYS={v:?} is not a whole number from 1 to 3650"
                    ));
                    400
                }
            },
        };
        let sync = SyncConfig::from_lookup(get).unwrap_or_else(|e| {
            problems.extend(e);
            SyncConfig::default()
        });
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Env {
            table,
            bus: get("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
            secrets_prefix,
            audit_retention_days,
            clock_url: get("ACCESS_SYNC_CLOCK_URL"),
            sync,
        })
    }

    /// The secret holding `platform`'s credentials.
    pub fn secret_name(&self, platform: Platform) -> String {
        format!("{}/{}", self.secrets_prefix, platform.as_str())
    }
}

/// Everything the function (and the CLI's `import` and `sync`) holds for its lifetime.
pub struct SyncApp {
    /// Facts, audit and sync state.
    pub store: DynamoStore,
    /// The bus the canonical events go to.
    pub events: EventBridgePublisher,
    secrets: Secrets,
    /// Where `now` comes from.
    pub clock: Clock,
    /// The settings.
    pub env: Env,
    pacing: Pacing,
    sources: Mutex<BTreeMap<Platform, Arc<Source<Secrets>>>>,
}

impl SyncApp {
    /// Builds every client from `env` and an SDK configuration (moto's in tests).
    ///
    /// # Errors
    /// A bad clock URL.
    pub fn new(env: Env, sdk: &SdkConfig) -> Result<SyncApp, ConfigError> {
        let clock = Clock::new(env.clock_url.as_deref()).map_err(|e| ConfigError(vec![e]))?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &env.table)
            .with_audit_retention(chrono::Duration::days(env.audit_retention_days));
        let events = access_sync_runtime::wiring::publisher(sdk, env.bus.clone());
        let secrets = Arc::new(ScrubbedSecrets(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(sdk),
        )));
        Ok(SyncApp {
            store,
            events,
            secrets,
            clock,
            env,
            pacing: Pacing::Deployed,
            sources: Mutex::new(BTreeMap::new()),
        })
    }

    /// The same, with the platform clients paced as `pacing` says (the local stack's virtual
    /// clock runs them [`Pacing::Unpaced`]; deployed, they keep the platform's budget).
    pub fn with_pacing(mut self, pacing: Pacing) -> SyncApp {
        self.pacing = pacing;
        self
    }

    /// From the process environment (logs what is wrong).
    ///
    /// # Errors
    /// Every missing or bad variable.
    pub async fn from_env() -> Result<SyncApp, ConfigError> {
        let env = Env::from_lookup(|k| std::env::var(k).ok()).inspect_err(|e| {
            tracing::error!(problems = ?e.0, "bad configuration");
        })?;
        let sdk = access_sync_aws::load_sdk_config().await;
        SyncApp::new(env, &sdk)
    }

    /// `platform`'s client, built on first use and kept.
    ///
    /// # Errors
    /// The platform has no client, or it cannot be built.
    pub fn source(&self, platform: Platform) -> Result<Arc<Source<Secrets>>, ConnectError> {
        let mut all = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = all.get(&platform) {
            return Ok(s.clone());
        }
        let s = Arc::new(connect_paced(
            platform,
            self.secrets.clone(),
            &self.env.secret_name(platform),
            self.pacing,
        )?);
        all.insert(platform, s.clone());
        Ok(s)
    }

    /// One invocation: an SQS batch of re-read requests (the `reread` queue, fed by
    /// `ingest`'s hints) is re-read record by record ([`SyncApp::reread`], failures reported
    /// item by item); anything else is a sync request ([`SyncApp::sync`]).
    ///
    /// # Errors
    /// Those of [`SyncApp::sync`]; a batch reports its failures in its answer.
    pub async fn invoke(&self, input: Value, deadline: SystemTime) -> Result<Value, HandlerError> {
        if input.get("Records").is_some_and(Value::is_array) {
            let batch: SqsEvent = serde_json::from_value(input).map_err(HandlerError::malformed)?;
            let answer = self.reread(batch).await;
            return serde_json::to_value(answer)
                .map_err(|e| HandlerError::NonRetryable(e.to_string()));
        }
        self.sync(input, deadline).await
    }

    /// Re-reads each hinted record of `batch` through its platform's client
    /// ([`crate::reread::handle_message`]).
    pub async fn reread(&self, batch: SqsEvent) -> SqsBatchResponse {
        sqs::each_record(batch, |body| async move {
            let env = envelope::<RereadRequest>(&body).map_err(HandlerError::malformed)?;
            let platform = Platform::parse(&env.detail.platform).ok_or_else(|| {
                HandlerError::NonRetryable(format!("unknown platform {:?}", env.detail.platform))
            })?;
            let source = self
                .source(platform)
                .map_err(|e| HandlerError::NonRetryable(e.to_string()))?;
            let now = self.clock.now().await?;
            let out =
                crate::reread::handle_message(&*source, &self.events, canonical_event, &body, now)
                    .await?;
            tracing::info!(summary = %out, "re-read");
            Ok(())
        })
        .await
    }

    /// One sync: `input` is the schedule's (or an operator's) request; listing stops
    /// [`SyncConfig::deadline_margin`] before `deadline` (the Lambda context's).
    ///
    /// # Errors
    /// A bad request or a platform without a client (not retryable); the sync's failures.
    pub async fn sync(&self, input: Value, deadline: SystemTime) -> Result<Value, HandlerError> {
        let (req, platform) = SyncRequest::parse(input).map_err(HandlerError::malformed)?;
        let source = self
            .source(platform)
            .map_err(|e| HandlerError::NonRetryable(e.to_string()))?;
        let now = self.clock.now().await?;
        let stop_at = deadline
            .checked_sub(self.env.sync.deadline_margin)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let keep_going = move || SystemTime::now() < stop_at;
        let sync = PlatformSync {
            source: &*source,
            state: &self.store,
            facts: &self.store,
            publisher: &self.events,
            mapping: PlatformMapping::Spec(platform),
            encode: canonical_event,
            settings: self.env.sync.sync,
        };
        handle(&sync, &req, now, &keep_going).await
    }
}

/// The Lambda context's deadline (milliseconds since the epoch) as a time.
pub fn deadline_of(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}
