//! In-memory implementations of every port, for handler unit tests only (feature `testing`).
//!
//! They follow the same contracts as the AWS adapters (version checks, idempotency expiry
//! against the caller's `now`, schedule de-duplication by name), so a handler test that passes
//! here exercises the same decisions as on AWS. They are not meant for production: nothing is
//! persisted and everything sits behind one mutex.

use crate::ScheduleError;
use crate::access_control::{AccessControl, AccessError, Assignment, Granted};
use crate::audit::{AuditEntry, AuditLog};
use crate::claims::{Exclusion, ExclusionList, GrantIntent, HeldByHand};
use crate::directory::{Directory, DirectoryError};
use crate::events::{EventPublisher, OutboundEvent, PublishError};
use crate::facts::{FactStore, Loaded};
use crate::idempotency::{Begin, Idempotency, IdempotencyError, IdempotencyKey, Lock};
use crate::ownership::{
    OWNERSHIP_SHARDS, OwnerView, Ownership, OwnershipChange, OwnershipPage, OwnershipStore,
    shard_of,
};
use crate::pair::Pair;
use crate::scheduler::{CancelOutcome, Edge, EdgeScheduler, ScheduleOutcome};
use crate::secrets::{SecretError, SecretSource, SecretValue};
use crate::store::{StoreError, Version, Versioned};
use crate::webhook_secrets::{WebhookSecretError, WebhookSecrets};
use access_sync_platforms::Platform;
use access_sync_rules::event::Body;
use access_sync_rules::facts::Record;
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant, MemberId, TeamId};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

mod safety;

/// Locks a mutex, ignoring poisoning: a panicking test thread must not hide the state from
/// the assertions of another.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
enum IdemRecord {
    InProgress {
        until: DateTime<Utc>,
        expires: DateTime<Utc>,
    },
    Completed {
        outcome: serde_json::Value,
        expires: DateTime<Utc>,
    },
}

#[derive(Default)]
struct StoreState {
    owned: BTreeMap<Pair, Versioned<Ownership>>,
    users: BTreeMap<String, u64>,
    intents: BTreeMap<(Pair, DateTime<Utc>), GrantIntent>,
    by_hand: BTreeMap<Pair, HeldByHand>,
    excluded: BTreeMap<String, Exclusion>,
    idem: HashMap<IdempotencyKey, IdemRecord>,
    audit: Vec<AuditEntry>,
    runs: BTreeMap<String, crate::runs::RunRecord>,
    facts: crate::facts::MemoryFacts,
}

/// In-memory ownership, idempotency, audit and fact store.
pub struct MemoryStore {
    state: Mutex<StoreState>,
    expires_after: Duration,
    safety: Mutex<safety::MemorySafety>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Duration::hours(1))
    }
}

impl MemoryStore {
    /// An empty store whose completed idempotency records answer for `expires_after`.
    pub fn new(expires_after: Duration) -> Self {
        Self {
            state: Mutex::new(StoreState::default()),
            expires_after,
            safety: Mutex::default(),
        }
    }

    /// Every audit entry recorded so far, in order (for assertions).
    pub fn audit_entries(&self) -> Vec<AuditEntry> {
        lock(&self.state).audit.clone()
    }
}

impl FactStore for MemoryStore {
    async fn facts_for_email(&self, email: &Email) -> Result<Vec<Record>, StoreError> {
        Ok(lock(&self.state).facts.for_email(email))
    }

    async fn canonical_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        Ok(lock(&self.state)
            .facts
            .records
            .get(key)
            .map(|v| v.value.clone()))
    }

    async fn load_for_event(&self, body: &Body) -> Result<Loaded, StoreError> {
        Ok(lock(&self.state).facts.load(body))
    }

    async fn save(&self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        lock(&self.state).facts.save(loaded, record)
    }

    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        Ok(lock(&self.state)
            .facts
            .records
            .values()
            .map(|v| v.value.clone())
            .collect())
    }

    async fn mapping(&self) -> Result<Option<Versioned<String>>, StoreError> {
        Ok(lock(&self.state).facts.mapping.clone())
    }

    async fn put_mapping(
        &self,
        toml: &str,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        let mut state = lock(&self.state);
        let found = state.facts.mapping.as_ref().map(|m| m.version);
        if found != expected {
            return Err(StoreError::VersionMismatch {
                key: "MAPPING".into(),
            });
        }
        let version = expected.unwrap_or(0) + 1;
        state.facts.mapping = Some(Versioned {
            value: toml.to_string(),
            version,
        });
        Ok(version)
    }
}

impl OwnershipStore for MemoryStore {
    async fn owner_view(&self, email: &str) -> Result<OwnerView, StoreError> {
        let state = lock(&self.state);
        Ok(OwnerView {
            owned: state
                .owned
                .values()
                .filter(|o| o.value.pair.email.as_str() == email)
                .cloned()
                .collect(),
            kisi_user: state.users.get(email).copied(),
            intents: state
                .intents
                .values()
                .filter(|i| i.pair.email.as_str() == email)
                .cloned()
                .collect(),
            by_hand: state
                .by_hand
                .values()
                .filter(|h| h.pair.email.as_str() == email)
                .cloned()
                .collect(),
            excluded: state.excluded.get(email).cloned(),
        })
    }

    async fn owned_for_email(&self, email: &str) -> Result<Vec<Versioned<Ownership>>, StoreError> {
        Ok(lock(&self.state)
            .owned
            .values()
            .filter(|o| o.value.pair.email.as_str() == email)
            .cloned()
            .collect())
    }

    async fn apply_ownership(
        &self,
        changes: &[OwnershipChange],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        // Check every condition first: all or nothing, like a transaction.
        for change in changes {
            let (pair, expected) = match change {
                OwnershipChange::RememberUser { .. }
                | OwnershipChange::Intend(_)
                | OwnershipChange::ForgetIntent(_)
                | OwnershipChange::HoldByHand(_)
                | OwnershipChange::ReleaseByHand { .. }
                | OwnershipChange::Exclude(_)
                | OwnershipChange::Include { .. } => continue,
                OwnershipChange::Create(o) => (&o.pair, None),
                OwnershipChange::Update {
                    ownership,
                    expected,
                } => (&ownership.pair, Some(*expected)),
                OwnershipChange::Delete { pair, expected } => (pair, Some(*expected)),
            };
            let found = state.owned.get(pair).map(|v| v.version);
            if found != expected {
                return Err(StoreError::VersionMismatch {
                    key: crate::pair::pair_key(pair),
                });
            }
        }
        for change in changes {
            match change {
                OwnershipChange::RememberUser { email, user_id } => {
                    state.users.insert(email.clone(), *user_id);
                }
                OwnershipChange::Create(o) => {
                    state.owned.insert(
                        o.pair.clone(),
                        Versioned {
                            value: o.clone(),
                            version: 1,
                        },
                    );
                }
                OwnershipChange::Update {
                    ownership,
                    expected,
                } => {
                    state.owned.insert(
                        ownership.pair.clone(),
                        Versioned {
                            value: ownership.clone(),
                            version: expected + 1,
                        },
                    );
                }
                OwnershipChange::Delete { pair, .. } => {
                    state.owned.remove(pair);
                }
                OwnershipChange::Intend(i) => {
                    state
                        .intents
                        .insert((i.pair.clone(), i.valid_until), i.clone());
                }
                OwnershipChange::ForgetIntent(i) => {
                    state.intents.remove(&(i.pair.clone(), i.valid_until));
                }
                OwnershipChange::HoldByHand(h) => {
                    state.by_hand.insert(h.pair.clone(), h.clone());
                }
                OwnershipChange::ReleaseByHand { pair } => {
                    state.by_hand.remove(pair);
                }
                OwnershipChange::Exclude(x) => {
                    state
                        .excluded
                        .insert(x.email.as_str().to_string(), x.clone());
                }
                OwnershipChange::Include { email } => {
                    state.excluded.remove(email);
                    state.users.remove(email);
                }
            }
        }
        append_audit(&mut state.audit, audit);
        Ok(())
    }

    async fn owned_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<OwnershipPage, StoreError> {
        if shard >= OWNERSHIP_SHARDS {
            return Err(StoreError::Invalid(format!("shard {shard} out of range")));
        }
        let state = lock(&self.state);
        let mut items: Vec<_> = state
            .owned
            .values()
            .filter(|o| shard_of(&o.value.pair) == shard)
            .filter(|o| cursor.is_none_or(|c| crate::pair::pair_key(&o.value.pair).as_str() > c))
            .cloned()
            .collect();
        items.sort_by_key(|o| crate::pair::pair_key(&o.value.pair));
        let limit = limit.max(1) as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|o| crate::pair::pair_key(&o.value.pair))
        } else {
            None
        };
        Ok(OwnershipPage { items, next })
    }
}

impl ExclusionList for MemoryStore {
    async fn exclusions(&self, limit: u32) -> Result<Vec<Exclusion>, StoreError> {
        let mut out: Vec<Exclusion> = lock(&self.state).excluded.values().cloned().collect();
        out.sort_by(|a, b| (a.since, a.email.as_str()).cmp(&(b.since, b.email.as_str())));
        out.truncate(limit as usize);
        Ok(out)
    }
}

fn append_audit(log: &mut Vec<AuditEntry>, entries: &[AuditEntry]) {
    for e in entries {
        if !log.contains(e) {
            log.push(e.clone());
        }
    }
}

impl crate::runs::RunLog for MemoryStore {
    async fn record_run(&self, run: &crate::runs::RunRecord) -> Result<(), StoreError> {
        lock(&self.state).runs.insert(run.job.clone(), run.clone());
        Ok(())
    }

    async fn last_run(&self, job: &str) -> Result<Option<crate::runs::RunRecord>, StoreError> {
        Ok(lock(&self.state).runs.get(job).cloned())
    }
}

impl AuditLog for MemoryStore {
    async fn recent(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let state = lock(&self.state);
        let mut out: Vec<_> = (state.audit.iter())
            .filter(|e| since <= e.at && e.at < until)
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.at));
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn record(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        append_audit(&mut lock(&self.state).audit, entries);
        Ok(())
    }

    async fn history(&self, email: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let state = lock(&self.state);
        let mut out: Vec<_> = state
            .audit
            .iter()
            .filter(|e| e.pair.as_ref().is_some_and(|p| p.email.as_str() == email))
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.at));
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn erase(&self, email: &str) -> Result<usize, StoreError> {
        let mut state = lock(&self.state);
        let before = state.audit.len();
        state
            .audit
            .retain(|e| e.pair.as_ref().is_none_or(|p| p.email.as_str() != email));
        Ok(before - state.audit.len())
    }
}

impl Idempotency for MemoryStore {
    async fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        lock_until: DateTime<Utc>,
    ) -> Result<Begin, IdempotencyError> {
        let mut state = lock(&self.state);
        let expires_after = self.expires_after;
        match state.idem.get(key) {
            Some(IdemRecord::Completed { outcome, expires }) if *expires >= now => {
                return Ok(Begin::Completed(outcome.clone()));
            }
            // A lock lapses at its deadline: a redelivery exactly then runs.
            Some(IdemRecord::InProgress { until, expires }) if *until > now && *expires >= now => {
                return Err(IdempotencyError::InProgress {
                    key: key.clone(),
                    until: *until,
                });
            }
            _ => {}
        }
        let taken_over = matches!(state.idem.get(key), Some(IdemRecord::InProgress { .. }));
        state.idem.insert(
            key.clone(),
            IdemRecord::InProgress {
                until: lock_until,
                expires: now + expires_after,
            },
        );
        Ok(Begin::Proceed(Lock {
            key: key.clone(),
            until: lock_until,
            taken_over,
        }))
    }

    async fn complete(
        &self,
        lock_: &Lock,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), IdempotencyError> {
        let mut state = lock(&self.state);
        match state.idem.get(&lock_.key) {
            Some(IdemRecord::InProgress { until, .. }) if *until == lock_.until => {}
            _ => return Err(IdempotencyError::LockLost(lock_.key.clone())),
        }
        let expires = now + self.expires_after;
        state.idem.insert(
            lock_.key.clone(),
            IdemRecord::Completed {
                outcome: outcome.clone(),
                expires,
            },
        );
        Ok(())
    }

    async fn release(&self, lock_: &Lock) -> Result<(), IdempotencyError> {
        let mut state = lock(&self.state);
        if let Some(IdemRecord::InProgress { until, .. }) = state.idem.get_mut(&lock_.key)
            && *until == lock_.until
        {
            // Lapsed at once: the retry runs, and knows it takes over.
            *until = DateTime::<Utc>::MIN_UTC;
        }
        Ok(())
    }
}

/// In-memory edge scheduler: remembers schedules by their deterministic name.
#[derive(Default)]
pub struct MemoryScheduler {
    schedules: Mutex<BTreeMap<String, Edge>>,
}

impl MemoryScheduler {
    /// The pending edges, in name order (for assertions).
    pub fn pending(&self) -> Vec<Edge> {
        lock(&self.schedules).values().cloned().collect()
    }
}

impl EdgeScheduler for MemoryScheduler {
    async fn schedule(
        &self,
        edge: &Edge,
        now: DateTime<Utc>,
    ) -> Result<ScheduleOutcome, ScheduleError> {
        if edge.edge <= now {
            return Ok(ScheduleOutcome::Immediate);
        }
        let mut s = lock(&self.schedules);
        let name = edge.schedule_name();
        if s.contains_key(&name) {
            return Ok(ScheduleOutcome::AlreadyScheduled);
        }
        s.insert(name, edge.clone());
        Ok(ScheduleOutcome::Created)
    }

    async fn cancel(&self, edge: &Edge) -> Result<CancelOutcome, ScheduleError> {
        Ok(match lock(&self.schedules).remove(&edge.schedule_name()) {
            Some(_) => CancelOutcome::Deleted,
            None => CancelOutcome::NotFound,
        })
    }
}

/// In-memory secrets: a fixed map, with a counter of reads to show caching in tests.
#[derive(Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, SecretValue>>,
}

impl MemorySecrets {
    /// Sets (or rotates) a secret.
    pub fn set(&self, name: &str, value: &str) {
        lock(&self.values).insert(name.to_string(), SecretValue::new(value));
    }
}

impl SecretSource for MemorySecrets {
    async fn secret(&self, name: &str) -> Result<SecretValue, SecretError> {
        lock(&self.values)
            .get(name)
            .cloned()
            .ok_or_else(|| SecretError::NotFound(name.to_string()))
    }

    async fn refresh(&self, name: &str) -> Result<SecretValue, SecretError> {
        self.secret(name).await
    }
}

/// In-memory publisher: keeps what was published.
#[derive(Default)]
pub struct MemoryPublisher {
    published: Mutex<Vec<OutboundEvent>>,
}

impl MemoryPublisher {
    /// Everything published so far, in order.
    pub fn published(&self) -> Vec<OutboundEvent> {
        lock(&self.published).clone()
    }
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        lock(&self.published).extend_from_slice(events);
        Ok(())
    }
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
pub struct MemoryKisi {
    state: Mutex<KisiState>,
}

impl MemoryKisi {
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
            return Err(AccessError::Unavailable("in-memory Kisi is down".into()));
        }
        Ok(s)
    }

    fn email_of(&self, user: u64) -> Option<Email> {
        lock(&self.state).users.get(&user).cloned()
    }
}

impl AccessControl for MemoryKisi {
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

/// A directory that knows nothing (the engine still resolves member ids and holds what it
/// cannot).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDirectory;

impl Directory for NoDirectory {
    async fn team_members(&self, _: &TeamId) -> Result<Option<Vec<MemberId>>, DirectoryError> {
        Ok(None)
    }
    async fn email_of(&self, _: &MemberId) -> Result<Option<Email>, DirectoryError> {
        Ok(None)
    }
    async fn member_by_email(&self, _: &Email) -> Result<Option<MemberId>, DirectoryError> {
        Ok(None)
    }
}

/// Fixed webhook secrets by platform, and in `.1` the canonical route's.
#[derive(Debug, Default, Clone)]
pub struct FixedWebhookSecrets(pub BTreeMap<Platform, String>, pub Option<String>);

impl WebhookSecrets for FixedWebhookSecrets {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, WebhookSecretError> {
        Ok(self.0.get(&platform).map(SecretValue::new))
    }

    async fn canonical(&self) -> Result<Option<SecretValue>, WebhookSecretError> {
        Ok(self
            .1
            .clone()
            .filter(|s| !s.is_empty())
            .map(SecretValue::new))
    }
}

/// API tokens in memory (see [`crate::ApiTokens`]), and, with [`TokenKeepingSecrets`], the
/// webhook secrets that keep what `ingest` offers.
#[derive(Debug, Default)]
pub struct MemoryApiTokens {
    slots: Mutex<BTreeMap<Platform, TokenSlot>>,
}

/// The token in use and the candidate.
type TokenSlot = (Option<String>, Option<String>);

impl MemoryApiTokens {
    /// Tokens with `token` in use for `platform`.
    pub fn with(platform: Platform, token: &str) -> Self {
        let t = MemoryApiTokens::default();
        lock(&t.slots).insert(platform, (Some(token.to_string()), None));
        t
    }
}

impl crate::ApiTokens for MemoryApiTokens {
    async fn current(&self, platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        Ok(lock(&self.slots)
            .get(&platform)
            .and_then(|s| s.0.clone())
            .map(SecretValue::new))
    }
    async fn candidate(&self, platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        Ok(lock(&self.slots)
            .get(&platform)
            .and_then(|s| s.1.clone())
            .map(SecretValue::new))
    }
    async fn offer(&self, platform: Platform, token: SecretValue) -> Result<(), SecretError> {
        lock(&self.slots).entry(platform).or_default().1 = Some(token.expose().to_string());
        Ok(())
    }
    async fn promote(&self, platform: Platform, token: SecretValue) -> Result<(), SecretError> {
        let mut slots = lock(&self.slots);
        let slot = slots.entry(platform).or_default();
        if slot.1.as_deref() == Some(token.expose()) {
            slot.1 = None;
        }
        slot.0 = Some(token.expose().to_string());
        Ok(())
    }
}

/// [`FixedWebhookSecrets`] that keep offered API tokens in a [`MemoryApiTokens`].
#[derive(Debug, Default)]
pub struct TokenKeepingSecrets(pub FixedWebhookSecrets, pub std::sync::Arc<MemoryApiTokens>);

impl WebhookSecrets for TokenKeepingSecrets {
    async fn secret(&self, platform: Platform) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.0.secret(platform).await
    }
    async fn canonical(&self) -> Result<Option<SecretValue>, WebhookSecretError> {
        self.0.canonical().await
    }
    async fn offer_api_token(
        &self,
        platform: Platform,
        token: SecretValue,
    ) -> Result<bool, WebhookSecretError> {
        use crate::ApiTokens;
        self.1
            .offer(platform, token)
            .await
            .map(|()| true)
            .map_err(|source| WebhookSecretError::Unreadable { platform, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactStore;
    use access_sync_rules::{Event, Facts, GroupId, Mappings};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[tokio::test]
    async fn memory_idempotency_follows_the_powertools_rules() {
        let db = MemoryStore::default();
        let key = IdempotencyKey::new("f", "k");
        let now = t("2026-12-07T09:00:00Z");
        let Begin::Proceed(lock) = db
            .begin(&key, now, now + Duration::seconds(30))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            db.begin(&key, now, now).await,
            Err(IdempotencyError::InProgress { .. })
        ));
        assert!(!lock.taken_over);
        // At its deadline the lock has lapsed: the retry takes it over, and knows it.
        let later = now + Duration::seconds(30);
        let Begin::Proceed(second) = db
            .begin(&key, later, later + Duration::seconds(30))
            .await
            .unwrap()
        else {
            panic!("stale lock must be recovered")
        };
        assert!(second.taken_over);
        assert!(
            db.complete(&lock, &serde_json::json!(1), later)
                .await
                .is_err()
        );
        db.complete(&second, &serde_json::json!(2), later)
            .await
            .unwrap();
        assert_eq!(
            db.begin(&key, later, later).await.unwrap(),
            Begin::Completed(serde_json::json!(2))
        );
    }

    #[tokio::test]
    async fn memory_facts_save_checks_the_version_read() {
        let db = MemoryStore::default();
        let mappings =
            Mappings::parse("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [1]\n").unwrap();
        let ev = Event::parse(
            r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@b.c"}}"#,
        )
        .unwrap();
        let loaded = db.load_for_event(&ev.body).await.unwrap();
        let record = Facts::from_records(loaded.records.clone())
            .apply(&ev, &mappings)
            .record
            .unwrap();
        assert_eq!(db.save(&loaded, &record).await.unwrap(), 1);
        assert!(matches!(
            db.save(&loaded, &record).await,
            Err(StoreError::VersionMismatch { .. })
        ));
        let facts = db
            .facts_for_email(&Email::parse("a@b.c").unwrap())
            .await
            .unwrap();
        assert_eq!(facts, vec![record]);
    }

    #[tokio::test]
    async fn memory_scheduler_deduplicates_and_reports_past_edges_immediate() {
        let s = MemoryScheduler::default();
        let pair = Pair {
            email: Email::parse("a@b.c").unwrap(),
            group: GroupId::new(1).unwrap(),
        };
        let now = t("2026-12-07T09:00:00Z");
        let e = Edge::new(&pair, now + Duration::minutes(5));
        assert_eq!(s.schedule(&e, now).await.unwrap(), ScheduleOutcome::Created);
        assert_eq!(
            s.schedule(&e, now).await.unwrap(),
            ScheduleOutcome::AlreadyScheduled
        );
        assert_eq!(
            s.schedule(&Edge::new(&pair, now), now).await.unwrap(),
            ScheduleOutcome::Immediate
        );
        assert_eq!(s.cancel(&e).await.unwrap(), CancelOutcome::Deleted);
        assert_eq!(s.cancel(&e).await.unwrap(), CancelOutcome::NotFound);
    }
}

// ---- delivery ledger ------------------------------------------------------------------------

use crate::ledger::{Claim, DeliveryLedger, LedgerError};

#[derive(Clone, Copy, Debug)]
enum LedgerEntry {
    Pending(DateTime<Utc>),
    Done,
}

/// The delivery ledger in memory (see [`crate::ledger`]).
#[derive(Default)]
pub struct MemoryLedger {
    entries: Mutex<HashMap<String, LedgerEntry>>,
}

impl MemoryLedger {
    /// How many keys it holds (for assertions).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DeliveryLedger for MemoryLedger {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| LedgerError("poisoned".into()))?;
        match entries.get(key) {
            Some(LedgerEntry::Done) => Ok(Claim::Done),
            Some(LedgerEntry::Pending(until)) if *until > now => {
                Ok(Claim::InFlight { until: *until })
            }
            _ => {
                entries.insert(key.to_string(), LedgerEntry::Pending(hold_until));
                Ok(Claim::Fresh)
            }
        }
    }

    async fn done(&self, key: &str, _keep_until: DateTime<Utc>) -> Result<(), LedgerError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| LedgerError("poisoned".into()))?;
        entries.insert(key.to_string(), LedgerEntry::Done);
        Ok(())
    }
}
/// In-memory sync state (chunks and progress per platform).
#[derive(Default)]
pub struct MemorySyncState {
    progress: Mutex<BTreeMap<String, crate::sync_state::SyncProgress>>,
    chunks: Mutex<BTreeMap<(String, bool, u32), String>>,
}

impl MemorySyncState {
    /// How many chunks of `kind` are stored for `platform`.
    pub fn chunk_count(&self, platform: &str, kind: crate::sync_state::ChunkKind) -> usize {
        let held = kind == crate::sync_state::ChunkKind::Held;
        lock(&self.chunks)
            .keys()
            .filter(|(p, h, _)| p == platform && *h == held)
            .count()
    }
}

impl crate::sync_state::SyncStateStore for MemorySyncState {
    async fn progress(
        &self,
        platform: &str,
    ) -> Result<crate::sync_state::SyncProgress, StoreError> {
        Ok(lock(&self.progress)
            .get(platform)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_progress(
        &self,
        platform: &str,
        progress: &crate::sync_state::SyncProgress,
    ) -> Result<(), StoreError> {
        lock(&self.progress).insert(platform.to_string(), progress.clone());
        Ok(())
    }

    async fn put_chunk(
        &self,
        platform: &str,
        kind: crate::sync_state::ChunkKind,
        n: u32,
        text: &str,
    ) -> Result<(), StoreError> {
        if text.len() > crate::sync_state::MAX_CHUNK_BYTES {
            return Err(StoreError::Invalid(format!(
                "chunk of {} bytes",
                text.len()
            )));
        }
        let held = kind == crate::sync_state::ChunkKind::Held;
        lock(&self.chunks).insert((platform.to_string(), held, n), text.to_string());
        Ok(())
    }

    async fn chunks(
        &self,
        platform: &str,
        kind: crate::sync_state::ChunkKind,
        count: u32,
    ) -> Result<Vec<String>, StoreError> {
        let held = kind == crate::sync_state::ChunkKind::Held;
        let all = lock(&self.chunks);
        (0..count)
            .map(|n| {
                all.get(&(platform.to_string(), held, n))
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt {
                        key: format!("SYNC#{platform}#{n}"),
                        reason: "chunk missing".into(),
                    })
            })
            .collect()
    }

    async fn clear_chunks(
        &self,
        platform: &str,
        kind: crate::sync_state::ChunkKind,
    ) -> Result<(), StoreError> {
        let held = kind == crate::sync_state::ChunkKind::Held;
        lock(&self.chunks).retain(|(p, h, _), _| !(p == platform && *h == held));
        Ok(())
    }
}

/// An in-memory platform API for unit tests of the sync: collections of records listed in
/// pages of `page_size` (the cursor is the next offset), with a switch that makes one page fail.
pub struct MemorySource {
    platform: Platform,
    collections: &'static [&'static str],
    incremental: &'static [&'static str],
    page_size: usize,
    records: Mutex<BTreeMap<String, Vec<crate::platform_source::SourceRecord>>>,
    fail_at: Mutex<Option<(String, usize)>>,
    calls: Mutex<Vec<crate::platform_source::ListRequest>>,
}

impl MemorySource {
    /// An empty source of `platform` listing `collections` (in that order); those in
    /// `incremental` honour `changed_since`.
    pub fn new(
        platform: Platform,
        collections: &'static [&'static str],
        incremental: &'static [&'static str],
        page_size: usize,
    ) -> Self {
        Self {
            platform,
            collections,
            incremental,
            page_size: page_size.max(1),
            records: Mutex::new(BTreeMap::new()),
            fail_at: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Adds (or replaces, by id) a record.
    pub fn put(&self, record: crate::platform_source::SourceRecord) {
        let mut all = lock(&self.records);
        let list = all.entry(record.collection.clone()).or_default();
        list.retain(|r| r.id != record.id);
        list.push(record);
    }

    /// Removes a record.
    pub fn remove(&self, collection: &str, id: &str) {
        if let Some(list) = lock(&self.records).get_mut(collection) {
            list.retain(|r| r.id != id);
        }
    }

    /// Listing page number `page` (0-based) of `collection` fails (`None`: nothing fails).
    pub fn fail_at(&self, at: Option<(&str, usize)>) {
        *lock(&self.fail_at) = at.map(|(c, p)| (c.to_string(), p));
    }

    /// Every list request so far.
    pub fn calls(&self) -> Vec<crate::platform_source::ListRequest> {
        lock(&self.calls).clone()
    }
}

impl crate::platform_source::PlatformSource for MemorySource {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn collections(&self) -> &'static [&'static str] {
        self.collections
    }

    fn incremental(&self, collection: &str) -> bool {
        self.incremental.contains(&collection)
    }

    /// Every collection whose name ends in `bookings` or `checkins` is dated: the day before
    /// `now` to the day after.
    fn window(
        &self,
        collection: &str,
        now: access_sync_rules::Instant,
    ) -> Option<(access_sync_rules::Instant, access_sync_rules::Instant)> {
        (collection.ends_with("bookings") || collection.ends_with("checkins")).then(|| {
            (
                now - chrono::Duration::days(1),
                now + chrono::Duration::days(1),
            )
        })
    }

    async fn list(
        &self,
        request: &crate::platform_source::ListRequest,
    ) -> Result<crate::platform_source::Page, crate::platform_source::SourceError> {
        lock(&self.calls).push(request.clone());
        let offset: usize = match &request.cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| crate::platform_source::SourceError::Unreadable {
                    platform: self.platform,
                    collection: request.collection.clone(),
                    reason: format!("bad cursor {c:?}"),
                })?,
        };
        let page = offset / self.page_size;
        if lock(&self.fail_at)
            .as_ref()
            .is_some_and(|(c, p)| *c == request.collection && *p == page)
        {
            return Err(crate::platform_source::SourceError::Unavailable {
                platform: self.platform,
                reason: "simulated failure".into(),
            });
        }
        let all = lock(&self.records);
        let mut list: Vec<_> = all
            .get(&request.collection)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| match (request.changed_since, r.modified_at) {
                (Some(since), Some(m)) if self.incremental(&request.collection) => m >= since,
                _ => true,
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        let end = (offset + self.page_size).min(list.len());
        let records = list.get(offset..end).map(<[_]>::to_vec).unwrap_or_default();
        let next = (end < list.len()).then(|| end.to_string());
        Ok(crate::platform_source::Page { records, next })
    }

    /// The record as it was put; `now` changes nothing (no record here embeds dated ones).
    async fn read(
        &self,
        collection: &str,
        id: &str,
        _now: access_sync_rules::Instant,
    ) -> Result<Option<crate::platform_source::SourceRecord>, crate::platform_source::SourceError>
    {
        Ok(lock(&self.records)
            .get(collection)
            .and_then(|l| l.iter().find(|r| r.id == id).cloned()))
    }
}
