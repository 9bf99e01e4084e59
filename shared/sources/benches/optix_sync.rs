//! Requests and wall time of a full Optix re-sync (every collection the client reads, to the
//! end of each listing, bookings and check-ins in a 30-day window) against the Optix simulator
//! over loopback HTTP, for generated organisations of 500 and 10,000 members, and what Optix's
//! documented 60 requests a minute per token (optix.md §4 [C THROTTLE]) makes of it.
//!
//! ```sh
//! cargo bench -p access-sync-sources --bench optix_sync
//! OPTIX_BENCH_MEMBERS=500,2000 cargo bench -p access-sync-sources --bench optix_sync
//! ```
//!
//! The client runs with an unlimited budget here, so the wall time is the client's and the
//! simulator's own cost; the production time is bounded below by the budget: `requests / 60`
//! minutes. The interval printed keeps a sync to at most half of each interval's budget, so at
//! least 30 requests a minute stay free for the re-reads webhooks ask for.

use std::sync::Arc;
use std::time::Instant;

use access_sync_kisi::Unlimited;
use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_ports::memory::MemoryApiTokens;
use access_sync_sources::optix::{OptixConfig, OptixSource};
use optix_sim::{Sim, SimConfig, spawn};

/// The share of the per-minute budget a sync may use on average.
const SYNC_SHARE: f64 = 0.5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("OPTIX_BENCH_MEMBERS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 10_000]);
    let anchor = chrono::DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    println!(
        "members | records | requests | root fields | wall (unlimited) | mapped events | floor at 60/min | interval (sync ≤ {:.0} % of budget)",
        SYNC_SHARE * 100.0
    );
    for members in sizes {
        let sim = Sim::new(SimConfig {
            per_minute: usize::MAX,
            ..SimConfig::default()
        });
        sim.load(&optix_sim::generate::generate(members, anchor.timestamp()));
        let running = spawn(sim).await.expect("the simulator starts");
        let mut cfg = OptixConfig::new(Some("456".into()));
        cfg.endpoint = running.endpoint.clone();
        let tokens = Arc::new(MemoryApiTokens::with(Platform::Optix, "tok-1-o"));
        let client = OptixSource::new(tokens, cfg)
            .expect("client")
            .with_budget(Arc::new(Unlimited));
        let window = Some((
            anchor - chrono::Duration::days(1),
            anchor + chrono::Duration::days(30),
        ));
        let started = Instant::now();
        let records = client.read_all(window).await.expect("a full read");
        let wall = started.elapsed();
        let refs: Vec<ApiRecord<'_>> = records
            .iter()
            .map(|r| ApiRecord {
                collection: &r.collection,
                id: &r.id,
                body: &r.body,
            })
            .collect();
        let mapped = Platform::Optix
            .events_from_records(&refs, anchor)
            .expect("mapped");
        let st = client.stats();
        let floor_min = st.requests as f64 / 60.0;
        let interval_min = (floor_min / SYNC_SHARE).ceil().max(15.0);
        println!(
            "{members} | {} | {} | {} | {:.2} s | {} ({} unmapped) | {:.1} min | {:.0} min",
            records.len(),
            st.requests,
            st.root_fields,
            wall.as_secs_f64(),
            mapped.events.len(),
            mapped.unmapped.len(),
            floor_min,
            interval_min
        );
    }
}
