//! The route of a platform whose webhooks are only hints (`WebhookTrust::Hint`: Optix, whose
//! signature does not cover the body). After the size and the signature are checked, nothing
//! in the body is believed: the delivery is read only for the records it names, and a re-read
//! request per record ([`RereadRequest`], detail-type `reread`) is published once per signed
//! delivery and body (the replay ledger, keyed by [`replay::hint_key`]: a forged body raced
//! ahead under a captured signature cannot make the genuine delivery a duplicate). The re-read handler
//! (`platform_sync`'s `reread` action) reads each record from the platform's API and publishes
//! what the API says. So a forged body under a captured signature can at most make
//! access-sync read a record again; it grants nothing and ends nothing.
//!
//! - A delivery that names no record (an event we do not act on, or an unknown event) is
//!   acknowledged 202 and its event name (only) is logged: the platform keeps its webhook on.
//! - A replacement API token in the body (`organization_token_updated`) is *offered* to the
//!   token store ([`WebhookSecrets::offer_api_token`]); the API client checks it against the
//!   API before it uses it.

use crate::routes::{publish_once_hint, rejected, reply, retry_later};
use crate::trust::Door;
use access_sync_platforms::{Delivery, Platform, replay};
use access_sync_ports::{
    DETAIL_REREAD, DeliveryLedger, EventPublisher, OutboundEvent, RereadRequest, SecretValue,
    WebhookSecrets,
};
use access_sync_rules::Instant;
use access_sync_runtime::messages::SOURCE_INGEST;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

/// The re-read request for one record, as published.
pub fn reread_event(r: &RereadRequest) -> OutboundEvent {
    OutboundEvent {
        source: SOURCE_INGEST.into(),
        detail_type: DETAIL_REREAD.into(),
        detail: serde_json::to_value(r).unwrap_or_default(),
    }
}

/// A verified delivery of a hint-only platform (see the module docs).
pub async fn hinted<P: EventPublisher, W: WebhookSecrets, L: DeliveryLedger>(
    events: &P,
    secrets: &W,
    door: &Door<L>,
    platform: Platform,
    delivery: &Delivery<'_>,
    now: Instant,
) -> Response<Body> {
    let hints = match platform.spec().hints(delivery) {
        Ok(h) => h,
        Err(r) => return rejected(platform, &r),
    };
    let event = hints.event.as_deref().unwrap_or("unknown");
    let mut note = Vec::new();
    if let Some(token) = hints.token {
        match secrets
            .offer_api_token(platform, SecretValue::new(token))
            .await
        {
            Ok(true) => {
                tracing::info!(platform = platform.as_str(), event, "API token offered");
                note.push("API token offered to the token store");
            }
            Ok(false) => {
                tracing::warn!(
                    platform = platform.as_str(),
                    event,
                    "a replacement API token arrived but this installation keeps no API tokens: set it by hand"
                );
                note.push("API token not kept");
            }
            Err(e) => {
                tracing::error!(error = %e, "the token store did not answer");
                return retry_later(json!({"error": "temporarily unavailable"}));
            }
        }
    }
    if hints.records.is_empty() {
        tracing::info!(
            platform = platform.as_str(),
            event_type = event,
            "webhook acknowledged: it names no record to re-read"
        );
        note.push("nothing in this webhook names a record to re-read");
        return reply(
            StatusCode::ACCEPTED,
            json!({"accepted": 0, "note": note.join("; ")}),
        );
    }
    let requests: Vec<RereadRequest> = hints
        .records
        .into_iter()
        .map(|r| RereadRequest {
            platform: platform.as_str().to_string(),
            collection: r.collection,
            id: r.id,
        })
        .collect();
    let out: Vec<OutboundEvent> = requests.iter().map(reread_event).collect();
    let names: Vec<String> = requests
        .iter()
        .map(|r| format!("{}/{}", r.collection, r.id))
        .collect();
    let key = replay::hint_key(platform, delivery);
    tracing::info!(
        platform = platform.as_str(),
        event_type = event,
        rereads = out.len(),
        "webhook is a hint: re-reading"
    );
    publish_once_hint(events, door, &key, &out, &names, now).await
}
