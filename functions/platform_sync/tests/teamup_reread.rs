//! TeamUp's webhooks are nudges (issue 20): the re-read of what a delivery named, through the
//! real TeamUp client against the TeamUp simulator over HTTP. A body claiming a membership the
//! API does not have grants nothing: the membership reads as absent (nothing published), and
//! the customer it named publishes only what TeamUp's API holds for them.

use std::sync::Arc;

use access_sync_ports::RereadRequest;
use access_sync_ports::memory::{MemoryPublisher, MemorySecrets};
use access_sync_rules::{Body, Event, Instant, Status};
use access_sync_runtime::messages::canonical_event;
use access_sync_sources::teamup::{TeamupConfig, TeamupSource};
use platform_sync::reread::reread;
use serde_json::json;
use teamup_sim::{Sim, SimConfig};

fn at() -> Instant {
    "2026-11-30T02:00:00Z".parse().unwrap()
}

fn req(collection: &str, id: &str) -> RereadRequest {
    RereadRequest {
        platform: "teamup".into(),
        collection: collection.into(),
        id: id.into(),
    }
}

#[tokio::test]
async fn a_nudge_claiming_a_membership_the_api_does_not_have_grants_nothing() {
    let sim = Sim::new(SimConfig::default());
    sim.set_clock(Some(at()));
    sim.seed(&teamup_sim::generate(30, at())).unwrap();
    let h = teamup_sim::spawn_sim(sim).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        "teamup",
        &json!({"token": "sim-m2m-token", "api_url": h.api_url()}).to_string(),
    );
    let source = TeamupSource::new(secrets, TeamupConfig::new("teamup")).unwrap();
    let bus = MemoryPublisher::default();

    // The delivery claimed membership 999 for customer 100004 (whose own membership is
    // cancelled). TeamUp has no membership 999: nothing is published for it.
    let out = reread(
        &source,
        &bus,
        canonical_event,
        &req("customer_memberships", "999"),
        at(),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["gone"].as_bool(), out["published"].as_u64()),
        (Some(true), Some(0))
    );
    assert!(bus.published().is_empty());

    // The customer it named: what the API holds — the member, and membership 200004 cancelled.
    let out = reread(
        &source,
        &bus,
        canonical_event,
        &req("customers", "100004"),
        at(),
    )
    .await
    .unwrap();
    assert_eq!(out["gone"], false);
    let events: Vec<Event> = bus
        .published()
        .iter()
        .map(|e| Event::parse(&e.detail.to_string()).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.body, Body::Member(m) if m.id.0 == "100004"))
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(&e.body, Body::Entitlement(x) if x.status == Status::Active)),
        "nothing grants: {events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(&e.body, Body::Cancel(x) if x.as_str() == "teamup:membership:200004")
        )
    );

    // Once TeamUp does hold an active membership for them, the same nudge grants it.
    h.sim
        .put(
            "customer_memberships",
            &json!({"id": 200004, "status": "active"}),
        )
        .unwrap();
    let before = bus.published().len();
    reread(
        &source,
        &bus,
        canonical_event,
        &req("customers", "100004"),
        at(),
    )
    .await
    .unwrap();
    let granted = bus.published()[before..].iter().any(|e| {
        matches!(Event::parse(&e.detail.to_string()).unwrap().body,
            Body::Entitlement(x) if x.id.as_str() == "teamup:membership:200004" && x.status == Status::Active)
    });
    assert!(granted);
    h.stop().await;
}
