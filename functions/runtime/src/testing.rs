//! Fakes and builders for handler tests (feature `testing`): a publisher that fails on
//! demand, a test engine over the in-memory ports (with `access_sync_ports::memory::MemoryKisi`),
//! and SQS / EventBridge payload builders.

use access_sync_engine::{Engine, Settings};
use access_sync_ports::memory::{MemoryKisi, MemoryPublisher, MemoryScheduler, MemoryStore};
use access_sync_ports::{EventPublisher, FactStore, OutboundEvent, PublishError};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A publisher that keeps what it delivers and refuses events mentioning a chosen e-mail.
#[derive(Default)]
pub struct FlakyPublisher {
    inner: MemoryPublisher,
    refuse: Mutex<BTreeSet<String>>,
}

impl FlakyPublisher {
    /// Publishing an event whose detail contains `needle` fails (the others in the same call
    /// are not delivered either: the caller retries the whole record).
    pub fn refuse(&self, needle: &str) {
        lock(&self.refuse).insert(needle.to_string());
    }

    /// Everything delivered, in order.
    pub fn published(&self) -> Vec<OutboundEvent> {
        self.inner.published()
    }

    /// The details of the converge requests delivered, in order.
    pub fn converge_requests(&self) -> Vec<serde_json::Value> {
        self.published()
            .into_iter()
            .filter(|e| e.detail_type == "converge")
            .map(|e| e.detail)
            .collect()
    }
}

impl EventPublisher for FlakyPublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        let refused = lock(&self.refuse).iter().any(|n| {
            events
                .iter()
                .any(|e| e.detail.to_string().contains(n.as_str()))
        });
        if refused {
            return Err(PublishError::Unavailable("refused by the test".into()));
        }
        self.inner.publish(events).await
    }
}

/// The engine over in-memory ports, as handler tests use it.
pub type TestEngine = Engine<MemoryStore, MemoryKisi, MemoryScheduler>;

/// A mapping for handler tests: a plan (`plan:hot-desk` → 101, 102), a meeting room
/// (`resource:elephant-room` → 201) and a check-in location (`checkin:london` → 101), no lead
/// or lag, in UTC.
pub const MAPPING: &str = r#"
[defaults]
timezone = "UTC"
lead_minutes = 0
lag_minutes = 0

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [101, 102]

[[mapping]]
source = "resource"
id = "elephant-room"
groups = [201]

[[mapping]]
source = "checkin"
id = "london"
groups = [101]
"#;

/// A test engine with [`MAPPING`] stored, handling events in the shared idempotency scope.
pub async fn engine() -> TestEngine {
    let store = MemoryStore::default();
    store
        .put_mapping(MAPPING, None)
        .await
        .expect("the test mapping is stored");
    let settings = Settings {
        function: crate::wiring::EVENT_SCOPE.into(),
        ..Settings::default()
    };
    Engine::new(
        store,
        MemoryKisi::default(),
        MemoryScheduler::default(),
        settings,
    )
}

/// An instant from RFC 3339.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a valid RFC 3339 instant")
        .with_timezone(&Utc)
}

/// An EventBridge envelope (as a rule delivers it to SQS) around `detail`.
pub fn envelope(source: &str, detail_type: &str, detail: serde_json::Value) -> String {
    serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-12-07T07:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail
    })
    .to_string()
}

/// An SQS batch of (message id, body).
pub fn sqs_batch(records: &[(&str, String)]) -> SqsEvent {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue",
                "awsRegion": "eu-west-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a valid SQS event")
}

/// The ids of the failed items of a batch response.
pub fn failed_ids(r: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}
