//! What AWS does between the functions and moto does not: deliver each queue's messages to
//! its function (an SQS event source mapping with partial batch responses) and fire each edge
//! schedule when its instant comes (EventBridge Scheduler, then `ActionAfterCompletion =
//! DELETE`).
//!
//! Both pumps are explicit steps ([`Pumps::drain`], [`Pumps::fire_due`]) so a driver can play
//! time exactly: set the clock to an edge's instant, fire the edges due then, drain what they
//! caused, and only then move on.
//!
//! They wait for work instead of looking everywhere for it: the harness's moto answers one
//! request, `GET /_local-stack/work` (`shared/aws/src/moto_app.py`), with how many messages
//! each queue holds visible and which edge schedules are due. A drain receives only from
//! queues that hold messages, and a quiet drain costs that one request instead of a receive
//! on every queue; the scheduler pump reads the due schedules (their inputs included) instead
//! of listing every schedule and reading each one. moto's own state is the truth, so this
//! holds whoever wrote it (functions in process or under `cargo lambda watch`, a crash
//! half-way through a call). Against a moto without that route the pumps poll every queue
//! and list the schedules, as before.

use crate::functions::Functions;
use crate::provision::Queues;
use crate::sim::SimAdmin;
use access_sync_ports::Edge;
use access_sync_rules::Instant;
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The pumps of one stack.
pub struct Pumps<F> {
    /// The functions messages and edges are delivered to.
    pub functions: F,
    sqs: aws_sdk_sqs::Client,
    scheduler: aws_sdk_scheduler::Client,
    queues: Queues,
    group: String,
    clock: SimAdmin,
    /// Receipts of messages whose delivery failed: SQS hands them back after the visibility
    /// timeout; [`Pumps::redeliver_failed`] hands them back at once.
    failed: Mutex<Vec<(String, String)>>,
    /// Edges whose invocation failed: Scheduler retries them (its retry policy).
    failed_edges: Mutex<Vec<Value>>,
    /// Counts, for the demo's summary.
    pub stats: Mutex<Stats>,
    /// When set, every canonical event delivered to an event function, dated no earlier than
    /// the clock when it was delivered (what the engine applied, and when): `preview` of these
    /// is what Kisi must show.
    pub received: Option<Mutex<Vec<(Instant, Value)>>>,
    /// Each stored schedule's edge by name. A schedule's name is a hash of its edge
    /// ([`Edge::schedule_name`]), so a name always means the same edge: listing the group needs
    /// one `GetSchedule` per schedule the pump has not seen before, not one per schedule.
    known: Mutex<HashMap<String, Edge>>,
    /// moto's `/_local-stack/work` with this stack's region and schedule group, when moto
    /// has an endpoint.
    work_url: Option<String>,
    http: reqwest::Client,
    /// moto does not serve `work_url` (not the harness's moto): poll and list instead.
    polling: AtomicBool,
    /// Keep a failed message invisible until [`Pumps::redeliver_failed`] (see
    /// [`Pumps::holding_failed`]).
    hold_failed: bool,
}

/// How long a failed message stays invisible when the pumps hold failures for
/// [`Pumps::redeliver_failed`] (which a driver calls a virtual minute later, a few real seconds
/// or minutes): an hour of real time, well inside SQS's 12-hour bound on a message's total
/// visibility timeout.
const HELD_FAILURE_SECS: i32 = 60 * 60;

/// moto's answer to `GET /_local-stack/work`.
#[derive(Debug, Deserialize)]
struct Work {
    /// Visible messages by queue name.
    queues: HashMap<String, u64>,
    /// Due `at()` schedules, earliest first.
    schedules: Vec<DueSchedule>,
}

#[derive(Debug, Deserialize)]
struct DueSchedule {
    name: String,
    input: Option<String>,
}

/// What the pumps did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Messages delivered, by function.
    pub delivered: BTreeMap<String, u64>,
    /// Deliveries that failed (and will come back).
    pub failed: u64,
    /// Edges fired.
    pub edges: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<F: Functions> Pumps<F> {
    /// Pumps over moto's SQS and Scheduler; `clock` is the simulator whose clock the functions
    /// read.
    pub fn new(
        functions: F,
        sdk: &access_sync_aws::SdkConfig,
        queues: Queues,
        schedule_group: String,
        clock: SimAdmin,
    ) -> Pumps<F> {
        let work_url = sdk.endpoint_url().map(|e| {
            let region = sdk.region().map_or("us-east-1", |r| r.as_ref());
            format!(
                "{}/_local-stack/work?region={region}&group={schedule_group}",
                e.trim_end_matches('/')
            )
        });
        Pumps {
            functions,
            work_url,
            http: reqwest::Client::new(),
            polling: AtomicBool::new(false),
            sqs: aws_sdk_sqs::Client::new(sdk),
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            queues,
            group: schedule_group,
            clock,
            failed: Mutex::new(Vec::new()),
            failed_edges: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            received: None,
            known: Mutex::new(HashMap::new()),
            hold_failed: false,
        }
    }

    /// Failed messages come back only when [`Pumps::redeliver_failed`] hands them back, not
    /// after the queues' visibility timeout of 5 real seconds. A driver that plays a virtual
    /// clock needs this: otherwise a failed message comes back within the same virtual instant
    /// (a long drain lasts many real seconds), fails again while the idempotency lock of the
    /// attempt that crashed still holds (60 virtual seconds), and after 5 receives moto moves
    /// it to the dead-letter queue — an event lost for good that AWS, whose visibility timeout
    /// (6 × the function's timeout) outlasts that lock, would have handled on redelivery.
    #[must_use]
    pub fn holding_failed(mut self, hold: bool) -> Self {
        self.hold_failed = hold;
        self
    }

    /// Delivers every visible message, queue by queue in route order, until all queues are
    /// empty (a delivery can cause messages on another queue). Answers how many were delivered.
    ///
    /// # Errors
    /// SQS or the function could not be reached (a function's own failure is not an error:
    /// its items stay on the queue, as in AWS).
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let mut moved = 0;
            let work = self.work(None).await?;
            for (function, url) in &self.queues.routes {
                // Without moto's count: receive until the queue answers empty.
                let mut left = match &work {
                    Some(w) => *w.queues.get(queue_name(url)).unwrap_or(&0),
                    None => u64::MAX,
                };
                while left > 0 {
                    let n = self.deliver_batch(function, url).await?;
                    if n == 0 {
                        break;
                    }
                    moved += n;
                    left = left.saturating_sub(n as u64);
                }
            }
            total += moved;
            if moved == 0 {
                return Ok(total);
            }
        }
    }

    /// What moto holds: visible messages per queue, and the schedules due at or before
    /// `until` (without it: those at the earliest instant). `None` when moto does not serve
    /// the route (the pumps then poll).
    async fn work(&self, until: Option<Instant>) -> Result<Option<Work>> {
        let Some(base) = self.work_url.as_deref() else {
            return Ok(None);
        };
        if self.polling.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let url = match until {
            // The `at()` form the edge adapter writes: UTC, whole seconds rounded up.
            Some(t) => {
                let at = access_sync_aws::scheduler::at_expression(t);
                format!("{base}&until={}", &at[3..at.len() - 1])
            }
            None => base.to_string(),
        };
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .context("asking moto for work")?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            tracing::info!("moto has no /_local-stack/work: the pumps poll every queue");
            self.polling.store(true, Ordering::Relaxed);
            return Ok(None);
        }
        let r = r.error_for_status().context("asking moto for work")?;
        Ok(Some(r.json().await.context("moto's work answer")?))
    }

    /// Receives up to 10 messages from `url` and invokes `function` with them as one SQS
    /// event; deletes the ones it did not report failed.
    async fn deliver_batch(&self, function: &str, url: &str) -> Result<usize> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .with_context(|| format!("receiving from {url}"))?;
        let messages = got.messages();
        if messages.is_empty() {
            return Ok(0);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "md5OfBody": m.md5_of_body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap_or_default()),
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        if let Some(received) = &self.received
            && function != "on_edge"
        {
            let now = self.clock.now().await?;
            let mut r = lock(received);
            for m in messages {
                let detail = m
                    .body()
                    .and_then(|b| serde_json::from_str::<Value>(b).ok())
                    .map(|v| v["detail"].clone());
                if let Some(d) = detail {
                    r.push((now, d));
                }
            }
        }
        let failed_ids: Vec<String> = match self
            .functions
            .invoke(function, json!({ "Records": records }))
            .await
        {
            Ok(r) => r["batchItemFailures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            // The whole invocation failed: every item comes back.
            Err(e) => {
                tracing::warn!(%function, error = %e, "invocation failed");
                messages
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_string))
                    .collect()
            }
        };
        for m in messages {
            let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if failed_ids.iter().any(|f| f == id) {
                if self.hold_failed
                    && let Err(e) = self
                        .sqs
                        .change_message_visibility()
                        .queue_url(url)
                        .receipt_handle(receipt)
                        .visibility_timeout(HELD_FAILURE_SECS)
                        .send()
                        .await
                {
                    // It comes back after the queue's visibility timeout instead.
                    tracing::warn!(error = %e, "a failed message could not be held");
                }
                lock(&self.failed).push((url.to_string(), receipt.to_string()));
                lock(&self.stats).failed += 1;
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .with_context(|| format!("deleting from {url}"))?;
                *lock(&self.stats)
                    .delivered
                    .entry(function.to_string())
                    .or_default() += 1;
            }
        }
        Ok(messages.len())
    }

    /// Makes failed messages visible again now and re-fires failed edges (what SQS and
    /// Scheduler do on their own after a while).
    ///
    /// # Errors
    /// SQS could not be reached.
    pub async fn redeliver_failed(&self) -> Result<()> {
        let failed = std::mem::take(&mut *lock(&self.failed));
        for (url, receipt) in failed {
            // A receipt may have expired already (the message is visible again): fine.
            let _ = self
                .sqs
                .change_message_visibility()
                .queue_url(&url)
                .receipt_handle(&receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
        let edges = std::mem::take(&mut *lock(&self.failed_edges));
        for edge in edges {
            self.fire(edge).await;
        }
        Ok(())
    }

    /// Whether anything failed and waits for redelivery.
    pub fn has_failures(&self) -> bool {
        !lock(&self.failed).is_empty() || !lock(&self.failed_edges).is_empty()
    }

    /// The queue URL of each failed message waiting for redelivery (one entry per message).
    pub fn failed_queues(&self) -> Vec<String> {
        lock(&self.failed).iter().map(|(u, _)| u.clone()).collect()
    }

    /// Whether an edge invocation failed and waits for Scheduler's retry.
    pub fn has_failed_edges(&self) -> bool {
        !lock(&self.failed_edges).is_empty()
    }

    /// Every stored edge schedule: (name, edge).
    ///
    /// # Errors
    /// Scheduler could not be reached.
    pub async fn schedules(&self) -> Result<Vec<(String, Edge)>> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .scheduler
                .list_schedules()
                .group_name(&self.group)
                .set_next_token(token)
                .send()
                .await
                .context("listing schedules")?;
            names.extend(
                page.schedules()
                    .iter()
                    .filter_map(|s| s.name())
                    .map(str::to_string),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let listed: HashSet<&String> = names.iter().collect();
        lock(&self.known).retain(|name, _| listed.contains(name));
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let cached = lock(&self.known).get(&name).cloned();
            let edge = match cached {
                Some(edge) => edge,
                None => {
                    let Ok(got) = self
                        .scheduler
                        .get_schedule()
                        .group_name(&self.group)
                        .name(&name)
                        .send()
                        .await
                    else {
                        continue; // deleted meanwhile
                    };
                    let input = got.target().and_then(|t| t.input()).unwrap_or_default();
                    let Ok(edge) = serde_json::from_str::<Edge>(input) else {
                        continue;
                    };
                    lock(&self.known).insert(name.clone(), edge.clone());
                    edge
                }
            };
            out.push((name, edge));
        }
        Ok(out)
    }

    /// The earliest stored edge, if any.
    ///
    /// # Errors
    /// Scheduler could not be reached.
    pub async fn next_edge(&self) -> Result<Option<Instant>> {
        if let Some(work) = self.work(None).await? {
            return Ok(due_edges(work).iter().map(|(_, e)| e.edge).min());
        }
        Ok(self.schedules().await?.iter().map(|(_, e)| e.edge).min())
    }

    /// Fires every schedule due at or before `t`, earliest instant first: the clock is set to
    /// each instant, its schedules are deleted and `on_edge` invoked with their input, and the
    /// queues are drained before the next instant. Answers how many edges fired.
    ///
    /// # Errors
    /// moto, the simulator's clock or a function could not be reached.
    pub async fn fire_due(&self, t: Instant) -> Result<usize> {
        let mut fired = 0;
        loop {
            let all = match self.work(Some(t)).await? {
                Some(work) => due_edges(work),
                None => self.schedules().await?,
            };
            let Some(first) = all.iter().map(|(_, e)| e.edge).filter(|e| *e <= t).min() else {
                return Ok(fired);
            };
            self.clock.set_clock(first).await?;
            for (name, edge) in all.into_iter().filter(|(_, e)| e.edge == first) {
                let deleted = self
                    .scheduler
                    .delete_schedule()
                    .group_name(&self.group)
                    .name(&name)
                    .send()
                    .await;
                if deleted.is_err() {
                    continue; // replaced or fired meanwhile
                }
                self.fire(serde_json::to_value(&edge)?).await;
                fired += 1;
            }
            self.drain().await?;
        }
    }

    async fn fire(&self, input: Value) {
        lock(&self.stats).edges += 1;
        if let Err(e) = self.functions.invoke("on_edge", input.clone()).await {
            tracing::warn!(error = %e, "edge failed; Scheduler retries it");
            lock(&self.failed_edges).push(input);
        }
    }
}

/// The last segment of a queue URL: its name.
fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// The due schedules moto named, with their edges (an input that is no edge is skipped, as
/// the listing does).
fn due_edges(work: Work) -> Vec<(String, Edge)> {
    work.schedules
        .into_iter()
        .filter_map(|s| {
            let edge = serde_json::from_str::<Edge>(s.input.as_deref()?).ok()?;
            Some((s.name, edge))
        })
        .collect()
}
