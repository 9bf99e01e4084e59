//! A scheduled tick → one reconcile run at the clock's `now`. The scheduled event itself
//! carries nothing we need (its `time` is when EventBridge meant to fire; the clock decides).
//!
//! An aborted run (an incomplete Kisi read) and revokes held by the brake are not errors: they
//! are logged as warnings with the report, and the next tick tries again (held revokes wait for
//! the operator: `access-sync brake status`). Store and scheduler failures
//! are errors, typed Retryable / NonRetryable. Each run's report (without the pair list) is kept
//! as the job's last run for `access-sync status` (best effort: a failed write is logged).

use access_sync_engine::{Engine, ReconcileConfig, Store, Trigger};
use access_sync_ports::{
    AccessControl, EdgeScheduler, EventPublisher, OutboundEvent, RunLog, RunRecord,
};
use access_sync_runtime::{Clock, ConvergeRequest, HandlerError};
use serde_json::Value;

/// Runs one reconcile and sends what needs converging to `on_edge`; answers the report
/// without the pair list (which can be large).
///
/// # Errors
/// The engine's store and scheduler failures, and publish failures, typed.
pub async fn handle<S: Store + RunLog, K: AccessControl, E: EdgeScheduler, P: EventPublisher>(
    engine: &Engine<S, K, E>,
    events: &P,
    clock: &Clock,
    config: &ReconcileConfig,
) -> Result<Value, HandlerError> {
    let now = clock.now().await?;
    let r = engine.reconcile(now, config).await?;
    let mut report = serde_json::to_value(&r).unwrap_or_default();
    if let Some(m) = report.as_object_mut() {
        m.remove("to_converge");
    }
    if let Some(reason) = &r.aborted {
        tracing::warn!(%reason, %report, "reconcile aborted: nothing revoked");
    } else if r.braked {
        tracing::warn!(held = r.held, %report, "revokes held by the brake");
    } else {
        tracing::info!(%report, "reconcile done");
    }
    let run = RunRecord {
        job: "reconcile".into(),
        at: now,
        outcome: if r.aborted.is_some() {
            "aborted"
        } else if r.braked {
            "braked"
        } else {
            "ok"
        }
        .into(),
        report: report.to_string(),
    };
    if let Err(e) = engine.store().record_run(&run).await {
        tracing::warn!(error = %e, "last run not recorded");
    }
    let requests: Vec<OutboundEvent> = (r.to_converge.into_iter())
        .map(|(email, groups)| ConvergeRequest {
            email,
            groups,
            trigger: Trigger::Reconcile,
        })
        .map(|req| req.to_event())
        .collect();
    // PutEvents takes 10 entries per call; the publisher batches and retries per entry.
    if !requests.is_empty() {
        events.publish(&requests).await?;
    }
    Ok(report)
}
