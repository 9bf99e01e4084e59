//! Each function's release binary: size, cold start to ready, RSS, first invocation.
//!
//! ```text
//! cargo build --release -p ingest -p on_event -p on_edge -p reconcile_15m
//! cargo bench -p access-sync-local-stack --bench functions [-- --runs 5]
//! ```
//!
//! Each binary is started as Lambda starts a custom runtime: with `AWS_LAMBDA_RUNTIME_API`
//! pointing at a small emulation of the Runtime API served here, and the function's environment
//! pointed at moto and the Kisi simulator (a local stack in this process). "Ready" is the
//! binary's first `GET /runtime/invocation/next`: everything `main` does at cold start (config,
//! SDK clients) is done. It is then handed its sample from `events/`; "first invocation" is until
//! its response. RSS is read from `/proc/<pid>/status` (VmRSS at ready, VmHWM after the first
//! invocation). The download and unpacking of the package by Lambda are not included.

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use local_stack::functions::InProcess;
use local_stack::stack::{LocalStack, Options};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Default)]
struct Run {
    pid: u32,
    started: Option<Instant>,
    ready: Option<(Duration, u64)>,
    done: Option<(Duration, u64, String)>,
}

#[derive(Clone)]
struct Api {
    run: Arc<Mutex<Run>>,
    payload: Arc<String>,
    finished: Arc<Notify>,
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

async fn next(State(api): State<Api>) -> axum::response::Response {
    let first = {
        let mut r = api.run.lock().unwrap();
        if r.ready.is_none() {
            let t = r.started.unwrap().elapsed();
            r.ready = Some((t, status_kib(r.pid, "VmRSS:")));
            r.started = Some(Instant::now());
            true
        } else {
            false
        }
    };
    if !first {
        // The run is over: hold the connection until the process is killed.
        std::future::pending::<()>().await;
    }
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    (
        [
            ("lambda-runtime-aws-request-id", "req-1".to_string()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_string(),
            ),
            ("lambda-runtime-trace-id", "Root=1-0-0".to_string()),
            ("content-type", "application/json".to_string()),
        ],
        api.payload.as_ref().clone(),
    )
        .into_response()
}

async fn respond(
    State(api): State<Api>,
    Path((_, kind)): Path<(String, String)>,
    _h: HeaderMap,
    body: Bytes,
) -> &'static str {
    {
        let mut r = api.run.lock().unwrap();
        let t = r.started.unwrap().elapsed();
        let text = format!("{kind}: {}", String::from_utf8_lossy(&body));
        r.done = Some((t, status_kib(r.pid, "VmHWM:"), text));
    }
    api.finished.notify_one();
    "{}"
}

async fn init_error(State(api): State<Api>, body: Bytes) -> &'static str {
    {
        let mut r = api.run.lock().unwrap();
        r.done = Some((
            Duration::ZERO,
            0,
            format!("init error: {}", String::from_utf8_lossy(&body)),
        ));
    }
    api.finished.notify_one();
    "{}"
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let mapping = std::fs::read_to_string(root.join("events/demo-day/mappings.toml")).unwrap();
    let opts = Options {
        root: root.clone(),
        dir: std::env::temp_dir().join(format!("local-stack-bench-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &[101, 102, 201, 301, 401])
        .await
        .unwrap();
    let f = InProcess::from_pairs(&stack.names.function_env(), &stack.sdk).unwrap();
    let now = access_sync_rules::time::parse_instant("2026-12-07T10:05:00Z").unwrap();
    stack.sim.set_clock(now).await.unwrap();
    f.app()
        .engine
        .apply_mapping(&mapping, now, &ApplyOptions::default())
        .await
        .unwrap();

    println!(
        "| function | binary | cold start to ready (median of {runs}) | RSS at ready | first invocation | peak RSS after it |"
    );
    println!("|---|---|---|---|---|---|");
    for (function, sample) in [
        ("ingest", "ingest.json"),
        ("on_booking", "on_booking.json"),
        ("on_plan_change", "on_plan_change.json"),
        ("on_checkin", "on_checkin.json"),
        ("on_edge", "on_edge.json"),
        ("reconcile_15m", "reconcile_15m.json"),
    ] {
        let exe = target.join("release").join(function);
        let size = std::fs::metadata(&exe)
            .unwrap_or_else(|_| {
                panic!(
                    "{} missing: cargo build --release -p {function}",
                    exe.display()
                )
            })
            .len();
        let payload = Arc::new(std::fs::read_to_string(root.join("events").join(sample)).unwrap());
        let (mut ready, mut ready_rss, mut first, mut peak) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let api = Api {
                run: Arc::new(Mutex::new(Run::default())),
                payload: payload.clone(),
                finished: Arc::new(Notify::new()),
            };
            let app = Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state(api.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move { axum::serve(listener, app).await });
            let mut cmd = std::process::Command::new(&exe);
            cmd.envs(stack.names.function_env())
                .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", function)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                .env("RUST_LOG", "error")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let t0 = Instant::now();
            let mut child = cmd.spawn().unwrap();
            {
                let mut r = api.run.lock().unwrap();
                r.pid = child.id();
                r.started = Some(t0);
            }
            let waited =
                tokio::time::timeout(Duration::from_secs(60), api.finished.notified()).await;
            let _ = child.kill();
            let _ = child.wait();
            server.abort();
            waited.unwrap_or_else(|_| panic!("{function} did not answer in 60 s"));
            let r = api.run.lock().unwrap();
            let (rt, rss) = r.ready.unwrap();
            let (ft, hwm, text) = r.done.clone().unwrap();
            assert!(text.starts_with("response"), "{function}: {text}");
            ready.push(rt.as_secs_f64() * 1000.0);
            ready_rss.push(rss as f64 / 1024.0);
            first.push(ft.as_secs_f64() * 1000.0);
            peak.push(hwm as f64 / 1024.0);
        }
        println!(
            "| {function} | {:.1} MB | {:.0} ms | {:.1} MiB | {:.0} ms | {:.1} MiB |",
            size as f64 / 1e6,
            median(ready),
            median(ready_rss),
            median(first),
            median(peak)
        );
    }
    stack.stop().await;
}
