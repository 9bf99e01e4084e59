//! End-to-end test stack: the real engine over the real adapters — DynamoDB and EventBridge
//! Scheduler on a moto server, Kisi as the simulator over HTTP — driven by a test clock that
//! plays what AWS would do: deliver each event at its `at`, and fire each stored schedule when
//! its instant comes (moto stores schedules but never fires them).
#![allow(dead_code)]

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, SchedulerEdges, SchedulerSettings, create_table};
use access_sync_engine::{
    Engine, EngineError, ReconcileConfig, ReconcileReport, Settings, Store, Trigger,
};
use access_sync_kisi::{ApiKey, KisiAccess, KisiClient, KisiConfig, RetryPolicy, Unlimited};
use access_sync_ports::{AccessControl, Edge, EdgeScheduler, FactStore};
use access_sync_rules::brake::BrakeConfig;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::{format_instant, parse_instant};
use access_sync_rules::{Email, Event, GroupId, Instant};
use chrono::Duration;
use kisi_sim::{SimConfig, SimHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub type TestEngine = Engine<DynamoStore, KisiAccess, SchedulerEdges>;

pub mod crash;

/// One isolated stack: its own table, schedule group and simulator. The ports may be wrapped
/// (see [`crash`]).
pub struct Stack<S = DynamoStore, K = KisiAccess, E = SchedulerEdges> {
    pub engine: Engine<S, K, E>,
    pub sim: SimHandle,
    pub scheduler: aws_sdk_scheduler::Client,
    pub group: String,
    pub table: String,
    pub mappings: Mappings,
    /// Converges that failed retryably, to run again later (what SQS redelivery would do).
    pub retry: Vec<(Email, BTreeSet<GroupId>, Trigger)>,
    /// Retry a failed converge at once, at the same instant (a prompt redelivery).
    pub retry_at_once: bool,
    /// Converges that failed (for assertions).
    pub failures: Vec<String>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique name for this test's AWS resources.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn at(s: &str) -> Instant {
    parse_instant(s).unwrap()
}

impl Stack {
    pub async fn new(mapping_toml: &str) -> Stack {
        Stack::wrapped(mapping_toml, |s| s, |k| k, |e| e).await
    }

    /// A stack whose engine brakes with `brake`.
    pub async fn braked(mapping_toml: &str, brake: BrakeConfig) -> Stack {
        Stack::wrapped_with(mapping_toml, brake, |s| s, |k| k, |e| e).await
    }
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Stack<S, K, E> {
    /// A stack whose adapters are wrapped by the given functions.
    pub async fn wrapped(
        mapping_toml: &str,
        ws: impl FnOnce(DynamoStore) -> S,
        wk: impl FnOnce(KisiAccess) -> K,
        we: impl FnOnce(SchedulerEdges) -> E,
    ) -> Stack<S, K, E> {
        Stack::wrapped_with(mapping_toml, BrakeConfig::default(), ws, wk, we).await
    }

    /// [`Stack::wrapped`] with the brake's settings.
    pub async fn wrapped_with(
        mapping_toml: &str,
        brake: BrakeConfig,
        ws: impl FnOnce(DynamoStore) -> S,
        wk: impl FnOnce(KisiAccess) -> K,
        we: impl FnOnce(SchedulerEdges) -> E,
    ) -> Stack<S, K, E> {
        let moto = shared();
        let sdk = moto.sdk_config().await;
        let table = unique("e2e");
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        create_table(&ddb, &table).await.unwrap();
        let store = DynamoStore::new(ddb, &table);
        store.put_mapping(mapping_toml, None).await.unwrap();
        let mappings = Mappings::parse(mapping_toml).unwrap();

        let scheduler = aws_sdk_scheduler::Client::new(&sdk);
        let group = unique("edges");
        scheduler
            .create_schedule_group()
            .name(&group)
            .send()
            .await
            .unwrap();
        let edges = SchedulerEdges::new(
            scheduler.clone(),
            SchedulerSettings {
                group: group.clone(),
                target_arn: "arn:aws:lambda:us-east-1:123456789012:function:on_edge".into(),
                role_arn: "arn:aws:iam::123456789012:role/scheduler".into(),
                dlq_arn: None,
                max_retry_attempts: 20,
                max_event_age_seconds: 3600,
            },
        );

        let mut cfg = SimConfig::with_key("e2e-key");
        cfg.rate_limit_per_sec = 0;
        let sim = kisi_sim::spawn(cfg).await.unwrap();
        for g in mappings.managed_groups() {
            sim.seed_group_with_id(Some(g.get()), &format!("group {g}"), None);
        }
        // A staff group that no mapping names: nothing may ever touch it.
        sim.seed_group_with_id(Some(900), "Staff", None);

        let mut kc = KisiConfig::new(sim.base_url.clone(), ApiKey::new("e2e-key"));
        kc.retry = RetryPolicy {
            max_attempts: 2,
            base_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(20),
            rate_limit_floor: std::time::Duration::from_millis(20),
            deadline: std::time::Duration::from_secs(2),
        };
        kc.request_timeout = std::time::Duration::from_secs(2);
        let kisi = KisiClient::new(kc)
            .unwrap()
            .with_budget(Arc::new(Unlimited));
        let settings = Settings {
            function: "on_event".into(),
            lock_for: Duration::seconds(60),
            mapping_ttl: Duration::days(3650),
            brake,
        };
        let engine = Engine::new(ws(store), wk(KisiAccess::new(kisi)), we(edges), settings);
        Stack {
            engine,
            sim,
            scheduler,
            group,
            table,
            mappings,
            retry: Vec::new(),
            retry_at_once: false,
            failures: Vec::new(),
        }
    }

    fn clock(&self, t: Instant) {
        self.sim.set_now(Some(t));
    }

    /// Converges, keeping a retryable failure for later (as SQS would redeliver it).
    pub async fn converge(
        &mut self,
        email: &Email,
        groups: &BTreeSet<GroupId>,
        now: Instant,
        trigger: Trigger,
    ) {
        self.clock(now);
        match self.engine.converge(email, groups, now, trigger).await {
            Ok(_) => {}
            Err(e) if e.is_retryable() => {
                self.failures.push(format!("{now} {email}: {e}"));
                if self.retry_at_once {
                    if let Err(e) = self.engine.converge(email, groups, now, trigger).await {
                        panic!("converge {email} failed again on retry: {e}");
                    }
                } else {
                    self.retry.push((email.clone(), groups.clone(), trigger));
                }
            }
            Err(e) => panic!("converge {email} failed for good: {e}"),
        }
    }

    /// Delivers one event at `now` and converges what it changed.
    pub async fn deliver(&mut self, ev: &Event, now: Instant) -> Result<(), EngineError> {
        self.clock(now);
        let handled = match self.engine.handle_event(ev, now).await {
            Err(e) if self.retry_at_once && e.is_retryable() => {
                self.failures.push(format!("{now} event {}: {e}", ev.id));
                self.engine.handle_event(ev, now).await?
            }
            r => r?,
        };
        for (email, groups) in handled.by_email() {
            self.converge(&email, &groups, now, Trigger::Event).await;
        }
        Ok(())
    }

    /// One reconcile run, with its converge requests carried out as the converge worker would.
    pub async fn reconcile(&self, now: Instant, cfg: &ReconcileConfig) -> ReconcileReport {
        let report = self.engine.reconcile(now, cfg).await.unwrap();
        for (email, groups) in &report.to_converge {
            self.engine
                .converge(email, groups, now, Trigger::Reconcile)
                .await
                .unwrap();
        }
        report
    }

    /// Runs the converges that failed earlier.
    pub async fn retry_failed(&mut self, now: Instant) {
        let todo = std::mem::take(&mut self.retry);
        for (email, groups, trigger) in todo {
            self.converge(&email, &groups, now, trigger).await;
        }
    }

    /// Every stored schedule's edge, by schedule name.
    pub async fn schedules(&self) -> BTreeMap<String, Edge> {
        access_sync_aws::testing::stored_edges(&self.scheduler, &self.group)
            .await
            .unwrap()
            .into_iter()
            .collect()
    }

    /// Fires every schedule due at or before `t`, in time order, as EventBridge Scheduler
    /// would (and deletes it after, as `ActionAfterCompletion = DELETE` does).
    pub async fn fire_due(&mut self, t: Instant) {
        loop {
            let due: Vec<(String, Edge)> = self
                .schedules()
                .await
                .into_iter()
                .filter(|(_, e)| e.edge <= t)
                .collect();
            let Some(first) = due.iter().map(|(_, e)| e.edge).min() else {
                break;
            };
            for (name, e) in due.into_iter().filter(|(_, e)| e.edge == first) {
                self.scheduler
                    .delete_schedule()
                    .group_name(&self.group)
                    .name(&name)
                    .send()
                    .await
                    .unwrap();
                let email = Email::parse(&e.email).unwrap();
                let group = GroupId::new(e.group as i64).unwrap();
                self.converge(&email, &BTreeSet::from([group]), e.edge, Trigger::Edge)
                    .await;
            }
        }
    }

    /// Plays events in `at` order on the test clock (edges firing in between), then runs the
    /// clock to `horizon`.
    pub async fn play(&mut self, events: &[Event], horizon: Instant) {
        let mut evs: Vec<&Event> = events.iter().collect();
        evs.sort_by_key(|e| e.at);
        for ev in evs {
            if ev.at > horizon {
                break;
            }
            self.fire_due(ev.at).await;
            self.deliver(ev, ev.at).await.unwrap();
        }
        self.fire_due(horizon).await;
    }

    /// The access timeline Kisi saw: intervals per (email, group) built from the simulator's
    /// assignment history, touching ones merged, cut at `horizon` like `preview`.
    pub fn kisi_timeline(&self, horizon: Instant) -> Vec<(String, u64, String, Option<String>)> {
        kisi_sim::access_intervals(&self.sim.snapshot().timeline, horizon)
            .into_iter()
            .map(|(e, g, f, u)| (e, g, format_instant(f), u.map(format_instant)))
            .collect()
    }

    /// What Kisi grants right now: (email, group, valid_until) of every assignment.
    pub fn kisi_state(&self) -> BTreeSet<(String, u64, Option<String>)> {
        let snap = self.sim.snapshot();
        let emails: BTreeMap<u64, String> = snap
            .users
            .iter()
            .map(|u| (u.id, u.email.to_lowercase()))
            .collect();
        snap.role_assignments
            .iter()
            .map(|a| {
                (
                    emails.get(&a.user_id).cloned().unwrap_or_default(),
                    a.group_id,
                    a.valid_until.map(format_instant),
                )
            })
            .collect()
    }
}

/// The preview's timeline in the same shape.
pub fn preview_timeline(
    mappings: &Mappings,
    events: &[Event],
    horizon: Instant,
) -> Vec<(String, u64, String, Option<String>)> {
    access_sync_rules::preview::preview(mappings, events.to_vec(), Some(horizon))
        .intervals
        .iter()
        .map(|i| {
            (
                i.email.as_str().to_string(),
                i.group.get(),
                format_instant(i.from),
                i.until.map(format_instant),
            )
        })
        .collect()
}

/// A scenario from `../shared/scenarios`: mapping text, events, horizon.
pub struct Scenario {
    pub name: String,
    pub mapping: String,
    pub events: Vec<Event>,
    pub horizon: Instant,
}

/// Every scenario beside the repository (the shared folder must be there).
pub fn scenarios() -> Vec<Scenario> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} not found beside the repository: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| p.join("events.jsonl").is_file() && !p.join("expect-exit").exists())
        .collect();
    dirs.sort();
    for d in dirs {
        let mapping = std::fs::read_to_string(d.join("mappings.toml")).unwrap();
        let events: Vec<Event> = access_sync_rules::event::parse_jsonl(
            &std::fs::read_to_string(d.join("events.jsonl")).unwrap(),
        )
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
        let args = std::fs::read_to_string(d.join("args")).unwrap_or_default();
        let words: Vec<&str> = args.split_whitespace().collect();
        let horizon = words
            .iter()
            .position(|w| *w == "--until")
            .and_then(|i| words.get(i + 1))
            .map(|s| at(s))
            .unwrap_or_else(|| events.iter().map(|e| e.at).max().unwrap() + Duration::days(30));
        out.push(Scenario {
            name: d.file_name().unwrap().to_string_lossy().into_owned(),
            mapping,
            events,
            horizon,
        });
    }
    out
}
