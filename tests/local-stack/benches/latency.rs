//! Event → Kisi change latency through the real handlers, in process, over moto and the Kisi
//! simulator: each canonical event is posted to `ingest` and timed until the pumps have carried
//! it through EventBridge → SQS → `on_*` → the converge queue → `on_edge` and Kisi has changed.
//!
//! ```text
//! cargo bench -p access-sync-local-stack --bench latency [-- --members 250 --every-ms 500]
//! ```
//!
//! `--every-ms N` offers the events open loop, one every N ms, and times each from the instant it
//! was due (so an event held up by the one before it counts the hold-up). `--every-ms 0` (the
//! default) posts each event as soon as the one before it has landed: that saturates Kisi's 5
//! requests/s (1.5 calls per event on average), so it measures the budget's queue as much as
//! the path.
//!
//! Per member: a member event, a booking that is open now (Kisi: new user + grant), an extension
//! (replace), a cancel (revoke): 4 × members events, 3 of them changing Kisi. The simulator adds
//! no latency of its own (local HTTP); its rate limit is off and the functions' Kisi budget is the
//! real 5 requests/s bucket, so a new user's grant (3 calls) waits ~0.4 s for budget: that part is
//! reported separately. Also counted: Kisi calls made ÷ the minimum, and the time spent inside
//! the handlers (ingest + on_* + on_edge, their moto and simulator calls included) as opposed to
//! the local pumps polling moto's queues, which stand in for AWS's own delivery.

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use access_sync_rules::time::{format_instant_exact, parse_instant};
use access_sync_rules::{Event, Instant};
use chrono::Duration;
use local_stack::Driver;
use local_stack::functions::Functions;
use local_stack::functions::InProcess;
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration as Elapsed, Instant as Clock};

/// The functions, timed: how long the handlers themselves ran (ingest, on_*, on_edge), as
/// opposed to the local pumps' polling of moto's queues, which stands in for AWS's delivery.
struct Timed<F> {
    inner: F,
    spent: Mutex<Elapsed>,
}

impl<F: Functions> Functions for Timed<F> {
    async fn invoke(&self, function: &str, payload: Value) -> anyhow::Result<Value> {
        let t = Clock::now();
        let r = self.inner.invoke(function, payload).await;
        *self.spent.lock().unwrap() += t.elapsed();
        r
    }
    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let t = Clock::now();
        let r = self.inner.post(path, headers, body).await;
        *self.spent.lock().unwrap() += t.elapsed();
        r
    }
}

impl<F> Timed<F> {
    fn take(&self) -> f64 {
        std::mem::take(&mut *self.spent.lock().unwrap()).as_secs_f64() * 1000.0
    }
}

const MAP: &str = "[defaults]\nlead_minutes = 5\nlag_minutes = 5\n\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201]\n";

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ev(s: String) -> Event {
    Event::parse(&s).unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let members: usize = args
        .iter()
        .position(|a| a == "--members")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(250);
    let every = Elapsed::from_millis(
        args.iter()
            .position(|a| a == "--every-ms")
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    );
    let opts = Options {
        root: std::env::current_dir().unwrap(),
        dir: std::env::temp_dir().join(format!("local-stack-latency-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &[201]).await.unwrap();
    let f = InProcess::from_pairs(&stack.names.function_env(), &stack.sdk).unwrap();
    let mut now = parse_instant("2026-12-07T08:00:00Z").unwrap();
    stack.sim.set_clock(now).await.unwrap();
    f.app()
        .engine
        .apply_mapping(MAP, now, &ApplyOptions::default())
        .await
        .unwrap();
    let f = Timed {
        inner: f,
        spent: Mutex::new(Elapsed::ZERO),
    };
    let driver = Driver::new(
        Pumps::new(
            f,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        ),
        stack.sim.clone(),
    );
    let t = |i: Instant| format_instant_exact(i);
    let (mut grant, mut change, mut handlers) = (Vec::new(), Vec::new(), Vec::new());
    let changes_before = driver.sim.timeline().await.unwrap().len();
    let calls_before = driver.sim.state().await.unwrap().requests["total"]
        .as_u64()
        .unwrap_or(0);
    let began = Clock::now();
    let mut due = began;
    for i in 0..members {
        let start = now - Duration::minutes(1);
        let end = now + Duration::hours(1);
        let events = [
            ev(format!(
                r#"{{"id":"m{i}","at":"{}","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#,
                t(now)
            )),
            ev(format!(
                r#"{{"id":"b{i}","at":"{}","entitlement":{{"id":"booking:{i}","kind":"booking","refs":["resource:room"],"holder":{{"member":"m{i}"}},"start":"{}","end":"{}"}}}}"#,
                t(now),
                t(start),
                t(end)
            )),
            ev(format!(
                r#"{{"id":"x{i}","at":"{}","entitlement":{{"id":"booking:{i}","kind":"booking","refs":["resource:room"],"holder":{{"member":"m{i}"}},"start":"{}","end":"{}"}}}}"#,
                t(now + Duration::seconds(1)),
                t(start),
                t(end + Duration::hours(1))
            )),
            ev(format!(
                r#"{{"id":"c{i}","at":"{}","cancel":{{"entitlement":"booking:{i}"}}}}"#,
                t(now + Duration::seconds(2))
            )),
        ];
        for (k, e) in events.iter().enumerate() {
            driver.sim.set_clock(e.at).await.unwrap();
            // Open loop: wait for the event's due instant unless the previous one overran it.
            let t0 = if every.is_zero() {
                Clock::now()
            } else {
                tokio::time::sleep_until(due.into()).await;
                let t0 = due;
                due += every;
                t0
            };
            driver.pumps.functions.take();
            driver.post(&[e]).await.unwrap();
            driver.pumps.drain().await.unwrap();
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            let in_handlers = driver.pumps.functions.take();
            match k {
                0 => {}
                1 => grant.push(ms),
                _ => change.push(ms),
            }
            if k > 0 {
                handlers.push(in_handlers);
            }
        }
        now += Duration::seconds(3);
    }
    let wall = began.elapsed().as_secs_f64();
    assert!(!driver.pumps.has_failures(), "deliveries failed");
    let changes = driver.sim.timeline().await.unwrap().len() - changes_before;
    let state = driver.sim.state().await.unwrap();
    let calls = state.requests["total"].as_u64().unwrap_or(0) - calls_before;
    // Minimum per member: look-up + create user + create assignment; replace: delete + create;
    // revoke: delete.
    let minimum = members as u64 * 6;
    eprintln!("kisi calls by route: {}", state.requests["by_route"]);
    let mut all: Vec<f64> = grant.iter().chain(change.iter()).copied().collect();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    grant.sort_by(|a, b| a.partial_cmp(b).unwrap());
    handlers.sort_by(|a, b| a.partial_cmp(b).unwrap());
    change.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{{\"every_ms\":{},\"events\":{},\"timed\":{},\"kisi_changes\":{changes},\"users\":{},\"wall_s\":{wall:.1},\
         \"p50_ms\":{:.0},\"p99_ms\":{:.0},\"max_ms\":{:.0},\
         \"new_user_grant_p50_ms\":{:.0},\"new_user_grant_p99_ms\":{:.0},\
         \"replace_or_revoke_p50_ms\":{:.0},\"replace_or_revoke_p99_ms\":{:.0},\
         \"in_handlers_p50_ms\":{:.0},\"in_handlers_p99_ms\":{:.0},\
         \"kisi_calls\":{calls},\"kisi_calls_minimum\":{minimum},\"ratio\":{:.3}}}",
        every.as_millis(),
        members * 4,
        all.len(),
        state.users.len(),
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0.0),
        pct(&grant, 0.5),
        pct(&grant, 0.99),
        pct(&change, 0.5),
        pct(&change, 0.99),
        pct(&handlers, 0.5),
        pct(&handlers, 0.99),
        calls as f64 / minimum as f64,
    );
    stack.stop().await;
}
