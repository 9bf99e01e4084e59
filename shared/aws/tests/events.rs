//! EventBridge publisher against moto: delivery through a rule to an SQS queue, transient
//! partial failures retried until delivered (injected by a wrapper around the real client,
//! since moto never fails an entry transiently), permanent failures named.

use access_sync_aws::testing::shared;
use access_sync_aws::{EventBridgePublisher, PutEventsApi};
use access_sync_ports::{EventPublisher, OutboundEvent, PublishError};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry, Target};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Creates `bus`, a queue, and a rule routing source `access-sync.test` to the queue.
async fn bus_to_queue(bus: &str) -> (Client, aws_sdk_sqs::Client, String) {
    let sdk = shared().sdk_config().await;
    let events = Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    events.create_event_bus().name(bus).send().await.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{bus}-q"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{bus}-q");
    events
        .put_rule()
        .name(format!("{bus}-rule"))
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["access-sync.test"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(format!("{bus}-rule"))
        .event_bus_name(bus)
        .targets(Target::builder().id("q").arn(queue_arn).build().unwrap())
        .send()
        .await
        .unwrap();
    (events, sqs, queue_url)
}

/// The `n` of every event that reached the queue (waiting up to 10 s for `expected`).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str, expected: usize) -> Vec<u64> {
    let mut got = Vec::new();
    for _ in 0..50 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            got.push(body["detail"]["n"].as_u64().unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if got.len() >= expected && out.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got
}

fn event(n: usize) -> OutboundEvent {
    OutboundEvent {
        source: "access-sync.test".into(),
        detail_type: "AccessChanged".into(),
        detail: serde_json::json!({ "n": n }),
    }
}

/// Wraps the real client: for the first `flaky_calls` calls, every other entry is not sent
/// and comes back as `InternalFailure`, as EventBridge does under partial failure.
struct Flaky {
    inner: Client,
    flaky_calls: usize,
    calls: AtomicUsize,
    sent_per_call: Mutex<Vec<usize>>,
}

impl PutEventsApi for Flaky {
    async fn put_events(
        &self,
        entries: Vec<PutEventsRequestEntry>,
    ) -> Result<PutEventsOutput, String> {
        self.sent_per_call.lock().unwrap().push(entries.len());
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.flaky_calls {
            return PutEventsApi::put_events(&self.inner, entries).await;
        }
        let (pass, fail): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let real =
            PutEventsApi::put_events(&self.inner, pass.iter().map(|(_, e)| e.clone()).collect())
                .await?;
        let mut real_results = real.entries().iter().cloned();
        let mut merged = Vec::new();
        let total = pass.len() + fail.len();
        for i in 0..total {
            if i % 2 == 0 {
                merged.push(real_results.next().unwrap());
            } else {
                merged.push(
                    PutEventsResultEntry::builder()
                        .error_code("InternalFailure")
                        .error_message("injected transient failure")
                        .build(),
                );
            }
        }
        Ok(PutEventsOutput::builder()
            .failed_entry_count(real.failed_entry_count() + fail.len() as i32)
            .set_entries(Some(merged))
            .build())
    }
}

#[tokio::test]
async fn events_reach_an_sqs_target_through_a_rule() {
    let (events, sqs, url) = bus_to_queue("bus-deliver").await;
    let publisher = EventBridgePublisher::new(events, "bus-deliver");
    let batch: Vec<_> = (0..13).map(event).collect(); // more than one PutEvents (10 max)
    publisher.publish(&batch).await.unwrap();
    let mut got = drain(&sqs, &url, 13).await;
    got.sort();
    assert_eq!(got, (0..13).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_partial_failure_is_retried_entry_by_entry_until_delivered() {
    let (events, sqs, url) = bus_to_queue("bus-flaky").await;
    let flaky = Flaky {
        inner: events,
        flaky_calls: 2,
        calls: AtomicUsize::new(0),
        sent_per_call: Mutex::new(Vec::new()),
    };
    let publisher =
        EventBridgePublisher::new(flaky, "bus-flaky").with_retries(5, Duration::from_millis(1));
    let batch: Vec<_> = (0..6).map(event).collect();
    publisher.publish(&batch).await.unwrap();
    // 6 sent, 3 failed; the 3 resent, 1 failed; the 1 resent and delivered.
    let flaky = publisher_api_calls(&publisher);
    assert_eq!(flaky, vec![6, 3, 1]);
    let got = drain(&sqs, &url, 6).await;
    // Every event exactly once: only the failed entries were resent.
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(
        got.iter().copied().collect::<BTreeSet<_>>(),
        (0..6).collect()
    );
}

fn publisher_api_calls(p: &EventBridgePublisher<Flaky>) -> Vec<usize> {
    p.api().sent_per_call.lock().unwrap().clone()
}

/// Wraps the real client and garbles the detail of entries of type `Garbled` on the wire
/// (our events are always valid JSON), so moto answers `MalformedDetail` for them.
struct Garbling {
    inner: Client,
    calls: AtomicUsize,
}

impl PutEventsApi for Garbling {
    async fn put_events(
        &self,
        entries: Vec<PutEventsRequestEntry>,
    ) -> Result<PutEventsOutput, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let entries = entries
            .into_iter()
            .map(|e| {
                if e.detail_type() == Some("Garbled") {
                    PutEventsRequestEntry::builder()
                        .set_event_bus_name(e.event_bus_name().map(str::to_string))
                        .set_source(e.source().map(str::to_string))
                        .detail_type("Garbled")
                        .detail("{not json")
                        .build()
                } else {
                    e
                }
            })
            .collect();
        PutEventsApi::put_events(&self.inner, entries).await
    }
}

#[tokio::test]
async fn an_entry_that_cannot_succeed_is_named_not_retried_and_the_others_are_delivered() {
    let (events, sqs, url) = bus_to_queue("bus-malformed").await;
    let garbling = Garbling {
        inner: events,
        calls: AtomicUsize::new(0),
    };
    let publisher = EventBridgePublisher::new(garbling, "bus-malformed");
    let entries = vec![
        event(1),
        OutboundEvent {
            detail_type: "Garbled".into(),
            ..event(2)
        },
        event(3),
    ];
    match publisher.publish(&entries).await {
        Err(PublishError::Undelivered(failed)) => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].index, 1);
            assert_eq!(failed[0].detail_type, "Garbled");
            assert_eq!(failed[0].code, "MalformedDetail");
        }
        other => panic!("expected one undelivered event, got {other:?}"),
    }
    // MalformedDetail is permanent: no second PutEvents.
    assert_eq!(publisher.api().calls.load(Ordering::SeqCst), 1);
    let mut got = drain(&sqs, &url, 2).await;
    got.sort();
    assert_eq!(got, vec![1, 3]);
}
