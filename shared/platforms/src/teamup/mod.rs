//! TeamUp: its webhooks and its API records.
//!
//! - Trust: [`WebhookTrust::Hint`] (issue 20). TeamUp signs nothing and publishes neither its
//!   feed-item types nor their fields, so a verified delivery only names customers and
//!   records to re-read ([`hints`]); the canonical events come from the API ([`records`]),
//!   never from the body. Deliveries are de-duplicated by `TEAMUP-WEBHOOK-ID`
//!   ([`PlatformSpec::signed_parts`]). [`normalize`] (the former reading of a guessed body) is
//!   kept for the fixtures and the CLI's offline tools only: ingest does not use it.
//! - Delivery: `POST /teamup` with `Authorization: Bearer <secret>`, or `POST /teamup/<secret>`
//!   ([`signature`]: TeamUp signs nothing); a JSON body of feed items ([`normalize`]) and the
//!   `TEAMUP-WEBHOOK-ID` header, the same on every retry, which the event ids are made from.
//! - Fixtures: `events/teamup/webhooks.jsonl`, one JSON body per line, optionally preceded by
//!   the `TEAMUP-WEBHOOK-ID` and a space.

pub mod hints;
mod normalize;
pub mod records;
mod signature;

pub use normalize::normalize;
pub use records::events_from_records;
pub use signature::{ID_HEADER, verify};

use crate::api::{ApiRecord, Mapped, NoApiMapping};
use crate::signature::bearer;
use crate::spec::{
    Delivery, Fixture, FixtureLine, Format, Hints, IncomingRequest, PlatformSpec, Received,
    SignedRequest, WebhookTrust, Word,
};
use crate::{Known, Rejection, Verdict};
use access_sync_rules::{EntitlementId, Event, Instant};

/// TeamUp's [`PlatformSpec`].
#[derive(Clone, Copy, Debug)]
pub struct Teamup;

impl PlatformSpec for Teamup {
    fn name(&self) -> &'static str {
        "teamup"
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            file: "webhooks.jsonl",
            format: Format::Json,
            word: Word::DeliveryId,
        }
    }

    fn takes_path_segment(&self) -> bool {
        true
    }

    fn has_replay_window(&self) -> bool {
        false
    }

    fn receive(&self, req: &IncomingRequest<'_>) -> Received {
        let presented = req
            .path_segment
            .or_else(|| bearer((req.header)("authorization")));
        Received {
            signature: presented.map(str::to_string),
            delivery_id: (req.header)(ID_HEADER).map(str::to_string),
            ..Received::default()
        }
    }

    fn verify(&self, secret: &str, d: &Delivery<'_>, _now: Instant) -> Verdict {
        verify(secret, d.signature)
    }

    fn normalize(&self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        normalize(d.body, d.delivery_id, known)
    }

    fn send(&self, secret: &str, line: FixtureLine<'_>, _now: Instant) -> SignedRequest {
        SignedRequest {
            path: "/teamup".into(),
            headers: vec![
                (ID_HEADER.into(), line.word.unwrap_or_default().into()),
                ("authorization".into(), format!("Bearer {secret}")),
            ],
            body: line.payload.as_bytes().to_vec(),
        }
    }

    fn unsign(&self, req: &mut SignedRequest) {
        req.remove_header("authorization");
    }

    fn event_type(&self, line: FixtureLine<'_>) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(line.payload)
            .ok()
            .and_then(|v| v["feed_items"][0]["type"].as_str().map(str::to_string))
    }

    fn sent_at(&self, _payload: &str) -> Option<Instant> {
        None
    }

    /// Nothing is signed: a delivery is identified by its `TEAMUP-WEBHOOK-ID` (the same on
    /// every retry, §5 [C]), or by its body when the header is missing.
    fn signed_parts(&self, d: &Delivery<'_>) -> Vec<Vec<u8>> {
        match d.delivery_id.map(str::trim).filter(|w| !w.is_empty()) {
            Some(id) => vec![b"id".to_vec(), id.as_bytes().to_vec()],
            None => vec![b"body".to_vec(), d.body.to_vec()],
        }
    }

    fn map_records(&self, records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
        Ok(records::events_from_records(records, at))
    }

    fn covers(&self, id: &EntitlementId) -> bool {
        records::covers(id)
    }

    fn webhook_trust(&self) -> WebhookTrust {
        WebhookTrust::Hint
    }

    fn hints(&self, d: &Delivery<'_>) -> Result<Hints, Rejection> {
        hints::hints(d.body)
    }
}
