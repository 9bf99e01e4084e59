//! A person's page with N members stored (issue 21: under 300 ms with 10k).
//!
//! `cargo bench --profile dev -p access-sync-console --bench person_page -- --members 10000`
//! (`--samples N` page loads, `--rounds N` rounds of the page's reads timed one by one,
//! `--beside-full-read 1` those rounds again beside a table scan).
//!
//! The local stack's moto and Kisi simulator; N members, each with a hot-desk plan, stored
//! through the engine's `handle_event` (facts only); one more member with a plan and three
//! bookings over the next days, converged (so Kisi holds their assignments and the audit log
//! has entries). Then the console is started and its person page for that member is fetched
//! over HTTP (with the session cookie) `--samples` times, 500 ms apart, after three warm-up
//! requests; the figures are wall times of whole responses. The people search is timed too,
//! and the read of every record behind its index.

use access_sync_aws::testing::free_port;
use access_sync_console::{COOKIE, Options, start};
use access_sync_engine::ApplyOptions;
use access_sync_operator::AwsOperator;
use access_sync_ports::{AuditLog, FactStore, OwnershipStore};
use access_sync_rules::event::parse_jsonl;
use access_sync_rules::time::parse_instant;
use access_sync_rules::{Email, GroupId};
use futures_util::StreamExt;
use local_stack::functions::InProcess;
use local_stack::stack::{LocalStack, Options as StackOptions};
use std::collections::BTreeSet;
use std::time::Instant;

const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot\"\ngroups = [101]\n\n\
                   [[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [102]\n";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The reads a person page makes, one after another, each timed (ms): the facts, the
/// ownership view, the history, Kisi's user, Kisi's assignments.
async fn page_reads(ops: &AwsOperator, email: &Email) -> [f64; 5] {
    let engine = ops.engine();
    let store = engine.store();
    let client = engine.kisi().client();
    let t = Instant::now();
    store.facts_for_email(email).await.unwrap();
    let facts = ms(t);
    let t = Instant::now();
    store.owner_view(email.as_str()).await.unwrap();
    let owner = ms(t);
    let t = Instant::now();
    store.history(email.as_str(), 50).await.unwrap();
    let history = ms(t);
    let t = Instant::now();
    let user = client
        .find_user_by_email(email.as_str())
        .await
        .unwrap()
        .unwrap();
    let kisi_user = ms(t);
    let t = Instant::now();
    client.list_user_assignments(user.id).await.unwrap();
    [facts, owner, history, kisi_user, ms(t)]
}

/// p50 / p90 / max of each read over `n` rounds, 500 ms apart.
async fn breakdown(ops: &AwsOperator, email: &Email, n: usize, label: &str) {
    let mut cols: [Vec<f64>; 5] = Default::default();
    for _ in 0..n {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        for (c, v) in cols.iter_mut().zip(page_reads(ops, email).await) {
            c.push(v);
        }
    }
    println!("the page's reads, {label} ({n} rounds; p50 / p90 / max ms):");
    for (name, c) in [
        "facts",
        "ownership",
        "history",
        "kisi user",
        "kisi assignments",
    ]
    .iter()
    .zip(cols.iter_mut())
    {
        c.sort_by(f64::total_cmp);
        println!(
            "  {name:<17} {:7.1} / {:7.1} / {:7.1}",
            pct(c, 0.5),
            pct(c, 0.9),
            c[c.len() - 1]
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let members = arg("--members", 10_000);
    let samples = arg("--samples", 50).max(1);
    let now = parse_instant("2026-12-07T09:00:00Z").unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = StackOptions {
        root,
        dir: std::env::temp_dir().join(format!("console-bench-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &[101, 102]).await.unwrap();
    let mut env = stack.names.function_env();
    env.push(("DEAD_LETTER_QUEUES".into(), stack.names.dlq()));
    stack.sim.set_clock(now).await.unwrap();
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    let engine = &functions.app().engine;
    engine
        .apply_mapping(MAP, now, &ApplyOptions::default())
        .await
        .unwrap();

    let seeding = Instant::now();
    let mut lines = String::new();
    for i in 0..members {
        lines.push_str(&format!(
            "{{\"id\":\"m{i}\",\"at\":\"2026-12-07T08:00:00Z\",\"member\":{{\"id\":\"m{i}\",\"email\":\"member{i}@example.com\",\"name\":\"Member {i}\"}}}}\n\
{{\"id\":\"p{i}\",\"at\":\"2026-12-07T08:00:00Z\",\"entitlement\":{{\"id\":\"plan:{i}\",\"kind\":\"plan\",\"refs\":[\"plan:hot\"],\"holder\":{{\"member\":\"m{i}\"}}}}}}\n"
        ));
    }
    let events: Vec<_> = parse_jsonl(&lines)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    // Members first, then their plans, eight at a time.
    let members_then_plans = [
        events.iter().step_by(2).collect::<Vec<_>>(),
        events.iter().skip(1).step_by(2).collect::<Vec<_>>(),
    ];
    for part in members_then_plans {
        let done: Vec<_> = futures_util::stream::iter(part)
            .map(|e| engine.handle_event(e, now))
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(done.iter().all(Result::is_ok), "seeding failed");
    }
    let seeded = seeding.elapsed().as_secs_f64();

    // The person measured: a plan and three bookings, converged.
    let joe = r#"{"id":"j1","at":"2026-12-07T08:00:00Z","member":{"id":"joe","email":"joe@example.com","name":"Joe Bloggs"}}
{"id":"j2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:joe","kind":"plan","refs":["plan:hot"],"holder":{"member":"joe"}}}
{"id":"j3","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:j1","kind":"booking","refs":["resource:room"],"holder":{"member":"joe"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}
{"id":"j4","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:j2","kind":"booking","refs":["resource:room"],"holder":{"member":"joe"},"start":"2026-12-09T10:00:00Z","end":"2026-12-09T12:00:00Z"}}
{"id":"j5","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:j3","kind":"booking","refs":["resource:room"],"holder":{"member":"joe"},"start":"2026-12-14T10:00:00Z","end":"2026-12-14T11:00:00Z"}}
"#;
    for (_, e) in parse_jsonl(joe).unwrap() {
        engine.handle_event(&e, now).await.unwrap();
    }
    let groups: BTreeSet<GroupId> = [101, 102].into_iter().filter_map(GroupId::new).collect();
    engine
        .converge(
            &Email::parse("joe@example.com").unwrap(),
            &groups,
            now,
            access_sync_engine::Trigger::Operator,
        )
        .await
        .unwrap();

    let ops = AwsOperator::from_pairs(&env, &stack.sdk).unwrap();
    // Where a page's time goes: its reads one by one with nothing else running (`--rounds`),
    // and with `--beside-full-read 1` beside a full read of every record run in a loop (what
    // the console's people index did every 30 s before it read only what changed).
    let joe_email = Email::parse("joe@example.com").unwrap();
    let rounds = arg("--rounds", 20);
    if rounds > 0 {
        breakdown(&ops, &joe_email, rounds, "alone").await;
    }
    if rounds > 0 && arg("--beside-full-read", 0) == 1 {
        let scanner = {
            let store = engine.store().clone();
            tokio::spawn(async move {
                loop {
                    let t = Instant::now();
                    let n = store.all_records().await.unwrap().len();
                    println!("  (a full read of {n} records: {:.0} ms)", ms(t));
                }
            })
        };
        breakdown(
            &ops,
            &joe_email,
            rounds,
            "beside a full read of every record",
        )
        .await;
        scanner.abort();
    }
    let console = start(ops, &Options::default()).await.unwrap();
    let base = format!("http://{}", console.addr);
    let cookie = format!("{COOKIE}={}", console.console.session.expose());
    let http = reqwest::Client::new();
    let get = |path: String| {
        let r = http.get(format!("{base}{path}")).header("cookie", &cookie);
        async move {
            let t = Instant::now();
            let resp = r.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = resp.text().await.unwrap();
            (t.elapsed().as_secs_f64() * 1000.0, body)
        }
    };
    for _ in 0..3 {
        let (_, body) = get("/people/joe@example.com".into()).await;
        assert!(body.contains("booking:j2"), "the page shows the bookings");
    }
    // At an operator's pace: the console keeps to Kisi's 5 requests/s (two per page), so
    // back-to-back loads would measure the budget's waits, not the page.
    let mut times = Vec::new();
    for _ in 0..samples {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        times.push(get("/people/joe@example.com".into()).await.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "members stored: {members} (+1 measured); seeding {seeded:.1} s\n\
person page, {samples} requests: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        pct(&times, 0.5),
        pct(&times, 0.9),
        times[times.len() - 1]
    );
    // The search reads the index the console keeps current in the background.
    let (search_ms, body) = get("/people?q=member12%40example.com".into()).await;
    assert!(body.contains("member12@example.com"));
    let (search_warm_ms, _) = get("/people?q=member13%40example.com".into()).await;
    // What the background keeps doing: a full read of the people index (at start and every
    // 15 minutes) and a pass over what changed (every 30 s).
    let store = engine.store();
    let t = Instant::now();
    let (everyone, _) = store.members_stored_since(None, usize::MAX).await.unwrap();
    let full_ms = ms(t);
    let latest = everyone.iter().map(|m| m.stored).max().unwrap();
    let t = Instant::now();
    let (changed, _) = store
        .members_stored_since(Some(latest - chrono::Duration::seconds(60)), usize::MAX)
        .await
        .unwrap();
    let pass_ms = ms(t);
    println!(
        "people search: first {search_ms:.0} ms (may wait for the first index after start), then {search_warm_ms:.0} ms\n\
the people index: a full read ({} members) {full_ms:.0} ms; a pass over the last minute's changes ({} members) {pass_ms:.0} ms",
        everyone.len(),
        changed.len()
    );
    console.stop().await;
    drop(functions);
    stack.stop().await;
}
