//! Each platform end to end on the local stack: its native webhook sequence
//! (`events/<platform>/webhooks.*`: create, update, cancel, a team plan, a pass used up; for
//! TeamUp a blocked membership and a class registration), signed as the platform signs it, is
//! posted to the platform's ingest route at the instant each payload carries, and travels
//! EventBridge → SQS → `on_*` → `on_edge` → the Kisi simulator with edges fired on the test
//! clock. Kisi must then show exactly what `access-sync normalize | access-sync preview` shows
//! for the same file, which `events/<platform>/expected.jsonl` records.

mod common;

use access_sync_platforms::Platform;
use access_sync_rules::mapping::Mappings;
use chrono::Duration;
use local_stack::native::deliveries;
use local_stack::timeline::{kisi_timeline, preview_timeline};

fn fixture(p: Platform) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(p.as_str());
    (
        std::fs::read_to_string(dir.join("mappings.toml")).unwrap(),
        std::fs::read_to_string(dir.join(p.spec().fixture().file)).unwrap(),
    )
}

async fn platform_end_to_end(p: Platform) {
    let (mapping, text) = fixture(p);
    let (natives, events) = deliveries(p, &text).unwrap();
    assert!(
        natives.len() >= 8,
        "{p:?}: a realistic sequence, got {}",
        natives.len()
    );
    let start = natives[0].at;
    let horizon = natives.iter().map(|n| n.at).max().unwrap() + Duration::days(30);
    let (stack, driver) = common::start(p.as_str(), &mapping, start).await;
    for n in &natives {
        driver.advance(n.at).await.unwrap();
        driver.post_native(n, n.at).await.unwrap();
        driver.pumps.drain().await.unwrap();
    }
    driver.advance(horizon).await.unwrap();
    assert!(!driver.pumps.has_failures(), "{p:?}: deliveries failed");
    let kisi = kisi_timeline(&driver.sim.timeline().await.unwrap(), horizon);
    let preview = preview_timeline(&Mappings::parse(&mapping).unwrap(), &events, horizon);
    assert!(!preview.is_empty(), "{p:?}: the fixture grants nothing");
    assert_eq!(
        kisi, preview,
        "{p:?}: Kisi differs from normalize | preview"
    );
    stack.stop().await;
}

/// One test per platform, below (separate tests run in parallel): a new platform makes this
/// match fail to compile until it has its own.
#[allow(dead_code)]
fn every_platform_has_its_test(p: Platform) {
    match p {
        Platform::Officernd | Platform::Optix | Platform::Nexudus | Platform::Teamup => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officernd_webhooks_end_to_end() {
    platform_end_to_end(Platform::Officernd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optix_webhooks_end_to_end() {
    platform_end_to_end(Platform::Optix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nexudus_webhooks_end_to_end() {
    platform_end_to_end(Platform::Nexudus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamup_webhooks_end_to_end() {
    platform_end_to_end(Platform::Teamup).await;
}
