//! Reconcile at scale (a bench binary): `cargo bench -p access-sync-engine --bench reconcile --
//! [--pairs 10000] [--rate 5] [--lost N]`.
//!
//! The real engine and the real Kisi client against the Kisi simulator over local HTTP, with
//! the store and scheduler in memory: moto cannot hold 10k pairs (its memory grows by gigabytes
//! per minute of DynamoDB traffic here), so DynamoDB's part is counted, not timed (see the end).
//! `--pairs` managed pairs: pairs ÷ 4 members, each with a plan mapped to four groups. Seeded
//! through the engine (events, then converge) with no Kisi budget; then one reconcile **without
//! drift** with the real budget (`--rate` requests/s per key, Kisi's 5): its Kisi writes and
//! ownership writes (must be 0), wall time, Kisi reads; then the same with one assignment deleted
//! by hand in Kisi (one repair asked); then **lost grants repaired**: `--lost` members (default
//! 1 % of them) whose plan event was recorded but whose converge request was lost, and as many
//! whose plan opened 5 minutes before the run but whose opening edge was lost — one run finds
//! and grants all of them (the grants carried out at the same rate); then a run without drift
//! again (nothing left to repair).

use access_sync_engine::{Engine, ReconcileConfig, Settings, Trigger};
use access_sync_kisi::{
    ApiKey, BudgetFuture, KisiAccess, KisiClient, KisiConfig, RequestBudget, TokenBucket, Unlimited,
};
use access_sync_ports::memory::{MemoryScheduler, MemoryStore};
use access_sync_ports::{AccessControl, FactStore, OWNERSHIP_SHARDS, OwnershipStore};
use access_sync_rules::Event;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as Clock};

/// Unlimited while seeding, the real bucket for the measured run.
#[derive(Debug)]
struct Switch {
    limited: AtomicBool,
    bucket: TokenBucket,
}

impl RequestBudget for Switch {
    fn acquire(&self) -> BudgetFuture<'_> {
        if self.limited.load(Ordering::SeqCst) {
            self.bucket.acquire()
        } else {
            Unlimited.acquire()
        }
    }
    fn rate_limited(&self, pause: Duration) {
        self.bucket.rate_limited(pause);
    }
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const MAP4: &str =
    "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101, 102, 103, 104]\n";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pairs = arg("--pairs", 10_000.0) as usize;
    let rate = arg("--rate", 5.0);
    let people = pairs.div_ceil(4);

    let mut cfg = kisi_sim::SimConfig::with_key("bench-key");
    cfg.rate_limit_per_sec = 0;
    let sim = kisi_sim::spawn(cfg).await.unwrap();
    for g in [101, 102, 103, 104] {
        sim.seed_group_with_id(Some(g), &format!("group {g}"), None);
    }
    sim.seed_group_with_id(Some(900), "Staff", None);
    let budget = Arc::new(Switch {
        limited: AtomicBool::new(false),
        bucket: TokenBucket::new(rate, 1).unwrap(),
    });
    let client = KisiClient::new(KisiConfig::new(
        sim.base_url.clone(),
        ApiKey::new("bench-key"),
    ))
    .unwrap()
    .with_budget(budget.clone());
    let store = MemoryStore::default();
    store.put_mapping(MAP4, None).await.unwrap();
    let engine = Engine::new(
        store,
        KisiAccess::new(client),
        MemoryScheduler::default(),
        Settings::default(),
    );

    let t0 = access_sync_rules::time::parse_instant("2026-12-07T08:00:00Z").unwrap();
    let seed = Clock::now();
    for i in 0..people {
        let member = Event::parse(&format!(r#"{{"id":"m{i}","at":"2026-12-07T08:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#)).unwrap();
        let plan = Event::parse(&format!(r#"{{"id":"p{i}","at":"2026-12-07T08:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z"}}}}"#)).unwrap();
        for ev in [member, plan] {
            let handled = engine.handle_event(&ev, t0).await.unwrap();
            for (email, groups) in handled.by_email() {
                engine
                    .converge(&email, &groups, t0, Trigger::Event)
                    .await
                    .unwrap();
            }
        }
    }
    let seeded = seed.elapsed().as_secs_f64();
    let snap = sim.snapshot();
    assert_eq!(snap.role_assignments.len(), people * 4, "seeded pairs");

    let now = t0 + chrono::Duration::minutes(15);
    let config = ReconcileConfig::default();
    budget.limited.store(true, Ordering::SeqCst);
    let measure = |label: &'static str| {
        let engine = &engine;
        let sim = &sim;
        let config = &config;
        async move {
            let before = sim.snapshot();
            let owned_before = owned(engine.store()).await;
            let calls = engine.kisi().client().stats().requests;
            let t = Clock::now();
            let cpu = cpu_seconds();
            let report = engine.reconcile(now, config).await.unwrap();
            let wall = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            let after = sim.snapshot();
            let reads = engine.kisi().client().stats().requests - calls;
            let kisi_writes = (after.timeline.len() - before.timeline.len())
                + (after.users.len() - before.users.len());
            let owned_after = owned(engine.store()).await;
            let ownership_changed = owned_before.symmetric_difference(&owned_after).count();
            println!(
                "{{\"run\":\"{label}\",\"pairs\":{},\"managed\":{},\"kisi_reads\":{reads},\"kisi_writes\":{kisi_writes},\"ownership_changed\":{},\"converge_requested\":{},\"missing_in_kisi\":{},\"lost_grants\":{},\"unconverged\":{},\"wall_s\":{wall:.1},\"cpu_s\":{cpu:.2},\"rate_per_s\":{rate}}}",
                people * 4,
                report.managed,
                ownership_changed,
                report.converge_requested,
                report.missing_in_kisi,
                report.lost_grants,
                report.unconverged,
            );
            report
        }
    };
    let report = measure("no drift").await;
    assert_eq!(
        report.converge_requested, 0,
        "a run without drift asks for nothing"
    );
    // Someone deletes one assignment by hand in Kisi: the next run asks for exactly one repair.
    let a = sim.snapshot().role_assignments[0].id;
    engine.kisi().revoke(a).await.unwrap();
    let report = measure("one deleted by hand").await;
    assert_eq!(report.converge_requested, 1, "one repair");
    for (email, groups) in &report.to_converge {
        engine
            .converge(email, groups, now, Trigger::Reconcile)
            .await
            .unwrap();
    }

    // Lost grants: converge requests that never arrived, and opening edges that never fired.
    let lost = arg("--lost", (people / 100).max(1) as f64) as usize;
    let opens = t0 + chrono::Duration::minutes(10);
    for i in people..people + 2 * lost {
        let start = if i < people + lost {
            "2026-12-01T00:00:00Z".to_string()
        } else {
            access_sync_rules::time::format_instant(opens)
        };
        let member = Event::parse(&format!(r#"{{"id":"m{i}","at":"2026-12-07T08:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#)).unwrap();
        let plan = Event::parse(&format!(r#"{{"id":"p{i}","at":"2026-12-07T08:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}},"start":"{start}"}}}}"#)).unwrap();
        for ev in [member, plan] {
            let handled = engine.handle_event(&ev, t0).await.unwrap();
            if i < people + lost {
                continue; // the converge request dead-letters
            }
            for (email, groups) in handled.by_email() {
                engine
                    .converge(&email, &groups, t0, Trigger::Event)
                    .await
                    .unwrap(); // schedules the opening edge, which is never fired
            }
        }
    }
    let t = Clock::now();
    let report = measure("lost grants repaired").await;
    let mut repaired = 0;
    for (email, groups) in &report.to_converge {
        repaired += engine
            .converge(email, groups, now, Trigger::Reconcile)
            .await
            .unwrap()
            .iter()
            .filter(|s| {
                matches!(
                    s.decision,
                    access_sync_rules::converge::Decision::Grant { .. }
                )
            })
            .count();
    }
    println!(
        "{{\"run\":\"lost grants: run + repairs\",\"lost_grants\":{},\"unconverged\":{},\"granted\":{repaired},\"wall_s\":{:.1}}}",
        report.lost_grants,
        report.unconverged,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        report.lost_grants,
        4 * lost,
        "every lost opening edge found"
    );
    assert_eq!(
        report.unconverged,
        4 * lost,
        "every lost converge request found"
    );
    assert_eq!(repaired, 8 * lost, "every lost grant granted");
    assert_eq!(
        sim.snapshot().role_assignments.len(),
        (people + 2 * lost) * 4
    );
    let report = measure("no drift after the repair").await;
    assert_eq!(report.converge_requested, 0, "nothing left to repair");
    eprintln!("seeded {pairs} pairs in {seeded:.1} s");
}

/// Every ownership record: (e-mail, group, assignment, valid until).
async fn owned(store: &MemoryStore) -> BTreeSet<(String, u64, u64, Option<String>)> {
    let mut out = BTreeSet::new();
    for shard in 0..OWNERSHIP_SHARDS {
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .owned_page(shard, cursor.as_deref(), 1000)
                .await
                .unwrap();
            for o in page.items {
                let v = o.value;
                out.insert((
                    v.pair.email.as_str().to_string(),
                    v.pair.group.get(),
                    v.assignment_id,
                    v.valid_until.map(|t| t.to_rfc3339()),
                ));
            }
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
    }
    out
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(") ").next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
