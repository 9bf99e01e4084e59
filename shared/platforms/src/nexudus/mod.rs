//! Nexudus: everything about its webhooks.
//!
//! - Delivery: `POST /nexudus?action=<Action>`, a JSON array ([`normalize`]); the action is
//!   fixed when the webhook is created and travels in the URL. Signed in the
//!   `X-Nexudus-Hook-Signature` header ([`signature`]).
//! - Fixtures: `events/nexudus/webhooks.txt`, one JSON body per line, optionally preceded by the
//!   action and a space (`BookingDelete [{…}]`).
//! - Records: [`records`] maps one Nexudus record to canonical events, for the webhook
//!   normaliser (the DTO in the array) and the API reader ([`events_from_records`]) alike.

mod normalize;
pub mod records;
mod signature;

pub use normalize::normalize;
pub use records::events_from_records;
pub use signature::{HEADER, signature, verify};

use crate::api::{ApiRecord, Mapped, NoApiMapping};
use crate::spec::{
    Delivery, Fixture, FixtureLine, Format, IncomingRequest, PlatformSpec, Received, SignedRequest,
    Word,
};
use crate::{Known, Rejection, Verdict};
use access_sync_rules::{EntitlementId, Event, Instant};

/// Nexudus's [`PlatformSpec`].
#[derive(Clone, Copy, Debug)]
pub struct Nexudus;

impl PlatformSpec for Nexudus {
    fn name(&self) -> &'static str {
        "nexudus"
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            file: "webhooks.txt",
            format: Format::Json,
            word: Word::Action,
        }
    }

    fn takes_path_segment(&self) -> bool {
        false
    }

    fn has_replay_window(&self) -> bool {
        false
    }

    fn receive(&self, req: &IncomingRequest<'_>) -> Received {
        Received {
            signature: (req.header)(HEADER).map(str::to_string),
            action: req.query_param("action"),
            ..Received::default()
        }
    }

    fn verify(&self, secret: &str, d: &Delivery<'_>, _now: Instant) -> Verdict {
        verify(secret.as_bytes(), d.signature, d.body)
    }

    fn normalize(&self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        normalize(d.body, d.action, known)
    }

    fn send(&self, secret: &str, line: FixtureLine<'_>, _now: Instant) -> SignedRequest {
        let body = line.payload.as_bytes().to_vec();
        let sig = signature(secret.as_bytes(), &body);
        SignedRequest {
            path: format!("/nexudus?action={}", line.word.unwrap_or_default()),
            headers: vec![(HEADER.into(), sig)],
            body,
        }
    }

    fn unsign(&self, req: &mut SignedRequest) {
        req.remove_header(HEADER);
    }

    /// The action as given (the URL's `action`, a fixture line's word), when it looks like an
    /// action name or number: the ingest route logs it, so nothing else is echoed.
    fn event_type(&self, line: FixtureLine<'_>) -> Option<String> {
        line.word
            .map(str::trim)
            .filter(|w| {
                !w.is_empty() && w.len() <= 48 && w.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .map(str::to_string)
    }

    fn sent_at(&self, _payload: &str) -> Option<Instant> {
        None
    }

    /// The body alone: the action in the URL is not signed, so the same body under another
    /// action is the same delivery.
    fn signed_parts(&self, d: &Delivery<'_>) -> Vec<Vec<u8>> {
        vec![d.body.to_vec()]
    }

    fn map_records(&self, records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
        Ok(events_from_records(records, at))
    }

    /// Contracts, time passes and floor-plan units: bookings and check-ins are listed in a
    /// window, so their absence proves nothing ([`records::covers`]).
    fn covers(&self, id: &EntitlementId) -> bool {
        records::covers(id)
    }
}
