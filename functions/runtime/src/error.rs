//! Handler errors, typed so retries are deliberate.
//!
//! A [`HandlerError::Retryable`] means "the same input may succeed later" (an outage, a
//! throttle, a lost race): SQS redelivers the item, Scheduler retries the edge. A
//! [`HandlerError::NonRetryable`] is a bad input or a configuration mistake; in an SQS batch it
//! is still reported as a failed item, so after `maxReceiveCount` it lands in the DLQ where an
//! operator sees it, never silently dropped. As a Lambda diagnostic the `errorType` is
//! `Retryable` or `NonRetryable`.

use crate::clock::ClockError;
use access_sync_engine::EngineError;
use access_sync_ports::PublishError;
use lambda_runtime::Diagnostic;

/// Why a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying later may succeed.
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same input cannot succeed.
    #[error("{0}")]
    NonRetryable(String),
}

impl HandlerError {
    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, HandlerError::Retryable(_))
    }

    /// A bad input (a malformed message).
    pub fn malformed(what: impl std::fmt::Display) -> HandlerError {
        HandlerError::NonRetryable(format!("malformed input: {what}"))
    }
}

impl From<EngineError> for HandlerError {
    fn from(e: EngineError) -> Self {
        if e.is_retryable() {
            HandlerError::Retryable(e.to_string())
        } else {
            HandlerError::NonRetryable(e.to_string())
        }
    }
}

impl From<ClockError> for HandlerError {
    fn from(e: ClockError) -> Self {
        HandlerError::Retryable(e.to_string())
    }
}

impl From<PublishError> for HandlerError {
    fn from(e: PublishError) -> Self {
        // The publisher already retried the entries it could; what is left may clear later
        // (and redelivery is harmless: every consumer is idempotent).
        HandlerError::Retryable(e.to_string())
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = if e.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}
