//! Requests and wall time of a full OfficeRnD sync (every collection the client reads, to the
//! end of each listing) against the OfficeRnD simulator over loopback HTTP, for generated
//! organisations of 500 and 10,000 members, and the floor the documented limits allow.
//!
//! ```sh
//! cargo bench -p access-sync-sources --bench officernd_sync
//! OFFICERND_BENCH_MEMBERS=500,2000 cargo bench -p access-sync-sources --bench officernd_sync
//! ```
//!
//! The client runs with an unlimited request budget here, so the wall time is the client's
//! and the simulator's own cost; the time a production sync needs is bounded below by the
//! budget (see the printed floor). OfficeRnD documents `$limit` ≤ 50 and about 5 token
//! requests a minute, but no read limit (reference §3, §4): the request floor is one token plus
//! one request per 50 records of each collection; the time floor exists only under a budget
//! we choose (default 10 requests per second).

use std::sync::Arc;
use std::time::{Duration, Instant};

use access_sync_kisi::Unlimited;
use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource};
use access_sync_rules::Instant as At;
use access_sync_sources::officernd::{MAX_PAGE_SIZE, OfficerndConfig, OfficerndSource};
use chrono::{DateTime, Utc};
use officernd_sim::{Sim, SimConfig};

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn window(collection: &str) -> Option<(At, At)> {
    match collection {
        "bookings/occurrences" => Some((
            anchor() - chrono::Duration::days(60),
            anchor() + chrono::Duration::days(300),
        )),
        "checkins" => Some((
            anchor() - chrono::Duration::days(60),
            anchor() + chrono::Duration::days(2),
        )),
        _ => None,
    }
}

async fn run(members: usize) {
    let sim = Sim::new(SimConfig::default());
    sim.load_fixture(&officernd_sim::generate(members, 1, anchor()))
        .unwrap();
    sim.set_now(Some(anchor() + chrono::Duration::hours(2)));
    let h = officernd_sim::spawn_sim(sim).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        "officernd",
        &serde_json::json!({
            "client_id": "sim-client",
            "client_secret": "sim-secret",
            "org_slug": h.org_slug(),
            "token_url": h.token_url(),
            "api_url": format!("{}/api/v2/organizations", h.base_url),
        })
        .to_string(),
    );
    let config = OfficerndConfig::new("officernd");
    let default_rate = config.reads_per_second;
    let src = OfficerndSource::new(secrets, config)
        .unwrap()
        .with_budget(Arc::new(Unlimited));

    let started = Instant::now();
    let mut floor_requests = 1u64; // the token
    let mut records_total = 0usize;
    for &collection in src.collections() {
        let mut cursor = None;
        let mut n = 0usize;
        loop {
            let page = src
                .list(&ListRequest {
                    collection: collection.to_owned(),
                    changed_since: None,
                    window: window(collection),
                    cursor: cursor.take(),
                })
                .await
                .unwrap();
            n += page.records.len();
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        floor_requests += n.div_ceil(MAX_PAGE_SIZE as usize).max(1) as u64;
        records_total += n;
    }
    let wall = started.elapsed();
    let stats = src.stats();
    let counters = h.counters();
    let api = stats.requests;
    let floor_time = Duration::from_secs_f64(api as f64 / default_rate as f64);
    println!(
        "officernd full sync, {members} members: {records_total} records in {} pages; \
         requests {} (API {api} + token {}; floor {floor_requests}); wall {:.2?} \
         (unlimited budget, release sim on loopback); at the default budget of \
         {default_rate}/s it cannot take less than {:.1?}",
        stats.pages, counters.total, stats.token_requests, wall, floor_time
    );
    assert_eq!(counters.total, api + stats.token_requests);
}

fn main() {
    // `cargo test --benches` passes `--bench`-less args; run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("OFFICERND_BENCH_MEMBERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 10_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for members in sizes {
        rt.block_on(run(members));
    }
}
