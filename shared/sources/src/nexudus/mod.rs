//! Nexudus's admin REST API as a [`PlatformSource`]: the records that decide access, read with
//! a bearer token (or HTTP Basic) and `page`/`size` paging, within a client-side request budget.
//!
//! Facts are from `../shared/reference/platform-apis/nexudus.md` (R §n below); every field and
//! parameter this client reads or sends is listed with its section and mark in
//! `events/nexudus/README.md` ("API client").
//!
//! - **Credentials**: a JSON secret read through [`SecretSource`] ([`credentials`]); an empty
//!   or missing secret is [`SourceError::NotConfigured`].
//! - **Auth** (R §1): `bearer` fetches a token with `POST <api>/token`, form-encoded
//!   `grant_type=password` (+ `client_id`), keeps it until 60 s before `expires_in`, and after a
//!   401 refreshes it once (`grant_type=refresh_token`, falling back to the password grant when
//!   the refresh token is refused) and resends; a second 401 is [`SourceError::Unauthorized`]
//!   (R §1: 401 is also "missing permission"). `basic` sends `Basic base64(email:password)`; a
//!   401 is `Unauthorized` at once.
//! - **Budget and retries** (R §4): every attempt takes a slot of two windows, 10 per second
//!   and 120 per minute (R §4 "1 req/100 ms, 120/min"); throttling is **409** (documented) or
//!   **429** (observed) alike: the whole budget pauses for `Retry-After`, else the "Wait N
//!   seconds" of the text, else [`RetryPolicy::rate_limit_floor`]; 5xx (R §4: a transient
//!   "Ooops!" 500), timeouts and broken connections are retried with backoff within
//!   [`RetryPolicy`]; past its bound the request is [`SourceError::Unavailable`].
//! - **Listing** (R §3): `page`, `size` (default [`DEFAULT_PAGE_SIZE`]: R §3 "100 is safe"),
//!   `orderBy=Id` for stable pages. The cursor is `<page>:<TotalItems of page 1>`; a listing
//!   ends when `CurrentPage` ≥ `TotalPages` (never on a short page). A page whose `TotalItems`
//!   differs from the first page's, whose `FirstItem` is not where the previous page ended, or
//!   that is short but not the last (records vanished while we read) is retried like a 5xx
//!   and, if it persists, ends the listing as `Unavailable`: offset paging over a changing list
//!   can skip a record, and a skipped record must never look deleted.
//! - **Partial lists** (R §3): `teams` rows lack `TeamMembers`; each team page is completed
//!   with one batch read `GET teams?id=[…]` (full records).
//! - **Incremental** (R §3): every collection takes `from_<Entity>_UpdatedOn=YYYY-MM-DDTHH:mm`.
//!   The zone of that value is undocumented (R §6), so it is sent in UTC **14 h 1 min early**
//!   (the widest UTC offset, plus the minute precision): both readings of the zone return every
//!   change (a superset; the sync de-duplicates by content).
//! - **Windows** (R §2.5, §2.7; filter names by R §3's pattern [I]): `bookings` and
//!   `cancelledbookings` by `from_<Entity>_ToTime` (ends after the window's start) and
//!   `to_<Entity>_FromTime` (starts before its end); `checkins` by `from_Checkin_FromTime` /
//!   `to_Checkin_FromTime`. Both bounds are widened by 14 h for the same zone doubt. Without
//!   [`ListRequest::window`]: whole UTC days, bookings from yesterday to 31 days ahead,
//!   check-ins from two days back to tomorrow.
//! - **Deletions** are invisible in lists (R §3): [`PlatformSource::read`] answers `Ok(None)`
//!   on 404; the sync diffs complete full listings (`covers`: contracts, time passes, units).
//! - [`NexudusSource::coworker_records`] re-reads everything of one coworker: the answer to
//!   `AccessControlUpdate` (R §5.2, "re-read this coworker").

pub mod credentials;

use std::sync::Arc;
use std::time::Duration;

use access_sync_kisi::{RequestBudget, SlidingWindow};
use access_sync_platforms::Platform;
use access_sync_ports::{
    ListRequest, Page, PlatformSource, SecretError, SecretSource, SourceError, SourceRecord,
};
use access_sync_rules::Instant as At;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use crate::RetryPolicy;
use crate::retry::{Counter, Counters, Retrier, Retryable, Trouble};
use credentials::{AuthMode, Credentials, CredentialsError};

/// The default `size` (R §3: max undocumented; "100 is safe").
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The largest `size` this client sends (R §3: `size=10000` was seen in production code [O]).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A token is renewed this long before it expires.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How far filter instants are widened for the undocumented zone (R §6): the widest UTC offset.
pub const ZONE_MARGIN: chrono::Duration = chrono::Duration::hours(14);

/// Requests per minute Nexudus allows (R §4, version B).
pub const REQUESTS_PER_MINUTE: usize = 120;

/// Requests per second (R §4: 1 per 100 ms).
pub const REQUESTS_PER_SECOND: usize = 10;

/// A collection this client reads: its name (what [`SourceRecord::collection`] says), its API
/// path, its entity name for filters, and its window kind.
#[derive(Debug)]
struct Spec {
    name: &'static str,
    path: &'static str,
    entity: &'static str,
    window: Window,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Window {
    None,
    /// Bookings and cancelled bookings: `ToTime` after the start, `FromTime` before the end.
    Bookings,
    /// Check-ins: `FromTime` in the window.
    Checkins,
}

/// In the order a full sync reads them: people before what refers to them (R §1 modules).
const SPECS: [Spec; 11] = [
    Spec {
        name: "businesses",
        path: "sys/businesses",
        entity: "Business",
        window: Window::None,
    },
    Spec {
        name: "tariffs",
        path: "billing/tariffs",
        entity: "Tariff",
        window: Window::None,
    },
    Spec {
        name: "coworkers",
        path: "spaces/coworkers",
        entity: "Coworker",
        window: Window::None,
    },
    Spec {
        name: "teams",
        path: "spaces/teams",
        entity: "Team",
        window: Window::None,
    },
    Spec {
        name: "coworkercontracts",
        path: "billing/coworkercontracts",
        entity: "CoworkerContract",
        window: Window::None,
    },
    Spec {
        name: "coworkertimepasses",
        path: "billing/coworkertimepasses",
        entity: "CoworkerTimePass",
        window: Window::None,
    },
    Spec {
        name: "floorplandesks",
        path: "sys/floorplandesks",
        entity: "FloorPlanDesk",
        window: Window::None,
    },
    Spec {
        name: "bookings",
        path: "spaces/bookings",
        entity: "Booking",
        window: Window::Bookings,
    },
    Spec {
        name: "bookingvisitors",
        path: "spaces/bookingvisitors",
        entity: "BookingVisitor",
        window: Window::None,
    },
    Spec {
        name: "cancelledbookings",
        path: "spaces/cancelledbookings",
        entity: "CancelledBooking",
        window: Window::Bookings,
    },
    Spec {
        name: "checkins",
        path: "spaces/checkins",
        entity: "Checkin",
        window: Window::Checkins,
    },
];

const NAMES: [&str; 11] = [
    "businesses",
    "tariffs",
    "coworkers",
    "teams",
    "coworkercontracts",
    "coworkertimepasses",
    "floorplandesks",
    "bookings",
    "bookingvisitors",
    "cancelledbookings",
    "checkins",
];

fn find(collection: &str) -> Option<&'static Spec> {
    let last = collection.trim_matches('/').rsplit('/').next()?;
    SPECS.iter().find(|s| s.name == last)
}

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct NexudusConfig {
    /// The name (or ARN) of the secret holding the credentials ([`credentials`]).
    pub secret_name: String,
    /// Retries of one request.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// `size` sent on every listing (clamped to 1..=[`MAX_PAGE_SIZE`]).
    pub page_size: u32,
}

impl NexudusConfig {
    /// Production defaults for the credentials in `secret_name`.
    pub fn new(secret_name: impl Into<String>) -> Self {
        Self {
            secret_name: secret_name.into(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// Counts of what the client sent, for benchmarks and operator logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// API requests sent (first attempts, retries and resends after a 401).
    pub requests: u64,
    /// Token requests sent (password and refresh grants).
    pub token_requests: u64,
    /// Refresh-token grants among them.
    pub refreshes: u64,
    /// List pages read.
    pub pages: u64,
    /// Throttled answers (409 and 429).
    pub throttled: u64,
    /// Answers with 5xx, and pages retried because the listing moved.
    pub server_errors: u64,
    /// Attempts that timed out or whose connection failed.
    pub transport_errors: u64,
    /// API answers with 401.
    pub unauthorized: u64,
}

#[derive(Clone)]
struct Token {
    header: HeaderValue,
    renew_at: Instant,
    refresh: Option<String>,
}

/// Why an attempt failed in a way worth retrying.
#[derive(Debug)]
enum Failure {
    Throttled(u16, Option<Duration>),
    Server(StatusCode, Option<Duration>),
    Transport(String),
    /// The listing moved under us (a page that does not continue the previous one).
    Moved(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Throttled(s, _) => write!(f, "throttled ({s})"),
            Failure::Server(s, _) => write!(f, "{s}"),
            Failure::Transport(e) => write!(f, "transport: {e}"),
            Failure::Moved(e) => write!(f, "the listing moved: {e}"),
        }
    }
}

impl Retryable for Failure {
    fn classify(&self) -> (Trouble, Option<Duration>) {
        match self {
            Failure::Throttled(_, h) => (Trouble::Throttled, *h),
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

/// The filter instant format (R §3: `YYYY-MM-DDTHH:mm`).
fn minute(t: At) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// The window a listing at `now` covers (module docs, "Windows"), in whole UTC days.
fn default_window(window: Window, now: At) -> Option<(At, At)> {
    match window {
        Window::None => None,
        Window::Bookings => Some((midnight(now, -1), midnight(now, 31))),
        Window::Checkins => Some((midnight(now, -2), midnight(now, 1))),
    }
}

fn midnight(t: At, days: i64) -> At {
    let d = t.date_naive() + chrono::Duration::days(days);
    d.and_hms_opt(0, 0, 0).map_or(t, |n| n.and_utc())
}

/// `Retry-After` in seconds, else the "Wait N seconds" of a 429 text (R §4 [O]).
fn wait_of(headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
    if let Some(s) = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(s));
    }
    let text = std::str::from_utf8(body).ok()?.to_ascii_lowercase();
    let rest = &text[text.find("wait ")? + 5..];
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    n.parse().ok().map(Duration::from_secs)
}

fn message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let m = v
        .as_ref()
        .and_then(|v| v.get("Message").or_else(|| v.get("error_description")))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(120).collect());
    m.chars().take(200).collect()
}

/// A Nexudus admin API client.
pub struct NexudusSource<S> {
    secrets: S,
    config: NexudusConfig,
    http: reqwest::Client,
    credentials: tokio::sync::Mutex<Option<Arc<Credentials>>>,
    token: tokio::sync::Mutex<Option<Token>>,
    budgets: Vec<Arc<dyn RequestBudget>>,
    counters: Counters,
    /// Token requests (password and refresh grants).
    token_requests: Counter,
    /// Refresh-token grants among them.
    refreshes: Counter,
}

impl<S: SecretSource> NexudusSource<S> {
    /// A client reading its credentials from `secrets`, with the default budget
    /// ([`REQUESTS_PER_SECOND`] per second and [`REQUESTS_PER_MINUTE`] per minute).
    ///
    /// # Errors
    /// `Unavailable` if the HTTP client cannot be built.
    pub fn new(secrets: S, config: NexudusConfig) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("access-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Self::unavailable(format!("cannot build the HTTP client: {e}")))?;
        let window = |n: usize, d: Duration| -> Result<Arc<dyn RequestBudget>, SourceError> {
            Ok(Arc::new(
                SlidingWindow::new(n, d).map_err(|e| Self::unavailable(e.to_string()))?,
            ))
        };
        let budgets = vec![
            window(REQUESTS_PER_SECOND, Duration::from_secs(1))?,
            window(REQUESTS_PER_MINUTE, Duration::from_secs(60))?,
        ];
        Ok(Self {
            secrets,
            config,
            http,
            credentials: tokio::sync::Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
            budgets,
            counters: Counters::default(),
            token_requests: Counter::default(),
            refreshes: Counter::default(),
        })
    }

    /// Replaces the request budget (a shared one, or `Unlimited` for benches).
    pub fn with_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budgets = vec![budget];
        self
    }

    /// What was sent so far.
    pub fn stats(&self) -> SourceStats {
        let c = &self.counters;
        SourceStats {
            requests: c.requests.get(),
            token_requests: self.token_requests.get(),
            refreshes: self.refreshes.get(),
            pages: c.pages.get(),
            throttled: c.throttled.get(),
            server_errors: c.server_errors.get(),
            transport_errors: c.transport_errors.get(),
            unauthorized: c.unauthorized.get(),
        }
    }

    fn unavailable(reason: impl Into<String>) -> SourceError {
        SourceError::Unavailable {
            platform: Platform::Nexudus,
            reason: reason.into(),
        }
    }

    fn unreadable(collection: &str, reason: impl Into<String>) -> SourceError {
        SourceError::Unreadable {
            platform: Platform::Nexudus,
            collection: collection.to_owned(),
            reason: reason.into(),
        }
    }

    fn unauthorized(reason: impl Into<String>) -> SourceError {
        SourceError::Unauthorized {
            platform: Platform::Nexudus,
            reason: reason.into(),
        }
    }

    async fn acquire(&self) -> Result<(), SourceError> {
        for b in &self.budgets {
            b.acquire()
                .await
                .map_err(|e| Self::unavailable(format!("request budget: {e}")))?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ credentials and token

    async fn credentials(&self) -> Result<Arc<Credentials>, SourceError> {
        let mut slot = self.credentials.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let name = &self.config.secret_name;
        let text = match self.secrets.secret(name).await {
            Ok(v) => v,
            Err(SecretError::Unavailable(e)) => {
                return Err(Self::unavailable(format!("secret store: {e}")));
            }
            Err(SecretError::NotFound(_) | SecretError::Empty(_)) => {
                return Err(SourceError::NotConfigured {
                    platform: Platform::Nexudus,
                });
            }
        };
        let creds = match Credentials::parse(text.expose()) {
            Ok(c) => Arc::new(c),
            Err(CredentialsError::Missing(field)) => {
                tracing::warn!(secret = %name, field, "Nexudus secret is not filled in");
                return Err(SourceError::NotConfigured {
                    platform: Platform::Nexudus,
                });
            }
            Err(CredentialsError::Invalid(why)) => {
                return Err(Self::unauthorized(format!("secret {name}: {why}")));
            }
        };
        *slot = Some(creds.clone());
        Ok(creds)
    }

    /// The `Authorization` header. `refused`: the header Nexudus just answered 401 to, so a
    /// token is refreshed (unless another request already did).
    async fn authorization(
        &self,
        creds: &Credentials,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue, SourceError> {
        if creds.auth == AuthMode::Basic {
            let raw = format!("{}:{}", creds.username, creds.password.expose());
            let mut h = HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes())))
                .map_err(|_| Self::unauthorized("the credentials are not a header value"))?;
            h.set_sensitive(true);
            return Ok(h);
        }
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && refused != Some(&t.header)
            && Instant::now() < t.renew_at
        {
            return Ok(t.header.clone());
        }
        let refresh = slot.as_ref().and_then(|t| t.refresh.clone());
        let token = match refresh {
            Some(rt) if refused.is_some() || slot.is_some() => {
                match self.fetch_token(creds, Some(&rt)).await {
                    Ok(t) => t,
                    // A refused refresh token (expired, or replaced by another refresh for
                    // this client id): the password grant.
                    Err(SourceError::Unauthorized { .. }) => self.fetch_token(creds, None).await?,
                    Err(e) => return Err(e),
                }
            }
            _ => self.fetch_token(creds, None).await?,
        };
        *slot = Some(token.clone());
        Ok(token.header)
    }

    /// `POST <api>/token` (R §1), retried within the policy.
    async fn fetch_token(
        &self,
        creds: &Credentials,
        refresh: Option<&str>,
    ) -> Result<Token, SourceError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.acquire().await?;
            self.token_requests.bump();
            let body = {
                let mut form = form_urlencoded::Serializer::new(String::new());
                match refresh {
                    Some(rt) => {
                        self.refreshes.bump();
                        form.append_pair("grant_type", "refresh_token")
                            .append_pair("refresh_token", rt)
                    }
                    None => form
                        .append_pair("grant_type", "password")
                        .append_pair("username", &creds.username)
                        .append_pair("password", creds.password.expose()),
                };
                form.append_pair("client_id", &creds.client_id).finish()
            };
            let sent = self
                .http
                .post(format!("{}/token", creds.api_base))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(body)
                .send()
                .await;
            let failure = match sent {
                Err(e) => Failure::Transport(e.without_url().to_string()),
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Err(e) => Failure::Transport(e.without_url().to_string()),
                        Ok(body) => match status {
                            StatusCode::OK => return self.token_from(&body),
                            StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => {
                                Failure::Throttled(status.as_u16(), wait_of(&headers, &body))
                            }
                            s if s.is_server_error() => {
                                Failure::Server(s, wait_of(&headers, &body))
                            }
                            s => {
                                let code = serde_json::from_slice::<Value>(&body)
                                    .ok()
                                    .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
                                    .unwrap_or_default();
                                return Err(Self::unauthorized(format!(
                                    "token endpoint answered {} {code}: {}",
                                    s.as_u16(),
                                    message(&body)
                                )));
                            }
                        },
                    }
                }
            };
            self.back_off(&failure, attempt, started, "token").await?;
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
        let lifetime = Duration::from_secs(
            v.get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(604_799),
        );
        let keep = if lifetime > 2 * TOKEN_REFRESH_MARGIN {
            lifetime - TOKEN_REFRESH_MARGIN
        } else {
            lifetime / 2
        };
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Self::unreadable("token", "the access_token is not a header value"))?;
        header.set_sensitive(true);
        Ok(Token {
            header,
            renew_at: Instant::now() + keep,
            refresh: v
                .get("refresh_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }

    // ------------------------------------------------------------------ transport

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
            budgets: &self.budgets,
            client: "Nexudus",
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
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(classify)?.to_vec();
        if status == StatusCode::CONFLICT || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Throttled(
                status.as_u16(),
                wait_of(&headers, &body),
            ));
        }
        if status.is_server_error() {
            return Err(Failure::Server(status, wait_of(&headers, &body)));
        }
        Ok(Reply { status, body })
    }

    /// `GET <api>/<path>?<query>`: budget, retries, one token refresh after a 401; `check`
    /// turns a 200 it cannot accept (a page that does not continue) into a retry.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        check: &(dyn Fn(&Reply) -> Result<(), String> + Sync),
    ) -> Result<Reply, SourceError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut renewed = false;
        let creds = self.credentials().await?;
        let mut auth = self.authorization(&creds, None).await?;
        let url = format!("{}/{path}", creds.api_base);
        loop {
            attempt += 1;
            self.acquire().await?;
            self.counters.requests.bump();
            let failure = match self.attempt(&url, query, &auth).await {
                Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => {
                    self.counters.unauthorized.bump();
                    if renewed || creds.auth == AuthMode::Basic {
                        return Err(Self::unauthorized(format!(
                            "{what}: 401 ({}); the user may lack API access or the {what} role",
                            message(&reply.body)
                        )));
                    }
                    tracing::info!(what, "Nexudus refused the token: refreshing it");
                    renewed = true;
                    attempt -= 1;
                    auth = self.authorization(&creds, Some(&auth)).await?;
                    continue;
                }
                Ok(reply) if reply.status == StatusCode::OK => match check(&reply) {
                    Ok(()) => return Ok(reply),
                    Err(why) => Failure::Moved(why),
                },
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            self.back_off(&failure, attempt, started, what).await?;
        }
    }

    fn record(spec: &Spec, v: &Value) -> Result<SourceRecord, SourceError> {
        let id = match v.get("Id") {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => return Err(Self::unreadable(spec.name, "a record has no Id")),
        };
        let modified_at = ["UpdatedOn", "CreatedOn"].iter().find_map(|k| {
            let s = v.get(*k)?.as_str()?;
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .ok()
                        .map(|n| n.and_utc())
                })
        });
        Ok(SourceRecord {
            collection: spec.name.to_owned(),
            id,
            modified_at,
            body: v.clone(),
        })
    }

    fn spec(collection: &str) -> Result<&'static Spec, SourceError> {
        find(collection).ok_or_else(|| {
            Self::unreadable(
                collection,
                format!("not a Nexudus collection this client reads (one of {NAMES:?})"),
            )
        })
    }

    /// The filters of a listing (everything but the paging).
    fn filters(spec: &Spec, req: &ListRequest) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let e = spec.entity;
        if let Some(t) = req.changed_since {
            q.push((
                format!("from_{e}_UpdatedOn"),
                minute(t - ZONE_MARGIN - chrono::Duration::minutes(1)),
            ));
        }
        // Only `coworker_records` without a window still falls back to the system clock;
        // the sync passes `PlatformSource::window` at its own `now`.
        if let Some((from, to)) = req
            .window
            .or_else(|| default_window(spec.window, Utc::now()))
        {
            match spec.window {
                Window::None => {}
                Window::Bookings => {
                    q.push((format!("from_{e}_ToTime"), minute(from - ZONE_MARGIN)));
                    q.push((format!("to_{e}_FromTime"), minute(to + ZONE_MARGIN)));
                }
                Window::Checkins => {
                    q.push((format!("from_{e}_FromTime"), minute(from - ZONE_MARGIN)));
                    q.push((format!("to_{e}_FromTime"), minute(to + ZONE_MARGIN)));
                }
            }
        }
        q
    }

    /// One page of `spec` with `filters`; `cursor` as [`Page::next`] made it.
    async fn page(
        &self,
        spec: &'static Spec,
        filters: &[(String, String)],
        cursor: Option<&str>,
    ) -> Result<Page, SourceError> {
        let size = self.config.page_size.clamp(1, MAX_PAGE_SIZE) as u64;
        let (page, total) = match cursor {
            None => (1u64, None),
            Some(c) => {
                let parsed = c
                    .split_once(':')
                    .and_then(|(p, t)| Some((p.parse::<u64>().ok()?, t.parse::<u64>().ok()?)));
                match parsed {
                    Some((p, t)) if p >= 2 => (p, Some(t)),
                    _ => return Err(Self::unreadable(spec.name, "not a cursor of this client")),
                }
            }
        };
        let mut query: Vec<(&str, String)> = vec![
            ("page", page.to_string()),
            ("size", size.to_string()),
            ("orderBy", "Id".into()),
        ];
        for (k, v) in filters {
            query.push((k.as_str(), v.clone()));
        }
        let check = |reply: &Reply| -> Result<(), String> {
            let v: Value =
                serde_json::from_slice(&reply.body).map_err(|_| "not JSON".to_owned())?;
            let n = v
                .get("Records")
                .and_then(Value::as_array)
                .map_or(0, Vec::len) as u64;
            let got_total = v.get("TotalItems").and_then(Value::as_u64).unwrap_or(0);
            let pages = v.get("TotalPages").and_then(Value::as_u64).unwrap_or(0);
            if let Some(t) = total
                && t != got_total
            {
                return Err(format!("TotalItems went from {t} to {got_total}"));
            }
            if n > 0
                && let Some(first) = v.get("FirstItem").and_then(Value::as_u64)
                && first != (page - 1) * size + 1
            {
                return Err(format!("page {page} starts at item {first}"));
            }
            if page < pages && n < size {
                return Err(format!(
                    "page {page} of {pages} holds {n} of {size} records"
                ));
            }
            Ok(())
        };
        let reply = self.get(spec.path, &query, spec.name, &check).await?;
        if reply.status == StatusCode::FORBIDDEN {
            return Err(Self::unauthorized(format!(
                "{}: 403 {}",
                spec.name,
                message(&reply.body)
            )));
        }
        if reply.status != StatusCode::OK {
            return Err(Self::unreadable(
                spec.name,
                format!("{} {}", reply.status.as_u16(), message(&reply.body)),
            ));
        }
        let v: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| Self::unreadable(spec.name, "the page is not JSON"))?;
        let rows = v
            .get("Records")
            .and_then(Value::as_array)
            .ok_or_else(|| Self::unreadable(spec.name, "the page has no Records array"))?;
        let pages = v
            .get("TotalPages")
            .and_then(Value::as_u64)
            .ok_or_else(|| Self::unreadable(spec.name, "the page has no TotalPages"))?;
        let total = v.get("TotalItems").and_then(Value::as_u64).unwrap_or(0);
        let mut records = rows
            .iter()
            .map(|r| Self::record(spec, r))
            .collect::<Result<Vec<_>, _>>()?;
        if spec.name == "teams" && !records.is_empty() {
            records = self.complete(spec, records).await?;
        }
        self.counters.pages.bump();
        Ok(Page {
            records,
            next: (page < pages).then(|| format!("{}:{total}", page + 1)),
        })
    }

    /// Replaces list rows by their full records with one batch read (R §3 `?id=[…]`); a row
    /// whose record is gone meanwhile is dropped (it was deleted).
    async fn complete(
        &self,
        spec: &'static Spec,
        rows: Vec<SourceRecord>,
    ) -> Result<Vec<SourceRecord>, SourceError> {
        let ids = format!(
            "[{}]",
            rows.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let reply = self
            .get(spec.path, &[("id", ids)], spec.name, &|_| Ok(()))
            .await?;
        if reply.status != StatusCode::OK {
            return Err(Self::unreadable(
                spec.name,
                format!(
                    "batch read: {} {}",
                    reply.status.as_u16(),
                    message(&reply.body)
                ),
            ));
        }
        let full: Vec<Value> = serde_json::from_slice(&reply.body)
            .map_err(|_| Self::unreadable(spec.name, "the batch answer is not a JSON array"))?;
        let full = full
            .iter()
            .map(|r| Self::record(spec, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|row| full.iter().find(|f| f.id == row.id).cloned())
            .collect())
    }

    /// One record by id ([`PlatformSource::read`]); `None` on 404.
    async fn read_by_id(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<SourceRecord>, SourceError> {
        let spec = Self::spec(collection)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            // Nexudus ids are integers (R §2): anything else names nothing.
            return Ok(None);
        }
        let reply = self
            .get(&format!("{}/{id}", spec.path), &[], spec.name, &|_| Ok(()))
            .await?;
        match reply.status {
            StatusCode::OK => {
                let v: Value = serde_json::from_slice(&reply.body)
                    .map_err(|_| Self::unreadable(spec.name, "the record is not JSON"))?;
                Self::record(spec, &v).map(Some)
            }
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::FORBIDDEN => Err(Self::unauthorized(format!(
                "{}: 403 {}",
                spec.name,
                message(&reply.body)
            ))),
            s => Err(Self::unreadable(
                spec.name,
                format!("{} {}", s.as_u16(), message(&reply.body)),
            )),
        }
    }

    /// Every record of one coworker: the coworker, its contracts, time passes, floor-plan
    /// units, bookings (in `window`, or the default), booking visitors of those bookings, and
    /// check-ins — what `AccessControlUpdate` (R §5.2) asks to re-read. `Ok(None)` when the
    /// coworker no longer exists.
    ///
    /// # Errors
    /// See [`SourceError`].
    pub async fn coworker_records(
        &self,
        coworker: &str,
        window: Option<(At, At)>,
    ) -> Result<Option<Vec<SourceRecord>>, SourceError> {
        let Some(me) = self.read_by_id("coworkers", coworker).await? else {
            return Ok(None);
        };
        let mut out = vec![me];
        for name in [
            "coworkercontracts",
            "coworkertimepasses",
            "floorplandesks",
            "bookings",
            "checkins",
        ] {
            let spec = Self::spec(name)?;
            let mut filters = Self::filters(
                spec,
                &ListRequest {
                    collection: name.into(),
                    changed_since: None,
                    window,
                    cursor: None,
                },
            );
            filters.push((format!("{}_Coworker", spec.entity), coworker.to_owned()));
            let mut cursor: Option<String> = None;
            loop {
                let page = self.page(spec, &filters, cursor.as_deref()).await?;
                // The filter by coworker is ours to trust only as far as the rows say so.
                out.extend(page.records.into_iter().filter(|r| {
                    r.body.get("CoworkerId").and_then(id_text).as_deref() == Some(coworker)
                }));
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        let bookings: Vec<String> = out
            .iter()
            .filter(|r| r.collection == "bookings")
            .map(|r| r.id.clone())
            .collect();
        let spec = Self::spec("bookingvisitors")?;
        for b in bookings {
            let filters = vec![("BookingVisitor_Booking".to_owned(), b.clone())];
            let mut cursor: Option<String> = None;
            loop {
                let page = self.page(spec, &filters, cursor.as_deref()).await?;
                out.extend(page.records.into_iter().filter(|r| {
                    r.body.get("BookingId").and_then(id_text).as_deref() == Some(b.as_str())
                }));
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        Ok(Some(out))
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Standard base64 (RFC 4648) for the Basic header.
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl<S: SecretSource> PlatformSource for NexudusSource<S> {
    fn platform(&self) -> Platform {
        Platform::Nexudus
    }

    fn collections(&self) -> &'static [&'static str] {
        &NAMES
    }

    /// Every collection takes `from_<Entity>_UpdatedOn` (R §3).
    fn incremental(&self, collection: &str) -> bool {
        find(collection).is_some()
    }

    fn window(&self, collection: &str, now: At) -> Option<(At, At)> {
        default_window(find(collection)?.window, now)
    }

    async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
        let spec = Self::spec(&request.collection)?;
        let filters = Self::filters(spec, request);
        self.page(spec, &filters, request.cursor.as_deref()).await
    }

    /// Nexudus records embed nothing dated, so `now` changes nothing.
    async fn read(
        &self,
        collection: &str,
        id: &str,
        _now: At,
    ) -> Result<Option<SourceRecord>, SourceError> {
        self.read_by_id(collection, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_waits() {
        assert_eq!(base64(b"a@b.c:pw"), "YUBiLmM6cHc=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        let h = HeaderMap::new();
        assert_eq!(
            wait_of(&h, b"Too many requests. Wait 7 seconds."),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait_of(&h, b""), None);
    }

    #[test]
    fn filters_widen_for_the_zone_and_name_the_entity() {
        let t: At = "2026-12-03T12:00:00Z".parse().unwrap();
        let spec = find("bookings").unwrap();
        let q = NexudusSource::<access_sync_ports::memory::MemorySecrets>::filters(
            spec,
            &ListRequest {
                collection: "bookings".into(),
                changed_since: Some(t),
                window: Some((t, t + chrono::Duration::days(1))),
                cursor: None,
            },
        );
        assert_eq!(
            q,
            vec![
                ("from_Booking_UpdatedOn".into(), "2026-12-02T21:59".into()),
                ("from_Booking_ToTime".into(), "2026-12-02T22:00".into()),
                ("to_Booking_FromTime".into(), "2026-12-05T02:00".into()),
            ]
        );
    }
}
