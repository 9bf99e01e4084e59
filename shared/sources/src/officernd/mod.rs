//! OfficeRnD Flex API v2 as a [`PlatformSource`]: the records that decide access, read with
//! OAuth2 client credentials and cursor paging, within a client-side request budget.
//!
//! Facts are from `../shared/reference/platform-apis/officernd.md` (§n below); every field and
//! parameter this client reads or sends is listed with its section and mark in
//! `events/officernd/README.md` ("API client").
//!
//! - **Credentials**: a JSON secret read through [`SecretSource`] ([`credentials`]); an empty or
//!   missing secret is [`SourceError::NotConfigured`]. Read on first use, and once more when
//!   the token endpoint answers `invalid_client` (the secret was rotated).
//! - **Token**: `POST` form-encoded `grant_type=client_credentials` with the read scopes of
//!   every collection (§1). Cached until 60 s before `expires_in` runs out (§1: 3599 s, no
//!   refresh token); token requests draw on their own budget of 5 per minute (§1 [O]). An API
//!   401 fetches a new token once and resends the request; a second 401 is
//!   [`SourceError::Unauthorized`] (§4 "Retry on 401").
//! - **Budget and retries**: every API attempt first takes a slot of the request budget
//!   (default 10 per second — OfficeRnD publishes no number, §4, so this is our choice [I]). A
//!   429 pauses the whole budget for `Retry-After` (or 2 s without it, §4 [O]); 429, 5xx,
//!   timeouts and broken connections are retried with backoff within [`RetryPolicy`]; past its
//!   bound the request is [`SourceError::Unavailable`].
//! - **Listing**: `$limit=50` (the maximum, §3), `$cursorNext=<cursor>`; a page's `cursorNext`
//!   is the next page; only an absent or `null` `cursorNext` ends a listing (§3 "Cursor") — a
//!   page shorter than `$limit` does not. A cursor that does not move is unreadable.
//! - **Incremental**: `modifiedAt[$gte]` on members, companies and floors only (§3
//!   "Incremental"); memberships reject unknown parameters with 400 (§2.3 [O]), so nothing
//!   else is ever sent to them. `changed_since` on another collection is ignored (the listing
//!   is full, a superset).
//! - **Windows**: `bookings/occurrences` needs one (§2.5): `start`/`end`, at most 366 days;
//!   `checkins` takes `start[$gte]`/`start[$lt]`. Both are listed only with a
//!   [`ListRequest::window`] (the client has no clock: a listing without one is
//!   [`SourceError::Unreadable`]); [`PlatformSource::window`] gives the default for the
//!   caller's `now`, in whole UTC days (so it stays the same across the pages of a listing
//!   read on one day): occurrences from yesterday's midnight to midnight 31 days ahead,
//!   check-ins from midnight two days back to tomorrow's midnight. `bookings` is listed in
//!   full (no documented window filter).
//! - **Deletions** are invisible in listings (§3 "Deletions"): [`PlatformSource::read`] answers
//!   `Ok(None)` on 404 (and for ids that are not ObjectIds, which OfficeRnD 404s, §4).
//!
//! Occurrences carry the series' `_id` (§2.5 [I]), so an occurrence's [`SourceRecord::id`] is
//! `<_id>@<start>`; occurrences cannot be read by id (read the booking).

mod collections;
pub mod credentials;

use std::sync::Arc;
use std::time::Duration;

use access_sync_kisi::{RequestBudget, SlidingWindow};
use access_sync_platforms::Platform;
use access_sync_ports::{
    ListRequest, Page, PlatformSource, SecretError, SecretSource, SourceError, SourceRecord,
};
use access_sync_rules::Instant as At;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use crate::RetryPolicy;
use crate::retry::{Counter, Counters, Retrier, Retryable, Trouble};
use collections::{Spec, Window};
use credentials::{Credentials, CredentialsError};

/// The most records OfficeRnD returns per page (§3 "Page size": `$limit` ≤ 50).
pub const MAX_PAGE_SIZE: u32 = 50;

/// Token requests allowed per minute (§1 "Token endpoint rate" [O]: about 5).
pub const TOKEN_REQUESTS_PER_MINUTE: usize = 5;

/// A token is renewed this long before it expires.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The longest occurrence window (§2.5: at most one year without paging).
pub const MAX_OCCURRENCE_DAYS: i64 = 366;

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct OfficerndConfig {
    /// The name (or ARN) of the secret holding the credentials ([`credentials`]).
    pub secret_name: String,
    /// Retries of one request.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt, connect to last byte.
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// `$limit` sent on every listing (clamped to 1..=50).
    pub page_size: u32,
    /// API requests allowed in any one second by the default budget (OfficeRnD publishes no
    /// number, §4; 10 is our choice [I]).
    pub reads_per_second: usize,
}

impl OfficerndConfig {
    /// Production defaults for the credentials in `secret_name`.
    pub fn new(secret_name: impl Into<String>) -> Self {
        Self {
            secret_name: secret_name.into(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            page_size: MAX_PAGE_SIZE,
            reads_per_second: 10,
        }
    }
}

/// Counts of what the client sent, for benchmarks and operator logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// API requests sent (first attempts, retries and resends after a 401).
    pub requests: u64,
    /// Token requests sent (retries included).
    pub token_requests: u64,
    /// Tokens obtained.
    pub tokens: u64,
    /// List pages read.
    pub pages: u64,
    /// Answers with 429 (API and token endpoint).
    pub rate_limited: u64,
    /// Answers with 5xx.
    pub server_errors: u64,
    /// Attempts that timed out or whose connection failed.
    pub transport_errors: u64,
    /// API answers with 401.
    pub unauthorized: u64,
}

/// A cached access token.
#[derive(Clone)]
struct Token {
    /// `Bearer <token>`, marked sensitive.
    header: HeaderValue,
    /// When to fetch a new one.
    renew_at: Instant,
}

/// One answer, fully read.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

/// Why one attempt failed in a retryable way.
#[derive(Debug)]
enum Failure {
    RateLimited(Option<Duration>),
    Server(StatusCode, Option<Duration>),
    Transport(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::RateLimited(_) => f.write_str("429 Too Many Requests"),
            Failure::Server(s, _) => write!(f, "{s}"),
            Failure::Transport(d) => f.write_str(d),
        }
    }
}

impl Retryable for Failure {
    fn classify(&self) -> (Trouble, Option<Duration>) {
        match self {
            Failure::RateLimited(h) => (Trouble::Throttled, *h),
            Failure::Server(_, h) => (Trouble::Server, *h),
            Failure::Transport(_) => (Trouble::Transport, None),
        }
    }
}

/// The OfficeRnD client. Share it behind an `Arc`; every method takes `&self`.
pub struct OfficerndSource<S> {
    secrets: S,
    config: OfficerndConfig,
    http: reqwest::Client,
    credentials: tokio::sync::Mutex<Option<Arc<Credentials>>>,
    token: tokio::sync::Mutex<Option<Token>>,
    budget: Arc<dyn RequestBudget>,
    token_budget: Arc<dyn RequestBudget>,
    /// API and token requests alike (429s of both count as `rate_limited`).
    counters: Counters,
    /// Token requests (retries included).
    token_requests: Counter,
    /// Tokens obtained.
    tokens: Counter,
}

impl<S> std::fmt::Debug for OfficerndSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficerndSource")
            .field("secret_name", &self.config.secret_name)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// `2026-12-03T10:00:00.000Z`, the shape OfficeRnD's own dates have (§2.1 example).
fn iso(t: At) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The window a listing at `now` covers (module docs, "Windows"): whole UTC days, so it is
/// the same for every page of a listing made on one day.
fn default_window(window: Window, now: At) -> Option<(At, At)> {
    match window {
        Window::None => None,
        Window::Occurrences => Some((midnight(now, -1), midnight(now, 31))),
        Window::Checkins => Some((midnight(now, -2), midnight(now, 1))),
    }
}

fn midnight(t: At, days: i64) -> At {
    let day = t.date_naive() + chrono::Duration::days(days);
    day.and_hms_opt(0, 0, 0).map_or(t, |d| d.and_utc())
}

/// `Retry-After` in seconds (§4: one client reads it; the HTTP-date form is not expected).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// OfficeRnD's error `message` (a string, or NestJS's list of validation messages), cut
/// short. Ids may appear in it; OfficeRnD puts no personal data there (§4 "Error body").
fn message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let m = match v.get("message").or_else(|| v.get("error_description")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_owned(),
    };
    m.chars().take(200).collect()
}

/// Whether `id` is a 24-hex ObjectId (§1 "IDs").
fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl<S: SecretSource> OfficerndSource<S> {
    /// A client reading its credentials from `secrets`, with the default budget
    /// (`config.reads_per_second` API requests in any second, [`TOKEN_REQUESTS_PER_MINUTE`]
    /// token requests in any minute).
    ///
    /// # Errors
    /// `Unavailable` if the HTTP client cannot be built (no TLS roots).
    pub fn new(secrets: S, config: OfficerndConfig) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("access-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Unavailable {
                platform: Platform::Officernd,
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let budget = SlidingWindow::new(config.reads_per_second.max(1), Duration::from_secs(1))
            .map_err(|e| SourceError::Unavailable {
                platform: Platform::Officernd,
                reason: e.to_string(),
            })?;
        let token_budget = SlidingWindow::new(TOKEN_REQUESTS_PER_MINUTE, Duration::from_secs(61))
            .map_err(|e| SourceError::Unavailable {
            platform: Platform::Officernd,
            reason: e.to_string(),
        })?;
        Ok(Self {
            secrets,
            config,
            http,
            credentials: tokio::sync::Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
            budget: Arc::new(budget),
            token_budget: Arc::new(token_budget),
            counters: Counters::default(),
            token_requests: Counter::default(),
            tokens: Counter::default(),
        })
    }

    /// Replaces the API request budget (a shared one, or `Unlimited` for benches).
    pub fn with_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// What was sent so far.
    pub fn stats(&self) -> SourceStats {
        let c = &self.counters;
        SourceStats {
            requests: c.requests.get(),
            token_requests: self.token_requests.get(),
            tokens: self.tokens.get(),
            pages: c.pages.get(),
            rate_limited: c.throttled.get(),
            server_errors: c.server_errors.get(),
            transport_errors: c.transport_errors.get(),
            unauthorized: c.unauthorized.get(),
        }
    }

    fn unavailable(reason: impl Into<String>) -> SourceError {
        SourceError::Unavailable {
            platform: Platform::Officernd,
            reason: reason.into(),
        }
    }

    fn unreadable(collection: &str, reason: impl Into<String>) -> SourceError {
        SourceError::Unreadable {
            platform: Platform::Officernd,
            collection: collection.to_owned(),
            reason: reason.into(),
        }
    }

    // ------------------------------------------------------------------ credentials and token

    /// The credentials, from the cache unless `reread`.
    async fn credentials(&self, reread: bool) -> Result<Arc<Credentials>, SourceError> {
        let mut slot = self.credentials.lock().await;
        if !reread && let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let name = &self.config.secret_name;
        let read = if reread {
            self.secrets.refresh(name).await
        } else {
            self.secrets.secret(name).await
        };
        let text = match read {
            Ok(v) => v,
            Err(SecretError::Unavailable(e)) => {
                return Err(Self::unavailable(format!("secret store: {e}")));
            }
            Err(SecretError::NotFound(_) | SecretError::Empty(_)) => {
                return Err(SourceError::NotConfigured {
                    platform: Platform::Officernd,
                });
            }
        };
        let creds = match Credentials::parse(text.expose()) {
            Ok(c) => Arc::new(c),
            Err(CredentialsError::Missing(field)) => {
                tracing::warn!(secret = %name, field, "OfficeRnD secret is not filled in");
                return Err(SourceError::NotConfigured {
                    platform: Platform::Officernd,
                });
            }
            Err(CredentialsError::Invalid(why)) => {
                return Err(SourceError::Unauthorized {
                    platform: Platform::Officernd,
                    reason: format!("secret {name}: {why}"),
                });
            }
        };
        *slot = Some(creds.clone());
        Ok(creds)
    }

    /// The `Authorization` header and the API base. `refused`: the header OfficeRnD just
    /// answered 401 to, so a new token is fetched (unless another request already did).
    async fn bearer(
        &self,
        refused: Option<&HeaderValue>,
    ) -> Result<(HeaderValue, String), SourceError> {
        let creds = self.credentials(false).await?;
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && refused != Some(&t.header)
            && Instant::now() < t.renew_at
        {
            return Ok((t.header.clone(), creds.api_base.clone()));
        }
        let (token, creds) = self.fetch_token(creds).await?;
        *slot = Some(token.clone());
        Ok((token.header, creds.api_base.clone()))
    }

    /// `POST <token_url>` (§1 "Token endpoint"), retried within the policy.
    async fn fetch_token(
        &self,
        mut creds: Arc<Credentials>,
    ) -> Result<(Token, Arc<Credentials>), SourceError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reread = false;
        loop {
            attempt += 1;
            self.token_budget
                .acquire()
                .await
                .map_err(|e| Self::unavailable(format!("token budget: {e}")))?;
            self.token_requests.bump();
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &creds.client_id)
                .append_pair("client_secret", creds.client_secret.expose())
                .append_pair("scope", &collections::scopes())
                .finish();
            let sent = self
                .http
                .post(&creds.token_url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(body)
                .send()
                .await;
            let failure = match sent {
                Err(e) => Failure::Transport(e.without_url().to_string()),
                Ok(resp) => {
                    let status = resp.status();
                    let wait = retry_after(resp.headers());
                    let body = resp
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .map_err(|e| Failure::Transport(e.without_url().to_string()));
                    match (status, body) {
                        (_, Err(f)) => f,
                        (StatusCode::OK, Ok(body)) => {
                            return Ok((self.token_from(&body)?, creds));
                        }
                        (StatusCode::TOO_MANY_REQUESTS, _) => Failure::RateLimited(wait),
                        (s, _) if s.is_server_error() => Failure::Server(s, wait),
                        (s, Ok(body)) => {
                            let code = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
                                .unwrap_or_default();
                            if code == "invalid_client" && !reread {
                                tracing::warn!(
                                    "OfficeRnD refused the client credentials: reading the secret again"
                                );
                                creds = self.credentials(true).await?;
                                reread = true;
                                continue;
                            }
                            return Err(SourceError::Unauthorized {
                                platform: Platform::Officernd,
                                reason: format!(
                                    "token endpoint answered {s} {code}: {}",
                                    message(&body)
                                ),
                            });
                        }
                    }
                }
            };
            self.back_off(&failure, attempt, started, &self.token_budget, "token")
                .await?;
        }
    }

    fn token_from(&self, body: &[u8]) -> Result<Token, SourceError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| Self::unreadable("token", "the token answer is not JSON"))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Self::unreadable("token", "the token answer has no access_token"))?;
        // §1: `expires_in` is the remaining lifetime (3599 in the example).
        let lifetime =
            Duration::from_secs(v.get("expires_in").and_then(Value::as_u64).unwrap_or(3599));
        let keep = if lifetime > 2 * TOKEN_REFRESH_MARGIN {
            lifetime - TOKEN_REFRESH_MARGIN
        } else {
            lifetime / 2
        };
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Self::unreadable("token", "the access_token is not a header value"))?;
        header.set_sensitive(true);
        self.tokens.bump();
        Ok(Token {
            header,
            renew_at: Instant::now() + keep,
        })
    }

    // ------------------------------------------------------------------ transport

    /// Counts a failed attempt and waits before the next, or gives up as `Unavailable`.
    /// A 429 pauses `budget`: everyone drawing on it waits, not only this request.
    async fn back_off(
        &self,
        failure: &Failure,
        attempt: u32,
        started: Instant,
        budget: &Arc<dyn RequestBudget>,
        what: &str,
    ) -> Result<(), SourceError> {
        Retrier {
            policy: &self.config.retry,
            counters: &self.counters,
            budgets: std::slice::from_ref(budget),
            client: "OfficeRnD",
        }
        .back_off(failure, attempt, started, what)
        .await
        .map_err(Self::unavailable)
    }

    async fn attempt(
        &self,
        url: &str,
        query: &[(&str, String)],
        auth: &HeaderValue,
    ) -> Result<Reply, Failure> {
        let classify = |e: reqwest::Error| Failure::Transport(e.without_url().to_string());
        let resp = self
            .http
            .get(url)
            .header(header::AUTHORIZATION, auth.clone())
            .header(header::ACCEPT, "application/json")
            .query(query)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        let wait = retry_after(resp.headers());
        let body = resp.bytes().await.map_err(classify)?.to_vec();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(Failure::Server(status, wait));
        }
        Ok(Reply { status, body })
    }

    /// `GET <api base><path>?<query>`: budget, retries, one new token after a 401.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Reply, SourceError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut renewed = false;
        let (mut auth, base) = self.bearer(None).await?;
        let url = format!("{base}{path}");
        loop {
            attempt += 1;
            self.budget
                .acquire()
                .await
                .map_err(|e| Self::unavailable(format!("request budget: {e}")))?;
            self.counters.requests.bump();
            match self.attempt(&url, query, &auth).await {
                Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => {
                    self.counters.unauthorized.bump();
                    if renewed {
                        return Err(SourceError::Unauthorized {
                            platform: Platform::Officernd,
                            reason: format!(
                                "{what}: 401 with a new token ({}); the application may lack a scope",
                                message(&reply.body)
                            ),
                        });
                    }
                    tracing::info!(what, "OfficeRnD refused the token: fetching a new one");
                    renewed = true;
                    // A refused token is not a failed attempt.
                    attempt -= 1;
                    auth = self.bearer(Some(&auth)).await?.0;
                }
                Ok(reply) => return Ok(reply),
                Err(f) => {
                    self.back_off(&f, attempt, started, &self.budget, what)
                        .await?
                }
            }
        }
    }

    /// A non-200, non-401 answer as an error.
    fn refused(spec: &Spec, reply: &Reply) -> SourceError {
        if reply.status == StatusCode::FORBIDDEN {
            return SourceError::Unauthorized {
                platform: Platform::Officernd,
                reason: format!("{}: 403 {}", spec.name, message(&reply.body)),
            };
        }
        Self::unreadable(
            spec.name,
            format!("{} {}", reply.status.as_u16(), message(&reply.body)),
        )
    }

    /// A record of `spec` as the API returned it.
    fn record(spec: &Spec, v: &Value) -> Result<SourceRecord, SourceError> {
        let id = v
            .get("_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Self::unreadable(spec.name, "a record has no _id"))?;
        let id = if spec.window == Window::Occurrences {
            let start = v
                .get("start")
                .and_then(Value::as_str)
                .ok_or_else(|| Self::unreadable(spec.name, "an occurrence has no start"))?;
            format!("{id}@{start}")
        } else {
            id.to_owned()
        };
        let modified_at = v
            .get("modifiedAt")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(SourceRecord {
            collection: spec.name.to_owned(),
            id,
            modified_at,
            body: v.clone(),
        })
    }

    /// The query of one list page.
    fn list_query(
        spec: &Spec,
        req: &ListRequest,
        page_size: u32,
    ) -> Result<Vec<(&'static str, String)>, SourceError> {
        let mut q: Vec<(&'static str, String)> = vec![("$limit", page_size.to_string())];
        if let Some(c) = &req.cursor {
            q.push(("$cursorNext", c.clone()));
        }
        if spec.incremental
            && let Some(t) = req.changed_since
        {
            q.push(("modifiedAt[$gte]", iso(t)));
        }
        if spec.window != Window::None {
            let (from, to) = req.window.ok_or_else(|| {
                Self::unreadable(
                    spec.name,
                    "a dated collection is listed with a window (PlatformSource::window)",
                )
            })?;
            if to <= from || to - from > chrono::Duration::days(MAX_OCCURRENCE_DAYS) {
                return Err(Self::unreadable(
                    spec.name,
                    format!("the window must be positive and at most {MAX_OCCURRENCE_DAYS} days"),
                ));
            }
            match spec.window {
                Window::None => {}
                Window::Occurrences => {
                    q.push(("start", iso(from)));
                    q.push(("end", iso(to)));
                }
                Window::Checkins => {
                    q.push(("start[$gte]", iso(from)));
                    q.push(("start[$lt]", iso(to)));
                }
            }
        }
        Ok(q)
    }

    fn spec(collection: &str) -> Result<&'static Spec, SourceError> {
        collections::find(collection).ok_or_else(|| {
            Self::unreadable(
                collection,
                format!(
                    "not an OfficeRnD collection this client reads (one of {:?})",
                    collections::NAMES
                ),
            )
        })
    }
}

impl<S: SecretSource> PlatformSource for OfficerndSource<S> {
    fn platform(&self) -> Platform {
        Platform::Officernd
    }

    fn collections(&self) -> &'static [&'static str] {
        &collections::NAMES
    }

    fn incremental(&self, collection: &str) -> bool {
        collections::find(collection).is_some_and(|s| s.incremental)
    }

    fn window(&self, collection: &str, now: At) -> Option<(At, At)> {
        default_window(collections::find(collection)?.window, now)
    }

    async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
        let spec = Self::spec(&request.collection)?;
        let page_size = self.config.page_size.clamp(1, MAX_PAGE_SIZE);
        let query = Self::list_query(spec, request, page_size)?;
        let reply = self
            .get(&format!("/{}", spec.name), &query, spec.name)
            .await?;
        if reply.status != StatusCode::OK {
            return Err(Self::refused(spec, &reply));
        }
        let v: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| Self::unreadable(spec.name, "the page is not JSON"))?;
        let results = v
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| Self::unreadable(spec.name, "the page has no results array"))?;
        let records = results
            .iter()
            .map(|r| Self::record(spec, r))
            .collect::<Result<Vec<_>, _>>()?;
        // §3 "Cursor": the listing ends only when cursorNext is absent or null.
        let next = match v.get("cursorNext") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                return Err(Self::unreadable(
                    spec.name,
                    "cursorNext is neither a cursor nor null",
                ));
            }
        };
        if next.is_some() && next == request.cursor {
            return Err(Self::unreadable(spec.name, "cursorNext did not move"));
        }
        self.counters.pages.bump();
        Ok(Page { records, next })
    }

    /// OfficeRnD records embed nothing dated, so `now` changes nothing.
    async fn read(
        &self,
        collection: &str,
        id: &str,
        _now: At,
    ) -> Result<Option<SourceRecord>, SourceError> {
        let spec = Self::spec(collection)?;
        if !spec.readable {
            return Err(Self::unreadable(
                spec.name,
                "occurrences cannot be read by id; read the booking",
            ));
        }
        if !is_object_id(id) {
            // OfficeRnD answers 404 to any id that is not an ObjectId (§4 "Status quirks").
            return Ok(None);
        }
        let reply = self
            .get(&format!("/{}/{id}", spec.name), &[], spec.name)
            .await?;
        match reply.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(Self::refused(spec, &reply)),
        }
        let v: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| Self::unreadable(spec.name, "the record is not JSON"))?;
        let record = Self::record(spec, &v)?;
        if record.id != id {
            return Err(Self::unreadable(spec.name, "asked for one id, got another"));
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_and_messages() {
        assert!(is_object_id("603dfbc260f4054084125d33"));
        assert!(!is_object_id("603dfbc260f4054084125d3"));
        assert!(!is_object_id("../../members/603dfbc260f40"));
        assert_eq!(
            message(br#"{"statusCode":400,"message":["a","b"],"error":"Bad Request"}"#),
            "a; b"
        );
        assert_eq!(message(b"not json"), "no message");
    }

    #[test]
    fn dated_collections_need_a_window_and_the_default_follows_the_callers_now() {
        type Src = OfficerndSource<access_sync_ports::memory::MemorySecrets>;
        let t: At = "2026-06-15T10:17:00Z".parse().unwrap();
        let spec = collections::find("checkins").unwrap();
        let mut req = ListRequest {
            collection: "checkins".into(),
            changed_since: None,
            window: None,
            cursor: None,
        };
        let err = Src::list_query(spec, &req, 50).unwrap_err();
        assert!(matches!(err, SourceError::Unreadable { .. }), "{err}");
        req.window = default_window(spec.window, t);
        let q = Src::list_query(spec, &req, 50).unwrap();
        assert!(
            q.contains(&("start[$gte]", "2026-06-13T00:00:00.000Z".into())),
            "{q:?}"
        );
        assert!(
            q.contains(&("start[$lt]", "2026-06-16T00:00:00.000Z".into())),
            "{q:?}"
        );
        let occ = collections::find("bookings/occurrences").unwrap();
        assert_eq!(
            default_window(occ.window, t).map(|(a, b)| (iso(a), iso(b))),
            Some((
                "2026-06-14T00:00:00.000Z".into(),
                "2026-07-16T00:00:00.000Z".into()
            ))
        );
        assert_eq!(
            default_window(collections::find("members").unwrap().window, t),
            None
        );
    }

    #[test]
    fn default_windows_are_whole_days() {
        let t = DateTime::parse_from_rfc3339("2026-12-03T10:17:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(iso(midnight(t, -1)), "2026-12-02T00:00:00.000Z");
        assert_eq!(iso(midnight(t, 31)), "2027-01-03T00:00:00.000Z");
    }
}
