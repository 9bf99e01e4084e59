//! An edge from Scheduler, or a batch of converge requests from SQS → the one converge path.
//!
//! A failed edge returns a Retryable / NonRetryable error (the invocation is retried, then
//! dead-lettered); a failed converge request fails only its own item of the batch.

use access_sync_engine::{Engine, Store, Trigger};
use access_sync_ports::{AccessControl, Edge, EdgeScheduler};
use access_sync_rules::{Email, GroupId};
use access_sync_runtime::messages::{ConvergeRequest, envelope};
use access_sync_runtime::redact::Pseudonym;
use access_sync_runtime::{Clock, HandlerError, sqs};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What `on_edge` is invoked with.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// A Scheduler edge: `{"email","group","edge"}`.
    Edge(Edge),
    /// An SQS batch of converge requests (EventBridge envelopes).
    Converge(SqsEvent),
}

/// What it answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// Edge: how many pairs were converged.
    Edge { converged: usize },
    /// SQS: the failed items.
    Batch(SqsBatchResponse),
}

/// Handles one invocation.
///
/// # Errors
/// For an edge: the engine's error, typed. A batch never fails as a whole.
pub async fn handle<S: Store, K: AccessControl, E: EdgeScheduler>(
    engine: &Engine<S, K, E>,
    clock: &Clock,
    input: Input,
) -> Result<Output, HandlerError> {
    match input {
        Input::Edge(edge) => edge_fired(engine, clock, edge).await,
        Input::Converge(batch) => Ok(Output::Batch(
            sqs::each_record(batch, |body| request(engine, clock, body)).await,
        )),
    }
}

async fn edge_fired<S: Store, K: AccessControl, E: EdgeScheduler>(
    engine: &Engine<S, K, E>,
    clock: &Clock,
    edge: Edge,
) -> Result<Output, HandlerError> {
    let email = Email::parse(&edge.email).ok_or_else(|| HandlerError::malformed("edge e-mail"))?;
    let group = i64::try_from(edge.group).ok().and_then(GroupId::new);
    let group = group.ok_or_else(|| HandlerError::malformed("edge group"))?;
    // The schedule firing proves its instant has come, even if this clock is a little behind.
    let now = clock.now().await?.max(edge.edge);
    let groups = BTreeSet::from([group]);
    let steps = engine.converge(&email, &groups, now, Trigger::Edge).await?;
    tracing::info!(person = %Pseudonym::of(&email), group = %group, edge = %edge.edge, "edge converged");
    Ok(Output::Edge {
        converged: steps.len(),
    })
}

async fn request<S: Store, K: AccessControl, E: EdgeScheduler>(
    engine: &Engine<S, K, E>,
    clock: &Clock,
    body: String,
) -> Result<(), HandlerError> {
    let req: ConvergeRequest = envelope(&body).map_err(HandlerError::malformed)?.detail;
    let now = clock.now().await?;
    let steps = engine
        .converge(&req.email, &req.groups, now, req.trigger)
        .await?;
    tracing::info!(person = %Pseudonym::of(&req.email), pairs = steps.len(), trigger = ?req.trigger, "converged");
    Ok(())
}
