//! Requests and wall time of a full and an incremental TeamUp sync (every collection the
//! client reads, to the end of each listing, with the joins the client makes) against the
//! TeamUp simulator over loopback HTTP, for generated businesses of 500 and 10,000 customers,
//! and the floor TeamUp's published limit puts under them.
//!
//! ```sh
//! cargo bench -p access-sync-sources --bench teamup_sync
//! TEAMUP_BENCH_CUSTOMERS=500,2000 cargo bench -p access-sync-sources --bench teamup_sync
//! ```
//!
//! The client and the simulator run unthrottled here, so the wall time is their own cost. A
//! production sync is bounded below by TeamUp's 250 requests a minute per caller (§4): the
//! floor is `requests × 60 / 250` seconds, and at the sync's half share
//! (`TEAMUP_REQUESTS_PER_MINUTE`, 125) twice that. The incremental sync follows a change of
//! 1 % of the customer memberships and attendances 15 minutes after the full one (the only
//! collections TeamUp can list by change time, through its reports).

use std::sync::Arc;
use std::time::{Duration, Instant};

use access_sync_kisi::Unlimited;
use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource};
use access_sync_rules::Instant as At;
use access_sync_sources::TEAMUP_REQUESTS_PER_MINUTE;
use access_sync_sources::teamup::{REQUESTS_PER_MINUTE, TeamupConfig, TeamupSource};
use chrono::{DateTime, Utc};
use serde_json::json;
use teamup_sim::{Sim, SimConfig, generate};

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn floor(requests: u64, per_minute: usize) -> Duration {
    Duration::from_secs_f64(requests as f64 * 60.0 / per_minute as f64)
}

async fn sync(src: &TeamupSource<Arc<MemorySecrets>>, since: Option<At>) -> (usize, Duration) {
    let started = Instant::now();
    let mut records = 0;
    for &collection in src.collections() {
        if since.is_some() && !src.incremental(collection) {
            continue;
        }
        let mut cursor = None;
        loop {
            let page = src
                .list(&ListRequest {
                    collection: collection.to_owned(),
                    changed_since: since,
                    window: Some((
                        anchor() - chrono::Duration::days(1),
                        anchor() + chrono::Duration::days(31),
                    )),
                    cursor: cursor.take(),
                })
                .await
                .unwrap();
            records += page.records.len();
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    (records, started.elapsed())
}

async fn run(customers: usize) {
    let sim = Sim::new(SimConfig {
        requests_per_minute: None,
        ..SimConfig::default()
    });
    sim.set_clock(Some(anchor()));
    sim.seed(&generate(customers, anchor())).unwrap();
    let full_at = anchor() + chrono::Duration::hours(2);
    sim.set_clock(Some(full_at));
    let h = teamup_sim::spawn_sim(sim).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        "teamup",
        &json!({"token": "sim-m2m-token", "api_url": h.api_url()}).to_string(),
    );
    let src = TeamupSource::new(secrets, TeamupConfig::new("teamup"))
        .unwrap()
        .with_budget(Arc::new(Unlimited));

    let (full_records, full_wall) = sync(&src, None).await;
    let full = src.stats();
    assert_eq!(h.sim.requests().len() as u64, full.requests);

    // 1 % of customer memberships and attendances change 15 minutes later.
    h.sim
        .set_clock(Some(full_at + chrono::Duration::minutes(15)));
    for i in (0..customers as i64).step_by(100) {
        let _ = h.sim.put(
            "customer_memberships",
            &json!({"id": 200_000 + i, "status": "cancelled"}),
        );
    }
    for i in (0..customers as i64).step_by(1000) {
        if h.sim.get("attendances", 400_000 + i).is_some() {
            let _ = h.sim.put(
                "attendances",
                &json!({"id": 400_000 + i, "status": "late_cancelled"}),
            );
        }
    }
    let (inc_records, inc_wall) = sync(&src, Some(full_at)).await;
    let after = src.stats();
    let inc_requests = after.requests - full.requests;
    println!(
        "teamup sync, {customers} customers: full {full_records} records, {} pages, {} requests, \
         wall {full_wall:.2?}, floor {:.1?} at {REQUESTS_PER_MINUTE}/min ({:.1?} at the sync's {TEAMUP_REQUESTS_PER_MINUTE}/min); \
         incremental {inc_records} records, {inc_requests} requests, wall {inc_wall:.2?}, floor {:.1?} ({:.1?})",
        full.pages,
        full.requests,
        floor(full.requests, REQUESTS_PER_MINUTE),
        floor(full.requests, TEAMUP_REQUESTS_PER_MINUTE),
        floor(inc_requests, REQUESTS_PER_MINUTE),
        floor(inc_requests, TEAMUP_REQUESTS_PER_MINUTE),
    );
    h.stop().await;
}

fn main() {
    // `cargo test --benches` passes no `--bench`: run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("TEAMUP_BENCH_CUSTOMERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 10_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for customers in sizes {
        rt.block_on(run(customers));
    }
}
