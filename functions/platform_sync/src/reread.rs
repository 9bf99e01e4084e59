//! The re-read of a record a webhook only hinted at (issue 19, "webhooks are hints"): for a
//! platform whose webhooks are not believed (`WebhookTrust::Hint`, Optix), `ingest` publishes
//! a [`RereadRequest`] (platform, collection, id) per record a verified delivery names; this
//! reads that record through the platform's [`PlatformSource`] at the handler's `now` (the
//! clock decides which dated records a read embeds, e.g. a TeamUp customer's registrations),
//! maps it with the platform's `map_records` (the same mapping as the import and the scheduled
//! sync) and publishes the canonical events, so only what the platform's API says can grant or
//! end access.
//!
//! - A record the API says does not exist publishes nothing (`"gone": true`): the next
//!   complete listing of the scheduled sync ends what it no longer contains (for the
//!   collections its `covers` vouches for). Nothing is ended on the word of a hint.
//! - Event ids: the mapping's content hash with the re-read's instant, so a record that goes
//!   back to an earlier state (re-activated) is a new version, not a duplicate.
//! - A source failure is typed (retryable: the queue redelivers; not: the DLQ).
//!
//! Wiring: an EventBridge rule for detail-type `reread` from `access-sync.ingest` feeds a
//! queue whose messages reach this function as an SQS batch; [`crate::wiring::SyncApp::invoke`]
//! runs [`handle_message`] on each with the platform's client (through
//! `access_sync_runtime::sqs::each_record`).

use access_sync_platforms::api::ApiRecord;
use access_sync_ports::{EventPublisher, OutboundEvent, PlatformSource, RereadRequest};
use access_sync_rules::{Event, Instant};
use access_sync_runtime::HandlerError;
use access_sync_runtime::messages::envelope;
use serde_json::{Value, json};

/// Re-reads one record and publishes what the API says. Answers a summary without personal
/// data.
///
/// # Errors
/// A request for another platform or collection (not retryable), a source failure (typed),
/// the bus refusing (retryable).
pub async fn reread<S: PlatformSource, P: EventPublisher>(
    source: &S,
    publisher: &P,
    encode: fn(&Event) -> OutboundEvent,
    req: &RereadRequest,
    now: Instant,
) -> Result<Value, HandlerError> {
    let platform = source.platform();
    if !req.platform.eq_ignore_ascii_case(platform.as_str()) {
        return Err(HandlerError::NonRetryable(format!(
            "a re-read for {:?} reached the {} source",
            req.platform,
            platform.as_str()
        )));
    }
    if !source.collections().contains(&req.collection.as_str()) {
        return Err(HandlerError::NonRetryable(format!(
            "{} has no collection {:?}",
            platform.as_str(),
            req.collection
        )));
    }
    let record = source
        .read(&req.collection, &req.id, now)
        .await
        .map_err(|e| {
            if e.is_retryable() {
                HandlerError::Retryable(e.to_string())
            } else {
                HandlerError::NonRetryable(e.to_string())
            }
        })?;
    let Some(record) = record else {
        tracing::info!(platform = platform.as_str(), collection = %req.collection, "re-read: the record does not exist");
        return Ok(
            json!({"platform": platform.as_str(), "collection": req.collection, "gone": true, "published": 0}),
        );
    };
    let api = ApiRecord {
        collection: &record.collection,
        id: &record.id,
        body: &record.body,
    };
    let mapped = platform
        .events_from_records(&[api], now)
        .map_err(|e| HandlerError::NonRetryable(e.to_string()))?;
    let out: Vec<OutboundEvent> = mapped
        .events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.id = format!("{}@{}", e.id, now.timestamp());
            encode(&e)
        })
        .collect();
    if !out.is_empty() {
        publisher
            .publish(&out)
            .await
            .map_err(|e| HandlerError::Retryable(e.to_string()))?;
    }
    Ok(json!({
        "platform": platform.as_str(),
        "collection": req.collection,
        "gone": false,
        "published": out.len(),
        "unmapped": mapped.unmapped.len(),
    }))
}

/// One SQS message holding a re-read request (an EventBridge envelope): for
/// `access_sync_runtime::sqs::each_record`, which reports the failed ones for redelivery.
///
/// # Errors
/// A malformed message (not retryable), and those of [`reread`].
pub async fn handle_message<S: PlatformSource, P: EventPublisher>(
    source: &S,
    publisher: &P,
    encode: fn(&Event) -> OutboundEvent,
    body: &str,
    now: Instant,
) -> Result<Value, HandlerError> {
    let env = envelope::<RereadRequest>(body).map_err(HandlerError::malformed)?;
    reread(source, publisher, encode, &env.detail, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_platforms::Platform;
    use access_sync_ports::SourceRecord;
    use access_sync_ports::memory::{MemoryPublisher, MemorySource};
    use access_sync_rules::Body;
    use access_sync_runtime::messages::canonical_event;

    const COLLECTIONS: &[&str] = &["users", "accountPlans", "bookings"];

    fn source() -> MemorySource {
        let s = MemorySource::new(Platform::Optix, COLLECTIONS, &[], 10);
        // What Optix's API holds: booking 88001 is Ada's, approved (optix.md §2.5 shape).
        s.put(SourceRecord {
            collection: "bookings".into(),
            id: "88001".into(),
            modified_at: None,
            body: json!({"booking_id": "88001", "start_timestamp": 1774346400,
                "end_timestamp": 1774350000, "is_new": false, "is_approved": true,
                "is_canceled": false, "is_rejected": false,
                "user": {"user_id": "301", "email": "ada@example.com"},
                "resource": {"resource_id": "310", "location": {"location_id": "11", "timezone": "Europe/London"}},
                "invitees": []}),
        });
        s
    }

    fn req(collection: &str, id: &str) -> RereadRequest {
        RereadRequest {
            platform: "optix".into(),
            collection: collection.into(),
            id: id.into(),
        }
    }

    fn now() -> Instant {
        "2026-03-20T12:00:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn a_hinted_record_is_published_as_the_api_says_it_is() {
        let (s, bus) = (source(), MemoryPublisher::default());
        let out = reread(&s, &bus, canonical_event, &req("bookings", "88001"), now())
            .await
            .unwrap();
        assert_eq!(out["published"], 1);
        let sent = bus.published();
        let e = Event::parse(&sent[0].detail.to_string()).unwrap();
        let Body::Entitlement(b) = e.body else {
            panic!("{e:?}")
        };
        assert_eq!(b.id.as_str(), "optix:booking:88001");
        assert_eq!(b.holder, access_sync_rules::Holder::Member("301".into()));
    }

    #[tokio::test]
    async fn a_forged_hint_for_a_record_the_api_does_not_have_publishes_nothing() {
        // The forged webhook named account plan 666 for "mallory"; Optix has no such plan.
        let (s, bus) = (source(), MemoryPublisher::default());
        let out = reread(
            &s,
            &bus,
            canonical_event,
            &req("accountPlans", "666"),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(
            (out["gone"].as_bool(), out["published"].as_u64()),
            (Some(true), Some(0))
        );
        assert!(bus.published().is_empty());
    }

    #[tokio::test]
    async fn requests_for_another_platform_or_collection_are_refused_for_good() {
        let (s, bus) = (source(), MemoryPublisher::default());
        let mut r = req("bookings", "88001");
        r.platform = "officernd".into();
        let e = reread(&s, &bus, canonical_event, &r, now())
            .await
            .unwrap_err();
        assert!(!e.is_retryable());
        let e = reread(&s, &bus, canonical_event, &req("invoices", "1"), now())
            .await
            .unwrap_err();
        assert!(!e.is_retryable());
        let body = json!({"detail-type": "reread", "source": "access-sync.ingest",
            "detail": {"platform": "optix", "collection": "bookings", "id": "88001"}})
        .to_string();
        let out = handle_message(&s, &bus, canonical_event, &body, now())
            .await
            .unwrap();
        assert_eq!(out["published"], 1);
        assert!(
            !handle_message(&s, &bus, canonical_event, "{}", now())
                .await
                .unwrap_err()
                .is_retryable()
        );
    }

    #[tokio::test]
    async fn a_record_re_read_in_an_earlier_state_again_is_a_new_version() {
        let (s, bus) = (source(), MemoryPublisher::default());
        let r = req("bookings", "88001");
        reread(&s, &bus, canonical_event, &r, now()).await.unwrap();
        let later = now() + chrono::Duration::minutes(3);
        reread(&s, &bus, canonical_event, &r, later).await.unwrap();
        let ids: Vec<String> = bus
            .published()
            .iter()
            .map(|e| e.detail["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
    }
}
