//! SQS batches with partial failure, item by item.
//!
//! Every record is handled in order; a record that fails is named in `batchItemFailures` (so
//! SQS redelivers only it and, after `maxReceiveCount`, moves it to the queue's DLQ) and logged
//! with its message id and the reason, never its body. The event source mapping must enable
//! `ReportBatchItemFailures`.

use crate::error::HandlerError;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::future::Future;

/// Runs `handle` on each record's body and reports the failed ones.
pub async fn each_record<F, Fut>(batch: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let mut response = SqsBatchResponse::default();
    let total = batch.records.len();
    for record in batch.records {
        let id = record.message_id.unwrap_or_default();
        let result = match record.body {
            Some(body) => handle(body).await,
            None => Err(HandlerError::malformed("the SQS message has no body")),
        };
        if let Err(e) = result {
            if e.is_retryable() {
                tracing::warn!(message_id = %id, error = %e, "record failed; SQS will redeliver it");
            } else {
                tracing::error!(message_id = %id, error = %e, "record cannot be handled; it goes to the DLQ after its retries");
            }
            response.add_failure(id);
        }
    }
    tracing::info!(
        records = total,
        failed = response.batch_item_failures.len(),
        "batch done"
    );
    response
}
