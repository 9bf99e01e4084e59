//! Requests and wall time of a full and an incremental Nexudus sync (every collection the
//! client reads, to the end of each listing) against the Nexudus simulator over loopback HTTP,
//! for generated spaces of 500 and 10,000 coworkers, at page sizes 100 (the client's default)
//! and 1000 (its maximum), and the floor Nexudus's published limits put under them.
//!
//! ```sh
//! cargo bench -p access-sync-sources --bench nexudus_sync
//! NEXUDUS_BENCH_COWORKERS=500,2000 cargo bench -p access-sync-sources --bench nexudus_sync
//! ```
//!
//! The client runs with an unlimited budget here, so the wall time is the client's and the
//! simulator's own cost. A production sync is bounded below by the limits (R §4): 120 requests
//! a minute and 5000 an hour, so the floor is `requests / 2` seconds, or `requests / 5000`
//! hours past 5000 requests. The incremental sync follows a change of 1 % of the coworkers,
//! contracts and time passes 15 minutes after the full one, and asks for changes since the
//! full sync began (the client widens that by 14 h 1 min for the undocumented zone of the
//! filter, so it also re-reads what changed in the 14 hours before).

use std::sync::Arc;
use std::time::{Duration, Instant};

use access_sync_kisi::Unlimited;
use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource};
use access_sync_rules::Instant as At;
use access_sync_sources::nexudus::{NexudusConfig, NexudusSource, REQUESTS_PER_MINUTE};
use chrono::{DateTime, Utc};
use nexudus_sim::{Sim, SimConfig, generate};
use serde_json::json;

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn floor(requests: u64) -> Duration {
    let per_minute = Duration::from_secs_f64(requests as f64 * 60.0 / REQUESTS_PER_MINUTE as f64);
    let per_hour = Duration::from_secs_f64((requests as f64 / 5000.0).floor() * 3600.0);
    per_minute.max(per_hour)
}

async fn sync(src: &NexudusSource<Arc<MemorySecrets>>, since: Option<At>) -> (usize, Duration) {
    let started = Instant::now();
    let mut records = 0;
    for &collection in src.collections() {
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

async fn run(coworkers: usize, page_size: u32) {
    let sim = Sim::new(SimConfig::default());
    sim.seed(&generate(coworkers, 1, anchor())).unwrap();
    let full_at = anchor() + chrono::Duration::hours(2);
    sim.set_clock(Some(full_at));
    let h = nexudus_sim::spawn_sim(sim).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        "nexudus",
        &json!({"username": "admin@space.example", "password": "sim-password", "api_url": h.api_url()})
            .to_string(),
    );
    let src = NexudusSource::new(
        secrets,
        NexudusConfig {
            page_size,
            ..NexudusConfig::new("nexudus")
        },
    )
    .unwrap()
    .with_budget(Arc::new(Unlimited));

    let (full_records, full_wall) = sync(&src, None).await;
    let full = src.stats();
    let full_requests = full.requests + full.token_requests;
    assert_eq!(h.sim.requests().len() as u64, full_requests);

    // 1 % of coworkers, contracts and passes change 15 minutes later.
    h.sim
        .set_clock(Some(full_at + chrono::Duration::minutes(15)));
    let step = 100;
    for i in (0..coworkers as i64).step_by(step) {
        let _ = h.sim.upsert(
            "spaces/coworkers",
            &json!({"Id": 1_000_000 + i, "FullName": "Changed"}),
        );
        if h.sim
            .get("billing/coworkercontracts", 2_000_000 + i)
            .is_some()
        {
            let _ = h.sim.upsert(
                "billing/coworkercontracts",
                &json!({"Id": 2_000_000 + i, "Cancelled": true}),
            );
        }
        if h.sim
            .get("billing/coworkertimepasses", 4_000_000 + i)
            .is_some()
        {
            let _ = h.sim.upsert(
                "billing/coworkertimepasses",
                &json!({"Id": 4_000_000 + i, "RemainingUses": 0}),
            );
        }
    }
    let (inc_records, inc_wall) = sync(&src, Some(full_at)).await;
    let after = src.stats();
    let inc_requests = after.requests + after.token_requests - full_requests;
    println!(
        "nexudus sync, {coworkers} coworkers, size {page_size}: full {full_records} records, {} pages, \
         {full_requests} requests (incl. {} token), wall {full_wall:.2?}, floor {:.1?}; \
         incremental {inc_records} records, {inc_requests} requests, wall {inc_wall:.2?}, floor {:.1?}",
        full.pages,
        full.token_requests,
        floor(full_requests),
        floor(inc_requests),
    );
    h.stop().await;
}

fn main() {
    // `cargo test --benches` passes no `--bench`: run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("NEXUDUS_BENCH_COWORKERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 10_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for coworkers in sizes {
        for page_size in [100, 1000] {
            rt.block_on(run(coworkers, page_size));
        }
    }
}
