//! `access-sync import <platform> [--dry-run]` and
//! `access-sync sync run|confirm|discard|status <platform>`: the platform's API as the truth,
//! on demand (issue 17).
//!
//! With the same settings as the deployed `platform_sync` function (`TABLE_NAME`,
//! `EVENT_BUS_NAME`, `PLATFORM_SECRETS_PREFIX`, `SYNC_*`, and the usual AWS credentials;
//! `AWS_ENDPOINT_URL` for the local stack):
//! - `import` lists the whole platform (progress on stderr), prints what it found (members,
//!   teams, entitlements by kind, records it could not map and why) and who gains or loses which
//!   group now under the stored mapping, then — unless `--dry-run` — commits: runs the sync's
//!   full run, which publishes what differs as canonical events (the event functions store them
//!   and converge Kisi) and holds endings past the sync brake for `sync confirm`.
//! - `sync run [--full]` runs one sync as the schedule would; `confirm` publishes the endings
//!   the brake held, `discard` drops them; `status` shows the sync's progress and what is held.
//!
//! Exit codes: 0 ok, 2 usage or configuration, 1 failure.

use access_sync_engine::sync::{Mode, PlatformMapping, PlatformSync, SyncOutcome, SyncReport};
use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_ports::{
    FactStore, ListRequest, Page, PlatformSource, SourceError, SourceRecord, SyncStateStore,
};
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Body, Event, Facts, Instant, Pair};
use access_sync_runtime::messages::canonical_event;
use platform_sync::wiring::{Env, SyncApp};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `import` arguments.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The platform (officernd, nexudus or optix: those with an API client).
    platform: String,
    /// Only show what would change.
    #[arg(long)]
    dry_run: bool,
}

/// `sync` subcommands.
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    #[command(subcommand)]
    cmd: SyncCmd,
}

#[derive(clap::Subcommand, Debug)]
enum SyncCmd {
    /// One sync, as the schedule runs it (incremental when due; `--full` for a full listing).
    Run {
        /// The platform.
        platform: String,
        /// A full listing even if an incremental one is due.
        #[arg(long)]
        full: bool,
    },
    /// Publish the endings the sync brake held.
    Confirm {
        /// The platform.
        platform: String,
    },
    /// Drop the endings the sync brake held.
    Discard {
        /// The platform.
        platform: String,
    },
    /// The sync's progress and what its brake holds.
    Status {
        /// The platform.
        platform: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(1)
        })
}

fn platform(name: &str) -> Result<Platform, ExitCode> {
    Platform::parse(name).ok_or_else(|| {
        eprintln!(
            "error: unknown platform {name:?} (want one of {})",
            Platform::ALL.map(Platform::as_str).join(", ")
        );
        ExitCode::from(2)
    })
}

async fn app() -> Result<(SyncApp, Instant), ExitCode> {
    let env = Env::from_lookup(|k| std::env::var(k).ok()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let sdk = access_sync_aws::load_sdk_config().await;
    let app = SyncApp::new(env, &sdk).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let now = app.clock.now().await.map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    Ok((app, now))
}

/// Runs `import`.
pub fn import(args: ImportArgs) -> ExitCode {
    let p = match platform(&args.platform) {
        Ok(p) => p,
        Err(c) => return c,
    };
    match runtime() {
        Ok(rt) => rt.block_on(import_async(p, args.dry_run)),
        Err(c) => c,
    }
}

/// Runs `sync`.
pub fn sync(args: SyncArgs) -> ExitCode {
    let name = match &args.cmd {
        SyncCmd::Run { platform, .. }
        | SyncCmd::Confirm { platform }
        | SyncCmd::Discard { platform }
        | SyncCmd::Status { platform } => platform.clone(),
    };
    let p = match platform(&name) {
        Ok(p) => p,
        Err(c) => return c,
    };
    match runtime() {
        Ok(rt) => rt.block_on(sync_async(p, &args.cmd)),
        Err(c) => c,
    }
}

/// A source that shows each page on stderr and (when `keep`) keeps what it listed, for the
/// counts `import` prints.
struct Progress<'a, S> {
    inner: &'a S,
    seen: Mutex<Vec<SourceRecord>>,
    read: AtomicUsize,
    keep: bool,
}

impl<'a, S> Progress<'a, S> {
    fn new(inner: &'a S, keep: bool) -> Self {
        Progress {
            inner,
            seen: Mutex::new(Vec::new()),
            read: AtomicUsize::new(0),
            keep,
        }
    }
}

impl<S: PlatformSource> PlatformSource for Progress<'_, S> {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn collections(&self) -> &'static [&'static str] {
        self.inner.collections()
    }
    fn incremental(&self, collection: &str) -> bool {
        self.inner.incremental(collection)
    }
    fn window(&self, collection: &str, now: Instant) -> Option<(Instant, Instant)> {
        self.inner.window(collection, now)
    }
    async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
        let page = self.inner.list(request).await?;
        let total = self.read.fetch_add(page.records.len(), Ordering::Relaxed) + page.records.len();
        if self.keep {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.extend(page.records.iter().cloned());
        }
        eprint!("\rlisting {}: {total} records read   ", request.collection);
        let _ = std::io::stderr().flush();
        Ok(page)
    }
    async fn read(
        &self,
        collection: &str,
        id: &str,
        now: Instant,
    ) -> Result<Option<SourceRecord>, SourceError> {
        self.inner.read(collection, id, now).await
    }
}

fn print_found(platform: Platform, records: &[SourceRecord], at: Instant) {
    let api: Vec<ApiRecord<'_>> = records
        .iter()
        .map(|r| ApiRecord {
            collection: &r.collection,
            id: &r.id,
            body: &r.body,
        })
        .collect();
    let Ok(mapped) = platform.events_from_records(&api, at) else {
        return;
    };
    let mut by_collection: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        *by_collection.entry(&r.collection).or_default() += 1;
    }
    let (mut members, mut former, mut teams, mut cancels) = (0, 0, 0, 0);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &mapped.events {
        match &e.body {
            Body::Member(m) if m.removed => former += 1,
            Body::Member(_) => members += 1,
            Body::Team(_) => teams += 1,
            Body::Entitlement(x) => *kinds.entry(format!("{:?}", x.kind)).or_default() += 1,
            Body::Cancel(_) => cancels += 1,
        }
    }
    println!(
        "found {} records: {}",
        records.len(),
        by_collection
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  members: {members} ({former} former)");
    println!("  teams: {teams}");
    println!(
        "  entitlements: {} ({}); {cancels} ended or cancelled",
        kinds.values().sum::<usize>(),
        kinds
            .iter()
            .map(|(k, n)| format!("{} {n}", k.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  could not map: {}", mapped.unmapped.len());
    for u in &mapped.unmapped {
        println!("    {} {}: {}", u.collection, u.id, u.reason);
    }
}

/// Who gains and who loses a group now if `events` are applied to the stored facts, under the
/// stored mapping (as `mappings apply` reports a mapping change).
async fn who_gains(
    app: &SyncApp,
    events: &[&Event],
    now: Instant,
) -> anyhow::Result<(Vec<Pair>, Vec<Pair>)> {
    let mappings = match app.store.mapping().await? {
        Some(v) => Mappings::parse(&v.value).map_err(|e| anyhow::anyhow!("{}", e.message))?,
        None => Mappings::default(),
    };
    let before = Facts::from_records(app.store.all_records().await?);
    let mut after = before.clone();
    for e in events {
        after.apply(e, &mappings);
    }
    let mut pairs: BTreeSet<Pair> = before.all_pairs(&mappings);
    pairs.extend(after.all_pairs(&mappings));
    let managed = mappings.managed_groups();
    let (mut gains, mut losses) = (Vec::new(), Vec::new());
    for p in pairs {
        if !managed.contains(&p.group) {
            continue;
        }
        match (
            before.access(&mappings, &p, now).open,
            after.access(&mappings, &p, now).open,
        ) {
            (false, true) => gains.push(p),
            (true, false) => losses.push(p),
            _ => {}
        }
    }
    Ok((gains, losses))
}

fn print_report(r: &SyncReport) {
    println!(
        "{} records ({}), {} unmapped; {} unchanged, {} new or changed, {} endings ending {} of {} active grants{}",
        r.records,
        if r.full { "full" } else { "incremental" },
        r.unmapped.len(),
        r.unchanged,
        r.changes.len(),
        r.endings.len(),
        r.ended,
        r.active,
        if r.held {
            " (held by the sync brake)"
        } else {
            ""
        }
    );
}

async fn import_async(p: Platform, dry_run: bool) -> ExitCode {
    let (app, now) = match app().await {
        Ok(x) => x,
        Err(c) => return c,
    };
    let source = match app.source(p) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = Progress::new(&*source, true);
    let sync = PlatformSync {
        source: &progress,
        state: &app.store,
        facts: &app.store,
        publisher: &app.events,
        mapping: PlatformMapping::Spec(p),
        encode: canonical_event,
        settings: app.env.sync.sync,
    };
    let report = match sync.run(Mode::DryRun, now, &|| true).await {
        Ok(SyncOutcome::Done(r)) => r,
        Ok(SyncOutcome::Paused { .. }) => {
            eprintln!("\nerror: the dry run paused (it never should)");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("\nerror: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!();
    let records = std::mem::take(&mut *progress.seen.lock().unwrap_or_else(|e| e.into_inner()));
    print_found(p, &records, now);
    drop(records);
    let events: Vec<&Event> = report.changes.iter().chain(&report.endings).collect();
    match who_gains(&app, &events, now).await {
        Ok((gains, losses)) => {
            for g in &gains {
                println!("+ {} gains group {}", g.email, g.group);
            }
            for l in &losses {
                println!("- {} loses group {}", l.email, l.group);
            }
            println!("{} gain, {} lose now", gains.len(), losses.len());
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    print_report(&report);
    if report.held {
        println!(
            "the endings would exceed the sync brake: committing holds them for `access-sync sync confirm {}`",
            p.as_str()
        );
    }
    if dry_run {
        println!("dry run: nothing changed");
        return ExitCode::SUCCESS;
    }
    let counting = Progress::new(&*source, false);
    let sync = PlatformSync {
        source: &counting,
        state: &app.store,
        facts: &app.store,
        publisher: &app.events,
        mapping: PlatformMapping::Spec(p),
        encode: canonical_event,
        settings: app.env.sync.sync,
    };
    match sync.run(Mode::Full, now, &|| true).await {
        Ok(SyncOutcome::Done(r)) => {
            eprintln!();
            print_report(&r);
            println!(
                "committed: {} events published{}",
                r.changes.len() + if r.held { 0 } else { r.endings.len() },
                if r.held {
                    format!(
                        "; {} endings held: `access-sync sync confirm|discard {}`",
                        r.endings.len(),
                        p.as_str()
                    )
                } else {
                    String::new()
                }
            );
            ExitCode::SUCCESS
        }
        Ok(SyncOutcome::Paused { .. }) => {
            eprintln!("\nerror: the sync paused (it never should without a deadline)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("\nerror: {e}; nothing changed");
            ExitCode::from(1)
        }
    }
}

async fn sync_async(p: Platform, cmd: &SyncCmd) -> ExitCode {
    let (app, now) = match app().await {
        Ok(x) => x,
        Err(c) => return c,
    };
    if let SyncCmd::Status { .. } = cmd {
        return match app.store.progress(p.as_str()).await {
            Ok(progress) => {
                let t =
                    |x: Option<Instant>| x.map(format_instant).unwrap_or_else(|| "never".into());
                println!("{}: last full sync {}", p.as_str(), t(progress.last_full));
                println!("  listed up to {}", t(progress.high_water));
                if let Some(f) = &progress.full {
                    println!(
                        "  full listing in progress since {}: {} records read",
                        format_instant(f.started),
                        f.records
                    );
                }
                for line in held_lines(p, &progress) {
                    println!("  {line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let source = match app.source(p) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sync = PlatformSync {
        source: &*source,
        state: &app.store,
        facts: &app.store,
        publisher: &app.events,
        mapping: PlatformMapping::Spec(p),
        encode: canonical_event,
        settings: app.env.sync.sync,
    };
    let done = match cmd {
        SyncCmd::Run { full, .. } => {
            let mode = if *full { Mode::Full } else { Mode::Auto };
            match sync.run(mode, now, &|| true).await {
                Ok(SyncOutcome::Done(r)) => {
                    print_report(&r);
                    Ok(())
                }
                Ok(SyncOutcome::Paused { records }) => {
                    println!("paused after {records} records");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        SyncCmd::Confirm { .. } => sync.confirm(now).await.map(|n| {
            println!("confirmed: {n} held endings published");
        }),
        SyncCmd::Discard { .. } => sync.discard(now).await.map(|n| {
            println!("discarded: {n} held endings dropped");
        }),
        SyncCmd::Status { .. } => Ok(()),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// What the sync brake holds for `platform`, one line (none when nothing is held).
pub fn held_lines(p: Platform, progress: &access_sync_ports::SyncProgress) -> Vec<String> {
    progress
        .held
        .iter()
        .map(|h| {
            format!(
                "sync {}: {} endings held since {} (would end {} of {} active grants): `access-sync sync confirm|discard {}`",
                p.as_str(),
                h.events,
                format_instant(h.at),
                h.ended,
                h.active,
                p.as_str()
            )
        })
        .collect()
}

/// The held sync endings of every platform, for `brake status` (the one brake's view). Needs
/// only `TABLE_NAME`; without it, says so.
pub async fn held_everywhere() -> Vec<String> {
    let Some(table) = std::env::var("TABLE_NAME").ok().filter(|t| !t.is_empty()) else {
        return vec!["sync: TABLE_NAME is not set: held sync endings not shown".into()];
    };
    let sdk = access_sync_aws::load_sdk_config().await;
    let store = access_sync_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let mut out = Vec::new();
    for p in Platform::ALL {
        match store.progress(p.as_str()).await {
            Ok(progress) => out.extend(held_lines(p, &progress)),
            Err(e) => out.push(format!("sync {}: cannot read: {e}", p.as_str())),
        }
    }
    out
}
