//! OfficeRnD (Flex): everything about its webhooks.
//!
//! - Delivery: `POST /officernd`, a JSON body ([`normalize`]), signed in the
//!   `officernd-signature` header ([`signature`]).
//! - Fixtures: `events/officernd/webhooks.jsonl`, one JSON body per line.
//! - Records: [`records`] maps one OfficeRnD record to canonical events, for the webhook
//!   normaliser (the record in `data.object`) and the API reader ([`events_from_records`]) alike.
//! - API: [`api`] is the spec's `map_records` (a listing → events) and `covers` (which stored
//!   entitlements a complete full listing can end: not booking occurrences nor check-ins).

pub mod api;
mod normalize;
pub mod records;
mod signature;

pub use normalize::normalize;
pub use records::{Mapped, RecordRef, Unmapped, events_from_records};
pub use signature::{HEADER, Signature, header, parse_header, verify};

use crate::api::{ApiRecord, Mapped as ApiMapped, NoApiMapping};
use crate::spec::{
    Delivery, Fixture, FixtureLine, Format, IncomingRequest, PlatformSpec, Received, SignedRequest,
    Word,
};
use crate::{Known, Rejection, Verdict};
use access_sync_rules::{EntitlementId, Event, Instant};

/// OfficeRnD's [`PlatformSpec`].
#[derive(Clone, Copy, Debug)]
pub struct Officernd;

impl PlatformSpec for Officernd {
    fn name(&self) -> &'static str {
        "officernd"
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            file: "webhooks.jsonl",
            format: Format::Json,
            word: Word::None,
        }
    }

    fn takes_path_segment(&self) -> bool {
        false
    }

    fn has_replay_window(&self) -> bool {
        true
    }

    fn receive(&self, req: &IncomingRequest<'_>) -> Received {
        Received {
            signature: (req.header)(HEADER).map(str::to_string),
            ..Received::default()
        }
    }

    fn verify(&self, secret: &str, d: &Delivery<'_>, now: Instant) -> Verdict {
        verify(secret.as_bytes(), d.signature, d.body, now)
    }

    fn normalize(&self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        normalize(d.body, known)
    }

    fn send(&self, secret: &str, line: FixtureLine<'_>, now: Instant) -> SignedRequest {
        let body = line.payload.as_bytes().to_vec();
        let sig = header(secret.as_bytes(), &body, now.timestamp());
        SignedRequest {
            path: "/officernd".into(),
            headers: vec![(HEADER.into(), sig)],
            body,
        }
    }

    fn unsign(&self, req: &mut SignedRequest) {
        req.remove_header(HEADER);
    }

    fn event_type(&self, line: FixtureLine<'_>) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(line.payload)
            .ok()
            .and_then(|v| v["eventType"].as_str().map(str::to_string))
    }

    fn sent_at(&self, _payload: &str) -> Option<Instant> {
        None
    }

    /// The signed timestamp and the body.
    fn signed_parts(&self, d: &Delivery<'_>) -> Vec<Vec<u8>> {
        let header = d.signature.unwrap_or_default();
        let t = parse_header(header).map_or(header, |s| s.t);
        vec![t.as_bytes().to_vec(), d.body.to_vec()]
    }

    fn map_records(
        &self,
        records: &[ApiRecord<'_>],
        at: Instant,
    ) -> Result<ApiMapped, NoApiMapping> {
        Ok(api::map_records(records, at))
    }

    /// Not booking occurrences nor check-ins: they are listed only inside a time window
    /// ([`api`]).
    fn covers(&self, id: &EntitlementId) -> bool {
        api::covers(id)
    }
}
