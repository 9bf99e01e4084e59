//! Fakes and builders for handler tests (feature `testing`): an in-memory Kisi, a publisher
//! that fails on demand, a test engine over the in-memory ports, and SQS / EventBridge
//! payload builders.

use access_sync_engine::{AccessControl, AccessError, Assignment, Engine, Granted, Settings};
use access_sync_ports::memory::{MemoryPublisher, MemoryScheduler, MemoryStore};
use access_sync_ports::{EventPublisher, FactStore, OutboundEvent, PublishError};
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct KisiState {
    users: BTreeMap<u64, Email>,
    assignments: BTreeMap<u64, Assignment>,
    next: u64,
    down_for: BTreeSet<Email>,
    down: bool,
    calls: usize,
}

/// An in-memory Kisi: users by exact e-mail, one assignment per (user, group), and fault
/// switches (Kisi down for everyone, or for one person's calls).
#[derive(Default)]
pub struct FakeKisi {
    state: Mutex<KisiState>,
}

impl FakeKisi {
    /// Every call answers "unavailable" (or works again).
    pub fn set_down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Calls about `email` answer "unavailable".
    pub fn fail_for(&self, email: &str) {
        if let Some(e) = Email::parse(email) {
            lock(&self.state).down_for.insert(e);
        }
    }

    /// Kisi works again for everyone.
    pub fn recover(&self) {
        let mut s = lock(&self.state);
        s.down = false;
        s.down_for.clear();
    }

    /// Someone deletes every assignment in Kisi's web app.
    pub fn delete_all_by_hand(&self) {
        lock(&self.state).assignments.clear();
    }

    /// The current grants: (e-mail, group, valid until).
    pub fn grants(&self) -> Vec<(String, u64, Option<Instant>)> {
        let s = lock(&self.state);
        s.assignments
            .values()
            .map(|a| {
                let email = s.users.get(&a.user).map(|e| e.to_string());
                (email.unwrap_or_default(), a.group.get(), a.valid_until)
            })
            .collect()
    }

    /// Calls made so far.
    pub fn calls(&self) -> usize {
        lock(&self.state).calls
    }

    fn check(&self, email: Option<&Email>) -> Result<MutexGuard<'_, KisiState>, AccessError> {
        let mut s = lock(&self.state);
        s.calls += 1;
        if s.down || email.is_some_and(|e| s.down_for.contains(e)) {
            return Err(AccessError::Unavailable("fake Kisi is down".into()));
        }
        Ok(s)
    }

    fn email_of(&self, user: u64) -> Option<Email> {
        lock(&self.state).users.get(&user).cloned()
    }
}

impl AccessControl for FakeKisi {
    async fn ensure_user(
        &self,
        email: &Email,
        _name: Option<&str>,
        _invite: NotifyPolicy,
    ) -> Result<u64, AccessError> {
        let mut s = self.check(Some(email))?;
        if let Some((id, _)) = s.users.iter().find(|(_, e)| *e == email) {
            return Ok(*id);
        }
        s.next += 1;
        let id = s.next;
        s.users.insert(id, email.clone());
        Ok(id)
    }

    async fn grant(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        _invite: NotifyPolicy,
    ) -> Result<Granted, AccessError> {
        let email = self.email_of(user);
        let mut s = self.check(email.as_ref())?;
        if let Some(a) = s
            .assignments
            .values()
            .find(|a| a.user == user && a.group == group)
        {
            return Ok(Granted::Adopted(a.clone()));
        }
        s.next += 1;
        let a = Assignment {
            id: s.next,
            user,
            group,
            valid_until,
        };
        s.assignments.insert(a.id, a.clone());
        Ok(Granted::Created(a))
    }

    async fn revoke(&self, assignment: u64) -> Result<(), AccessError> {
        let user = lock(&self.state)
            .assignments
            .get(&assignment)
            .map(|a| a.user);
        let email = user.and_then(|u| self.email_of(u));
        self.check(email.as_ref())?.assignments.remove(&assignment);
        Ok(())
    }

    async fn user_email(&self, user: u64) -> Result<Option<Email>, AccessError> {
        Ok(self.check(None)?.users.get(&user).cloned())
    }

    async fn group_assignments(&self, group: GroupId) -> Result<Vec<Assignment>, AccessError> {
        let s = self.check(None)?;
        Ok(s.assignments
            .values()
            .filter(|a| a.group == group)
            .cloned()
            .collect())
    }
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
pub type TestEngine = Engine<MemoryStore, FakeKisi, MemoryScheduler>;

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
        FakeKisi::default(),
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
