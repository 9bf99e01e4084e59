//! [`KisiClient`]: every HTTP call access-sync makes to Kisi.
//!
//! One `reqwest::Client` with timeouts, built once; the base URL is injected (the simulator in
//! tests, `https://api.kisi.io` in production). Every attempt first takes a token from the
//! [`RequestBudget`]; 429, 5xx, timeouts and broken connections are retried with exponential
//! backoff and jitter until `max_attempts` or the per-operation deadline, whichever comes first.
//!
//! Retrying a create is safe here because Kisi's 409 is handled: a retried `POST /users` that
//! already happened finds the user by exact e-mail, and a retried `POST /role_assignments`
//! returns the existing assignment after checking it is the same user, group and role (whether
//! it is access-sync's own is decided by the engine, from the intent it wrote before the create).
//!
//! The API key is fixed ([`KisiClient::new`]) or read from a [`KeySource`]
//! ([`KisiClient::with_key_source`]): then on the first request, and once more when Kisi answers
//! 401 (the key was rotated), the request being sent again with the new key; a second 401 is the
//! answer.
//!
//! There is deliberately no method that deletes a Kisi user: access-sync only removes the
//! access it granted (role assignments).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::KisiError;
use crate::budget::{RequestBudget, SlidingWindow};
use crate::pagination::{CollectionRange, PageCheck};
use crate::secret::{ApiKey, KeySource};
use crate::types::{
    EnsuredUser, Grant, GrantOutcome, Group, GroupId, InvitePolicy, NewUser, OWNERSHIP_MARKER,
    Place, PlaceId, PlaceRoleAssignment, ROLE_GROUP_BASIC, ROLE_PLACE_BASIC, RawAssignment,
    RevokeOutcome, RoleAssignment, RoleAssignmentId, User, UserId, UserOrigin,
};

/// Kisi's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.kisi.io";

/// Page limits from the published spec (the maximum per endpoint).
const USERS_MAX_LIMIT: u32 = 100;
const GROUPS_MAX_LIMIT: u32 = 250;
const ASSIGNMENTS_MAX_LIMIT: u32 = 250;
const PLACES_MAX_LIMIT: u32 = 250;

/// How hard to try before giving up on one operation.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time (with jitter).
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// Shortest wait after a 429 without `Retry-After` (Kisi advises at least 1 s).
    pub rate_limit_floor: Duration,
    /// Total time for one request including retries; no retry starts past it.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            rate_limit_floor: Duration::from_secs(1),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with "equal jitter": half fixed, half random, so retries from many
    /// tasks spread out but none comes back immediately.
    fn delay(&self, attempt: u32, rate_limited: bool, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        let d = half + Duration::from_millis(jitter);
        if rate_limited {
            d.max(retry_after.unwrap_or(self.rate_limit_floor))
        } else {
            d
        }
    }
}

/// Everything the client needs; build with [`KisiConfig::new`] or [`KisiConfig::from_env`].
#[derive(Debug, Clone)]
pub struct KisiConfig {
    /// Base URL without a trailing slash, e.g. `https://api.kisi.io`.
    pub base_url: String,
    /// The API key (never printed).
    pub api_key: ApiKey,
    /// Timeout of one HTTP attempt, connect to last byte.
    pub request_timeout: Duration,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Page size for listings; `None` uses each endpoint's maximum (fewest calls).
    pub page_size: Option<u32>,
}

impl KisiConfig {
    /// A config with production defaults for this base URL and key.
    pub fn new(base_url: impl Into<String>, api_key: ApiKey) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            page_size: None,
        }
    }

    /// Reads `KISI_API_KEY` (required) and `KISI_BASE_URL` (default `https://api.kisi.io`).
    ///
    /// # Errors
    /// `Config` with a message that says which variable to set and how.
    pub fn from_env() -> Result<Self, KisiError> {
        let key = std::env::var("KISI_API_KEY").unwrap_or_default();
        let key = ApiKey::new(key);
        if key.is_empty() {
            return Err(KisiError::Config(
                "KISI_API_KEY is not set: create an API key in Kisi (My Account → API → Add API \
                 key, as an organisation owner or admin) and export KISI_API_KEY=<key>"
                    .into(),
            ));
        }
        let base = std::env::var("KISI_BASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        Ok(Self::new(base, key))
    }
}

/// Counters of HTTP attempts, for benchmarks and operator logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// HTTP requests sent (first attempts and retries).
    pub requests: u64,
    /// Answers with 429.
    pub rate_limited: u64,
    /// Answers with 5xx.
    pub server_errors: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Attempts whose connection failed or broke.
    pub transport_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    timeouts: AtomicU64,
    transport_errors: AtomicU64,
}

/// One answer from Kisi, fully read.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    range: Option<String>,
    body: Vec<u8>,
}

/// Why one attempt failed in a retryable way.
#[derive(Debug)]
enum Failure {
    RateLimited(Option<Duration>),
    Server(StatusCode),
    Timeout,
    Transport(String),
}

/// Where the `Authorization` header comes from.
enum Key {
    /// One key for the client's life.
    Fixed(HeaderValue),
    /// Read from `source` on the first request and again after a 401.
    Source {
        source: Arc<dyn KeySource>,
        current: tokio::sync::RwLock<Option<HeaderValue>>,
    },
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Key::Fixed(_) => "Key::Fixed(<redacted>)",
            Key::Source { .. } => "Key::Source(<redacted>)",
        })
    }
}

/// `KISI-LOGIN <key>`, marked sensitive.
fn auth_header(key: &ApiKey) -> Result<HeaderValue, KisiError> {
    if key.is_empty() {
        return Err(KisiError::Config("the Kisi API key is empty".into()));
    }
    let mut auth =
        HeaderValue::from_str(&format!("KISI-LOGIN {}", key.expose())).map_err(|_| {
            KisiError::Config("the Kisi API key contains characters not allowed in a header".into())
        })?;
    auth.set_sensitive(true);
    Ok(auth)
}

/// The Kisi adapter. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct KisiClient {
    http: reqwest::Client,
    key: Key,
    base_url: String,
    retry: RetryPolicy,
    page_size: Option<u32>,
    budget: Arc<dyn RequestBudget>,
    counters: Counters,
}

/// `POST /users` body. `send_emails`/`confirm` are left out under `kisi_default`.
#[derive(Serialize)]
struct CreateUserBody<'a> {
    user: CreateUserFields<'a>,
}

#[derive(Serialize)]
struct CreateUserFields<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    notes: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    send_emails: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<bool>,
}

/// `POST /role_assignments` body in the canonical shape: the deprecated `user_id`/`group_id`
/// shape of the how-to guide does not validate against the published schema.
#[derive(Serialize)]
struct CreateAssignmentBody<'a> {
    role_assignment: CreateAssignmentFields<'a>,
}

#[derive(Serialize)]
struct CreateAssignmentFields<'a> {
    applies_to_type: &'a str,
    applies_to_id: u64,
    assignee_type: &'a str,
    assignee_id: u64,
    role_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Exact e-mail equality as Kisi treats e-mails: case-insensitive, surrounding blanks ignored.
pub fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Items of a listing that carry a Kisi id, so duplicates across pages can be caught.
trait Keyed {
    fn key(&self) -> u64;
}
impl Keyed for User {
    fn key(&self) -> u64 {
        self.id.0
    }
}
impl Keyed for Group {
    fn key(&self) -> u64 {
        self.id.0
    }
}
impl Keyed for Place {
    fn key(&self) -> u64 {
        self.id.0
    }
}
impl Keyed for RawAssignment {
    fn key(&self) -> u64 {
        self.id().0
    }
}

impl KisiClient {
    /// Builds the client with the in-process budget for one Kisi key ([`SlidingWindow::kisi`]).
    ///
    /// # Errors
    /// `Config` for an unusable base URL or key.
    pub fn new(config: KisiConfig) -> Result<Self, KisiError> {
        let key = Key::Fixed(auth_header(&config.api_key)?);
        Self::build(config, key)
    }

    /// Builds the client with its key read from `source` (`config.api_key` is not used): on
    /// the first request, so a process that never calls Kisi never reads it, and once more
    /// when Kisi answers 401.
    ///
    /// # Errors
    /// `Config` for an unusable base URL.
    pub fn with_key_source(
        config: KisiConfig,
        source: impl KeySource + 'static,
    ) -> Result<Self, KisiError> {
        let key = Key::Source {
            source: Arc::new(source),
            current: tokio::sync::RwLock::new(None),
        };
        Self::build(config, key)
    }

    fn build(config: KisiConfig, key: Key) -> Result<Self, KisiError> {
        let base = config.base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| KisiError::Config(format!("KISI_BASE_URL {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(KisiError::Config(format!(
                "KISI_BASE_URL {base:?} must start with https:// (or http:// for the simulator)"
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        // Kisi asks integrations to identify themselves.
        headers.insert(
            "X-Kisi-Integration-Identifier",
            HeaderValue::from_static("access-sync"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("access-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KisiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            key,
            base_url: base,
            retry: config.retry,
            page_size: config.page_size,
            budget: Arc::new(SlidingWindow::kisi()),
            counters: Counters::default(),
        })
    }

    /// Replaces the request budget (a shared budget, or [`crate::Unlimited`] for tests).
    pub fn with_budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Attempts made so far.
    pub fn stats(&self) -> CallStats {
        let c = &self.counters;
        CallStats {
            requests: c.requests.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            transport_errors: c.transport_errors.load(Ordering::Relaxed),
        }
    }

    // ------------------------------------------------------------------ transport

    /// The `Authorization` header to send. `stale`: the one Kisi just refused, so the key is
    /// read again at its source (unless another request already did).
    async fn auth(&self, stale: Option<&HeaderValue>) -> Result<HeaderValue, KisiError> {
        let (source, current) = match &self.key {
            Key::Fixed(h) => return Ok(h.clone()),
            Key::Source { source, current } => (source, current),
        };
        if stale.is_none()
            && let Some(h) = current.read().await.as_ref()
        {
            return Ok(h.clone());
        }
        let mut slot = current.write().await;
        if let Some(h) = slot.as_ref()
            && stale != Some(h)
        {
            return Ok(h.clone());
        }
        let h = auth_header(&source.key(stale.is_some()).await?)?;
        *slot = Some(h.clone());
        Ok(h)
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        auth: &HeaderValue,
    ) -> Result<Reply, Failure> {
        let url = format!("{}{}", self.base_url, path);
        let mut req = self
            .http
            .request(method.clone(), url)
            .header(header::AUTHORIZATION, auth.clone())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Transport(e.without_url().to_string())
            }
        };
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status();
        let range = resp
            .headers()
            .get("x-collection-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.map_err(classify)?.to_vec();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::RateLimited(retry_after));
        }
        if status.is_server_error() {
            return Err(Failure::Server(status));
        }
        Ok(Reply {
            status,
            range,
            body,
        })
    }

    /// Sends one request, retrying transient failures within the policy.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply, KisiError> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut auth = self.auth(None).await?;
        let mut key_reread = false;
        loop {
            attempt += 1;
            self.budget.acquire().await?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.attempt(&method, path, query, body, &auth).await {
                Ok(reply)
                    if reply.status == StatusCode::UNAUTHORIZED
                        && !key_reread
                        && matches!(self.key, Key::Source { .. }) =>
                {
                    tracing::warn!("Kisi refused the API key: reading it again");
                    auth = self.auth(Some(&auth)).await?;
                    key_reread = true;
                    continue;
                }
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            let (rate_limited, hint) = match &failure {
                Failure::RateLimited(hint) => {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    (true, *hint)
                }
                Failure::Server(_) => {
                    self.counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    (false, None)
                }
                Failure::Timeout => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    (false, None)
                }
                Failure::Transport(_) => {
                    self.counters
                        .transport_errors
                        .fetch_add(1, Ordering::Relaxed);
                    (false, None)
                }
            };
            let delay = self.retry.delay(attempt, rate_limited, hint);
            if attempt >= self.retry.max_attempts || started.elapsed() + delay > self.retry.deadline
            {
                return Err(match failure {
                    Failure::RateLimited(_) => KisiError::RateLimited { attempts: attempt },
                    Failure::Server(s) => KisiError::Server {
                        status: s.as_u16(),
                        attempts: attempt,
                    },
                    Failure::Timeout => KisiError::Timeout { attempts: attempt },
                    Failure::Transport(detail) => KisiError::Transport {
                        detail,
                        attempts: attempt,
                    },
                });
            }
            if rate_limited {
                // Everyone drawing on this budget waits, not only this task.
                self.budget.rate_limited(delay);
            }
            tracing::debug!(%method, path, attempt, ?failure, delay_ms = delay.as_millis() as u64, "retrying Kisi request");
            tokio::time::sleep(delay).await;
        }
    }

    /// Turns a non-success answer into the matching error.
    fn error_for(reply: &Reply, what: &str) -> KisiError {
        let message = || {
            serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&reply.body)
                        .chars()
                        .take(200)
                        .collect()
                })
        };
        match reply.status {
            StatusCode::UNAUTHORIZED => KisiError::Unauthorized,
            StatusCode::FORBIDDEN => KisiError::Forbidden { what: what.into() },
            StatusCode::NOT_FOUND => KisiError::NotFound { what: what.into() },
            StatusCode::CONFLICT => KisiError::Conflict {
                detail: format!("{what}: {}", message()),
            },
            StatusCode::UNPROCESSABLE_ENTITY => {
                #[derive(serde::Deserialize)]
                struct Errors {
                    errors: BTreeMap<String, Vec<String>>,
                }
                match serde_json::from_slice::<Errors>(&reply.body) {
                    Ok(e) => KisiError::Validation { errors: e.errors },
                    Err(_) => KisiError::Unexpected {
                        what: what.into(),
                        status: 422,
                        detail: message(),
                    },
                }
            }
            s => KisiError::Unexpected {
                what: what.into(),
                status: s.as_u16(),
                detail: message(),
            },
        }
    }

    fn parse<T: DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, KisiError> {
        serde_json::from_slice(&reply.body).map_err(|e| KisiError::Unexpected {
            what: what.into(),
            status: reply.status.as_u16(),
            detail: format!("unreadable body: {e}"),
        })
    }

    async fn get_one<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, KisiError> {
        let reply = self.send(Method::GET, path, &[], None).await?;
        if reply.status == StatusCode::OK {
            Self::parse(&reply, what)
        } else {
            Err(Self::error_for(&reply, what))
        }
    }

    /// Reads a whole collection, page by page, and proves it complete: every page must start
    /// where asked, hold exactly the items its `X-Collection-Range` announces, agree on the
    /// total, and add no id seen before; the sum must equal the total. Anything else is
    /// `IncompleteRead`, never a shorter list.
    async fn list_all<T: DeserializeOwned + Keyed>(
        &self,
        path: &str,
        filters: &[(&str, String)],
        max_limit: u32,
        what: &str,
    ) -> Result<Vec<T>, KisiError> {
        let limit = self.page_size.unwrap_or(max_limit).clamp(1, max_limit);
        let mut check = PageCheck::new(what);
        let mut out: Vec<T> = Vec::new();
        let mut seen: HashSet<u64> = HashSet::new();
        loop {
            let offset = out.len() as u64;
            let mut query: Vec<(&str, String)> = filters.to_vec();
            query.push(("limit", limit.to_string()));
            query.push(("offset", offset.to_string()));
            let reply = self.send(Method::GET, path, &query, None).await?;
            if reply.status != StatusCode::OK {
                return Err(Self::error_for(&reply, what));
            }
            let items: Vec<T> = Self::parse(&reply, what)?;
            let range = reply
                .range
                .as_deref()
                .ok_or_else(|| check.fail("the answer has no X-Collection-Range header"))?;
            let range = CollectionRange::parse(range)
                .ok_or_else(|| check.fail(&format!("unreadable X-Collection-Range {range:?}")))?;
            let done = check.page(offset, items.len() as u64, range)?;
            for item in items {
                if !seen.insert(item.key()) {
                    return Err(check.fail(&format!(
                        "id {} appears twice (the collection changed while paging)",
                        item.key()
                    )));
                }
                out.push(item);
            }
            if done {
                return Ok(out);
            }
        }
    }

    // ------------------------------------------------------------------ users

    /// The user with exactly this e-mail (case-insensitive), or `None`.
    ///
    /// Asks `GET /users?email=` first. Whatever comes back is filtered for an exact match, so
    /// neither an ignored filter nor a fuzzy one can bind a member to someone else's account.
    /// If the filter returned users but none matches exactly (the filter was not honoured),
    /// the free-text `query=` search is tried with the same exact check.
    ///
    /// # Errors
    /// Transport and listing errors; `Conflict` if two Kisi users have this e-mail.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, KisiError> {
        let email = email.trim();
        let users: Vec<User> = self
            .list_all(
                "/users",
                &[("email", email.to_owned())],
                USERS_MAX_LIMIT,
                "users by e-mail",
            )
            .await?;
        let answered = !users.is_empty();
        if let Some(found) = Self::exactly_one(users, email)? {
            return Ok(Some(found));
        }
        if answered {
            tracing::debug!("Kisi's email filter returned no exact match; trying query=");
            return self.find_user_by_query(email).await;
        }
        Ok(None)
    }

    /// Exact match over the fuzzy free-text search (`query=` searches e-mail, name and notes).
    async fn find_user_by_query(&self, email: &str) -> Result<Option<User>, KisiError> {
        let users: Vec<User> = self
            .list_all(
                "/users",
                &[("query", email.to_owned())],
                USERS_MAX_LIMIT,
                "users by query",
            )
            .await?;
        Self::exactly_one(users, email)
    }

    fn exactly_one(users: Vec<User>, email: &str) -> Result<Option<User>, KisiError> {
        let mut exact: Vec<User> = users
            .into_iter()
            .filter(|u| same_email(&u.email, email))
            .collect();
        match exact.len() {
            0 => Ok(None),
            1 => Ok(exact.pop()),
            n => Err(KisiError::Conflict {
                detail: format!("{n} Kisi users have the e-mail {email}; resolve by hand"),
            }),
        }
    }

    /// A user by id.
    ///
    /// # Errors
    /// `NotFound` when Kisi has no such user; transport errors.
    pub async fn get_user(&self, id: UserId) -> Result<User, KisiError> {
        self.get_one(&format!("/users/{id}"), &format!("user {id}"))
            .await
    }

    /// The user with this e-mail, creating it if there is none.
    ///
    /// A created user carries [`OWNERSHIP_MARKER`] in its notes and the invite policy's
    /// `send_emails`/`confirm` (`never`: a managed user that gets no Kisi e-mail). If Kisi
    /// answers 409 (the e-mail is taken: a concurrent or retried create, or a case-sensitive
    /// e-mail filter), the existing user is looked up by exact e-mail and returned as
    /// [`UserOrigin::AdoptedAfterConflict`].
    ///
    /// # Errors
    /// `Validation` for an e-mail Kisi refuses; `Conflict` if Kisi says the e-mail is taken
    /// but no user with exactly that e-mail can be found; transport errors.
    pub async fn ensure_user(
        &self,
        new: &NewUser,
        invite: InvitePolicy,
    ) -> Result<EnsuredUser, KisiError> {
        let email = new.email.trim();
        if !email.contains('@') {
            return Err(KisiError::Validation {
                errors: BTreeMap::from([(
                    "email".to_owned(),
                    vec![format!("{email:?} is not an e-mail address")],
                )]),
            });
        }
        if let Some(user) = self.find_user_by_email(email).await? {
            return Ok(EnsuredUser {
                user,
                origin: UserOrigin::Found,
            });
        }
        let body = CreateUserBody {
            user: CreateUserFields {
                email,
                name: new.name.as_deref(),
                notes: OWNERSHIP_MARKER,
                send_emails: invite.send_emails(),
                confirm: invite.confirm(),
            },
        };
        let body = serde_json::to_value(&body).map_err(|e| KisiError::Config(e.to_string()))?;
        let reply = self.send(Method::POST, "/users", &[], Some(&body)).await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED => Ok(EnsuredUser {
                user: Self::parse(&reply, "created user")?,
                origin: UserOrigin::Created,
            }),
            StatusCode::CONFLICT => match self.find_user_by_query(email).await? {
                Some(user) => Ok(EnsuredUser {
                    user,
                    origin: UserOrigin::AdoptedAfterConflict,
                }),
                None => Err(KisiError::Conflict {
                    detail: format!(
                        "Kisi says {email} is taken but shows no user with exactly that e-mail"
                    ),
                }),
            },
            _ => Err(Self::error_for(&reply, "create user")),
        }
    }

    // ------------------------------------------------------------------ groups and places

    /// Every group of the organisation.
    ///
    /// # Errors
    /// Transport errors; `IncompleteRead` if the listing is not consistent.
    pub async fn list_groups(&self) -> Result<Vec<Group>, KisiError> {
        self.list_all("/groups", &[], GROUPS_MAX_LIMIT, "groups")
            .await
    }

    /// A group by id.
    ///
    /// # Errors
    /// `NotFound` when Kisi has no such group; transport errors.
    pub async fn get_group(&self, id: GroupId) -> Result<Group, KisiError> {
        self.get_one(&format!("/groups/{id}"), &format!("group {id}"))
            .await
    }

    /// Every place of the organisation.
    ///
    /// # Errors
    /// Transport errors; `IncompleteRead` if the listing is not consistent.
    pub async fn list_places(&self) -> Result<Vec<Place>, KisiError> {
        self.list_all("/places", &[], PLACES_MAX_LIMIT, "places")
            .await
    }

    // ------------------------------------------------------------------ role assignments

    async fn list_assignments(
        &self,
        filters: &[(&str, String)],
        what: &str,
        keep: impl Fn(&RoleAssignment) -> bool,
    ) -> Result<Vec<RoleAssignment>, KisiError> {
        let raw: Vec<RawAssignment> = self
            .list_all("/role_assignments", filters, ASSIGNMENTS_MAX_LIMIT, what)
            .await?;
        // The filter is checked again here: a server that ignored it would otherwise make a
        // whole organisation look like one group's members.
        Ok(raw
            .into_iter()
            .filter_map(RawAssignment::into_group_assignment)
            .filter(|a| keep(a))
            .collect())
    }

    /// Every user assignment of a group (for reconcile).
    ///
    /// # Errors
    /// Transport errors; `IncompleteRead` if the listing is not consistent.
    pub async fn list_group_assignments(
        &self,
        group: GroupId,
    ) -> Result<Vec<RoleAssignment>, KisiError> {
        let filters = [
            ("applies_to_type", "Group".to_owned()),
            ("applies_to_id", group.to_string()),
        ];
        self.list_assignments(
            &filters,
            &format!("role assignments of group {group}"),
            |a| a.group == group,
        )
        .await
    }

    /// Every group assignment of a user.
    ///
    /// # Errors
    /// Transport errors; `IncompleteRead` if the listing is not consistent.
    pub async fn list_user_assignments(
        &self,
        user: UserId,
    ) -> Result<Vec<RoleAssignment>, KisiError> {
        let filters = [
            ("assignee_type", "User".to_owned()),
            ("assignee_id", user.to_string()),
        ];
        self.list_assignments(&filters, &format!("role assignments of user {user}"), |a| {
            a.user == user
        })
        .await
    }

    /// Every user assignment of a place (`applies_to_type=Place`), for reconcile and for the
    /// check after a 409. Assignments of other kinds are dropped even if the server ignored
    /// the filter.
    ///
    /// # Errors
    /// Transport errors; `IncompleteRead` if the listing is not consistent.
    pub async fn list_place_assignments(
        &self,
        place: PlaceId,
    ) -> Result<Vec<PlaceRoleAssignment>, KisiError> {
        let filters = [
            ("applies_to_type", "Place".to_owned()),
            ("applies_to_id", place.to_string()),
        ];
        let raw: Vec<RawAssignment> = self
            .list_all(
                "/role_assignments",
                &filters,
                ASSIGNMENTS_MAX_LIMIT,
                &format!("role assignments of place {place}"),
            )
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(RawAssignment::into_place_assignment)
            .filter(|a| a.place == place)
            .collect())
    }

    /// Gives a user [`ROLE_PLACE_BASIC`] in a place (`applies_to_type: Place`, the spec's
    /// "Place Role Assignment" variant: no `valid_from`/`valid_until`), with `notify: false`
    /// (the person's group grant already brings Kisi's e-mail; a place opens no door).
    ///
    /// On 409 the place's assignments are listed and the user's is returned:
    /// [`GrantOutcome::Adopted`] for the same role, [`GrantOutcome::OtherRole`] for another
    /// (a place manager or administrator given by hand). Whose it is, the caller decides.
    ///
    /// # Errors
    /// `NotFound` (user or place unknown to Kisi), `Validation` (e.g. a role id Kisi does not
    /// know), `Conflict` (a 409 but no single assignment listed), transport errors.
    pub async fn grant_place(
        &self,
        user: UserId,
        place: PlaceId,
    ) -> Result<GrantOutcome<PlaceRoleAssignment>, KisiError> {
        let body = CreateAssignmentBody {
            role_assignment: CreateAssignmentFields {
                applies_to_type: "Place",
                applies_to_id: place.0,
                assignee_type: "User",
                assignee_id: user.0,
                role_id: ROLE_PLACE_BASIC,
                notify: Some(false),
                valid_from: None,
                valid_until: None,
            },
        };
        let body = serde_json::to_value(&body).map_err(|e| KisiError::Config(e.to_string()))?;
        let what = format!("grant user {user} place {place}");
        let reply = self
            .send(Method::POST, "/role_assignments", &[], Some(&body))
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED => {
                let raw: RawAssignment = Self::parse(&reply, &what)?;
                raw.into_place_assignment()
                    .map(GrantOutcome::Created)
                    .ok_or_else(|| KisiError::Unexpected {
                        what,
                        status: reply.status.as_u16(),
                        detail: "the created assignment is not a user-to-place assignment".into(),
                    })
            }
            StatusCode::CONFLICT => {
                let existing: Vec<PlaceRoleAssignment> = self
                    .list_place_assignments(place)
                    .await?
                    .into_iter()
                    .filter(|a| a.user == user)
                    .collect();
                match existing.as_slice() {
                    [a] if a.role_id == ROLE_PLACE_BASIC => Ok(GrantOutcome::Adopted(a.clone())),
                    [a] => Ok(GrantOutcome::OtherRole(a.clone())),
                    [] => Err(KisiError::Conflict {
                        detail: format!(
                            "Kisi answered 409 to granting user {user} place {place} but lists \
                             no such assignment"
                        ),
                    }),
                    many => Err(KisiError::Conflict {
                        detail: format!(
                            "user {user} has {} assignments in place {place}; resolve by hand",
                            many.len()
                        ),
                    }),
                }
            }
            _ => Err(Self::error_for(&reply, &what)),
        }
    }

    /// Gives a user `group_basic` in a group, within the grant's window, notifying per the
    /// invite policy.
    ///
    /// On 409 the user's assignments are listed and the one in this group is returned:
    /// [`GrantOutcome::Adopted`] for the same user, group and role, [`GrantOutcome::OtherRole`]
    /// when the user holds another role there. Whose it is, the caller decides.
    ///
    /// # Errors
    /// `NotFound` (user or group unknown to Kisi), `Validation` (e.g. `valid_until` before
    /// `valid_from`), `Conflict` (a 409 but no single assignment listed), transport errors.
    pub async fn grant(&self, grant: &Grant) -> Result<GrantOutcome, KisiError> {
        if let (Some(f), Some(u)) = (grant.valid_from, grant.valid_until)
            && u <= f
        {
            return Err(KisiError::Validation {
                errors: BTreeMap::from([(
                    "valid_until".to_owned(),
                    vec!["must be after valid_from".to_owned()],
                )]),
            });
        }
        let body = CreateAssignmentBody {
            role_assignment: CreateAssignmentFields {
                applies_to_type: "Group",
                applies_to_id: grant.group.0,
                assignee_type: "User",
                assignee_id: grant.user.0,
                role_id: ROLE_GROUP_BASIC,
                notify: grant.invite.notify(),
                valid_from: grant.valid_from.map(rfc3339),
                valid_until: grant.valid_until.map(rfc3339),
            },
        };
        let body = serde_json::to_value(&body).map_err(|e| KisiError::Config(e.to_string()))?;
        let what = format!("grant user {} group {}", grant.user, grant.group);
        let reply = self
            .send(Method::POST, "/role_assignments", &[], Some(&body))
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED => {
                let raw: RawAssignment = Self::parse(&reply, &what)?;
                raw.into_group_assignment()
                    .map(GrantOutcome::Created)
                    .ok_or_else(|| KisiError::Unexpected {
                        what,
                        status: reply.status.as_u16(),
                        detail: "the created assignment is not a user-to-group assignment".into(),
                    })
            }
            StatusCode::CONFLICT => self.adopt(grant).await,
            _ => Err(Self::error_for(&reply, &what)),
        }
    }

    async fn adopt(&self, grant: &Grant) -> Result<GrantOutcome, KisiError> {
        let existing: Vec<RoleAssignment> = self
            .list_user_assignments(grant.user)
            .await?
            .into_iter()
            .filter(|a| a.group == grant.group && a.user == grant.user)
            .collect();
        match existing.as_slice() {
            [a] if a.role_id == ROLE_GROUP_BASIC => Ok(GrantOutcome::Adopted(a.clone())),
            [a] => Ok(GrantOutcome::OtherRole(a.clone())),
            [] => Err(KisiError::Conflict {
                detail: format!(
                    "Kisi answered 409 to granting user {} group {} but lists no such assignment",
                    grant.user, grant.group
                ),
            }),
            many => Err(KisiError::Conflict {
                detail: format!(
                    "user {} has {} assignments in group {}; resolve by hand",
                    grant.user,
                    many.len(),
                    grant.group
                ),
            }),
        }
    }

    /// Removes a role assignment.
    ///
    /// A 404 is checked before it is believed: the assignment must also be absent from
    /// `GET /role_assignments?ids=<id>`. That proves the API answered (a wrong base URL gives
    /// 404 on every path) and the assignment really is gone.
    ///
    /// # Errors
    /// `Unexpected` if Kisi says 404 but still lists the assignment; transport errors.
    pub async fn revoke(&self, id: RoleAssignmentId) -> Result<RevokeOutcome, KisiError> {
        let path = format!("/role_assignments/{id}");
        let what = format!("revoke role assignment {id}");
        let reply = self.send(Method::DELETE, &path, &[], None).await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(RevokeOutcome::Deleted),
            StatusCode::NOT_FOUND => {
                let still: Vec<RawAssignment> = self
                    .list_all(
                        "/role_assignments",
                        &[("ids", id.to_string())],
                        ASSIGNMENTS_MAX_LIMIT,
                        "role assignment by id",
                    )
                    .await?;
                if still.iter().any(|a| a.id() == id) {
                    Err(KisiError::Unexpected {
                        what,
                        status: 404,
                        detail: "DELETE answered 404 but the assignment is still listed".into(),
                    })
                } else {
                    Ok(RevokeOutcome::AlreadyGone)
                }
            }
            _ => Err(Self::error_for(&reply, &what)),
        }
    }
}
