//! A failed delivery waits for the driver's redelivery, not for moto's 5-second visibility
//! timeout, when the pumps hold failures ([`Pumps::holding_failed`]).
//!
//! Without it a driver that plays a virtual clock (the correctness bench) saw a failed message
//! come back within the same virtual instant whenever a drain lasted more than 5 real seconds;
//! while the crashed attempt's idempotency lock still held (60 virtual seconds) each receive
//! failed again, and after 5 receives moto moved the message to the dead-letter queue: an
//! event lost for good (issue 16's bench at 200 members lost `member134`'s member event so).

use access_sync_aws::testing::free_port;
use access_sync_rules::time::parse_instant;
use local_stack::Driver;
use local_stack::functions::{Functions, InProcess};
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

const MAPPING: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n";

/// The functions, except that the first invocation of `on_plan_change` fails (a crash).
struct FailFirst {
    inner: InProcess,
    calls: AtomicU32,
}

impl Functions for FailFirst {
    async fn invoke(&self, function: &str, payload: Value) -> anyhow::Result<Value> {
        if function == "on_plan_change" && self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            anyhow::bail!("crashed (injected)");
        }
        self.inner.invoke(function, payload).await
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        self.inner.post(path, headers, body).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_failure_comes_back_only_when_the_driver_redelivers_it() {
    let start = parse_instant("2026-12-07T08:00:00Z").unwrap();
    let opts = Options {
        root: std::env::current_dir().unwrap(),
        dir: std::env::temp_dir().join(format!(
            "local-stack-test-{}-redelivery",
            std::process::id()
        )),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &[101]).await.unwrap();
    let inner = InProcess::from_pairs(&stack.names.function_env(), &stack.sdk).unwrap();
    stack.sim.set_clock(start).await.unwrap();
    inner
        .app()
        .engine
        .apply_mapping(MAPPING, start, &Default::default())
        .await
        .unwrap();
    let driver = Driver::new(
        Pumps::new(
            FailFirst {
                inner,
                calls: AtomicU32::new(0),
            },
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        )
        .holding_failed(true),
        stack.sim.clone(),
    );
    let member =
        r#"{"id":"m1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com"}}"#;
    let (status, text) = driver
        .post_canonical(format!("{member}\n").into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 202, "{text}");

    driver.pumps.drain().await.unwrap();
    assert!(
        driver.pumps.has_failures(),
        "the injected crash did not fail the delivery"
    );
    let calls = || driver.pumps.functions.calls.load(Ordering::SeqCst);
    assert_eq!(calls(), 1);

    // Past the queue's 5-second visibility timeout, the same virtual instant: nothing to deliver.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    driver.pumps.drain().await.unwrap();
    assert_eq!(
        calls(),
        1,
        "the failed message came back before its redelivery"
    );

    // The driver's redelivery (a virtual minute later) hands it back, and it goes through.
    driver.pumps.redeliver_failed().await.unwrap();
    driver.pumps.drain().await.unwrap();
    assert_eq!(calls(), 2);
    assert!(!driver.pumps.has_failures());
    let stats = driver.pumps.stats.lock().unwrap().clone();
    assert_eq!(stats.delivered.get("on_plan_change"), Some(&1));
    assert_eq!(stats.failed, 1);
    stack.stop().await;
}
