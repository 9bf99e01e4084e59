//! [`EdgeScheduler`] on EventBridge Scheduler: one one-off schedule per access edge.
//!
//! Each schedule: `at(yyyy-mm-ddThh:mm:ss)` in UTC (the edge rounded *up* to the second, so
//! converge never wakes before the edge), flexible time window OFF, `ActionAfterCompletion =
//! DELETE` (one-off schedules clean themselves up), the retry policy and dead-letter queue
//! from [`SchedulerSettings`], and as target the converge function with the [`Edge`] as JSON
//! input: `{"email":"joe@example.com","group":201,"edge":"2026-12-07T09:45:00Z"}`.
//!
//! The name is [`Edge::schedule_name`] (`edge-` + 40 hex of sha256(email|group|instant)), so
//! a retry meets `ConflictException`, which means "already scheduled" and is success, and
//! cancel can find the schedule again from the edge alone. Scheduler fires at least once and
//! only to the minute; converge is idempotent and re-reads the facts, so both are harmless.

use access_sync_ports::{CancelOutcome, Edge, EdgeScheduler, ScheduleError, ScheduleOutcome};
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, Duration, DurationRound, Utc};

/// Where and how edges are scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// The schedule group (must exist).
    pub group: String,
    /// ARN of the converge function.
    pub target_arn: String,
    /// ARN of the role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// ARN of the SQS dead-letter queue, if any.
    pub dlq_arn: Option<String>,
    /// Scheduler's retries of a failed invocation (0..=185).
    pub max_retry_attempts: i32,
    /// How long Scheduler keeps retrying, in seconds (60..=86400).
    pub max_event_age_seconds: i32,
}

impl SchedulerSettings {
    /// The settings in `config`.
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            group: config.schedule_group.clone(),
            target_arn: config.converge_function_arn.clone(),
            role_arn: config.scheduler_role_arn.clone(),
            dlq_arn: config.scheduler_dlq_arn.clone(),
            max_retry_attempts: config.scheduler_max_retry_attempts,
            max_event_age_seconds: config.scheduler_max_event_age_seconds,
        }
    }
}

/// The EventBridge Scheduler adapter of [`EdgeScheduler`].
#[derive(Debug, Clone)]
pub struct SchedulerEdges {
    client: Client,
    settings: SchedulerSettings,
}

/// The `at()` expression of an instant: UTC, whole seconds, rounded up.
pub fn at_expression(at: DateTime<Utc>) -> String {
    let second = Duration::seconds(1);
    let floor = at.duration_trunc(second).unwrap_or(at);
    let up = if floor < at { floor + second } else { floor };
    format!("at({})", up.format("%Y-%m-%dT%H:%M:%S"))
}

fn map_error<E, R>(err: SdkError<E, R>) -> ScheduleError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let text = DisplayErrorContext(&err).to_string();
    match err.code() {
        Some(
            "ValidationException"
            | "ResourceNotFoundException"
            | "AccessDeniedException"
            | "ServiceQuotaExceededException",
        ) => ScheduleError::Rejected(text),
        _ => ScheduleError::Unavailable(text),
    }
}

impl SchedulerEdges {
    /// An adapter creating schedules with `settings`.
    pub fn new(client: Client, settings: SchedulerSettings) -> Self {
        Self { client, settings }
    }

    fn target(&self, edge: &Edge) -> Result<Target, ScheduleError> {
        let input =
            serde_json::to_string(edge).map_err(|e| ScheduleError::Rejected(e.to_string()))?;
        let retry = RetryPolicy::builder()
            .maximum_retry_attempts(self.settings.max_retry_attempts)
            .maximum_event_age_in_seconds(self.settings.max_event_age_seconds)
            .build();
        let dlq = self
            .settings
            .dlq_arn
            .as_ref()
            .map(|arn| DeadLetterConfig::builder().arn(arn).build());
        Target::builder()
            .arn(&self.settings.target_arn)
            .role_arn(&self.settings.role_arn)
            .input(input)
            .retry_policy(retry)
            .set_dead_letter_config(dlq)
            .build()
            .map_err(|e| ScheduleError::Rejected(e.to_string()))
    }
}

impl EdgeScheduler for SchedulerEdges {
    async fn schedule(
        &self,
        edge: &Edge,
        now: DateTime<Utc>,
    ) -> Result<ScheduleOutcome, ScheduleError> {
        if edge.edge <= now {
            return Ok(ScheduleOutcome::Immediate);
        }
        let name = edge.schedule_name();
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| ScheduleError::Rejected(e.to_string()))?;
        let result = self
            .client
            .create_schedule()
            .name(&name)
            .group_name(&self.settings.group)
            .schedule_expression(at_expression(edge.edge))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(self.target(edge)?)
            // Same token as the name: a retried request is recognised by AWS as the same one.
            .client_token(&name)
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(schedule = %name, group = edge.group, "edge scheduled");
                Ok(ScheduleOutcome::Created)
            }
            Err(err) if err.code() == Some("ConflictException") => {
                Ok(ScheduleOutcome::AlreadyScheduled)
            }
            Err(err) => Err(map_error(err)),
        }
    }

    async fn cancel(&self, edge: &Edge) -> Result<CancelOutcome, ScheduleError> {
        let result = self
            .client
            .delete_schedule()
            .name(edge.schedule_name())
            .group_name(&self.settings.group)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CancelOutcome::Deleted),
            Err(err) if err.code() == Some("ResourceNotFoundException") => {
                Ok(CancelOutcome::NotFound)
            }
            Err(err) => Err(map_error(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc_whole_seconds_rounded_up() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            at_expression(t("2026-12-07T09:45:00Z")),
            "at(2026-12-07T09:45:00)"
        );
        assert_eq!(
            at_expression(t("2026-12-07T09:45:00.2Z")),
            "at(2026-12-07T09:45:01)"
        );
        assert_eq!(
            at_expression(t("2026-12-07T10:45:00+01:00")),
            "at(2026-12-07T09:45:00)"
        );
    }
}
