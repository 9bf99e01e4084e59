//! A scheduled tick → one reconcile run at the clock's `now`. The scheduled event itself
//! carries nothing we need (its `time` is when EventBridge meant to fire; the clock decides).
//!
//! An aborted run (an incomplete Kisi read) and a braked run are not errors: they are logged
//! as warnings with the report, and the next tick tries again. Store and scheduler failures
//! are errors, typed Retryable / NonRetryable.

use access_sync_engine::{Engine, ReconcileConfig, Store, Trigger};
use access_sync_lambda::{Clock, ConvergeRequest, Edges, HandlerError, Kisi};
use access_sync_ports::{EventPublisher, OutboundEvent};
use serde_json::Value;

/// Runs one reconcile and sends what needs converging to `on_edge`; answers the report
/// without the pair list (which can be large).
///
/// # Errors
/// The engine's store and scheduler failures, and publish failures, typed.
pub async fn handle<S: Store, K: Kisi, E: Edges, P: EventPublisher>(
    engine: &Engine<S, K, E>,
    events: &P,
    clock: &Clock,
    config: &ReconcileConfig,
) -> Result<Value, HandlerError> {
    let r = engine.reconcile(clock.now().await?, config).await?;
    let mut report = serde_json::to_value(&r).unwrap_or_default();
    if let Some(m) = report.as_object_mut() {
        m.remove("to_converge");
    }
    if let Some(reason) = &r.aborted {
        tracing::warn!(%reason, %report, "reconcile aborted: nothing revoked");
    } else if r.braked {
        tracing::warn!(revokes = r.revokes_wanted, %report, "reconcile brake engaged");
    } else {
        tracing::info!(%report, "reconcile done");
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

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_lambda::testing::{FlakyPublisher, at, engine};
    use access_sync_rules::{Email, Event, GroupId};
    use serde_json::json;
    use std::collections::BTreeSet;

    #[tokio::test]
    async fn an_assignment_deleted_by_hand_in_kisi_is_sent_to_on_edge_to_converge() {
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

        let events = FlakyPublisher::default();
        let clock = Clock::fixed(at("2026-12-07T10:15:00Z"));
        let config = ReconcileConfig::default();
        let r = handle(&engine, &events, &clock, &config).await.unwrap();
        assert_eq!(
            (&r["managed"], &r["missing_in_kisi"]),
            (&json!(1), &json!(1))
        );
        assert!(
            r.get("to_converge").is_none(),
            "the pair list stays out of the answer"
        );
        // Reconcile never writes Kisi: it asks on_edge to converge Cat's room.
        assert!(engine.kisi().grants().is_empty());
        let sent: Vec<_> = events
            .published()
            .into_iter()
            .map(|e| (e.detail_type, e.detail))
            .collect();
        let want = json!({"email": "cat@studio.dev", "groups": [201], "trigger": "reconcile"});
        assert_eq!(sent, vec![("converge".to_string(), want)]);
    }

    #[tokio::test]
    async fn a_kisi_outage_aborts_the_run_without_failing_it() {
        let engine = engine().await;
        engine.kisi().set_down(true);
        let events = FlakyPublisher::default();
        let clock = Clock::fixed(at("2026-12-07T10:15:00Z"));
        let config = ReconcileConfig::default();
        let r = handle(&engine, &events, &clock, &config).await.unwrap();
        assert!(r["aborted"].is_string(), "{r}");
        assert!(events.published().is_empty());
    }

    #[tokio::test]
    async fn the_sample_event_is_a_scheduled_event() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/reconcile_15m.json")).unwrap();
        assert_eq!(v["detail-type"], "Scheduled Event");
    }
}
