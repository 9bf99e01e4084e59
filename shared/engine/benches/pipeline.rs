//! Pipeline benchmark (a bench binary): the real engine in process against moto (DynamoDB,
//! Scheduler) and the Kisi simulator over local HTTP — the same stack as the end-to-end tests.
//!
//! `cargo bench -p access-sync-engine --bench pipeline -- [--members 250] [--pairs 10000]`
//!
//! 1. Event → Kisi change latency: for each member a member event, a booking that is open now
//!    (a grant), an extension (a replace) and a cancel (a revoke): 4 × members events, each
//!    timed from `handle_event` to the end of its converge. The simulator injects no latency;
//!    the figures include its local HTTP round trips, so they are an upper bound. The Kisi
//!    budget is unlimited here: at Kisi's 5 requests/s a grant for a new user (3 calls) takes
//!    0.6 s of budget, which bounds throughput, not the engine's latency.
//! 2. Kisi calls per change ÷ the minimum (new user + grant: look-up, create user, create
//!    assignment = 3; replace: delete + create = 2; revoke: delete = 1).
//! 3. A reconcile without drift over `--pairs` managed pairs (members × 4 groups): Kisi writes,
//!    ownership writes, wall time, and the Kisi calls it needed (→ time at 5 requests/s).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use access_sync_engine::{ReconcileConfig, Trigger};
use access_sync_rules::Event;
use common::*;
use std::time::Instant as Clock;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ev(line: String) -> Event {
    Event::parse(&line).expect("bench event parses")
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

const MAP1: &str = "[defaults]\nlead_minutes = 5\nlag_minutes = 5\n\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201]\n";
const MAP4: &str =
    "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101, 102, 103, 104]\n";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let members = arg("--members", 250);
    let pairs = arg("--pairs", 10_000);

    // 1 + 2: latency and calls per change.
    let mut stack = Stack::new(MAP1).await;
    let mut lat = Vec::new();
    let mut t = at("2026-12-07T09:00:00Z");
    for i in 0..members {
        let events = [
            ev(format!(
                r#"{{"id":"m{i}","at":"{}","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#,
                fmt(t)
            )),
            ev(format!(
                r#"{{"id":"b{i}","at":"{}","entitlement":{{"id":"booking:{i}","kind":"booking","refs":["resource:room"],"holder":{{"member":"m{i}"}},"start":"2026-12-07T09:00:00Z","end":"2026-12-07T18:00:00Z"}}}}"#,
                fmt(t)
            )),
            ev(format!(
                r#"{{"id":"x{i}","at":"{}","entitlement":{{"id":"booking:{i}","kind":"booking","refs":["resource:room"],"holder":{{"member":"m{i}"}},"start":"2026-12-07T09:00:00Z","end":"2026-12-07T19:00:00Z"}}}}"#,
                fmt(t)
            )),
            ev(format!(
                r#"{{"id":"c{i}","at":"{}","cancel":{{"entitlement":"booking:{i}"}}}}"#,
                fmt(t)
            )),
        ];
        for e in &events {
            let start = Clock::now();
            stack.deliver(e, t).await.expect("deliver");
            lat.push(start.elapsed().as_secs_f64() * 1000.0);
            t += chrono::Duration::seconds(1);
        }
    }
    assert!(
        stack.retry.is_empty(),
        "converges failed: {:?}",
        stack.retry
    );
    lat.sort_by(f64::total_cmp);
    let calls = stack.engine.kisi().client().stats().requests;
    let minimum = members as u64 * (3 + 2 + 1);
    let events = lat.len();
    println!(
        r#"{{"events":{events},"latency_ms":{{"p50":{:.1},"p99":{:.1},"max":{:.1}}},"kisi_calls":{calls},"kisi_calls_minimum":{minimum},"calls_per_change_ratio":{:.3}}}"#,
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        calls as f64 / minimum as f64,
    );

    // 3: reconcile without drift.
    let mut big = Stack::new(MAP4).await;
    let people = pairs.div_ceil(4);
    let mut tt = at("2026-12-07T08:00:00Z");
    let seed = Clock::now();
    for i in 0..people {
        for e in [
            ev(format!(
                r#"{{"id":"m{i}","at":"{}","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#,
                fmt(tt)
            )),
            ev(format!(
                r#"{{"id":"p{i}","at":"{}","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z"}}}}"#,
                fmt(tt)
            )),
        ] {
            big.deliver(&e, tt).await.expect("seed");
        }
        tt += chrono::Duration::milliseconds(10);
    }
    let seeded = seed.elapsed().as_secs_f64();
    let before = big.sim.snapshot();
    let calls_before = big.engine.kisi().client().stats().requests;
    let run = Clock::now();
    let report = big.reconcile(tt, &ReconcileConfig::default()).await;
    let wall = run.elapsed().as_secs_f64();
    let after = big.sim.snapshot();
    let kisi_reads = big.engine.kisi().client().stats().requests - calls_before;
    let kisi_writes =
        (after.timeline.len() - before.timeline.len()) + (after.users.len() - before.users.len());
    let _ = Trigger::Reconcile;

    println!(
        r#"{{"reconcile":{{"managed":{},"kisi_writes":{kisi_writes},"converge_requested":{},"kisi_reads":{kisi_reads},"wall_s":{wall:.2},"kisi_time_at_5rps_s":{:.1},"seed_s":{seeded:.1}}}}}"#,
        report.managed,
        report.converge_requested,
        kisi_reads as f64 / 5.0,
    );
}

fn fmt(t: access_sync_rules::Instant) -> String {
    access_sync_rules::time::format_instant_exact(t)
}
