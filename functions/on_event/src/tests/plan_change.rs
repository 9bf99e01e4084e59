//! `on_plan_change`'s events through the handler, on the in-memory ports and Kisi.

use crate::handler::*;
use access_sync_ports::FactStore;
use access_sync_rules::Email;
use access_sync_runtime::Clock;
use access_sync_runtime::messages::SOURCE_INGEST;
use access_sync_runtime::testing::{FlakyPublisher, at, engine, envelope, failed_ids, sqs_batch};
use serde_json::json;

fn plan(detail: serde_json::Value) -> String {
    envelope(SOURCE_INGEST, "plan", detail)
}

#[tokio::test]
async fn a_team_plan_asks_to_converge_every_team_member() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let batch = sqs_batch(&[
        (
            "m1",
            plan(json!({"id": "d-1", "at": "2026-12-07T07:00:00Z",
            "member": {"id": "m-ann", "email": "Ann@Acme.io"}})),
        ),
        (
            "m2",
            plan(json!({"id": "d-2", "at": "2026-12-07T07:00:00Z",
            "team": {"id": "t-acme", "members": ["m-ann"]}})),
        ),
        (
            "m3",
            plan(json!({"id": "d-3", "at": "2026-12-07T07:01:00Z",
            "entitlement": {"id": "sub:acme", "kind": "plan", "refs": ["plan:hot-desk"],
                "holder": {"team": "t-acme"}, "start": "2026-12-01T00:00:00Z"}})),
        ),
        (
            "m4",
            plan(json!({"id": "d-4", "at": "2026-12-07T07:02:00Z",
            "cancel": {"entitlement": "booking:unknown"}})),
        ),
    ]);
    let r = handle(&engine, &events, &clock, batch).await;
    assert!(failed_ids(&r).is_empty());
    let ann = Email::parse("ann@acme.io").unwrap();
    assert!(
        !engine
            .store()
            .facts_for_email(&ann)
            .await
            .unwrap()
            .is_empty()
    );
    let converge = events.converge_requests();
    assert_eq!(
        converge,
        vec![json!({"email": "ann@acme.io", "groups": [101, 102], "trigger": "event"})]
    );
}

#[tokio::test]
async fn the_sample_event_is_handled() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let sample = include_str!("../../../../events/on_plan_change.json");
    let r = handle(
        &engine,
        &events,
        &clock,
        serde_json::from_str(sample).unwrap(),
    )
    .await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!(events.published().len(), 1);
}
