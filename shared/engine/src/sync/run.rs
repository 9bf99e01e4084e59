//! The resumable sync run: list the platform, map, compare, publish — or hold the endings.
//!
//! # Full and incremental
//! A run is **full** when asked (`Mode::Full`), when a full listing is in progress, when some
//! collection cannot be listed by change time, when there has been no complete sync yet, or
//! when the last complete full sync is older than [`SyncSettings::full_every`]; otherwise it is
//! **incremental**: every collection, changed since the high-water mark. Only a complete full
//! listing can end anything (see [`super::diff`]).
//!
//! Why "some collection": an incremental listing cannot see a change in a collection the
//! platform cannot filter by change time (OfficeRnD's memberships, passes, bookings, §3
//! "Incremental"), so a dropped webhook there would wait for the next full sync
//! (`full_every`, 24 h by default) — not the sync interval the dropped-webhook bound promises.
//! Such a platform is listed in full on every run instead (OfficeRnD, 500 members: 46
//! requests, about 4.5 s at the client's 10 reads/s; BENCHMARKS.md), and a listing that runs
//! out of time resumes at the next run.
//!
//! # Nothing changes until the listing is complete
//! A full listing may span runs: before each page the run asks `keep_going` (the handler's
//! time budget) and, when told to stop, stores the records read so far as chunks and the
//! cursor of the next page, and returns [`SyncOutcome::Paused`]; the next run resumes there.
//! A page that fails stores the same (records read, cursor of the failed page) and returns the
//! error: **nothing is published and no fact changes** until a run reads the last page. An
//! incremental listing that fails stores nothing at all (the next run lists from the same mark).
//!
//! # The brake
//! When the endings would end more than the brake allows ([`super::Brake`]), the changes are
//! published and the endings are stored as held (chunks + [`HeldSync`]), audited (`brake`, on
//! the system-wide audit) and logged as the metric `SyncHeld`; [`PlatformSync::confirm`] publishes
//! them, [`PlatformSync::discard`] drops them. A later sync that holds again replaces the held set
//! (it was computed from newer data).

use super::diff::{Brake, Listing, SyncScope, diff};
use access_sync_platforms::Platform;
use access_sync_platforms::api::{ApiRecord, Mapped, NoApiMapping, Unmapped};
use access_sync_ports::{
    AuditAction, AuditEntry, AuditLog, ChunkKind, EventPublisher, FactStore, FullProgress,
    HeldSync, ListRequest, OutboundEvent, PlatformSource, PublishError, SourceError, SourceRecord,
    StoreError, SyncProgress, SyncStateStore, split_chunks,
};
use access_sync_rules::{EntitlementId, Event, Facts, Instant};

/// How often a full sync runs at least, by default (`SYNC_FULL_EVERY_HOURS`).
pub const DEFAULT_FULL_EVERY_HOURS: i64 = 24;

/// Events published per call of the publisher.
const PUBLISH_BATCH: usize = 100;

/// Settings of the sync.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyncSettings {
    /// The brake on endings.
    pub brake: Brake,
    /// Longest time between complete full syncs.
    pub full_every: chrono::Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            brake: Brake::default(),
            full_every: chrono::Duration::hours(DEFAULT_FULL_EVERY_HOURS),
        }
    }
}

/// What kind of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Full or incremental as due.
    Auto,
    /// Full (resuming a full listing in progress).
    Full,
    /// Full, from scratch, in memory: reports what a sync would do and writes nothing
    /// (`import --dry-run`). `keep_going` is not asked.
    DryRun,
}

/// Records → canonical events at an instant.
pub type MapFn<'a> = &'a (dyn Fn(&[ApiRecord<'_>], Instant) -> Result<Mapped, NoApiMapping> + Sync);
/// Whether a complete full listing covers an entitlement id.
pub type CoversFn<'a> = &'a (dyn Fn(&EntitlementId) -> bool + Sync);

/// A platform's records → events mapping, and which entitlements its complete listing covers.
#[derive(Clone, Copy)]
pub enum PlatformMapping<'a> {
    /// What the platform's folder provides (its `PlatformSpec::map_records` and `covers`).
    Spec(Platform),
    /// Given functions (tests; a platform's mapping under development).
    Custom {
        /// Records → events.
        map: MapFn<'a>,
        /// Coverage.
        covers: CoversFn<'a>,
    },
}

impl PlatformMapping<'_> {
    fn map(&self, records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
        match self {
            PlatformMapping::Spec(p) => p.events_from_records(records, at),
            PlatformMapping::Custom { map, .. } => map(records, at),
        }
    }

    fn covers(&self, id: &EntitlementId) -> bool {
        match self {
            PlatformMapping::Spec(p) => p.covers(id),
            PlatformMapping::Custom { covers, .. } => covers(id),
        }
    }
}

/// What a complete run found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    /// How the records were listed.
    pub full: bool,
    /// Records listed.
    pub records: usize,
    /// Canonical events they mean.
    pub events: usize,
    /// Records the mapping could not map, and why.
    pub unmapped: Vec<Unmapped>,
    /// Records shown as stored.
    pub unchanged: usize,
    /// New or changed records (published unless a dry run).
    pub changes: Vec<Event>,
    /// Endings (published unless held or a dry run).
    pub endings: Vec<Event>,
    /// Whether the brake held the endings.
    pub held: bool,
    /// Active grants the endings end (an entitlement per person it gives access to:
    /// [`super::diff`], "What the brake counts").
    pub ended: usize,
    /// The platform's active grants before the sync.
    pub active: usize,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncOutcome {
    /// The full listing is not complete yet (time ran out): the next run resumes it.
    Paused {
        /// Records buffered so far.
        records: u64,
    },
    /// The listing was complete and its differences published (or held).
    Done(SyncReport),
}

/// Why a run failed. Every failure leaves the facts unchanged.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The platform could not be listed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bus refused events (the run is retried; delivery ids make it safe).
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The platform has no API mapping.
    #[error(transparent)]
    NoMapping(#[from] NoApiMapping),
    /// `confirm` or `discard` with nothing held.
    #[error("nothing is held for {0}")]
    NothingHeld(String),
}

impl SyncError {
    /// Whether a later run can succeed unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Source(e) => e.is_retryable(),
            SyncError::Store(e) => e.is_retryable(),
            SyncError::Publish(_) => true,
            SyncError::NoMapping(_) | SyncError::NothingHeld(_) => false,
        }
    }
}

/// One platform's sync, over its ports.
pub struct PlatformSync<'a, S, St, F, P> {
    /// The platform's API.
    pub source: &'a S,
    /// Progress, buffered records, held endings.
    pub state: &'a St,
    /// The stored facts (read) and the audit (held/confirmed endings).
    pub facts: &'a F,
    /// The bus the canonical events go to.
    pub publisher: &'a P,
    /// Records → events.
    pub mapping: PlatformMapping<'a>,
    /// An event as the bus carries it (the normal path: `ingest`'s encoding).
    pub encode: fn(&Event) -> OutboundEvent,
    /// Settings.
    pub settings: SyncSettings,
}

impl<S, St, F, P> PlatformSync<'_, S, St, F, P>
where
    S: PlatformSource,
    St: SyncStateStore,
    F: FactStore + AuditLog,
    P: EventPublisher,
{
    fn name(&self) -> &'static str {
        self.source.platform().as_str()
    }

    /// One run at `now`; `keep_going` is asked before each page of a full listing.
    ///
    /// # Errors
    /// See [`SyncError`]; the facts are unchanged and a full listing resumes where it failed.
    pub async fn run(
        &self,
        mode: Mode,
        now: Instant,
        keep_going: &(dyn Fn() -> bool + Sync),
    ) -> Result<SyncOutcome, SyncError> {
        if mode == Mode::DryRun {
            let records = self.list_all(None, now).await?;
            let mut progress = SyncProgress::default();
            let report = self
                .compare(&records, Listing::CompleteFull, now, &mut progress, false)
                .await?;
            return Ok(SyncOutcome::Done(report));
        }
        let mut progress = self.state.progress(self.name()).await?;
        let cols = self.source.collections();
        // A collection that cannot be listed by change time would be seen only by full
        // listings: then every run is one, so a dropped webhook is repaired by the next run.
        let every_incremental = cols.iter().all(|c| self.source.incremental(c));
        let full = mode == Mode::Full
            || progress.full.is_some()
            || !every_incremental
            || progress.high_water.is_none()
            || progress
                .last_full
                .is_none_or(|t| now - t >= self.settings.full_every);
        if !full {
            let since = progress.high_water;
            let records = self.list_all(since, now).await?;
            let report = self
                .compare(&records, Listing::Incremental, now, &mut progress, true)
                .await?;
            progress.high_water = Some(now);
            self.state.put_progress(self.name(), &progress).await?;
            return Ok(SyncOutcome::Done(report));
        }
        self.full(progress, now, keep_going).await
    }

    /// Every page of every collection (only incremental ones, changed since `since`, when
    /// `since` is given), in memory; dated collections in their window at `now`.
    async fn list_all(
        &self,
        since: Option<Instant>,
        now: Instant,
    ) -> Result<Vec<SourceRecord>, SyncError> {
        let mut out = Vec::new();
        for &c in self.source.collections() {
            if since.is_some() && !self.source.incremental(c) {
                continue;
            }
            let mut cursor = None;
            loop {
                let page = self
                    .source
                    .list(&ListRequest {
                        collection: c.to_string(),
                        changed_since: since,
                        window: self.source.window(c, now),
                        cursor: cursor.take(),
                    })
                    .await?;
                out.extend(page.records);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    async fn full(
        &self,
        mut progress: SyncProgress,
        now: Instant,
        keep_going: &(dyn Fn() -> bool + Sync),
    ) -> Result<SyncOutcome, SyncError> {
        let cols = self.source.collections();
        let mut fp = progress.full.clone().unwrap_or(FullProgress {
            started: now,
            collection: 0,
            cursor: None,
            chunks: 0,
            records: 0,
        });
        let mut buf: Vec<SourceRecord> = Vec::new();
        while fp.collection < cols.len() {
            if !keep_going() {
                let records = fp.records + buf.len() as u64;
                self.pause(&mut progress, fp, &buf).await?;
                return Ok(SyncOutcome::Paused { records });
            }
            // The window at the listing's start: the same for every page, also after a pause.
            let request = ListRequest {
                collection: cols[fp.collection].to_string(),
                changed_since: None,
                window: self.source.window(cols[fp.collection], fp.started),
                cursor: fp.cursor.clone(),
            };
            match self.source.list(&request).await {
                Ok(page) => {
                    buf.extend(page.records);
                    match page.next {
                        Some(n) => fp.cursor = Some(n),
                        None => {
                            fp.collection += 1;
                            fp.cursor = None;
                        }
                    }
                }
                Err(e) => {
                    self.pause(&mut progress, fp, &buf).await?;
                    return Err(e.into());
                }
            }
        }
        let mut records = self.buffered(&fp).await?;
        let earlier = records.len();
        records.extend(buf);
        let report = match self
            .compare(
                &records,
                Listing::CompleteFull,
                fp.started,
                &mut progress,
                true,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // Keep what this run read: the next run compares again without listing.
                self.pause(&mut progress, fp, &records[earlier..]).await?;
                return Err(e);
            }
        };
        self.state
            .clear_chunks(self.name(), ChunkKind::Buffer)
            .await?;
        progress.full = None;
        progress.last_full = Some(fp.started);
        progress.high_water = Some(fp.started);
        self.state.put_progress(self.name(), &progress).await?;
        Ok(SyncOutcome::Done(report))
    }

    /// Stores the records of this run after those already buffered, and the cursor.
    async fn pause(
        &self,
        progress: &mut SyncProgress,
        mut fp: FullProgress,
        buf: &[SourceRecord],
    ) -> Result<(), SyncError> {
        let lines = buf
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        for chunk in split_chunks(lines) {
            self.state
                .put_chunk(self.name(), ChunkKind::Buffer, fp.chunks, &chunk)
                .await?;
            fp.chunks += 1;
        }
        fp.records += buf.len() as u64;
        progress.full = Some(fp);
        self.state.put_progress(self.name(), progress).await?;
        Ok(())
    }

    async fn buffered(&self, fp: &FullProgress) -> Result<Vec<SourceRecord>, SyncError> {
        let chunks = self
            .state
            .chunks(self.name(), ChunkKind::Buffer, fp.chunks)
            .await?;
        let mut out = Vec::new();
        for (n, c) in chunks.iter().enumerate() {
            for line in c.lines() {
                out.push(serde_json::from_str(line).map_err(|e| StoreError::Corrupt {
                    key: format!("SYNC#{}#BUF#{n}", self.name()),
                    reason: e.to_string(),
                })?);
            }
        }
        Ok(out)
    }

    /// Maps, compares with the stored facts, and (when `write`) publishes or holds.
    async fn compare(
        &self,
        records: &[SourceRecord],
        listing: Listing,
        at: Instant,
        progress: &mut SyncProgress,
        write: bool,
    ) -> Result<SyncReport, SyncError> {
        let api: Vec<ApiRecord<'_>> = records
            .iter()
            .map(|r| ApiRecord {
                collection: &r.collection,
                id: &r.id,
                body: &r.body,
            })
            .collect();
        let mapped = self.mapping.map(&api, at)?;
        let stored = Facts::from_records(self.facts.all_records().await?);
        let scope = SyncScope {
            platform: self.name(),
            covers: &|id| self.mapping.covers(id),
            kept: &mapped.kept,
        };
        let d = diff(&scope, &stored, &mapped.events, listing, at);
        let active = scope.active_grants(&stored);
        let held = !d.endings.is_empty() && self.settings.brake.holds(d.ended_grants.len(), active);
        let report = SyncReport {
            full: listing == Listing::CompleteFull,
            records: records.len(),
            events: mapped.events.len(),
            unmapped: mapped.unmapped,
            unchanged: d.unchanged,
            changes: d.changes,
            endings: d.endings,
            held,
            ended: d.ended_grants.len(),
            active,
        };
        if !write {
            return Ok(report);
        }
        self.publish(&report.changes).await?;
        if held {
            self.hold(&report, at, progress).await?;
        } else {
            self.publish(&report.endings).await?;
        }
        tracing::info!(
            platform = self.name(),
            full = report.full,
            records = report.records,
            unmapped = report.unmapped.len(),
            changes = report.changes.len(),
            endings = report.endings.len(),
            held = report.held,
            "platform sync compared"
        );
        Ok(report)
    }

    async fn publish(&self, events: &[Event]) -> Result<(), SyncError> {
        for batch in events.chunks(PUBLISH_BATCH) {
            let out: Vec<OutboundEvent> = batch.iter().map(self.encode).collect();
            self.publisher.publish(&out).await?;
        }
        Ok(())
    }

    async fn hold(
        &self,
        report: &SyncReport,
        at: Instant,
        progress: &mut SyncProgress,
    ) -> Result<(), SyncError> {
        let name = self.name();
        self.state.clear_chunks(name, ChunkKind::Held).await?;
        let chunks = split_chunks(report.endings.iter().map(Event::to_json));
        for (n, c) in chunks.iter().enumerate() {
            self.state
                .put_chunk(name, ChunkKind::Held, n as u32, c)
                .await?;
        }
        progress.held = Some(HeldSync {
            at,
            events: report.endings.len() as u64,
            chunks: chunks.len() as u32,
            ended: report.ended as u64,
            active: report.active as u64,
        });
        self.state.put_progress(name, progress).await?;
        self.facts
            .record(&[AuditEntry {
                at,
                pair: None,
                action: AuditAction::Brake,
                cause: format!(
                    "platform_sync {name}: held {} ending(s) that would end {} of {} active grants (one person's access through one entitlement); `access-sync sync confirm {name}` publishes them, `access-sync sync discard {name}` drops them",
                    report.endings.len(),
                    report.ended,
                    report.active
                ),
            }])
            .await?;
        tracing::warn!(
            metric = "SyncHeld",
            platform = name,
            endings = report.endings.len(),
            ended = report.ended,
            active = report.active,
            "platform sync held its endings for an operator"
        );
        Ok(())
    }

    /// The held endings, published (the operator confirmed them). Returns how many.
    ///
    /// # Errors
    /// [`SyncError::NothingHeld`]; store and bus failures (nothing is cleared then).
    pub async fn confirm(&self, now: Instant) -> Result<usize, SyncError> {
        let name = self.name();
        let mut progress = self.state.progress(name).await?;
        let Some(held) = progress.held.clone() else {
            return Err(SyncError::NothingHeld(name.into()));
        };
        let mut events = Vec::new();
        for (n, c) in self
            .state
            .chunks(name, ChunkKind::Held, held.chunks)
            .await?
            .iter()
            .enumerate()
        {
            for line in c.lines() {
                events.push(Event::parse(line).map_err(|reason| StoreError::Corrupt {
                    key: format!("SYNC#{name}#HELD#{n}"),
                    reason,
                })?);
            }
        }
        self.publish(&events).await?;
        self.release(
            &mut progress,
            now,
            format!("confirmed: published {} held ending(s)", events.len()),
        )
        .await?;
        Ok(events.len())
    }

    /// Drops the held endings (the operator judged them wrong). Returns how many.
    ///
    /// # Errors
    /// [`SyncError::NothingHeld`]; store failures.
    pub async fn discard(&self, now: Instant) -> Result<u64, SyncError> {
        let name = self.name();
        let mut progress = self.state.progress(name).await?;
        let Some(held) = progress.held.clone() else {
            return Err(SyncError::NothingHeld(name.into()));
        };
        self.release(
            &mut progress,
            now,
            format!("discarded {} held ending(s)", held.events),
        )
        .await?;
        Ok(held.events)
    }

    async fn release(
        &self,
        progress: &mut SyncProgress,
        now: Instant,
        what: String,
    ) -> Result<(), SyncError> {
        let name = self.name();
        self.state.clear_chunks(name, ChunkKind::Held).await?;
        progress.held = None;
        self.state.put_progress(name, progress).await?;
        self.facts
            .record(&[AuditEntry {
                at: now,
                pair: None,
                action: AuditAction::Brake,
                cause: format!("platform_sync {name}: operator {what}"),
            }])
            .await?;
        Ok(())
    }
}
