//! Optix's GraphQL API as a [`PlatformSource`]: the records that decide access, read with the
//! organization token at one endpoint, page by page, within Optix's 60 requests a minute.
//!
//! Facts are from `../shared/reference/platform-apis/optix.md` (§n below); every argument and
//! field this client sends or reads is listed with its section and mark in
//! `events/optix/README.md` ("API client").
//!
//! - **Endpoint and token** (§1 [C USE]): `POST <endpoint>` (`https://api.optixapp.com/graphql`),
//!   JSON `{"query": …}`, `Authorization: Bearer <organization token>`. The token is read
//!   through [`ApiTokens`]. Tokens "expire from time to time" and are replaced through the
//!   `organization_token_updated` webhook: `ingest` *offers* the token the webhook carries, and
//!   when Optix refuses the token in use (HTTP 401, or an `errors` message about the token,
//!   §4 [O]) this client takes the candidate, checks it with `me { organization {
//!   organization_id } }` against [`OptixConfig::organization_id`] (the webhook body is not
//!   signed, so a planted token of another organization is refused), *promotes* it and resends.
//!   Without a good candidate: [`SourceError::Unauthorized`] (an operator must act).
//! - **Budget** (§4 [C THROTTLE]): every request first takes a slot of a sliding window of
//!   [`OptixConfig::requests_per_minute`] (60) per minute, shared by the sync and the webhook
//!   re-reads of one process. A 429 (or an `errors` message saying so; the real answer is
//!   undocumented) pauses the whole budget and is retried with backoff within [`RetryPolicy`];
//!   5xx and broken connections likewise; past its bound, [`SourceError::Unavailable`].
//! - **Listing** (§3): `limit`/`page` (page size 100, the documented default), result
//!   `{total, data}`; the cursor is the next page number; a listing ends when
//!   `page * limit >= total` or a page is empty. "All" is asked for explicitly (§2): users
//!   `include_*: true` (soft-deleted too), bookings `user_id: -1` and every `include_*`,
//!   check-ins `user_id: []`, plans and assignments every `status`.
//! - **No change-time filter** (§3): nothing is incremental; every sync lists in full, bookings
//!   and check-ins within a window ([`ListRequest::window`], default: whole UTC days, bookings
//!   ending from yesterday to starting within 31 days, check-ins starting from two days back
//!   to tomorrow).
//! - **Batching** (§3 [C GQL], §4 complexity): [`OptixSource::read_all`] packs the next page
//!   of up to [`OptixConfig::max_root_fields`] collections into one request (aliases `c0`, …).
//!   Optix publishes no complexity model; 3 root fields of 100 records each is our choice [I].
//! - **By id** (§2): `user(get_by_user_id:)`, `accountPlan(account_plan_id:)`,
//!   `booking(booking_id:)`, `assignment(assignment_id:)` (argument name [I]),
//!   `checkin(checkin_id:)`; teams, accounts and locations have none, so they are found by
//!   paging their list. `null` is "does not exist".

mod collections;
mod secret;

use std::sync::Arc;
use std::time::Duration;

use access_sync_kisi::{RequestBudget, SlidingWindow};
use access_sync_platforms::Platform;
use access_sync_ports::{
    ApiSettings, ApiTokens, ListRequest, Page, PlatformSource, SecretValue, SourceError,
    SourceRecord,
};
use access_sync_rules::Instant as At;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::RetryPolicy;
use crate::retry::{Counter, Counters, Retrier, Retryable, Trouble};
pub use collections::{NAMES, SPECS, Spec, Window};
pub use secret::SecretTokens;

/// Optix's endpoint (§1).
pub const ENDPOINT: &str = "https://api.optixapp.com/graphql";

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct OptixConfig {
    /// The GraphQL endpoint.
    pub endpoint: String,
    /// The organization the token must belong to (checked before a replacement token is
    /// used); `None` accepts any organization the candidate answers for (not recommended).
    pub organization_id: Option<String>,
    /// Retries of one request.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// `limit` of every listing (§3: default 100; the maximum is undocumented).
    pub page_size: u32,
    /// Requests per minute (§4: 60 per token).
    pub requests_per_minute: usize,
    /// Root fields per request when batching (our choice [I], §4: no published model).
    pub max_root_fields: usize,
}

impl OptixConfig {
    /// Production defaults for the organization `organization_id`.
    pub fn new(organization_id: Option<String>) -> Self {
        Self {
            endpoint: ENDPOINT.into(),
            organization_id,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            page_size: 100,
            requests_per_minute: 60,
            max_root_fields: 3,
        }
    }
}

/// Counts of what the client sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptixStats {
    /// HTTP requests sent (retries and token checks included).
    pub requests: u64,
    /// Root fields answered (list pages and single reads).
    pub root_fields: u64,
    /// Answers that said "too many requests".
    pub rate_limited: u64,
    /// 5xx answers and broken connections.
    pub server_errors: u64,
    /// Answers refusing the token.
    pub unauthorized: u64,
    /// Replacement tokens checked and promoted.
    pub tokens_promoted: u64,
}

/// One answer, classified.
enum Answer {
    Data(Value),
    Refused(String),
    Throttled(Option<Duration>),
    Failed(String, Option<Duration>),
    Error(String),
}

/// Why an attempt failed in a way worth retrying.
enum Failure {
    Throttled(Option<Duration>),
    /// A 5xx or a broken connection (counted together, as `server_errors`).
    Failed(String, Option<Duration>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Throttled(_) => f.write_str("too many requests"),
            Failure::Failed(m, _) => f.write_str(m),
        }
    }
}

impl Retryable for Failure {
    fn classify(&self) -> (Trouble, Option<Duration>) {
        match self {
            Failure::Throttled(h) => (Trouble::Throttled, *h),
            Failure::Failed(_, h) => (Trouble::Server, *h),
        }
    }
}

/// The Optix client. Every method takes `&self`; share it behind an `Arc`.
pub struct OptixSource<T> {
    tokens: T,
    config: OptixConfig,
    http: reqwest::Client,
    budget: Arc<dyn RequestBudget>,
    token: tokio::sync::Mutex<Option<String>>,
    /// The endpoint and organization the token store keeps (read with the first token),
    /// over [`OptixConfig`]'s.
    settings: std::sync::Mutex<ApiSettings>,
    /// `pages` counts root fields answered.
    counters: Counters,
    /// Replacement tokens checked and promoted.
    tokens_promoted: Counter,
}

impl<T> std::fmt::Debug for OptixSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptixSource")
            .field("endpoint", &self.config.endpoint)
            .finish_non_exhaustive()
    }
}

fn unavailable(reason: impl Into<String>) -> SourceError {
    SourceError::Unavailable {
        platform: Platform::Optix,
        reason: reason.into(),
    }
}

fn unreadable(collection: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Unreadable {
        platform: Platform::Optix,
        collection: collection.to_owned(),
        reason: reason.into(),
    }
}

fn midnight(t: At, days: i64) -> i64 {
    let day = t.date_naive() + chrono::Duration::days(days);
    day.and_hms_opt(0, 0, 0)
        .map_or(t, |d| d.and_utc())
        .timestamp()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The first GraphQL error message, cut short (Optix's messages carry no personal data that
/// we know of; ids at most).
fn first_error(v: &Value) -> Option<String> {
    let e = v.get("errors")?.as_array()?.first()?;
    Some(
        e.get("message")
            .and_then(Value::as_str)
            .unwrap_or("an error without a message")
            .chars()
            .take(200)
            .collect(),
    )
}

fn is_token_error(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    m.contains("token") || m.contains("unauthori") || m.contains("unauthenticated")
}

fn is_throttle_error(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    m.contains("too many") || m.contains("throttl") || m.contains("rate limit")
}

/// Ids are sent inside a GraphQL string literal: only plain id characters.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What one page of a listing asks for.
#[derive(Clone, Debug)]
struct PageAsk {
    spec: &'static Spec,
    page: u32,
    window: Option<(i64, i64)>,
}

impl<T: ApiTokens> OptixSource<T> {
    /// A client reading its token from `tokens`, with the default budget.
    ///
    /// # Errors
    /// `Unavailable` if the HTTP client cannot be built.
    pub fn new(tokens: T, config: OptixConfig) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("access-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| unavailable(format!("cannot build the HTTP client: {e}")))?;
        let budget = SlidingWindow::new(config.requests_per_minute.max(1), Duration::from_secs(60))
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(Self {
            tokens,
            config,
            http,
            budget: Arc::new(budget),
            token: tokio::sync::Mutex::new(None),
            settings: std::sync::Mutex::new(ApiSettings::default()),
            counters: Counters::default(),
            tokens_promoted: Counter::default(),
        })
    }

    /// Replaces the request budget (one shared by every Optix client of a process, or
    /// `Unlimited` for benches).
    pub fn with_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// What was sent so far.
    pub fn stats(&self) -> OptixStats {
        let c = &self.counters;
        OptixStats {
            requests: c.requests.get(),
            root_fields: c.pages.get(),
            rate_limited: c.throttled.get(),
            server_errors: c.server_errors.get(),
            unauthorized: c.unauthorized.get(),
            tokens_promoted: self.tokens_promoted.get(),
        }
    }

    /// The token store's endpoint if it keeps one, else the configured one.
    fn endpoint(&self) -> String {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .endpoint
            .clone()
            .unwrap_or_else(|| self.config.endpoint.clone())
    }

    async fn current_token(&self) -> Result<String, SourceError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        match self.tokens.settings(Platform::Optix).await {
            Ok(Some(kept)) => {
                *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = kept;
            }
            Ok(None) => {}
            Err(e) => return Err(unavailable(format!("token store: {e}"))),
        }
        match self.tokens.current(Platform::Optix).await {
            Ok(Some(t)) if !t.expose().trim().is_empty() => {
                *slot = Some(t.expose().trim().to_string());
                Ok(t.expose().trim().to_string())
            }
            Ok(_) => Err(SourceError::NotConfigured {
                platform: Platform::Optix,
            }),
            Err(e) => Err(unavailable(format!("token store: {e}"))),
        }
    }

    /// One HTTP attempt (after a budget slot).
    async fn attempt(&self, token: &str, doc: &str) -> Answer {
        if let Err(e) = self.budget.acquire().await {
            return Answer::Failed(format!("request budget: {e}"), None);
        }
        self.counters.requests.bump();
        let mut auth = match HeaderValue::from_str(&format!("Bearer {token}")) {
            Ok(h) => h,
            Err(_) => return Answer::Refused("the token is not a header value".into()),
        };
        auth.set_sensitive(true);
        let endpoint = self.endpoint();
        let sent = self
            .http
            .post(&endpoint)
            .header(header::AUTHORIZATION, auth)
            .header(header::ACCEPT, "application/json")
            .json(&json!({ "query": doc }))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Answer::Failed(e.without_url().to_string(), None),
        };
        let status = resp.status();
        let wait = retry_after(resp.headers());
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Answer::Failed(e.without_url().to_string(), None),
        };
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let message = first_error(&v);
        if status == StatusCode::TOO_MANY_REQUESTS
            || message.as_deref().is_some_and(is_throttle_error)
        {
            return Answer::Throttled(wait);
        }
        if status.is_server_error() {
            return Answer::Failed(status.to_string(), wait);
        }
        if status == StatusCode::UNAUTHORIZED || message.as_deref().is_some_and(is_token_error) {
            return Answer::Refused(message.unwrap_or_else(|| status.to_string()));
        }
        if let Some(m) = message {
            return Answer::Error(m);
        }
        if !status.is_success() {
            return Answer::Error(format!("HTTP {status}"));
        }
        match v.get("data") {
            Some(d) if d.is_object() => Answer::Data(d.clone()),
            _ => Answer::Error("the answer has no data".into()),
        }
    }

    /// Checks a candidate token with `me` and promotes it; `false` if it is no good.
    async fn try_candidate(&self, refused: &str) -> Result<bool, SourceError> {
        let candidate = match self.tokens.candidate(Platform::Optix).await {
            Ok(Some(c)) => c.expose().trim().to_string(),
            Ok(None) => return Ok(false),
            Err(e) => return Err(unavailable(format!("token store: {e}"))),
        };
        if candidate.is_empty() || candidate == refused {
            return Ok(false);
        }
        let doc = "query { me { organization { organization_id } } }";
        let org = loop {
            match self.attempt(&candidate, doc).await {
                Answer::Data(d) => {
                    break d
                        .pointer("/me/organization/organization_id")
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                }
                Answer::Throttled(w) => {
                    self.counters.failed(Trouble::Throttled);
                    let d = self.config.retry.delay(1, true, w);
                    self.budget.rate_limited(d);
                    tokio::time::sleep(d).await;
                }
                _ => return Ok(false),
            }
        };
        let want = self
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .organization_id
            .clone()
            .or_else(|| self.config.organization_id.clone());
        let matches = match (&want, &org) {
            (Some(want), Some(got)) => want == got,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if !matches {
            tracing::warn!("an offered Optix token answers for another organization: refused");
            return Ok(false);
        }
        self.tokens
            .promote(Platform::Optix, SecretValue::new(candidate.clone()))
            .await
            .map_err(|e| unavailable(format!("token store: {e}")))?;
        *self.token.lock().await = Some(candidate);
        self.tokens_promoted.bump();
        tracing::info!("Optix token replaced by the offered one (checked with the API)");
        Ok(true)
    }

    /// Sends one document: budget, retries, one token replacement. Answers `data`.
    async fn query(&self, doc: &str, what: &str) -> Result<Value, SourceError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut swapped = false;
        loop {
            attempt += 1;
            let token = self.current_token().await?;
            let failure = match self.attempt(&token, doc).await {
                Answer::Data(d) => return Ok(d),
                Answer::Error(m) => return Err(unreadable(what, m)),
                Answer::Refused(m) => {
                    self.counters.unauthorized.bump();
                    if !swapped && self.try_candidate(&token).await? {
                        swapped = true;
                        attempt -= 1;
                        continue;
                    }
                    return Err(SourceError::Unauthorized {
                        platform: Platform::Optix,
                        reason: format!("{what}: {m}; no checked replacement token"),
                    });
                }
                Answer::Throttled(w) => Failure::Throttled(w),
                Answer::Failed(m, w) => Failure::Failed(m, w),
            };
            Retrier {
                policy: &self.config.retry,
                counters: &self.counters,
                budgets: std::slice::from_ref(&self.budget),
                client: "Optix",
            }
            .back_off(&failure, attempt, started, what)
            .await
            .map_err(unavailable)?;
        }
    }

    fn spec(collection: &str) -> Result<&'static Spec, SourceError> {
        collections::find(collection).ok_or_else(|| {
            unreadable(
                collection,
                format!("not an Optix collection this client reads (one of {NAMES:?})"),
            )
        })
    }

    /// The window a listing at `now` covers: bookings from yesterday's midnight (UTC) to 32
    /// days ahead, check-ins from two days back to the next midnight. The client has no
    /// clock: the caller's `now` ([`PlatformSource::window`]).
    fn default_window(spec: &Spec, now: At) -> Option<(i64, i64)> {
        match spec.window {
            Window::None => None,
            Window::Bookings => Some((midnight(now, -1), midnight(now, 32))),
            Window::Checkins => Some((midnight(now, -2), midnight(now, 1))),
        }
    }

    /// One root field asking for one page.
    fn field(&self, alias: &str, ask: &PageAsk) -> String {
        let s = ask.spec;
        let mut args = vec![
            format!("limit: {}", self.config.page_size.max(1)),
            format!("page: {}", ask.page),
        ];
        if !s.args.is_empty() {
            args.push(s.args.to_string());
        }
        match (s.window, ask.window) {
            (Window::Bookings, Some((from, to))) => {
                args.push(format!(
                    "end_timestamp_from: {from}, start_timestamp_to: {to}"
                ));
            }
            (Window::Checkins, Some((from, to))) => {
                args.push(format!("timestamp_from: {from}, timestamp_to: {to}"));
            }
            _ => {}
        }
        format!(
            "{alias}: {}({}) {{ total data {{ {} }} }}",
            s.name,
            args.join(", "),
            s.fields
        )
    }

    /// Reads one answered page: its records and the next page, if any.
    fn page_of(
        &self,
        ask: &PageAsk,
        v: Option<&Value>,
    ) -> Result<(Vec<SourceRecord>, Option<u32>), SourceError> {
        self.counters.pages.bump();
        let s = ask.spec;
        let v = v.ok_or_else(|| unreadable(s.name, "the answer lacks the list"))?;
        let total = v
            .get("total")
            .and_then(Value::as_u64)
            .ok_or_else(|| unreadable(s.name, "the list has no total"))?;
        let data = v
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| unreadable(s.name, "the list has no data"))?;
        let records = data
            .iter()
            .map(|r| record(s, r))
            .collect::<Result<Vec<_>, _>>()?;
        let read = u64::from(ask.page) * u64::from(self.config.page_size.max(1));
        let next = (read < total && !data.is_empty()).then_some(ask.page + 1);
        Ok((records, next))
    }

    /// Every record of every collection, the next pages of up to
    /// [`OptixConfig::max_root_fields`] collections per request; bookings and check-ins in
    /// `window` (unix seconds; `None`: the defaults). A complete listing or an error.
    ///
    /// # Errors
    /// See [`SourceError`]; nothing partial is returned.
    pub async fn read_all(
        &self,
        window: Option<(At, At)>,
    ) -> Result<Vec<SourceRecord>, SourceError> {
        let mut pending: Vec<PageAsk> = SPECS
            .iter()
            .map(|spec| PageAsk {
                spec,
                page: 1,
                window: match spec.window {
                    Window::None => None,
                    _ => window.map(|(a, b)| (a.timestamp(), b.timestamp())),
                },
            })
            .collect();
        if let Some(ask) = pending
            .iter()
            .find(|a| a.spec.window != Window::None && a.window.is_none())
        {
            return Err(unreadable(
                ask.spec.name,
                "a dated collection is read with a window (PlatformSource::window)",
            ));
        }
        let mut out = Vec::new();
        while !pending.is_empty() {
            let n = self.config.max_root_fields.max(1).min(pending.len());
            let batch: Vec<PageAsk> = pending.drain(..n).collect();
            let doc = format!(
                "query {{ {} }}",
                batch
                    .iter()
                    .enumerate()
                    .map(|(i, a)| self.field(&format!("c{i}"), a))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let data = self.query(&doc, "batch").await?;
            for (i, ask) in batch.into_iter().enumerate() {
                let (records, next) = self.page_of(&ask, data.get(format!("c{i}")))?;
                out.extend(records);
                if let Some(page) = next {
                    pending.push(PageAsk { page, ..ask });
                }
            }
        }
        Ok(out)
    }
}

/// A record of `spec` as the API returned it.
fn record(spec: &Spec, v: &Value) -> Result<SourceRecord, SourceError> {
    let id = match v.get(spec.id) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(unreadable(
                spec.name,
                format!("a record has no {}", spec.id),
            ));
        }
    };
    Ok(SourceRecord {
        collection: spec.name.to_owned(),
        id,
        // Optix has no modification time on any record (§2.1, §3).
        modified_at: None,
        body: v.clone(),
    })
}

impl<T: ApiTokens> PlatformSource for OptixSource<T> {
    fn platform(&self) -> Platform {
        Platform::Optix
    }

    fn collections(&self) -> &'static [&'static str] {
        &NAMES
    }

    fn incremental(&self, _collection: &str) -> bool {
        // §3: no change-time filter on any list.
        false
    }

    fn window(&self, collection: &str, now: At) -> Option<(At, At)> {
        let (from, to) = Self::default_window(collections::find(collection)?, now)?;
        Some((
            chrono::DateTime::from_timestamp(from, 0)?,
            chrono::DateTime::from_timestamp(to, 0)?,
        ))
    }

    async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
        let spec = Self::spec(&request.collection)?;
        let page = match &request.cursor {
            None => 1,
            Some(c) => c
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| unreadable(spec.name, "a cursor is a page number"))?,
        };
        let window = match spec.window {
            Window::None => None,
            _ => Some(
                request
                    .window
                    .map(|(a, b)| (a.timestamp(), b.timestamp()))
                    .ok_or_else(|| {
                        unreadable(
                            spec.name,
                            "a dated collection is listed with a window (PlatformSource::window)",
                        )
                    })?,
            ),
        };
        let ask = PageAsk { spec, page, window };
        let doc = format!("query {{ {} }}", self.field("c0", &ask));
        let data = self.query(&doc, spec.name).await?;
        let (records, next) = self.page_of(&ask, data.get("c0"))?;
        Ok(Page {
            records,
            next: next.map(|p| p.to_string()),
        })
    }

    /// Optix records embed nothing dated, so `now` changes nothing.
    async fn read(
        &self,
        collection: &str,
        id: &str,
        _now: At,
    ) -> Result<Option<SourceRecord>, SourceError> {
        let spec = Self::spec(collection)?;
        if !is_plain_id(id) {
            return Ok(None);
        }
        if let Some((field, arg)) = spec.single {
            let doc = format!(
                "query {{ c0: {field}({arg}: \"{id}\") {{ {} }} }}",
                spec.fields
            );
            let data = self.query(&doc, spec.name).await?;
            self.counters.pages.bump();
            return match data.get("c0") {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    let r = record(spec, v)?;
                    if r.id != id {
                        return Err(unreadable(spec.name, "asked for one id, got another"));
                    }
                    Ok(Some(r))
                }
            };
        }
        // No single-record field: page through the list.
        let mut cursor = None;
        loop {
            let page = self
                .list(&ListRequest {
                    collection: collection.to_owned(),
                    changed_since: None,
                    window: None,
                    cursor,
                })
                .await?;
            if let Some(r) = page.records.into_iter().find(|r| r.id == id) {
                return Ok(Some(r));
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_errors() {
        assert!(is_plain_id("88001"));
        assert!(!is_plain_id("1\") { x } y: booking(booking_id: \"2"));
        assert!(is_token_error("Invalid token"));
        assert!(is_throttle_error("Too many requests"));
        assert_eq!(
            first_error(&json!({"errors": [{"message": "Invalid token"}]})).as_deref(),
            Some("Invalid token")
        );
    }
}
