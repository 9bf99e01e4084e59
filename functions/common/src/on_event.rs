//! One canonical event from SQS, as `on_booking`, `on_plan_change` and `on_checkin` handle it:
//! record it once ([`Engine::handle_event`]) and ask for a converge per e-mail it touches.
//!
//! The converge requests go through EventBridge to `on_edge`, the only function that writes
//! Kisi. A duplicate delivery publishes its requests again (the engine returns the pairs it
//! saved the first time): if the first attempt recorded the event but failed to publish, the
//! redelivery completes the job; converge is safe to repeat.

use crate::clock::Clock;
use crate::error::HandlerError;
use crate::messages::{ConvergeRequest, canonical_from_sqs};
use crate::{Edges, Kisi};
use access_sync_engine::{Engine, Store, Trigger};
use access_sync_ports::{EventPublisher, OutboundEvent};

/// Handles one SQS message body (an EventBridge envelope whose detail is a canonical event).
///
/// # Errors
/// NonRetryable for a malformed message or a broken mapping file; Retryable for store,
/// clock and publish failures.
pub async fn handle_record<S: Store, K: Kisi, E: Edges, P: EventPublisher>(
    engine: &Engine<S, K, E>,
    events: &P,
    clock: &Clock,
    body: &str,
) -> Result<(), HandlerError> {
    let event = canonical_from_sqs(body).map_err(HandlerError::malformed)?;
    let now = clock.now().await?;
    let handled = engine.handle_event(&event, now).await?;
    for w in &handled.warnings {
        tracing::warn!(event = %event.id, warning = %w, "event warning");
    }
    let requests: Vec<OutboundEvent> = handled
        .by_email()
        .into_iter()
        .map(|(email, groups)| {
            ConvergeRequest {
                email,
                groups,
                trigger: Trigger::Event,
            }
            .to_event()
        })
        .collect();
    tracing::info!(
        event = %event.id,
        duplicate = handled.duplicate,
        stale = handled.stale,
        pairs = handled.pairs.len(),
        converge_requests = requests.len(),
        "event recorded"
    );
    if !requests.is_empty() {
        events.publish(&requests).await?;
    }
    Ok(())
}
