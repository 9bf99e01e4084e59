//! One canonical event from SQS, as `on_booking`, `on_plan_change` and `on_checkin` handle it:
//! record it once ([`Engine::handle_event`]) and ask for a converge per e-mail it touches.
//! [`handle`] is their handler and [`serve`] their whole `main`.
//!
//! The converge requests go through EventBridge to `on_edge`, the only function that writes
//! Kisi. A duplicate delivery publishes its requests again (the engine returns the pairs it
//! saved the first time): if the first attempt recorded the event but failed to publish, the
//! redelivery completes the job; converge is safe to repeat.

use access_sync_engine::{Engine, Store, Trigger};
use access_sync_ports::{AccessControl, EdgeScheduler, EventPublisher, OutboundEvent};
use access_sync_runtime::messages::{ConvergeRequest, canonical_from_sqs};
use access_sync_runtime::{App, Clock, HandlerError, logging, sqs};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

/// An SQS batch of canonical events → each recorded once by the engine, one converge request
/// per e-mail published for `on_edge`; failed records reported item by item.
pub async fn handle<S: Store, K: AccessControl, E: EdgeScheduler, P: EventPublisher>(
    engine: &Engine<S, K, E>,
    events: &P,
    clock: &Clock,
    batch: SqsEvent,
) -> SqsBatchResponse {
    sqs::each_record(batch, |body| async move {
        handle_record(engine, events, clock, &body).await
    })
    .await
}

/// The whole `main` of an event function: logging, the app from the environment (once, at
/// cold start), then [`handle`] for every invocation.
///
/// # Errors
/// A setting is missing or wrong, or the Lambda runtime fails.
pub async fn serve() -> Result<(), Error> {
    logging::init();
    let app = App::from_env().await?;
    let app = &app;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle(&app.engine, &app.events, &app.clock, ev.payload).await)
    }))
    .await
}

/// Handles one SQS message body (an EventBridge envelope whose detail is a canonical event).
///
/// # Errors
/// NonRetryable for a malformed message or a broken mapping file; Retryable for store,
/// clock and publish failures.
pub async fn handle_record<S: Store, K: AccessControl, E: EdgeScheduler, P: EventPublisher>(
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
