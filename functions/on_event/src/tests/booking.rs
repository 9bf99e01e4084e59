//! `on_booking`'s events through the handler, on the in-memory ports and Kisi.

use crate::handler::*;
use access_sync_ports::FactStore;
use access_sync_rules::Email;
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

fn booking(id: &str, holder: &str, booking: &str) -> String {
    envelope(
        SOURCE_INGEST,
        "booking",
        json!({"id": id, "at": "2026-12-07T07:01:00Z",
               "entitlement": {"id": booking, "kind": "booking",
                   "refs": ["resource:elephant-room"], "holder": {"member": holder},
                   "start": "2026-12-07T10:00:00Z", "end": "2026-12-07T11:00:00Z"}}),
    )
}

#[tokio::test]
async fn a_booking_is_recorded_and_a_converge_request_published() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let batch = sqs_batch(&[
        ("m1", member("d-1", "m-cat", "Cat@Studio.dev")),
        ("m2", booking("d-2", "m-cat", "booking:b-1")),
    ]);
    let r = handle(&engine, &events, &clock, batch).await;
    assert!(failed_ids(&r).is_empty());
    let cat = Email::parse("cat@studio.dev").unwrap();
    assert!(
        !engine
            .store()
            .facts_for_email(&cat)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        events.converge_requests(),
        vec![json!({"email": "cat@studio.dev", "groups": [201], "trigger": "event"})]
    );
    assert_eq!(engine.kisi().calls(), 0, "event functions never call Kisi");
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_and_asks_for_the_converge_again() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let first = sqs_batch(&[
        ("m1", member("d-1", "m-cat", "cat@studio.dev")),
        ("m2", booking("d-2", "m-cat", "booking:b-1")),
    ]);
    handle(&engine, &events, &clock, first).await;
    let again = sqs_batch(&[("m3", booking("d-2", "m-cat", "booking:b-1"))]);
    let r = handle(&engine, &events, &clock, again).await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!(events.converge_requests().len(), 2);
}

#[tokio::test]
async fn a_retryable_failure_fails_only_its_own_item() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    events.refuse("bob@acme.io");
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let batch = sqs_batch(&[
        ("m1", member("d-1", "m-cat", "cat@studio.dev")),
        ("m2", member("d-2", "m-bob", "bob@acme.io")),
        ("m3", booking("d-3", "m-bob", "booking:b-2")),
        ("m4", booking("d-4", "m-cat", "booking:b-1")),
    ]);
    let r = handle(&engine, &events, &clock, batch).await;
    assert_eq!(failed_ids(&r), vec!["m3"]);
    assert_eq!(
        events.converge_requests(),
        vec![json!({"email": "cat@studio.dev", "groups": [201], "trigger": "event"})]
    );
    // SQS redelivers m3; the event is recorded already, the request goes out this time.
    let events2 = FlakyPublisher::default();
    let retry = sqs_batch(&[("m3", booking("d-3", "m-bob", "booking:b-2"))]);
    let r = handle(&engine, &events2, &clock, retry).await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!(events2.converge_requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_message_is_reported_failed_so_it_reaches_the_dlq() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let bad_event = envelope(
        SOURCE_INGEST,
        "booking",
        json!({"id": "x", "at": "yesterday"}),
    );
    let batch = sqs_batch(&[
        ("m1", "not json".to_string()),
        ("m2", bad_event),
        ("m3", member("d-1", "m-cat", "cat@studio.dev")),
    ]);
    let r = handle(&engine, &events, &clock, batch).await;
    assert_eq!(failed_ids(&r), vec!["m1", "m2"]);
}

#[tokio::test]
async fn the_sample_event_is_handled() {
    let (engine, events) = (engine().await, FlakyPublisher::default());
    let clock = Clock::fixed(at("2026-12-07T07:05:00Z"));
    let sample = include_str!("../../../../events/on_booking.json");
    let r = handle(
        &engine,
        &events,
        &clock,
        serde_json::from_str(sample).unwrap(),
    )
    .await;
    assert!(failed_ids(&r).is_empty());
    assert!(!events.converge_requests().is_empty());
}
