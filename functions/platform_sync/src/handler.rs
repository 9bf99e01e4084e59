//! One invocation: a sync (or the release of held endings) of one platform.
//!
//! A listing that is paused for time or fails leaves the facts unchanged (the engine stores
//! only its cursor and what it read); a pause is not an error (the next tick resumes), a
//! failure is, typed Retryable / NonRetryable so the schedule's retries and the DLQ see it.
//! A platform whose credentials secret is still empty answers `not_configured` (logged as
//! the metric `SyncNotConfigured`), so an installed but unconnected platform is not a
//! failure every 15 minutes.

use crate::request::{Action, SyncRequest};
use access_sync_engine::sync::{Mode, PlatformSync, SyncError, SyncOutcome};
use access_sync_ports::{
    AuditLog, EventPublisher, FactStore, PlatformSource, SourceError, SyncStateStore,
};
use access_sync_rules::Instant;
use access_sync_runtime::HandlerError;
use serde_json::{Value, json};

fn typed(e: SyncError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::NonRetryable(e.to_string())
    }
}

/// Runs `req` at `now`; `keep_going` says whether there is time for another page (the
/// deadline minus the margin). Answers a summary without personal data.
///
/// # Errors
/// The sync's failures, typed.
pub async fn handle<S, St, F, P>(
    sync: &PlatformSync<'_, S, St, F, P>,
    req: &SyncRequest,
    now: Instant,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<Value, HandlerError>
where
    S: PlatformSource,
    St: SyncStateStore,
    F: FactStore + AuditLog,
    P: EventPublisher,
{
    let platform = sync.source.platform().as_str();
    match req.action {
        Action::Confirm => {
            let n = sync.confirm(now).await.map_err(typed)?;
            Ok(json!({"platform": platform, "confirmed": n}))
        }
        Action::Discard => {
            let n = sync.discard(now).await.map_err(typed)?;
            Ok(json!({"platform": platform, "discarded": n}))
        }
        Action::Sync => {
            let mode = if req.full { Mode::Full } else { Mode::Auto };
            let out = match sync.run(mode, now, keep_going).await {
                Ok(out) => out,
                // The secret is still empty: the operator has not connected the platform.
                // An answer, not a failure, so the schedule does not retry it into the DLQ.
                Err(SyncError::Source(SourceError::NotConfigured { .. })) => {
                    tracing::warn!(
                        platform,
                        metric = "SyncNotConfigured",
                        "platform sync skipped: its credentials secret is empty"
                    );
                    return Ok(json!({"platform": platform, "not_configured": true}));
                }
                Err(e) => {
                    tracing::error!(platform, error = %e, "platform sync failed: nothing changed");
                    return Err(typed(e));
                }
            };
            // While endings wait for an operator, say so on every run (the metric `SyncHeld`
            // feeds the one brake's alarm, which stays on until they are confirmed or
            // discarded).
            if let Ok(p) = sync.state.progress(platform).await
                && let Some(h) = p.held
            {
                tracing::warn!(
                    metric = "SyncHeld",
                    platform,
                    endings = h.events,
                    ended = h.ended,
                    active = h.active,
                    "platform sync endings wait for an operator: `access-sync sync confirm|discard`"
                );
            }
            Ok(match out {
                SyncOutcome::Paused { records } => {
                    tracing::info!(platform, records, "platform sync paused for time");
                    json!({"platform": platform, "paused": true, "records": records})
                }
                SyncOutcome::Done(r) => json!({
                    "platform": platform,
                    "full": r.full,
                    "records": r.records,
                    "unmapped": r.unmapped.len(),
                    "unchanged": r.unchanged,
                    "changes": r.changes.len(),
                    "endings": r.endings.len(),
                    "held": r.held,
                }),
            })
        }
    }
}
