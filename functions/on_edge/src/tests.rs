//! `on_edge`'s handler on the in-memory ports (Kisi too).

use crate::handler::*;
use access_sync_rules::Event;
use access_sync_runtime::Clock;
use access_sync_runtime::messages::{SOURCE_EVENTS, SOURCE_INGEST};
use access_sync_runtime::testing::{TestEngine, at, engine, envelope, failed_ids, sqs_batch};
use serde_json::json;

/// Cat is a member; she booked the Elephant room 10:00-11:00, Bob booked it 11:00-12:00.
async fn booked() -> TestEngine {
    let engine = engine().await;
    let now = at("2026-12-07T07:05:00Z");
    for line in [
        r#"{"id":"d-1","at":"2026-12-07T07:00:00Z","member":{"id":"m-cat","email":"cat@studio.dev"}}"#,
        r#"{"id":"d-2","at":"2026-12-07T07:00:00Z","member":{"id":"m-bob","email":"bob@acme.io"}}"#,
        r#"{"id":"d-3","at":"2026-12-07T07:01:00Z","entitlement":{"id":"booking:b-1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m-cat"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
        r#"{"id":"d-4","at":"2026-12-07T07:01:00Z","entitlement":{"id":"booking:b-2","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m-bob"},"start":"2026-12-07T11:00:00Z","end":"2026-12-07T12:00:00Z"}}"#,
    ] {
        engine
            .handle_event(&Event::parse(line).unwrap(), now)
            .await
            .unwrap();
    }
    engine
}

fn input(v: serde_json::Value) -> Input {
    serde_json::from_value(v).unwrap()
}

fn request(email: &str) -> String {
    envelope(
        SOURCE_EVENTS,
        "converge",
        json!({"email": email, "groups": [201], "trigger": "event"}),
    )
}

#[tokio::test]
async fn an_edge_converges_its_pair_and_kisi_shows_the_grant() {
    let engine = booked().await;
    let clock = Clock::fixed(at("2026-12-07T10:00:00Z"));
    let edge =
        input(json!({"email": "cat@studio.dev", "group": 201, "edge": "2026-12-07T10:00:00Z"}));
    let out = handle(&engine, &clock, edge).await.unwrap();
    assert!(matches!(out, Output::Edge { converged: 1 }));
    assert_eq!(
        engine.kisi().grants(),
        vec![(
            "cat@studio.dev".to_string(),
            201,
            Some(at("2026-12-07T11:00:00Z"))
        )]
    );
    // The close edge is scheduled.
    assert!(
        engine
            .edges()
            .pending()
            .iter()
            .any(|e| e.edge == at("2026-12-07T11:00:00Z"))
    );
}

#[tokio::test]
async fn an_edge_opens_even_when_the_clock_is_a_moment_behind_the_schedule() {
    let engine = booked().await;
    let clock = Clock::fixed(at("2026-12-07T09:59:59Z"));
    let edge =
        input(json!({"email": "cat@studio.dev", "group": 201, "edge": "2026-12-07T10:00:00Z"}));
    handle(&engine, &clock, edge).await.unwrap();
    assert_eq!(engine.kisi().grants().len(), 1);
}

#[tokio::test]
async fn an_edge_during_a_kisi_outage_fails_retryable() {
    let engine = booked().await;
    engine.kisi().set_down(true);
    let clock = Clock::fixed(at("2026-12-07T10:00:00Z"));
    let edge =
        input(json!({"email": "cat@studio.dev", "group": 201, "edge": "2026-12-07T10:00:00Z"}));
    let err = handle(&engine, &clock, edge).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_converge_batch_fails_only_the_items_that_failed() {
    let engine = booked().await;
    engine.kisi().fail_for("bob@acme.io");
    let clock = Clock::fixed(at("2026-12-07T11:30:00Z"));
    let batch = sqs_batch(&[
        ("m1", request("cat@studio.dev")),
        ("m2", request("bob@acme.io")),
        (
            "m3",
            envelope(SOURCE_INGEST, "converge", json!({"email": "x@y.z"})),
        ),
        ("m4", "{".to_string()),
    ]);
    let Output::Batch(r) = handle(&engine, &clock, Input::Converge(batch))
        .await
        .unwrap()
    else {
        panic!("a batch answers with a batch response");
    };
    assert_eq!(failed_ids(&r), vec!["m2", "m3", "m4"]);
    // Cat's booking has ended: nothing granted; SQS redelivers Bob's request.
    assert!(engine.kisi().grants().is_empty());
    engine.kisi().recover();
    let retry = Input::Converge(sqs_batch(&[("m2", request("bob@acme.io"))]));
    let Output::Batch(r) = handle(&engine, &clock, retry).await.unwrap() else {
        panic!("a batch answers with a batch response");
    };
    assert!(failed_ids(&r).is_empty());
    assert_eq!(engine.kisi().grants().len(), 1);
}

#[tokio::test]
async fn a_converge_request_grants_what_is_open_now() {
    let engine = booked().await;
    let clock = Clock::fixed(at("2026-12-07T11:30:00Z"));
    let batch = sqs_batch(&[
        ("m1", request("bob@acme.io")),
        ("m2", request("cat@studio.dev")),
    ]);
    let Output::Batch(r) = handle(&engine, &clock, Input::Converge(batch))
        .await
        .unwrap()
    else {
        panic!("a batch answers with a batch response");
    };
    assert!(failed_ids(&r).is_empty());
    assert_eq!(
        engine.kisi().grants(),
        vec![(
            "bob@acme.io".to_string(),
            201,
            Some(at("2026-12-07T12:00:00Z"))
        )]
    );
}

#[tokio::test]
async fn the_sample_events_are_an_edge_and_a_converge_batch() {
    let edge: Input = serde_json::from_str(include_str!("../../../events/on_edge.json")).unwrap();
    assert!(matches!(edge, Input::Edge(_)));
    let batch = include_str!("../../../events/on_edge_converge.json");
    let Input::Converge(batch) = serde_json::from_str(batch).unwrap() else {
        panic!("the converge sample is an SQS batch");
    };
    let engine = booked().await;
    let clock = Clock::fixed(at("2026-12-07T10:05:00Z"));
    let Output::Batch(r) = handle(&engine, &clock, Input::Converge(batch))
        .await
        .unwrap()
    else {
        panic!("a batch answers with a batch response");
    };
    assert!(failed_ids(&r).is_empty());
    assert_eq!(engine.kisi().grants().len(), 1);
}
