//! Waking converge at an open or close edge of someone's access.
//!
//! One one-off schedule per (e-mail, group, instant). Names are derived from those three, so
//! asking twice finds the first schedule instead of duplicating it, and the caller can cancel
//! an edge it no longer needs without having stored anything.

use crate::pair::Pair;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;

/// An instant at which converge must run for one pair. Also the payload the schedule
/// delivers to the converge function (`{"email":..,"group":..,"edge":..}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// Normalised e-mail.
    pub email: String,
    /// Kisi group id.
    pub group: u64,
    /// When (UTC).
    pub edge: DateTime<Utc>,
}

impl Edge {
    /// The edge of `pair` at `at`.
    pub fn new(pair: &Pair, at: DateTime<Utc>) -> Self {
        Self {
            email: pair.email.as_str().to_string(),
            group: pair.group.get(),
            edge: at,
        }
    }

    /// The deterministic schedule name: `edge-` + the first 40 hex digits of
    /// sha256(`email|group|instant`), 45 characters, inside the 64-character limit and the
    /// `[0-9a-zA-Z-_.]` alphabet; 160 bits make collisions a non-issue.
    pub fn schedule_name(&self) -> String {
        let material = format!(
            "{}|{}|{}",
            self.email,
            self.group,
            self.edge
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        let hash = hex::encode(Sha256::digest(material.as_bytes()));
        format!("edge-{}", &hash[..40])
    }
}

/// The answer to [`EdgeScheduler::schedule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// A new schedule was created.
    Created,
    /// The schedule already existed (a retry, or another invocation): nothing to do.
    AlreadyScheduled,
    /// The edge is not in the future: nothing was scheduled, converge now.
    Immediate,
}

/// The answer to [`EdgeScheduler::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The schedule was deleted.
    Deleted,
    /// There was no such schedule (already fired, already cancelled, never made): fine.
    NotFound,
}

/// What can go wrong with schedules.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The service refused the request as malformed or forbidden (bad ARN, missing group,
    /// permissions). Not retryable.
    #[error("schedule refused: {0}")]
    Rejected(String),
    /// Throttled, timed out, 5xx, or a conflicting concurrent update; retry.
    #[error("scheduler unavailable: {0}")]
    Unavailable(String),
}

impl ScheduleError {
    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ScheduleError::Unavailable(_) => true,
            ScheduleError::Rejected(_) => false,
        }
    }
}

/// Wakes converge at access edges.
pub trait EdgeScheduler: Send + Sync {
    /// Makes sure converge runs for `edge` at its instant. An edge at or before `now` is not
    /// scheduled: the answer is [`ScheduleOutcome::Immediate`] and the caller converges now.
    ///
    /// # Errors
    /// `Rejected` (configuration or permissions); `Unavailable` (retry).
    fn schedule(
        &self,
        edge: &Edge,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ScheduleOutcome, ScheduleError>> + Send;

    /// Removes the schedule of `edge`; a missing schedule is [`CancelOutcome::NotFound`].
    ///
    /// # Errors
    /// `Rejected`; `Unavailable`.
    fn cancel(
        &self,
        edge: &Edge,
    ) -> impl Future<Output = Result<CancelOutcome, ScheduleError>> + Send;
}
