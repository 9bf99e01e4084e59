//! The platform as the source of truth: reading the records that decide access from a
//! platform's API (OfficeRnD, Nexudus, Optix, TeamUp), for the import of an existing space,
//! the scheduled re-sync (`platform_sync`) and the re-read of a record a webhook only hinted at.
//!
//! The port speaks in the platform's own *records* (JSON objects as its API returns them,
//! named by collection and id); turning records into canonical events is the platform
//! folder's pure mapping (`access_sync_platforms::<platform>`), shared with the webhook
//! normaliser so a record means the same whichever way it arrived.
//!
//! Listing is paged and resumable: [`PlatformSource::list`] takes the cursor the previous page
//! returned, so a sync can stop inside Lambda's time limit, store the cursor and go on in the
//! next run. A listing is **complete** only when every page was read and the last page said
//! so ([`Page::next`] is `None`); a caller must never infer a deletion from an incomplete one.
//!
//! Adapters: one HTTP client per platform in `shared/sources` (crate `access-sync-sources`,
//! one module per platform; not in the pure platforms crate, which this crate depends on); in-memory
//! implementations for unit tests only (the integration tests run each client against its
//! platform's simulator over real HTTP).

use access_sync_platforms::Platform;
use access_sync_rules::Instant;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// One record as the platform's API returned it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The collection it was read from, in the platform's own words (`memberships`,
    /// `coworkers`, …): the adapter's [`PlatformSource::collections`] lists them.
    pub collection: String,
    /// The platform's id of the record, unique within its collection. Where a collection is
    /// a view whose items share the platform's id (OfficeRnD's booking occurrences carry the
    /// series' `_id`), the adapter makes it unique and says how in its docs.
    pub id: String,
    /// When the platform says it last changed, where it says so.
    pub modified_at: Option<Instant>,
    /// The record, exactly as the API returned it.
    pub body: serde_json::Value,
}

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The records of this page.
    pub records: Vec<SourceRecord>,
    /// Where the next page starts; `None` when this was the last page (the listing is
    /// complete once a page with `next: None` has been read after an unbroken chain).
    pub next: Option<String>,
}

/// What to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    /// The collection.
    pub collection: String,
    /// Only records changed at or after this instant, where the collection can be filtered by
    /// change time ([`PlatformSource::incremental`]); `None` lists everything. On a collection
    /// that cannot be filtered the adapter sends nothing for it and lists everything (a
    /// superset).
    pub changed_since: Option<Instant>,
    /// For collections of dated things (bookings, occurrences, check-ins): the time window to
    /// list, required where [`PlatformSource::window`] gives one (the adapter answers
    /// [`SourceError::Unreadable`] without it: it has no clock of its own); ignored elsewhere.
    /// Send the same window with every page of one listing (a cursor belongs to its query).
    pub window: Option<(Instant, Instant)>,
    /// The cursor returned by the previous page; `None` for the first page. A page shorter
    /// than the page size is not the last one: only [`Page::next`] being `None` ends a listing.
    pub cursor: Option<String>,
}

/// Why the platform could not be read. Every variant leaves the caller's state unchanged: a
/// sync that meets any of them changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The platform was unreachable, answered 5xx, or kept throttling past the client's
    /// budget. Retry later.
    #[error("{platform} unavailable: {reason}", platform = .platform.as_str())]
    Unavailable {
        /// Which platform.
        platform: Platform,
        /// What happened (no secrets, no personal data).
        reason: String,
    },
    /// The credentials were refused (after one token refresh), or lack a scope. An operator
    /// must act; retrying does not help.
    #[error("{platform} refused our credentials: {reason}", platform = .platform.as_str())]
    Unauthorized {
        /// Which platform.
        platform: Platform,
        /// What the platform said.
        reason: String,
    },
    /// The platform answered something this client cannot read (a shape the reference does
    /// not document). Not retryable until the client changes.
    #[error("{platform} answered unreadably for {collection}: {reason}", platform = .platform.as_str())]
    Unreadable {
        /// Which platform.
        platform: Platform,
        /// Which collection.
        collection: String,
        /// What was wrong.
        reason: String,
    },
    /// The credentials are not configured (the secret is still empty).
    #[error("{platform} is not configured", platform = .platform.as_str())]
    NotConfigured {
        /// Which platform.
        platform: Platform,
    },
}

impl SourceError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SourceError::Unavailable { .. })
    }
}

/// A platform's API, read-only.
pub trait PlatformSource: Send + Sync {
    /// Which platform this reads.
    fn platform(&self) -> Platform;

    /// The collections that decide access, in the order a full sync should read them (members
    /// before what refers to members).
    fn collections(&self) -> &'static [&'static str];

    /// Whether `collection` can be listed by change time (`changed_since` is honoured);
    /// otherwise every sync lists it in full and finds deletions by the missing ids.
    fn incremental(&self, collection: &str) -> bool;

    /// The window a listing of `collection` made at `now` covers: `Some` for the collections
    /// of dated things (send it as [`ListRequest::window`]), `None` for the others. The
    /// caller's clock decides, never the adapter's.
    fn window(&self, collection: &str, now: Instant) -> Option<(Instant, Instant)>;

    /// One page of a listing.
    ///
    /// # Errors
    /// See [`SourceError`]; a failed page means the listing is incomplete.
    fn list(&self, request: &ListRequest)
    -> impl Future<Output = Result<Page, SourceError>> + Send;

    /// One record by id, as it is at `now`; `Ok(None)` when the platform says it does not
    /// exist (deleted). `now` is the caller's clock, as for [`PlatformSource::window`]: a
    /// record read with what decides its access embedded (TeamUp's customer, with their
    /// registrations) embeds the dated things of the window a listing at `now` would cover.
    ///
    /// # Errors
    /// See [`SourceError`].
    fn read(
        &self,
        collection: &str,
        id: &str,
        now: Instant,
    ) -> impl Future<Output = Result<Option<SourceRecord>, SourceError>> + Send;
}

/// Detail-type of a [`RereadRequest`] on the bus (source `access-sync.ingest`).
pub const DETAIL_REREAD: &str = "reread";

/// "Read this record from the platform's API again": what `ingest` publishes for a verified
/// webhook of a platform whose webhooks are only hints
/// (`access_sync_platforms::WebhookTrust::Hint`), instead of believing its body. The re-read
/// handler reads the record through [`PlatformSource::read`], maps it with the platform's
/// `map_records` and publishes what the API says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RereadRequest {
    /// The platform's name (`optix`).
    pub platform: String,
    /// The collection, in the platform's API words (`bookings`, `accountPlans`, …).
    pub collection: String,
    /// The record's id.
    pub id: String,
}

/// A platform's API token where the platform replaces it by webhook (Optix's
/// `organization_token_updated`, optix.md §1 [C USE]): `ingest` *offers* the token a verified
/// delivery carries (the signature does not cover the body, so it is only a candidate); the
/// API client checks a candidate against the API before it *promotes* it and uses it.
pub trait ApiTokens: Send + Sync {
    /// The token in use; `Ok(None)` when none is configured.
    ///
    /// # Errors
    /// The store could not be read.
    fn current(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<crate::SecretValue>, crate::SecretError>> + Send;

    /// The latest offered replacement not yet promoted, if any.
    ///
    /// # Errors
    /// The store could not be read.
    fn candidate(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<crate::SecretValue>, crate::SecretError>> + Send;

    /// Keeps `token` as the candidate (replacing an earlier candidate).
    ///
    /// # Errors
    /// The store could not be written.
    fn offer(
        &self,
        platform: Platform,
        token: crate::SecretValue,
    ) -> impl Future<Output = Result<(), crate::SecretError>> + Send;

    /// Makes `token` the one in use and drops the candidate if it is that token.
    ///
    /// # Errors
    /// The store could not be written.
    fn promote(
        &self,
        platform: Platform,
        token: crate::SecretValue,
    ) -> impl Future<Output = Result<(), crate::SecretError>> + Send;

    /// Where the API is and which organization its token must answer for, when the store
    /// keeps them beside the token (one JSON secret per platform); `Ok(None)`, the default:
    /// the client's own configuration decides.
    ///
    /// # Errors
    /// The store could not be read.
    fn settings(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<ApiSettings>, crate::SecretError>> + Send {
        let _ = platform;
        async { Ok(None) }
    }
}

/// What a token store may keep beside an API token (see [`ApiTokens::settings`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiSettings {
    /// The API's endpoint (a simulator's in tests); `None`: the platform's production one.
    pub endpoint: Option<String>,
    /// The organization the token must belong to.
    pub organization_id: Option<String>,
}

impl<T: ApiTokens> ApiTokens for std::sync::Arc<T> {
    fn current(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<crate::SecretValue>, crate::SecretError>> + Send {
        (**self).current(platform)
    }
    fn candidate(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<crate::SecretValue>, crate::SecretError>> + Send {
        (**self).candidate(platform)
    }
    fn offer(
        &self,
        platform: Platform,
        token: crate::SecretValue,
    ) -> impl Future<Output = Result<(), crate::SecretError>> + Send {
        (**self).offer(platform, token)
    }
    fn promote(
        &self,
        platform: Platform,
        token: crate::SecretValue,
    ) -> impl Future<Output = Result<(), crate::SecretError>> + Send {
        (**self).promote(platform, token)
    }
    fn settings(
        &self,
        platform: Platform,
    ) -> impl Future<Output = Result<Option<ApiSettings>, crate::SecretError>> + Send {
        (**self).settings(platform)
    }
}
