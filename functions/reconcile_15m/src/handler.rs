//! A scheduled tick → one reconcile run at the clock's `now`. The scheduled event itself
//! carries nothing we need (its `time` is when EventBridge meant to fire; the clock decides).
//!
//! An aborted run (an incomplete Kisi read) and a braked run are not errors: they are logged
//! as warnings with the report, and the next tick tries again. Store and scheduler failures
//! are errors, typed Retryable / NonRetryable.

use access_sync_engine::{Engine, ReconcileConfig, ReconcileReport, Store};
use access_sync_lambda::{Clock, Edges, HandlerError, Kisi};

/// Runs one reconcile.
///
/// # Errors
/// The engine's store and scheduler failures, typed.
pub async fn handle<S: Store, K: Kisi, E: Edges>(
    engine: &Engine<S, K, E>,
    clock: &Clock,
    config: &ReconcileConfig,
) -> Result<ReconcileReport, HandlerError> {
    let now = clock.now().await?;
    let r = engine.reconcile(now, config).await?;
    let report = serde_json::to_value(&r).unwrap_or_default();
    if let Some(reason) = &r.aborted {
        tracing::warn!(%reason, %report, "reconcile aborted: nothing revoked");
    } else if r.braked {
        tracing::warn!(revokes = r.revokes_wanted, %report, "reconcile brake engaged");
    } else {
        tracing::info!(%report, "reconcile done");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_engine::Trigger;
    use access_sync_lambda::testing::{at, engine};
    use access_sync_rules::{Email, Event, GroupId};
    use std::collections::BTreeSet;

    #[tokio::test]
    async fn reconcile_restores_an_assignment_deleted_by_hand_in_kisi() {
        let engine = engine().await;
        let now = at("2026-12-07T10:05:00Z");
        for line in [
            r#"{"id":"d-1","at":"2026-12-07T07:00:00Z","member":{"id":"m-cat","email":"cat@studio.dev"}}"#,
            r#"{"id":"d-2","at":"2026-12-07T07:01:00Z","entitlement":{"id":"booking:b-1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m-cat"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
        ] {
            engine
                .handle_event(&Event::parse(line).unwrap(), now)
                .await
                .unwrap();
        }
        let cat = Email::parse("cat@studio.dev").unwrap();
        let groups = BTreeSet::from([GroupId::new(201).unwrap()]);
        engine
            .converge(&cat, &groups, now, Trigger::Event)
            .await
            .unwrap();
        assert_eq!(engine.kisi().grants().len(), 1);
        engine.kisi().delete_all_by_hand();

        let clock = Clock::fixed(at("2026-12-07T10:15:00Z"));
        let r = handle(&engine, &clock, &ReconcileConfig::default())
            .await
            .unwrap();
        assert_eq!((r.managed, r.missing_in_kisi, r.aborted), (1, 1, None));
        assert_eq!(engine.kisi().grants().len(), 1);
    }

    #[tokio::test]
    async fn a_kisi_outage_aborts_the_run_without_failing_it() {
        let engine = engine().await;
        engine.kisi().set_down(true);
        let clock = Clock::fixed(at("2026-12-07T10:15:00Z"));
        let r = handle(&engine, &clock, &ReconcileConfig::default())
            .await
            .unwrap();
        assert!(r.aborted.is_some(), "{r:?}");
        assert_eq!(r.converged, 0);
    }

    #[tokio::test]
    async fn the_sample_event_is_a_scheduled_event() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/reconcile_15m.json")).unwrap();
        assert_eq!(v["detail-type"], "Scheduled Event");
    }
}
