//! TeamUp's REST API (`/api/v2`) as a [`PlatformSource`]: the records that decide access, read
//! with the business's M2M token, page by page, within TeamUp's 250 requests a minute.
//!
//! Facts are from `../shared/reference/platform-apis/teamup.md` (§n below); every parameter
//! this client sends and every field it reads or adds is listed with its section and mark in
//! `events/teamup/README.md` ("API client").
//!
//! - **Credentials** (§1 [C]): the platform secret holds the M2M token, as JSON
//!   `{"token": "…", "api_url": "https://goteamup.com/api/v2", "provider_id": "…"}` (only
//!   `token` required) or as the bare token text. An empty or missing secret is
//!   [`SourceError::NotConfigured`]. `provider_id` is sent as `TeamUp-Provider-ID` (needed when
//!   the token reaches several providers, §1).
//! - **Auth** (§1): `Authorization: Bearer <token>`. The per-endpoint reference says `Token
//!   <token>` instead (§1 "Header", both readings [C]): after a 401 the client resends once with
//!   the other scheme and keeps whichever TeamUp accepted; a 401 to both is
//!   [`SourceError::Unauthorized`] (an expired or revoked M2M token: the business must create
//!   a new one, §1 — M2M tokens have no refresh).
//! - **Budget** (§4 [C]): every attempt first takes a slot of a sliding window of
//!   [`TeamupConfig::requests_per_minute`] (250, TeamUp's limit per caller). A 429 pauses the
//!   whole budget and is retried: after `Retry-After` if TeamUp sends one (not documented,
//!   §4/§6: accepted if present), else with exponential backoff from
//!   [`RetryPolicy::rate_limit_floor`] (§4 "retry with exponential backoff"). 5xx and broken
//!   connections are retried with backoff; past [`RetryPolicy`]'s bound, `Unavailable`.
//! - **Listing** (§3 [C]): `page` (1-based) and `page_size` (100; `/events` 250), envelope
//!   `{count, next, previous, results}`. The cursor is the next page number; a listing ends
//!   only when `next` is null. Offset paging over a changing list can skip a record (§3
//!   "Stability" [I]), so a page whose `count` differs from the first page's, or that is short
//!   while `next` is set, is retried like a 5xx and, if it persists, fails the listing
//!   (`Unavailable`): a skipped record must never look deleted.
//! - **Incremental** (§3 "Incremental via reports" [C]): `customer_memberships` and
//!   `attendances` only, through `GET /reports/<name>/data?format=json&updated_at_gte=…`
//!   (paged with `page`/`page_size` ≤ 100, `{total, rows}`), sent one minute early for clock
//!   skew. A customer-membership report page gives ids, which are then read in full with one
//!   `GET /customer_memberships?ids=…` (so a record has the same shape whichever way it was
//!   read); attendance report rows are used as they are (they carry `customer{id}`,
//!   `event{id, starts_at, ends_at}`, `offering_type`, `status`: what the mapping reads).
//!   Every other collection has no change filter (customers: `created_at_gte` only) and is
//!   listed in full on every full sync.
//! - **Windows**: `events` by `starts_at_gte/lte`, `attendances` by `event_starts_at_gte/lte`,
//!   `course_sessions` by `starts_at_gte/lte`, `course_session_attendances` by
//!   `course_session_starts_at_gte/lte` (§2.5–2.7 [C]); without [`ListRequest::window`]: from
//!   yesterday 00:00 UTC to 31 days ahead.
//! - **Joined for the mapping** (so each record maps on its own, in a full listing, an
//!   incremental one and a re-read alike): customer memberships are read with
//!   `expand=membership` (the catalogue record: `type`, `shareable`, §2.2/§2.4), attendances
//!   with `expand=event`, course-session attendances with `expand=course_session`. Then, per
//!   page of customer memberships, the client adds (keys starting `_`, never TeamUp's):
//!   `_share_status` (`GET /customer_memberships/{id}/share_status`, §2.2, for an active or
//!   held membership whose catalogue record is `shareable`, or not expanded), `_shared_with`
//!   (the ids of `GET /customers?family=<family>` when it is shared with a family), and
//!   `_blocked_customers` (which of the owner and the sharers have an active registration
//!   block: one `GET /customer_registration_blocks?customer=<ids>&is_active=true` per page).
//! - **By id** ([`PlatformSource::read`], for webhook re-reads): `GET /<collection>/{id}`
//!   (joined as above); 404 is `Ok(None)`. Reading `customers/{id}` also embeds what decides
//!   that customer's access (§5 "Re-fetch" [I]): `_memberships` (owned or shared with them,
//!   `owned_or_shared_with_customer`), `_attendances` (events of the listing window at the
//!   caller's `now`: from the day before to 31 days ahead) and `_registration_blocks` (active
//!   ones).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use access_sync_kisi::{RequestBudget, SlidingWindow};
use access_sync_platforms::Platform;
use access_sync_ports::{
    ListRequest, Page, PlatformSource, SecretError, SecretSource, SecretValue, SourceError,
    SourceRecord,
};
use access_sync_rules::Instant as At;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::RetryPolicy;
use crate::retry::{Counters, Retrier, Retryable, Trouble};

/// TeamUp's API base (§1 "Base URL" [C]).
pub const DEFAULT_API_URL: &str = "https://goteamup.com/api/v2";

/// Requests per minute per caller (§4 [C]).
pub const REQUESTS_PER_MINUTE: usize = 250;

/// `page_size` of lists (§3 [C]: default and maximum 100).
pub const PAGE_SIZE: u32 = 100;

/// `page_size` of `/events` (§2.5 [C]: up to 250).
pub const EVENTS_PAGE_SIZE: u32 = 250;

/// The most ids in one `ids=` / `customer=` filter (one page's worth).
const MAX_IDS: usize = 100;

/// How a collection is windowed by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Not windowed.
    None,
    /// By the parameter prefix (`starts_at` → `starts_at_gte` / `starts_at_lte`).
    By(&'static str),
}

/// A collection this client reads.
#[derive(Debug)]
pub struct Spec {
    /// Its name (what [`SourceRecord::collection`] says) and API path.
    pub name: &'static str,
    /// Its time window, if any.
    pub window: Window,
    /// `expand=` sent with it.
    pub expand: Option<&'static str>,
    /// The report that lists it by change time (`updated_at_gte`), if any.
    pub report: Option<&'static str>,
    /// `page_size`.
    pub page_size: u32,
}

const fn spec(name: &'static str) -> Spec {
    Spec {
        name,
        window: Window::None,
        expand: None,
        report: None,
        page_size: PAGE_SIZE,
    }
}

/// In the order a full sync reads them (people before what refers to them).
pub const SPECS: [Spec; 11] = [
    spec("venues"),
    spec("memberships"),
    spec("customers"),
    Spec {
        expand: Some("membership"),
        report: Some("customer_memberships"),
        ..spec("customer_memberships")
    },
    spec("customer_membership_holds"),
    spec("customer_registration_blocks"),
    Spec {
        window: Window::By("starts_at"),
        page_size: EVENTS_PAGE_SIZE,
        ..spec("events")
    },
    Spec {
        window: Window::By("event_starts_at"),
        expand: Some("event"),
        report: Some("attendances"),
        ..spec("attendances")
    },
    spec("courses"),
    Spec {
        window: Window::By("starts_at"),
        ..spec("course_sessions")
    },
    Spec {
        window: Window::By("course_session_starts_at"),
        expand: Some("course_session"),
        ..spec("course_session_attendances")
    },
];

/// The collection names, in [`SPECS`] order.
pub const NAMES: [&str; 11] = [
    "venues",
    "memberships",
    "customers",
    "customer_memberships",
    "customer_membership_holds",
    "customer_registration_blocks",
    "events",
    "attendances",
    "courses",
    "course_sessions",
    "course_session_attendances",
];

fn find(collection: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == collection)
}

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct TeamupConfig {
    /// The name (or ARN) of the secret holding the token.
    pub secret_name: String,
    /// Requests per minute this client allows itself.
    pub requests_per_minute: usize,
    /// Retries of one request.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
}

impl TeamupConfig {
    /// Production defaults for the token in `secret_name`.
    pub fn new(secret_name: impl Into<String>) -> Self {
        Self {
            secret_name: secret_name.into(),
            requests_per_minute: REQUESTS_PER_MINUTE,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Counts of what the client sent, for benchmarks and operator logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// API requests sent (first attempts, retries, resends after a 401).
    pub requests: u64,
    /// List and report pages read.
    pub pages: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 5xx answers, and pages retried because the listing moved.
    pub server_errors: u64,
    /// Timeouts and broken connections.
    pub transport_errors: u64,
    /// 401 answers.
    pub unauthorized: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretJson {
    #[serde(default)]
    token: String,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    provider_id: Option<Value>,
}

/// The parsed secret. `Debug` never prints the token.
struct Credentials {
    token: SecretValue,
    api_base: String,
    provider: Option<String>,
}

impl Credentials {
    /// `Ok(None)`: not filled in.
    fn parse(text: &str) -> Result<Option<Credentials>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if !text.starts_with('{') {
            if text.chars().any(char::is_whitespace) {
                return Err("the secret is neither JSON nor a bare token".into());
            }
            return Ok(Some(Credentials {
                token: SecretValue::new(text.to_owned()),
                api_base: DEFAULT_API_URL.into(),
                provider: None,
            }));
        }
        let j: SecretJson = serde_json::from_str(text).map_err(|e| {
            format!(
                "not the documented JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if j.token.trim().is_empty() {
            return Ok(None);
        }
        let api_base = j
            .api_url
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        match reqwest::Url::parse(&api_base) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => return Err("api_url must be an https:// URL (http:// for the simulator)".into()),
        }
        let provider = match j.provider_id {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => return Err("provider_id must be a number or a string".into()),
        };
        Ok(Some(Credentials {
            token: SecretValue::new(j.token.trim().to_owned()),
            api_base,
            provider,
        }))
    }
}

/// Why an attempt failed in a way worth retrying.
#[derive(Debug)]
enum Failure {
    Throttled(Option<Duration>),
    Server(StatusCode, Option<Duration>),
    Transport(String),
    /// The listing moved under us.
    Moved(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Throttled(_) => write!(f, "throttled (429)"),
            Failure::Server(s, _) => write!(f, "{s}"),
            Failure::Transport(e) => write!(f, "transport: {e}"),
            Failure::Moved(why) => write!(f, "the listing moved: {why}"),
        }
    }
}

impl Retryable for Failure {
    fn classify(&self) -> (Trouble, Option<Duration>) {
        match self {
            Failure::Throttled(h) => (Trouble::Throttled, *h),
            Failure::Server(_, h) => (Trouble::Server, *h),
            Failure::Moved(_) => (Trouble::Server, None),
            Failure::Transport(_) => (Trouble::Transport, None),
        }
    }
}

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// TeamUp's error body `{code, message, …}` (§4 [C]), shortened; never a record.
fn message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let m = v
        .as_ref()
        .map(|v| {
            let code = v.get("code").and_then(Value::as_str).unwrap_or("");
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("");
            format!("{code} {msg}").trim().to_owned()
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(120).collect());
    m.chars().take(200).collect()
}

/// Instants as TeamUp's filters take them (ISO 8601, UTC).
fn iso(t: At) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn midnight(t: At, days: i64) -> At {
    let d = t.date_naive() + chrono::Duration::days(days);
    d.and_hms_opt(0, 0, 0).map_or(t, |n| n.and_utc())
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Object(o) => o.get("id").and_then(id_text),
        _ => None,
    }
}

/// The window a listing of a dated collection made at `now` covers: yesterday 00:00 UTC to
/// 31 days ahead (as OfficeRnD's and Optix's).
fn window_at(now: At) -> (At, At) {
    (midnight(now, -1), midnight(now, 31))
}

/// The default window, for a request without one: [`window_at`] the machine's clock.
fn default_window() -> (At, At) {
    window_at(Utc::now())
}

/// A TeamUp API client.
pub struct TeamupSource<S> {
    secrets: S,
    config: TeamupConfig,
    http: reqwest::Client,
    credentials: tokio::sync::Mutex<Option<Arc<Credentials>>>,
    /// The `Token` scheme worked where `Bearer` did not (§1 "Header").
    token_scheme: AtomicBool,
    budget: Arc<dyn RequestBudget>,
    counters: Counters,
}

impl<S: SecretSource> TeamupSource<S> {
    /// A client reading its token from `secrets`.
    ///
    /// # Errors
    /// `Unavailable` if the HTTP client cannot be built or the budget is zero.
    pub fn new(secrets: S, config: TeamupConfig) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("access-sync/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| unavailable(format!("cannot build the HTTP client: {e}")))?;
        let budget: Arc<dyn RequestBudget> = Arc::new(
            SlidingWindow::new(config.requests_per_minute, Duration::from_secs(60))
                .map_err(|e| unavailable(e.to_string()))?,
        );
        Ok(Self {
            secrets,
            config,
            http,
            credentials: tokio::sync::Mutex::new(None),
            token_scheme: AtomicBool::new(false),
            budget,
            counters: Counters::default(),
        })
    }

    /// Replaces the request budget (a shared one, or `Unlimited` for benches).
    pub fn with_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// What was sent so far.
    pub fn stats(&self) -> SourceStats {
        let c = &self.counters;
        SourceStats {
            requests: c.requests.get(),
            pages: c.pages.get(),
            throttled: c.throttled.get(),
            server_errors: c.server_errors.get(),
            transport_errors: c.transport_errors.get(),
            unauthorized: c.unauthorized.get(),
        }
    }

    async fn credentials(&self) -> Result<Arc<Credentials>, SourceError> {
        let mut slot = self.credentials.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let name = &self.config.secret_name;
        let text = match self.secrets.secret(name).await {
            Ok(v) => v,
            Err(SecretError::Unavailable(e)) => {
                return Err(unavailable(format!("secret store: {e}")));
            }
            Err(SecretError::NotFound(_) | SecretError::Empty(_)) => {
                return Err(SourceError::NotConfigured {
                    platform: Platform::Teamup,
                });
            }
        };
        let creds = match Credentials::parse(text.expose()) {
            Ok(Some(c)) => Arc::new(c),
            Ok(None) => {
                return Err(SourceError::NotConfigured {
                    platform: Platform::Teamup,
                });
            }
            Err(why) => return Err(unauthorized(format!("secret {name}: {why}"))),
        };
        *slot = Some(creds.clone());
        Ok(creds)
    }

    fn authorization(creds: &Credentials, token_scheme: bool) -> Result<HeaderValue, SourceError> {
        let scheme = if token_scheme { "Token" } else { "Bearer" };
        let mut h = HeaderValue::from_str(&format!("{scheme} {}", creds.token.expose()))
            .map_err(|_| unauthorized("the token is not a header value"))?;
        h.set_sensitive(true);
        Ok(h)
    }

    async fn back_off(
        &self,
        failure: &Failure,
        attempt: u32,
        started: Instant,
        what: &str,
    ) -> Result<(), SourceError> {
        Retrier {
            policy: &self.config.retry,
            counters: &self.counters,
            budgets: std::slice::from_ref(&self.budget),
            client: "TeamUp",
        }
        .back_off(failure, attempt, started, what)
        .await
        .map_err(unavailable)
    }

    async fn attempt(
        &self,
        creds: &Credentials,
        url: &str,
        query: &[(&str, String)],
        auth: &HeaderValue,
    ) -> Result<Reply, Failure> {
        let classify = |e: reqwest::Error| Failure::Transport(e.without_url().to_string());
        let mut req = self
            .http
            .get(url)
            .header(header::AUTHORIZATION, auth.clone())
            .header(header::ACCEPT, "application/json")
            .query(query);
        if let Some(p) = &creds.provider {
            req = req.header("TeamUp-Provider-ID", p.as_str());
        }
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(classify)?.to_vec();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Throttled(retry_after(&headers)));
        }
        if status.is_server_error() {
            return Err(Failure::Server(status, retry_after(&headers)));
        }
        Ok(Reply { status, body })
    }

    /// `GET <api>/<path>?<query>`: budget, retries, the other auth scheme once after a 401;
    /// `check` turns a 200 it cannot accept (a page that does not continue) into a retry.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        check: &(dyn Fn(&Reply) -> Result<(), String> + Sync),
    ) -> Result<Reply, SourceError> {
        let started = Instant::now();
        let creds = self.credentials().await?;
        let url = format!("{}/{path}", creds.api_base);
        let mut scheme = self.token_scheme.load(Ordering::Relaxed);
        let mut switched = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.budget
                .acquire()
                .await
                .map_err(|e| unavailable(format!("request budget: {e}")))?;
            self.counters.requests.bump();
            let auth = Self::authorization(&creds, scheme)?;
            let failure = match self.attempt(&creds, &url, query, &auth).await {
                Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => {
                    self.counters.unauthorized.bump();
                    if switched {
                        return Err(unauthorized(format!(
                            "{what}: 401 ({}); the M2M token is expired, revoked or wrong: create a new one in TeamUp",
                            message(&reply.body)
                        )));
                    }
                    switched = true;
                    scheme = !scheme;
                    attempt -= 1;
                    continue;
                }
                Ok(reply) if reply.status == StatusCode::OK => {
                    if switched {
                        self.token_scheme.store(scheme, Ordering::Relaxed);
                    }
                    match check(&reply) {
                        Ok(()) => return Ok(reply),
                        Err(why) => Failure::Moved(why),
                    }
                }
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            self.back_off(&failure, attempt, started, what).await?;
        }
    }

    /// A 200's JSON, or the typed error of any other answer.
    fn json(what: &str, reply: &Reply) -> Result<Value, SourceError> {
        match reply.status {
            StatusCode::OK => serde_json::from_slice(&reply.body)
                .map_err(|_| unreadable(what, "the answer is not JSON")),
            StatusCode::FORBIDDEN => Err(unauthorized(format!(
                "{what}: 403 {}",
                message(&reply.body)
            ))),
            s => Err(unreadable(
                what,
                format!("{} {}", s.as_u16(), message(&reply.body)),
            )),
        }
    }

    fn record(name: &str, v: &Value) -> Result<SourceRecord, SourceError> {
        let id = v
            .get("id")
            .and_then(id_text)
            .ok_or_else(|| unreadable(name, "a record has no id"))?;
        let modified_at = v
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(SourceRecord {
            collection: name.to_owned(),
            id,
            modified_at,
            body: v.clone(),
        })
    }

    /// One page of a resource list (§3): `query` without paging; `page` 1-based;
    /// `count` the first page's count, to check the listing did not move.
    async fn list_page(
        &self,
        spec: &Spec,
        query: &[(&str, String)],
        page: u64,
        count: Option<u64>,
    ) -> Result<(Vec<Value>, Option<u64>, u64), SourceError> {
        let size = spec.page_size as usize;
        let mut q: Vec<(&str, String)> = vec![
            ("format", "json".into()),
            ("page", page.to_string()),
            ("page_size", size.to_string()),
        ];
        q.extend(query.iter().cloned());
        let check = |reply: &Reply| -> Result<(), String> {
            let v: Value =
                serde_json::from_slice(&reply.body).map_err(|_| "not JSON".to_owned())?;
            let n = v
                .get("results")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let got = v.get("count").and_then(Value::as_u64);
            if let (Some(c), Some(g)) = (count, got)
                && c != g
            {
                return Err(format!("count went from {c} to {g}"));
            }
            let more = v.get("next").is_some_and(|n| !n.is_null());
            if more && n < size {
                return Err(format!(
                    "page {page} holds {n} of {size} rows and is not the last"
                ));
            }
            Ok(())
        };
        let reply = self.get(spec.name, &q, spec.name, &check).await?;
        let v = Self::json(spec.name, &reply)?;
        let rows = v
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| unreadable(spec.name, "the page has no results array"))?
            .clone();
        let total = v.get("count").and_then(Value::as_u64).unwrap_or(0);
        let next = match v.get("next") {
            None | Some(Value::Null) => None,
            Some(Value::String(url)) => Some(next_page(url).unwrap_or(page + 1)),
            Some(_) => return Err(unreadable(spec.name, "next is not a URL")),
        };
        self.counters.pages.bump();
        Ok((rows, next, total))
    }

    /// Every row of a resource list with `query` (for joins: bounded by `max_pages`).
    async fn list_every(
        &self,
        spec: &Spec,
        query: &[(&str, String)],
        max_pages: u64,
    ) -> Result<Vec<Value>, SourceError> {
        let mut out = Vec::new();
        let mut page = 1;
        let mut count = None;
        loop {
            let (rows, next, total) = self.list_page(spec, query, page, count).await?;
            count = Some(total);
            out.extend(rows);
            match next {
                Some(n) if n <= max_pages => page = n,
                Some(_) => {
                    return Err(unreadable(
                        spec.name,
                        format!("more than {max_pages} pages for one join"),
                    ));
                }
                None => return Ok(out),
            }
        }
    }

    fn filters(spec: &Spec, req: &ListRequest) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(e) = spec.expand {
            q.push(("expand", e.to_owned()));
        }
        if let Window::By(prefix) = spec.window {
            let (from, to) = req.window.unwrap_or_else(default_window);
            let (gte, lte): (&'static str, &'static str) = match prefix {
                "starts_at" => ("starts_at_gte", "starts_at_lte"),
                "event_starts_at" => ("event_starts_at_gte", "event_starts_at_lte"),
                _ => (
                    "course_session_starts_at_gte",
                    "course_session_starts_at_lte",
                ),
            };
            q.push((gte, iso(from)));
            q.push((lte, iso(to)));
        }
        q
    }

    /// One report page (§3 "Reports"): `{total, rows}`.
    async fn report_page(
        &self,
        report: &str,
        since: At,
        page: u64,
    ) -> Result<(Vec<Value>, Option<u64>), SourceError> {
        let q: Vec<(&str, String)> = vec![
            ("format", "json".into()),
            ("updated_at_gte", iso(since - chrono::Duration::minutes(1))),
            ("sort", "id".into()),
            ("page", page.to_string()),
            ("page_size", PAGE_SIZE.to_string()),
        ];
        let path = format!("reports/{report}/data");
        let reply = self.get(&path, &q, report, &|_| Ok(())).await?;
        let v = Self::json(report, &reply)?;
        let rows = v
            .get("rows")
            .and_then(Value::as_array)
            .ok_or_else(|| unreadable(report, "the report page has no rows array"))?
            .clone();
        let total = v
            .get("total")
            .and_then(Value::as_u64)
            .ok_or_else(|| unreadable(report, "the report page has no total"))?;
        self.counters.pages.bump();
        let next = (page * u64::from(PAGE_SIZE) < total && !rows.is_empty()).then_some(page + 1);
        Ok((rows, next))
    }

    /// Adds `_share_status`, `_shared_with` and `_blocked_customers` to customer memberships
    /// (see the module docs).
    async fn join_memberships(&self, rows: &mut [Value]) -> Result<(), SourceError> {
        let mut family_members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows.iter_mut() {
            let status = row.get("status").and_then(Value::as_str).unwrap_or("");
            let shareable = match row.get("membership") {
                Some(Value::Object(m)) => m.get("shareable").and_then(Value::as_bool),
                _ => None,
            };
            if !matches!(status, "active" | "hold") || shareable == Some(false) {
                continue;
            }
            let Some(id) = row.get("id").and_then(id_text) else {
                continue;
            };
            let what = "customer_memberships share_status";
            let reply = self
                .get(
                    &format!("customer_memberships/{id}/share_status"),
                    &[("format", "json".into())],
                    what,
                    &|_| Ok(()),
                )
                .await?;
            if reply.status == StatusCode::NOT_FOUND {
                continue;
            }
            let share = Self::json(what, &reply)?;
            let shared = share.get("shared").and_then(Value::as_bool) == Some(true);
            let family = share.get("family").and_then(id_text);
            if let (true, Some(f)) = (shared, family) {
                if !family_members.contains_key(&f) {
                    let spec = find("customers").expect("customers is a collection");
                    let members = self
                        .list_every(spec, &[("family", f.clone())], 5)
                        .await?
                        .iter()
                        .filter_map(|c| c.get("id").and_then(id_text))
                        .collect();
                    family_members.insert(f.clone(), members);
                }
                let ids = family_members.get(&f).cloned().unwrap_or_default();
                row["_shared_with"] = Value::from(ids);
            }
            row["_share_status"] = share;
        }
        // Registration blocks of every customer these memberships reach, one request per
        // hundred customers.
        let mut customers: BTreeSet<String> = BTreeSet::new();
        for row in rows.iter() {
            customers.extend(row.get("customer").and_then(id_text));
            for c in row
                .get("_shared_with")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                customers.extend(id_text(c));
            }
        }
        let customers: Vec<String> = customers.into_iter().collect();
        let mut blocked: BTreeSet<String> = BTreeSet::new();
        let spec = find("customer_registration_blocks").expect("a collection");
        for chunk in customers.chunks(MAX_IDS) {
            let q = [("customer", chunk.join(",")), ("is_active", "true".into())];
            for b in self.list_every(spec, &q, 10).await? {
                let active = b.get("is_active").and_then(Value::as_bool) != Some(false)
                    && b.get("deactivated_at").is_none_or(Value::is_null);
                if active && let Some(c) = b.get("customer").and_then(id_text) {
                    blocked.insert(c);
                }
            }
        }
        for row in rows.iter_mut() {
            let mut mine: Vec<String> = Vec::new();
            let reach = row.get("customer").and_then(id_text).into_iter().chain(
                row.get("_shared_with")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(id_text),
            );
            for c in reach {
                if blocked.contains(&c) && !mine.contains(&c) {
                    mine.push(c);
                }
            }
            row["_blocked_customers"] = Value::from(mine);
        }
        Ok(())
    }

    /// A page of records of `spec`, joined.
    async fn finish(
        &self,
        spec: &Spec,
        mut rows: Vec<Value>,
    ) -> Result<Vec<SourceRecord>, SourceError> {
        if spec.name == "customer_memberships" {
            self.join_memberships(&mut rows).await?;
        }
        rows.iter().map(|r| Self::record(spec.name, r)).collect()
    }

    async fn list_incremental(
        &self,
        spec: &Spec,
        report: &str,
        since: At,
        cursor: Option<&str>,
    ) -> Result<Page, SourceError> {
        let page = match cursor {
            None => 1,
            Some(c) => c
                .strip_prefix('r')
                .and_then(|p| p.parse::<u64>().ok())
                .filter(|p| *p >= 2)
                .ok_or_else(|| unreadable(spec.name, "not a cursor of this client"))?,
        };
        let (rows, next) = self.report_page(report, since, page).await?;
        let records = if spec.name == "customer_memberships" {
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get("id").and_then(id_text))
                .collect();
            if ids.is_empty() {
                Vec::new()
            } else {
                let mut q = Self::filters(
                    spec,
                    &ListRequest {
                        collection: spec.name.into(),
                        changed_since: None,
                        window: None,
                        cursor: None,
                    },
                );
                q.push(("ids", ids.join(",")));
                let full = self.list_every(spec, &q, 2).await?;
                self.finish(spec, full).await?
            }
        } else {
            rows.iter()
                .map(|r| Self::record(spec.name, r))
                .collect::<Result<_, _>>()?
        };
        Ok(Page {
            records,
            next: next.map(|n| format!("r{n}")),
        })
    }

    /// One record by id, joined; `None` on 404.
    async fn read_one(&self, spec: &Spec, id: &str) -> Result<Option<Value>, SourceError> {
        let mut q: Vec<(&str, String)> = vec![("format", "json".into())];
        if let Some(e) = spec.expand {
            q.push(("expand", e.to_owned()));
        }
        let reply = self
            .get(&format!("{}/{id}", spec.name), &q, spec.name, &|_| Ok(()))
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::json(spec.name, &reply).map(Some)
    }

    /// What decides one customer's access at `now`, embedded in the customer (see the module
    /// docs).
    async fn customer_view(
        &self,
        id: &str,
        mut body: Value,
        now: At,
    ) -> Result<Value, SourceError> {
        let ms = find("customer_memberships").expect("a collection");
        let mut memberships = self
            .list_every(
                ms,
                &[
                    ("expand", "membership".into()),
                    ("owned_or_shared_with_customer", id.to_owned()),
                ],
                10,
            )
            .await?;
        self.join_memberships(&mut memberships).await?;
        let at = find("attendances").expect("a collection");
        // The window a listing of attendances at `now` covers, so a re-read and the scheduled
        // sync see the same registrations on the same clock.
        let (from, to) = window_at(now);
        let attendances = self
            .list_every(
                at,
                &[
                    ("expand", "event".into()),
                    ("customer", id.to_owned()),
                    ("event_starts_at_gte", iso(from)),
                    ("event_starts_at_lte", iso(to)),
                ],
                10,
            )
            .await?;
        let bl = find("customer_registration_blocks").expect("a collection");
        let blocks = self
            .list_every(
                bl,
                &[("customer", id.to_owned()), ("is_active", "true".into())],
                2,
            )
            .await?;
        body["_memberships"] = Value::from(memberships);
        body["_attendances"] = Value::from(attendances);
        body["_registration_blocks"] = Value::from(blocks);
        Ok(body)
    }
}

/// The `page` of a `next` URL.
fn next_page(url: &str) -> Option<u64> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
}

fn unavailable(reason: impl Into<String>) -> SourceError {
    SourceError::Unavailable {
        platform: Platform::Teamup,
        reason: reason.into(),
    }
}

fn unreadable(collection: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Unreadable {
        platform: Platform::Teamup,
        collection: collection.to_owned(),
        reason: reason.into(),
    }
}

fn unauthorized(reason: impl Into<String>) -> SourceError {
    SourceError::Unauthorized {
        platform: Platform::Teamup,
        reason: reason.into(),
    }
}

fn spec_of(collection: &str) -> Result<&'static Spec, SourceError> {
    find(collection).ok_or_else(|| {
        unreadable(
            collection,
            format!("not a TeamUp collection this client reads (one of {NAMES:?})"),
        )
    })
}

impl<S: SecretSource> PlatformSource for TeamupSource<S> {
    fn platform(&self) -> Platform {
        Platform::Teamup
    }

    fn collections(&self) -> &'static [&'static str] {
        &NAMES
    }

    /// Customer memberships and attendances, through their reports (§3).
    fn incremental(&self, collection: &str) -> bool {
        find(collection).is_some_and(|s| s.report.is_some())
    }

    /// Events, attendances and course sessions are listed by their start (§2.5–2.7): from
    /// yesterday 00:00 UTC to 31 days after `now` (the caller's clock).
    fn window(&self, collection: &str, now: At) -> Option<(At, At)> {
        match find(collection)?.window {
            Window::By(_) => Some(window_at(now)),
            Window::None => None,
        }
    }

    async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
        let spec = spec_of(&request.collection)?;
        if let (Some(since), Some(report)) = (request.changed_since, spec.report) {
            return self
                .list_incremental(spec, report, since, request.cursor.as_deref())
                .await;
        }
        let page = match request.cursor.as_deref() {
            None => 1,
            Some(c) => c
                .parse::<u64>()
                .ok()
                .filter(|p| *p >= 2)
                .ok_or_else(|| unreadable(spec.name, "not a cursor of this client"))?,
        };
        let q = Self::filters(spec, request);
        let (rows, next, _) = self.list_page(spec, &q, page, None).await?;
        Ok(Page {
            records: self.finish(spec, rows).await?,
            next: next.map(|n| n.to_string()),
        })
    }

    /// A customer embeds their registrations of the window a listing at `now` covers
    /// ([`PlatformSource::window`]), on the caller's clock.
    async fn read(
        &self,
        collection: &str,
        id: &str,
        now: At,
    ) -> Result<Option<SourceRecord>, SourceError> {
        let spec = spec_of(collection)?;
        // TeamUp ids are integers (§2): anything else names nothing.
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let Some(mut body) = self.read_one(spec, id).await? else {
            return Ok(None);
        };
        if spec.name == "customer_memberships" {
            let mut rows = vec![body];
            self.join_memberships(&mut rows).await?;
            body = rows.pop().unwrap_or_default();
        } else if spec.name == "customers" {
            body = self.customer_view(id, body, now).await?;
        }
        Self::record(spec.name, &body).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_both_forms_and_what_is_refused() {
        let c = Credentials::parse("  abc123  ").unwrap().unwrap();
        assert_eq!(
            (c.token.expose(), c.api_base.as_str()),
            ("abc123", DEFAULT_API_URL)
        );
        let c = Credentials::parse(
            r#"{"token":"t","api_url":"http://127.0.0.1:9/api/v2/","provider_id":12}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.api_base, "http://127.0.0.1:9/api/v2");
        assert_eq!(c.provider.as_deref(), Some("12"));
        assert!(Credentials::parse("").unwrap().is_none());
        assert!(Credentials::parse(r#"{"token":""}"#).unwrap().is_none());
        assert!(Credentials::parse(r#"{"token":"t","extra":1}"#).is_err());
        assert!(Credentials::parse(r#"{"token":"t","api_url":"ftp://x"}"#).is_err());
        assert!(Credentials::parse("two words").is_err());
    }

    #[test]
    fn names_follow_the_specs() {
        let specs: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        assert_eq!(specs, NAMES);
    }

    #[test]
    fn dated_collections_are_windowed_on_the_callers_clock() {
        let source = TeamupSource::new(
            access_sync_ports::memory::MemorySecrets::default(),
            TeamupConfig::new("p/platforms/teamup"),
        )
        .unwrap();
        let now: At = "2026-03-29T10:30:00Z".parse().unwrap();
        let day = |s: &str| -> At { s.parse().unwrap() };
        for c in ["events", "attendances", "course_sessions"] {
            if find(c).is_some_and(|s| matches!(s.window, Window::By(_))) {
                assert_eq!(
                    source.window(c, now),
                    Some((day("2026-03-28T00:00:00Z"), day("2026-04-29T00:00:00Z"))),
                    "{c}"
                );
            }
        }
        assert!(source.window("attendances", now).is_some());
        assert_eq!(source.window("customers", now), None);
        assert_eq!(source.window("nothing", now), None);
    }

    #[test]
    fn next_urls_and_windows() {
        assert_eq!(
            next_page("https://goteamup.com/api/v2/events?page=3&page_size=25"),
            Some(3)
        );
        assert_eq!(next_page("https://x/y"), None);
        let t: At = "2026-12-03T12:00:00Z".parse().unwrap();
        let q = TeamupSource::<access_sync_ports::memory::MemorySecrets>::filters(
            find("attendances").unwrap(),
            &ListRequest {
                collection: "attendances".into(),
                changed_since: None,
                window: Some((t, t + chrono::Duration::days(1))),
                cursor: None,
            },
        );
        assert_eq!(
            q,
            vec![
                ("expand", "event".to_owned()),
                ("event_starts_at_gte", "2026-12-03T12:00:00Z".to_owned()),
                ("event_starts_at_lte", "2026-12-04T12:00:00Z".to_owned()),
            ]
        );
    }
}
