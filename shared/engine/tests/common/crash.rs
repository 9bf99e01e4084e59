//! Crash injection: wrappers around the real adapters that, when armed, let one side effect
//! happen and then fail (or fail before it), as a Lambda killed at that point would.

use access_sync_ports::{
    AccessControl, AccessError, Assignment, AuditEntry, AuditLog, Begin, CancelOutcome, Edge,
    EdgeScheduler, FactStore, Granted, Idempotency, IdempotencyError, IdempotencyKey, Loaded, Lock,
    OwnerView, Ownership, OwnershipChange, OwnershipPage, OwnershipStore, ScheduleError,
    ScheduleOutcome, StoreError, Version, Versioned,
};
use access_sync_ports::{
    Budget, Dirty, Hold, NoteChange, Notes, Pair, SafetyPage, SafetyStore, Wanted,
};
use access_sync_rules::event::Body;
use access_sync_rules::facts::Record;
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, GroupId, Instant};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// Where converge is cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Kisi user created, nothing else.
    AfterEnsureUser,
    /// Kisi assignment created, ownership not written.
    AfterGrant,
    /// Kisi assignment deleted, ownership not written (or, in a replace, no new grant yet).
    AfterRevoke,
    /// Kisi done, the ownership transaction fails.
    BeforeOwnershipWrite,
    /// Ownership written, then the function dies before scheduling the edge.
    AfterOwnershipWrite,
    /// Scheduling the next edge fails.
    AtSchedule,
    /// Event handling: the facts are saved, then the function dies.
    AfterFactsSave,
}

/// The stack on moto and the Kisi simulator with every adapter wrapped for crashes.
pub type CrashStack = super::Stack<
    CrashStore<access_sync_aws::DynamoStore>,
    CrashKisi<access_sync_kisi::KisiAccess>,
    CrashEdges<access_sync_aws::SchedulerEdges>,
>;

/// A [`CrashStack`] for `mapping_toml` and the plan that arms its crashes.
pub async fn crash_stack(mapping_toml: &str) -> (CrashStack, Arc<Plan>) {
    let plan = Arc::new(Plan::default());
    let (p1, p2, p3) = (plan.clone(), plan.clone(), plan.clone());
    let stack = super::Stack::wrapped(
        mapping_toml,
        |inner| CrashStore { inner, plan: p1 },
        |inner| CrashKisi { inner, plan: p2 },
        |inner| CrashEdges { inner, plan: p3 },
    )
    .await;
    (stack, plan)
}

/// The armed crash, shared by the wrappers.
#[derive(Default)]
pub struct Plan {
    armed: Mutex<Option<CrashPoint>>,
    fired: Mutex<Vec<CrashPoint>>,
}

impl Plan {
    pub fn arm(&self, p: CrashPoint) {
        *self.armed.lock().unwrap() = Some(p);
    }

    fn take(&self, p: CrashPoint) -> bool {
        let mut a = self.armed.lock().unwrap();
        if *a == Some(p) {
            *a = None;
            self.fired.lock().unwrap().push(p);
            true
        } else {
            false
        }
    }

    pub fn fired(&self) -> Vec<CrashPoint> {
        self.fired.lock().unwrap().clone()
    }
}

fn crash() -> AccessError {
    AccessError::Unavailable("injected crash".into())
}

pub struct CrashKisi<K> {
    pub inner: K,
    pub plan: Arc<Plan>,
}

impl<K: AccessControl> AccessControl for CrashKisi<K> {
    async fn ensure_user(
        &self,
        email: &Email,
        name: Option<&str>,
        invite: NotifyPolicy,
    ) -> Result<u64, AccessError> {
        let r = self.inner.ensure_user(email, name, invite).await?;
        if self.plan.take(CrashPoint::AfterEnsureUser) {
            return Err(crash());
        }
        Ok(r)
    }

    async fn grant(
        &self,
        user: u64,
        group: GroupId,
        valid_until: Option<Instant>,
        invite: NotifyPolicy,
    ) -> Result<Granted, AccessError> {
        let r = self.inner.grant(user, group, valid_until, invite).await?;
        if self.plan.take(CrashPoint::AfterGrant) {
            return Err(crash());
        }
        Ok(r)
    }

    async fn revoke(&self, assignment: u64) -> Result<(), AccessError> {
        self.inner.revoke(assignment).await?;
        if self.plan.take(CrashPoint::AfterRevoke) {
            return Err(crash());
        }
        Ok(())
    }

    async fn user_email(&self, user: u64) -> Result<Option<Email>, AccessError> {
        self.inner.user_email(user).await
    }

    async fn group_assignments(&self, group: GroupId) -> Result<Vec<Assignment>, AccessError> {
        self.inner.group_assignments(group).await
    }
}

pub struct CrashStore<S> {
    pub inner: S,
    pub plan: Arc<Plan>,
}

impl<S: FactStore + Sync> FactStore for CrashStore<S> {
    async fn facts_for_email(&self, email: &Email) -> Result<Vec<Record>, StoreError> {
        self.inner.facts_for_email(email).await
    }
    async fn load_for_event(&self, body: &Body) -> Result<Loaded, StoreError> {
        self.inner.load_for_event(body).await
    }
    async fn save(&self, loaded: &Loaded, record: &Record) -> Result<Version, StoreError> {
        let v = self.inner.save(loaded, record).await?;
        if self.plan.take(CrashPoint::AfterFactsSave) {
            return Err(StoreError::Unavailable("injected crash".into()));
        }
        Ok(v)
    }
    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        self.inner.all_records().await
    }
    async fn canonical_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.inner.canonical_record(key).await
    }
    async fn mapping(&self) -> Result<Option<Versioned<String>>, StoreError> {
        self.inner.mapping().await
    }
    async fn put_mapping(
        &self,
        toml: &str,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        self.inner.put_mapping(toml, expected).await
    }
}

impl<S: OwnershipStore + Sync> OwnershipStore for CrashStore<S> {
    async fn owner_view(&self, email: &str) -> Result<OwnerView, StoreError> {
        self.inner.owner_view(email).await
    }
    async fn owned_for_email(&self, email: &str) -> Result<Vec<Versioned<Ownership>>, StoreError> {
        self.inner.owned_for_email(email).await
    }
    async fn apply_ownership(
        &self,
        changes: &[OwnershipChange],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        if self.plan.take(CrashPoint::BeforeOwnershipWrite) {
            return Err(StoreError::Unavailable("injected crash".into()));
        }
        self.inner.apply_ownership(changes, audit).await?;
        if self.plan.take(CrashPoint::AfterOwnershipWrite) {
            return Err(StoreError::Unavailable("injected crash".into()));
        }
        Ok(())
    }
    async fn owned_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<OwnershipPage, StoreError> {
        self.inner.owned_page(shard, cursor, limit).await
    }
}

impl<S: AuditLog + Sync> AuditLog for CrashStore<S> {
    async fn record(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.inner.record(entries).await
    }
    async fn history(&self, email: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.history(email, limit).await
    }
    async fn recent(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.recent(since, until, limit).await
    }
    async fn erase(&self, email: &str) -> Result<usize, StoreError> {
        self.inner.erase(email).await
    }
}

impl<S: Idempotency + Sync> Idempotency for CrashStore<S> {
    async fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        lock_until: DateTime<Utc>,
    ) -> Result<Begin, IdempotencyError> {
        self.inner.begin(key, now, lock_until).await
    }
    async fn complete(
        &self,
        lock: &Lock,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), IdempotencyError> {
        self.inner.complete(lock, outcome, now).await
    }
    async fn release(&self, lock: &Lock) -> Result<(), IdempotencyError> {
        self.inner.release(lock).await
    }
}

impl<S: SafetyStore + Sync> SafetyStore for CrashStore<S> {
    async fn notes(&self, email: &str) -> Result<Notes, StoreError> {
        self.inner.notes(email).await
    }
    async fn mark_dirty(&self, marks: &[Dirty]) -> Result<(), StoreError> {
        self.inner.mark_dirty(marks).await
    }
    async fn apply_notes(&self, changes: &[NoteChange]) -> Result<(), StoreError> {
        self.inner.apply_notes(changes).await
    }
    async fn wanted_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<(Pair, Wanted)>, StoreError> {
        self.inner.wanted_page(shard, cursor, limit).await
    }
    async fn dirty_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Dirty>, StoreError> {
        self.inner.dirty_page(shard, cursor, limit).await
    }
    async fn holds_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Hold>, StoreError> {
        self.inner.holds_page(cursor, limit).await
    }
    async fn budget(&self) -> Result<Option<Versioned<Budget>>, StoreError> {
        self.inner.budget().await
    }
    async fn save_budget(
        &self,
        budget: &Budget,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        self.inner.save_budget(budget, expected).await
    }
}

pub struct CrashEdges<E> {
    pub inner: E,
    pub plan: Arc<Plan>,
}

impl<E: EdgeScheduler + Sync> EdgeScheduler for CrashEdges<E> {
    async fn schedule(
        &self,
        edge: &Edge,
        now: DateTime<Utc>,
    ) -> Result<ScheduleOutcome, ScheduleError> {
        if self.plan.take(CrashPoint::AtSchedule) {
            return Err(ScheduleError::Unavailable("injected crash".into()));
        }
        self.inner.schedule(edge, now).await
    }
    async fn cancel(&self, edge: &Edge) -> Result<CancelOutcome, ScheduleError> {
        self.inner.cancel(edge).await
    }
}
