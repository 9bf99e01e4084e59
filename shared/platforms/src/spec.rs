//! What each platform folder provides ([`PlatformSpec`]), and the shapes it speaks in: a
//! delivery as the normaliser reads it ([`Delivery`]), as the ingest route received it over HTTP
//! ([`IncomingRequest`] → [`Received`]), as a platform would send it ([`SignedRequest`]), and as
//! a fixture file writes it ([`Fixture`], [`FixtureLine`]).
//!
//! Code outside this crate asks the platform ([`crate::Platform`] forwards to its spec) instead
//! of matching on platforms itself, so a new platform is one folder and one line in the
//! registry ([`crate::registry`]).

use crate::api::{ApiRecord, Mapped, NoApiMapping};
use crate::{Known, Rejection, Verdict};
use access_sync_rules::{EntitlementId, Event, Instant};

/// Everything about one platform that code outside its folder needs: its name, its webhook
/// delivery (route shape, signature, how a test signs one), its fixtures' format, and its
/// records → canonical events. Implemented by one unit struct in each platform's folder.
pub trait PlatformSpec: Sync {
    /// The name: the ingest route (`/<name>`), the fixtures folder (`events/<name>/`), and the
    /// secret's variable (`WEBHOOK_SECRET_<NAME>`).
    fn name(&self) -> &'static str;

    /// How the fixture file `events/<name>/` writes one delivery per line.
    fn fixture(&self) -> Fixture;

    /// Whether the route also takes one more path segment, `/<name>/<segment>` (TeamUp's
    /// installation secret); a route that does not answers such a path 404.
    fn takes_path_segment(&self) -> bool;

    /// Whether the signature covers a timestamp that must be within
    /// [`WINDOW_SECS`](crate::signature::WINDOW_SECS) of now (a replay outside it is refused).
    fn has_replay_window(&self) -> bool;

    /// Reads what [`verify`](PlatformSpec::verify) and [`normalize`](PlatformSpec::normalize)
    /// need from the HTTP request (signature header, delivery id, query parameters).
    fn receive(&self, req: &IncomingRequest<'_>) -> Received;

    /// Checks the delivery's signature (or, for TeamUp, the installation secret).
    fn verify(&self, secret: &str, d: &Delivery<'_>, now: Instant) -> Verdict;

    /// Translates the payload into canonical events, without checking the signature.
    fn normalize(&self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection>;

    /// The HTTP request the platform would send for one fixture line at `now`, signed with
    /// `secret` (for tests, the local stack and tools).
    fn send(&self, secret: &str, line: FixtureLine<'_>, now: Instant) -> SignedRequest;

    /// Removes what authenticates a request made by [`send`](PlatformSpec::send) (the
    /// signature header, field or bearer token): what an unsigned delivery looks like (tests).
    fn unsign(&self, req: &mut SignedRequest);

    /// The platform's own name for what a fixture line reports (`booking.created`,
    /// `BookingDelete`, …), for one-line descriptions; `None` when the line does not say.
    fn event_type(&self, line: FixtureLine<'_>) -> Option<String>;

    /// When the platform sent the payload, if the payload itself says and the signature covers
    /// it (Optix's `created_timestamp`): a delivery must arrive within the replay window of it.
    fn sent_at(&self, payload: &str) -> Option<Instant>;

    /// What the signature vouches for, as parts: the replay ledger keys a verified delivery on
    /// them ([`crate::replay`]), so two deliveries the signature cannot tell apart (a replay,
    /// the same body under another unsigned URL parameter, a signature reused with another
    /// unsigned body) give the same parts.
    fn signed_parts(&self, d: &Delivery<'_>) -> Vec<Vec<u8>>;
    /// The canonical events a complete set of the platform's API records means (for the
    /// import and the scheduled re-sync); `at` is the sync's instant. Default: no mapping yet.
    ///
    /// # Errors
    /// [`NoApiMapping`] for a platform whose API is not mapped.
    fn map_records(&self, records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
        let _ = (records, at);
        Err(NoApiMapping(self.name()))
    }

    /// Whether a complete full listing of the platform's API would contain the entitlement
    /// `id` if it still existed, so that its absence means it ended. Default: every id the
    /// normaliser makes (`<platform>:…`); a platform whose listing is windowed (bookings)
    /// narrows it.
    fn covers(&self, id: &EntitlementId) -> bool {
        crate::api::covers_by_prefix(self.name(), id)
    }

    /// What a verified webhook of this platform is trusted for. Default: [`WebhookTrust::Direct`].
    fn webhook_trust(&self) -> WebhookTrust {
        WebhookTrust::Direct
    }

    /// For a [`WebhookTrust::Hint`] platform: the records a verified delivery names, to be
    /// re-read from the API (nothing in the body is believed). Default: none.
    ///
    /// # Errors
    /// A body that is not the platform's format (400).
    fn hints(&self, d: &Delivery<'_>) -> Result<Hints, Rejection> {
        let _ = d;
        Ok(Hints::default())
    }
}

/// What a verified webhook of a platform is trusted for (issue 19, "webhooks are hints").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookTrust {
    /// The signature covers the body: its canonical events are published as they are.
    Direct,
    /// The signature does not cover the body (Optix): a verified delivery only names what
    /// changed; ingest publishes re-read requests ([`Hints`]) and only what the platform's API
    /// then says is published as canonical events. A forged body under a captured signature
    /// can at most make access-sync read a record again.
    Hint,
}

/// A record a webhook says changed: `collection` and `id` in the platform's API words.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordHint {
    /// The collection (`bookings`, `accountPlans`, …).
    pub collection: String,
    /// The record's id.
    pub id: String,
}

/// What a hint-trusted delivery names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// The platform's event name, when it gives one (for the log: never a payload).
    pub event: Option<String>,
    /// The records to re-read (at most [`MAX_HINTS`]).
    pub records: Vec<RecordHint>,
    /// A replacement API token the delivery carries (Optix `organization_token_updated`).
    /// Untrusted like the rest of the body: the client checks it with the API before use.
    pub token: Option<String>,
}

impl std::fmt::Debug for Hints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hints")
            .field("event", &self.event)
            .field("records", &self.records)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The most records one delivery may ask to re-read (a forged body cannot make a storm).
pub const MAX_HINTS: usize = 10;

/// One webhook delivery as the ingest route received it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delivery<'a> {
    /// The raw body, exactly as received (signatures are over these bytes).
    pub body: &'a [u8],
    /// OfficeRnD: the `officernd-signature` header; Nexudus: `X-Nexudus-Hook-Signature`;
    /// TeamUp: the presented installation secret (bearer token or URL segment, see
    /// [`crate::signature::bearer`]); Optix: unused (the signature is a form field).
    pub signature: Option<&'a str>,
    /// TeamUp: the `TEAMUP-WEBHOOK-ID` header, which the canonical event ids are made from.
    pub delivery_id: Option<&'a str>,
    /// Nexudus: the webhook's action (`BookingCreate`, …), from the URL's `action` query
    /// parameter; without it the action is inferred from the record's fields.
    pub action: Option<&'a str>,
}

/// The parts of an HTTP request a platform reads its delivery from.
pub struct IncomingRequest<'a> {
    /// What follows `/<name>/` in the path, if anything (the route allows it only when
    /// [`PlatformSpec::takes_path_segment`]).
    pub path_segment: Option<&'a str>,
    /// The query string, without `?` (empty when there is none).
    pub query: &'a str,
    /// A header's value by name (case-insensitive), when present and readable as text.
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
}

impl IncomingRequest<'_> {
    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What a platform read from an HTTP request: the side channels of its [`Delivery`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// See [`Delivery::signature`].
    pub signature: Option<String>,
    /// See [`Delivery::delivery_id`].
    pub delivery_id: Option<String>,
    /// See [`Delivery::action`].
    pub action: Option<String>,
}

impl Received {
    /// The delivery of `body` with these side channels.
    pub fn delivery<'a>(&'a self, body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            body,
            signature: self.signature.as_deref(),
            delivery_id: self.delivery_id.as_deref(),
            action: self.action.as_deref(),
        }
    }
}

/// An HTTP request as a platform would send it to the ingest route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    /// The path and query (`/nexudus?action=BookingCreate`), relative to the ingest URL.
    pub path: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl SignedRequest {
    /// Drops every header called `name` (any case).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }
}

/// How a platform's fixture file (`events/<name>/<file>`) is written: one payload per line,
/// blank lines and lines starting with `#` skipped, and for some platforms a word before the
/// payload carrying what travels outside the body live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixture {
    /// The file's name in `events/<name>/`.
    pub file: &'static str,
    /// What one payload is.
    pub format: Format,
    /// What a word before the payload carries, if the platform takes one.
    pub word: Word,
}

/// What a payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON document.
    Json,
    /// An HTML form, `application/x-www-form-urlencoded`.
    Form,
}

/// What a word before a fixture line's payload carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    /// No word: the whole line is the payload.
    None,
    /// The webhook's action (Nexudus: `BookingDelete [{…}]`, what the URL's `action` parameter
    /// carries live).
    Action,
    /// The delivery id (TeamUp: the `TEAMUP-WEBHOOK-ID` header).
    DeliveryId,
}

/// One line of a fixture file: the word before the payload, if any, and the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureLine<'a> {
    /// The word (see [`Word`]).
    pub word: Option<&'a str>,
    /// The payload, exactly as the platform sends it.
    pub payload: &'a str,
}

impl<'a> FixtureLine<'a> {
    /// The delivery this line stands for (unsigned), its word put where `word` says.
    pub fn delivery(self, word: Word) -> Delivery<'a> {
        let (delivery_id, action) = match word {
            Word::None => (None, None),
            Word::Action => (None, self.word),
            Word::DeliveryId => (self.word, None),
        };
        Delivery {
            body: self.payload.as_bytes(),
            signature: None,
            delivery_id,
            action,
        }
    }
}
