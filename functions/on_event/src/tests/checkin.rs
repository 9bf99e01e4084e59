//! `on_checkin`'s events through the handler, on the in-memory ports and Kisi.

use crate::handler::*;
use access_sync_runtime::Clock;
use access_sync_runtime::messages::SOURCE_INGEST;
use access_sync_runtime::testing::{FlakyPublisher, at, engine, envelope, failed_ids, sqs_batch};
use serde_json::json;

fn member(id: &str, member: &str, email: &str) -> String {
    envelope(
        SOURCE_INGEST,
        "plan",
        json!({"id": id, "at": "2026-12-07T07:00:00Z",
        "member": {"id": member, "email": email}}),
    )
}

fn checkin(id: &str, member: &str) -> String {
    envelope(
        SOURCE_INGEST,
        "checkin",
        json!({"id": id, "at": "2026-12-07T08:40:00Z",
        "entitlement": {"id": format!("checkin:{id}"), "kind": "checkin",
            "refs": ["checkin:london"], "holder": {"member": member},
            "start": "2026-12-07T08:40:00Z"}}),
    )
}

#[tokio::test]
async fn a_checkin_asks_to_converge_the_front_door_and_a_failure_stays_with_its_item() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    events.refuse("dan@example.com");
    let clock = Clock::fixed(at("2026-12-07T08:41:00Z"));
    let batch = sqs_batch(&[
        ("m1", member("d-1", "m-eve", "eve@example.com")),
        ("m2", member("d-2", "m-dan", "dan@example.com")),
        ("m3", checkin("d-3", "m-eve")),
        ("m4", checkin("d-4", "m-dan")),
        ("m5", checkin("d-3", "m-eve")),
    ]);
    let r = handle(&engine, &events, &clock, batch).await;
    assert_eq!(failed_ids(&r), vec!["m4"]);
    let converge: Vec<_> = events.published().into_iter().map(|e| e.detail).collect();
    let eve = json!({"email": "eve@example.com", "groups": [101], "trigger": "event"});
    assert_eq!(converge, vec![eve.clone(), eve], "the duplicate asks again");
}

#[tokio::test]
async fn the_sample_event_is_handled() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T08:41:00Z"));
    let sample = include_str!("../../../../events/on_checkin.json");
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
