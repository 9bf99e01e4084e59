//! `reconcile_15m`'s handler on the in-memory ports (Kisi too).

use crate::handler::*;
use access_sync_engine::{ReconcileConfig, Trigger};
use access_sync_ports::RunLog;
use access_sync_rules::{Email, Event, GroupId};
use access_sync_runtime::Clock;
use access_sync_runtime::testing::{FlakyPublisher, at, engine};
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
    // The run is kept for `access-sync status`, without the pair list.
    let last = engine.store().last_run("reconcile").await.unwrap().unwrap();
    assert_eq!(
        (last.at, last.outcome.as_str()),
        (at("2026-12-07T10:15:00Z"), "ok")
    );
    let report: serde_json::Value = serde_json::from_str(&last.report).unwrap();
    assert_eq!(report["missing_in_kisi"], json!(1));
    assert!(!last.report.contains("cat@studio.dev"), "{}", last.report);
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
    let last = engine.store().last_run("reconcile").await.unwrap().unwrap();
    assert_eq!(last.outcome, "aborted");
}

#[tokio::test]
async fn the_sample_event_is_a_scheduled_event() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/reconcile_15m.json")).unwrap();
    assert_eq!(v["detail-type"], "Scheduled Event");
}
