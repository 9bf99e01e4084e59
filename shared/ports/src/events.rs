//! Publishing domain events (access changed, brake engaged, ...) for other consumers.
//!
//! Batch APIs report failure entry by entry; a publisher never drops one silently: it
//! retries the failed entries and, if some still fail, says exactly which.

use std::future::Future;

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundEvent {
    /// Who emits it, e.g. `access-sync.converge`.
    pub source: String,
    /// What it is, e.g. `AccessGranted`.
    pub detail_type: String,
    /// The body (a JSON object).
    pub detail: serde_json::Value,
}

/// One event that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndeliveredEvent {
    /// Its position in the slice passed to [`EventPublisher::publish`].
    pub index: usize,
    /// Its detail type, to name it in logs.
    pub detail_type: String,
    /// The service's error code for the last attempt.
    pub code: String,
    /// The service's message for the last attempt.
    pub message: String,
}

/// What can go wrong publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// These events were still refused after every retry; all others were delivered.
    #[error("{} event(s) undelivered, first: #{} {} ({})", .0.len(),
        .0.first().map(|u| u.index).unwrap_or(0),
        .0.first().map(|u| u.detail_type.as_str()).unwrap_or(""),
        .0.first().map(|u| u.code.as_str()).unwrap_or(""))]
    Undelivered(Vec<UndeliveredEvent>),
    /// The service could not be reached at all; nothing (or not everything) was delivered.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Publishes events to a bus.
pub trait EventPublisher: Send + Sync {
    /// Delivers every event, retrying failed entries a bounded number of times.
    ///
    /// # Errors
    /// `Undelivered` naming the events that still failed; `Unavailable`.
    fn publish(
        &self,
        events: &[OutboundEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
