//! Settings read once at cold start, and the SDK configuration.
//!
//! [`load_sdk_config`] uses aws-config's default chain, which reads the region, the Lambda
//! credentials and `AWS_ENDPOINT_URL`; pointing that variable at a moto server is how local
//! runs use the same binaries against fake AWS.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL`).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Every setting the adapters need, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `SCHEDULE_GROUP`: the Scheduler group edges are created in.
    pub schedule_group: String,
    /// `CONVERGE_FUNCTION_ARN`: the target of edge schedules.
    pub converge_function_arn: String,
    /// `SCHEDULER_ROLE_ARN`: the role Scheduler assumes to invoke converge.
    pub scheduler_role_arn: String,
    /// `SCHEDULER_DLQ_ARN` (optional): where Scheduler sends edges it could not deliver.
    pub scheduler_dlq_arn: Option<String>,
    /// `SCHEDULER_MAX_RETRY_ATTEMPTS` (default 20, 0..=185).
    pub scheduler_max_retry_attempts: i32,
    /// `SCHEDULER_MAX_EVENT_AGE_SECONDS` (default 3600, 60..=86400).
    pub scheduler_max_event_age_seconds: i32,
    /// `EVENT_BUS_NAME` (default `default`).
    pub event_bus_name: String,
    /// `KISI_TOKEN_SECRET`: name or ARN of the Kisi API token secret.
    pub kisi_token_secret: String,
    /// `AUDIT_RETENTION_DAYS` (default 400, 1..=3650): audit entries carry `ttl` = their
    /// instant + this many days, and DynamoDB's TTL deletes them after that.
    pub audit_retention_days: i32,
}

/// Every missing or bad variable, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad configuration:\n{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] listing every missing or bad variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (the environment, or a map in tests).
    ///
    /// # Errors
    /// [`ConfigError`] listing every missing or bad variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut required = |name: &str| match get(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => v,
            None => {
                problems.push(format!("{name} is not set"));
                String::new()
            }
        };
        let table_name = required("TABLE_NAME");
        let schedule_group = required("SCHEDULE_GROUP");
        let converge_function_arn = required("CONVERGE_FUNCTION_ARN");
        let scheduler_role_arn = required("SCHEDULER_ROLE_ARN");
        let kisi_token_secret = required("KISI_TOKEN_SECRET");
        let mut number =
            |name: &str, default: i32, range: std::ops::RangeInclusive<i32>| match get(name) {
                None => default,
                Some(v) => match v.trim().parse::<i32>() {
                    Ok(n) if range.contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "{name}={v:?} is not a whole number in {}..={}",
                            range.start(),
                            range.end()
                        ));
                        default
                    }
                },
            };
        let scheduler_max_retry_attempts = number("SCHEDULER_MAX_RETRY_ATTEMPTS", 20, 0..=185);
        let scheduler_max_event_age_seconds =
            number("SCHEDULER_MAX_EVENT_AGE_SECONDS", 3600, 60..=86400);
        let audit_retention_days = number("AUDIT_RETENTION_DAYS", 400, 1..=3650);
        let config = Config {
            table_name,
            schedule_group,
            converge_function_arn,
            scheduler_role_arn,
            scheduler_dlq_arn: get("SCHEDULER_DLQ_ARN").filter(|v| !v.trim().is_empty()),
            scheduler_max_retry_attempts,
            scheduler_max_event_age_seconds,
            event_bus_name: get("EVENT_BUS_NAME")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "default".to_string()),
            kisi_token_secret,
            audit_retention_days,
        };
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_missing_or_bad_variable_is_named() {
        let env: HashMap<&str, &str> = [
            ("TABLE_NAME", "t"),
            ("SCHEDULER_MAX_RETRY_ATTEMPTS", "999"),
            ("AUDIT_RETENTION_DAYS", "0"),
        ]
        .into_iter()
        .collect();
        let err = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        let text = err.to_string();
        for name in [
            "SCHEDULE_GROUP",
            "CONVERGE_FUNCTION_ARN",
            "SCHEDULER_ROLE_ARN",
            "KISI_TOKEN_SECRET",
            "SCHEDULER_MAX_RETRY_ATTEMPTS",
            "AUDIT_RETENTION_DAYS",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(!text.contains("TABLE_NAME"));
    }
}

/// Every adapter, built once at cold start from one SDK configuration.
#[derive(Debug)]
pub struct Adapters {
    /// Facts, ownership, idempotency, audit.
    pub store: crate::DynamoStore,
    /// Access edges.
    pub edges: crate::SchedulerEdges,
    /// Kisi token and webhook secrets.
    pub secrets: crate::SecretsManagerSource,
    /// Domain events.
    pub events: crate::EventBridgePublisher,
}

impl Adapters {
    /// Builds every adapter on `sdk` (see [`load_sdk_config`]) with `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        Self {
            store: crate::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name)
                .with_audit_retention(chrono::Duration::days(config.audit_retention_days.into())),
            edges: crate::SchedulerEdges::new(
                aws_sdk_scheduler::Client::new(sdk),
                crate::SchedulerSettings::from_config(config),
            ),
            secrets: crate::SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(sdk)),
            events: crate::EventBridgePublisher::new(
                aws_sdk_eventbridge::Client::new(sdk),
                &config.event_bus_name,
            ),
        }
    }
}
