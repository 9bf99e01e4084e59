//! Shared set-up for tests against the Kisi simulator: each test starts its own simulator on a
//! free port, so tests run in parallel without sharing state or rate-limit windows.

#![allow(dead_code)]

use std::time::Duration;

use access_sync_kisi::{ApiKey, KisiClient, KisiConfig, RetryPolicy};
use kisi_sim::{SimConfig, SimHandle};

pub const KEY: &str = "test-key";

/// Retries short enough for tests, long enough to be real backoff.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(300),
        rate_limit_floor: Duration::from_millis(200),
        deadline: Duration::from_secs(20),
    }
}

pub async fn sim(record: bool) -> SimHandle {
    let config = SimConfig {
        record_exchanges: record,
        ..SimConfig::with_key(KEY)
    };
    kisi_sim::spawn(config).await.expect("simulator starts")
}

pub fn config(sim: &SimHandle) -> KisiConfig {
    let mut c = KisiConfig::new(sim.base_url.clone(), ApiKey::new(KEY));
    c.retry = quick_retry();
    c.request_timeout = Duration::from_secs(5);
    c
}

pub fn client(sim: &SimHandle) -> KisiClient {
    KisiClient::new(config(sim)).expect("client builds")
}
