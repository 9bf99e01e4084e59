//! [`EventPublisher`] on EventBridge `PutEvents`.
//!
//! `PutEvents` answers 200 even when some entries failed: the answer has a
//! `FailedEntryCount` and, per entry in request order, either an event id or an error code.
//! The publisher resends only the failed entries, a bounded number of times with exponential
//! backoff, and gives up on codes that no retry can fix (`MalformedDetail`, ...), returning
//! [`PublishError::Undelivered`] naming each event it could not deliver.
//!
//! The call itself goes through [`PutEventsApi`], a one-method seam implemented for the SDK
//! client, so tests can wrap the real client and inject transient partial failures, which
//! moto cannot produce.

use access_sync_ports::{EventPublisher, OutboundEvent, PublishError, UndeliveredEvent};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use std::future::Future;
use std::time::Duration;

/// EventBridge accepts at most this many entries per `PutEvents`.
const MAX_ENTRIES: usize = 10;

/// Entry error codes a retry cannot fix.
const PERMANENT: [&str; 5] = [
    "MalformedDetail",
    "InvalidArgument",
    "AccessDeniedException",
    "NotAuthorizedForSourceException",
    "ValidationException",
];

/// The one EventBridge call the publisher makes.
pub trait PutEventsApi {
    /// Sends one `PutEvents` request.
    ///
    /// # Errors
    /// A description of a failure of the whole call (after the SDK's own retries).
    fn put_events(
        &self,
        entries: Vec<PutEventsRequestEntry>,
    ) -> impl Future<Output = Result<PutEventsOutput, String>> + Send;
}

impl PutEventsApi for Client {
    async fn put_events(
        &self,
        entries: Vec<PutEventsRequestEntry>,
    ) -> Result<PutEventsOutput, String> {
        self.put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}

/// Publishes to one event bus with per-entry retries.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher<C = Client> {
    api: C,
    bus: String,
    attempts: u32,
    backoff: Duration,
}

impl<C: PutEventsApi + Sync> EventBridgePublisher<C> {
    /// A publisher to `bus` trying each entry up to 4 times, pausing 50 ms, 100 ms, 200 ms.
    pub fn new(api: C, bus: impl Into<String>) -> Self {
        Self {
            api,
            bus: bus.into(),
            attempts: 4,
            backoff: Duration::from_millis(50),
        }
    }

    /// Sets the attempts per entry (at least 1) and the first pause (doubled each time).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// The wrapped API (for tests that inspect a test double).
    pub fn api(&self) -> &C {
        &self.api
    }

    fn entry(&self, e: &OutboundEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&e.source)
            .detail_type(&e.detail_type)
            .detail(e.detail.to_string())
            .build()
    }

    /// Delivers one chunk of at most [`MAX_ENTRIES`]; `indexes` are the events' positions in
    /// the caller's slice. Returns what could not be delivered.
    async fn deliver_chunk(
        &self,
        events: &[OutboundEvent],
        indexes: Vec<usize>,
    ) -> Result<Vec<UndeliveredEvent>, PublishError> {
        let mut pending = indexes;
        let mut undelivered = Vec::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
            let entries = pending.iter().map(|&i| self.entry(&events[i])).collect();
            let out = self
                .api
                .put_events(entries)
                .await
                .map_err(PublishError::Unavailable)?;
            if out.failed_entry_count() == 0 {
                return Ok(undelivered);
            }
            let results = out.entries();
            let mut retry = Vec::new();
            for (pos, &i) in pending.iter().enumerate() {
                // Results come back in request order; a missing result is treated as failed.
                let (code, message) = match results.get(pos) {
                    Some(r) if r.error_code().is_none() => continue,
                    Some(r) => (
                        r.error_code().unwrap_or("Unknown").to_string(),
                        r.error_message().unwrap_or("").to_string(),
                    ),
                    None => ("Missing".to_string(), "no result for entry".to_string()),
                };
                let failed = UndeliveredEvent {
                    index: i,
                    detail_type: events[i].detail_type.clone(),
                    code,
                    message,
                };
                if PERMANENT.contains(&failed.code.as_str()) || attempt + 1 == self.attempts {
                    tracing::warn!(index = i, code = %failed.code, "event undelivered");
                    undelivered.push(failed);
                } else {
                    retry.push(i);
                }
            }
            if retry.is_empty() {
                break;
            }
            pending = retry;
        }
        Ok(undelivered)
    }
}

impl<C: PutEventsApi + Send + Sync> EventPublisher for EventBridgePublisher<C> {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        let all: Vec<usize> = (0..events.len()).collect();
        let mut undelivered = Vec::new();
        for chunk in all.chunks(MAX_ENTRIES) {
            undelivered.extend(self.deliver_chunk(events, chunk.to_vec()).await?);
        }
        if undelivered.is_empty() {
            Ok(())
        } else {
            undelivered.sort_by_key(|u| u.index);
            Err(PublishError::Undelivered(undelivered))
        }
    }
}
