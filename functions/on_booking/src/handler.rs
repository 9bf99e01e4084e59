//! An SQS batch of canonical events → each recorded once by the engine, one converge request
//! per e-mail published for `on_edge`; failed records reported item by item.

use access_sync_engine::{Engine, Store};
use access_sync_lambda::{Clock, Edges, Kisi, on_event, sqs};
use access_sync_ports::EventPublisher;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

/// Handles one batch.
pub async fn handle<S: Store, K: Kisi, E: Edges, P: EventPublisher>(
    engine: &Engine<S, K, E>,
    events: &P,
    clock: &Clock,
    batch: SqsEvent,
) -> SqsBatchResponse {
    sqs::each_record(batch, |body| async move {
        on_event::handle_record(engine, events, clock, &body).await
    })
    .await
}
