//! Optix: its webhooks and its API records.
//!
//! - Trust: [`WebhookTrust::Hint`]. A verified delivery only names records to re-read
//!   ([`hints`]); the canonical events come from the API ([`records`]), never from the body.
//! - Delivery: `POST /optix`, an HTML form ([`normalize`]) that carries its own signature in
//!   the `request_signature` field ([`signature`]); `created_timestamp` is when it was sent.
//! - Fixtures: `events/optix/webhooks.txt`, one form-encoded body per line.

pub mod hints;
mod normalize;
pub mod records;
mod signature;

pub use normalize::normalize;
pub use records::events_from_records;
pub use signature::{SIGNATURE_FIELD, sign_body, signature, verify};

use crate::api::{ApiRecord, Mapped, NoApiMapping};
use crate::spec::{
    Delivery, Fixture, FixtureLine, Format, Hints, IncomingRequest, PlatformSpec, Received,
    SignedRequest, WebhookTrust, Word,
};
use crate::{Known, Rejection, Verdict};
use access_sync_rules::{EntitlementId, Event, Instant};

/// Optix's [`PlatformSpec`].
#[derive(Clone, Copy, Debug)]
pub struct Optix;

fn form_value(payload: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(payload.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl PlatformSpec for Optix {
    fn name(&self) -> &'static str {
        "optix"
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            file: "webhooks.txt",
            format: Format::Form,
            word: Word::None,
        }
    }

    fn takes_path_segment(&self) -> bool {
        false
    }

    fn has_replay_window(&self) -> bool {
        true
    }

    fn receive(&self, _req: &IncomingRequest<'_>) -> Received {
        // Everything Optix sends is in the form body.
        Received::default()
    }

    fn verify(&self, secret: &str, d: &Delivery<'_>, now: Instant) -> Verdict {
        verify(secret, d.body, now)
    }

    fn normalize(&self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        normalize(d.body, known)
    }

    fn send(&self, secret: &str, line: FixtureLine<'_>, _now: Instant) -> SignedRequest {
        // Optix signs the form's own `created_timestamp`, not the time of sending.
        SignedRequest {
            path: "/optix".into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: sign_body(secret, line.payload).into_bytes(),
        }
    }

    fn unsign(&self, req: &mut SignedRequest) {
        let kept: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(&req.body).filter(|(k, _)| k != SIGNATURE_FIELD))
            .finish();
        req.body = kept.into_bytes();
    }

    fn event_type(&self, line: FixtureLine<'_>) -> Option<String> {
        form_value(line.payload, "event")
    }

    fn sent_at(&self, payload: &str) -> Option<Instant> {
        form_value(payload, "created_timestamp")
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    }

    /// The signature alone: it covers `client_id`, the secret and `created_timestamp`, not
    /// the body, so a captured signature is usable once whatever body comes with it.
    fn signed_parts(&self, d: &Delivery<'_>) -> Vec<Vec<u8>> {
        let signature = form_urlencoded::parse(d.body)
            .find(|(k, _)| k == SIGNATURE_FIELD)
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        vec![signature.into_bytes()]
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
