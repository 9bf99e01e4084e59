//! `ingest`'s routes: canonical events, and each platform's webhook (signature, payload, size).

use crate::handler::handle;
use crate::trust::{Door, TrustSettings};
use access_sync_platforms::canonical::{CANONICAL_HEADER, sign};
use access_sync_platforms::{FixtureLine, Format, Platform, SignedRequest, WebhookTrust};
use access_sync_ports::RereadRequest;
use access_sync_ports::memory::{FixedWebhookSecrets, MemoryLedger, NoDirectory};
use access_sync_rules::Event;
use access_sync_rules::time::parse_instant;
use access_sync_runtime::Clock;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

const MAX_BODY: usize = crate::routes::MAX_BODY;

/// The canonical route's secret in these tests.
const CANONICAL_SECRET: &str = "whsec_canonical_test";

fn door() -> Door<MemoryLedger> {
    Door {
        ledger: MemoryLedger::default(),
        settings: TrustSettings::default(),
    }
}

/// The clock of the canonical tests: after every event's `at` below.
fn now() -> access_sync_rules::Instant {
    parse_instant("2026-12-07T10:30:00Z").unwrap()
}

/// No platform configured; the canonical route is, with [`CANONICAL_SECRET`].
async fn call(events: &FlakyPublisher, req: Request) -> Response<Body> {
    call_with(events, &door(), req).await
}

async fn call_with(
    events: &FlakyPublisher,
    door: &Door<MemoryLedger>,
    req: Request,
) -> Response<Body> {
    let secrets = FixedWebhookSecrets(Default::default(), Some(CANONICAL_SECRET.into()));
    handle(
        events,
        &secrets,
        &NoDirectory,
        door,
        &Clock::fixed(now()),
        req,
    )
    .await
}

use access_sync_runtime::testing::FlakyPublisher;

const MEMBER: &str =
    r#"{"id":"d-1","at":"2026-12-07T07:00:00Z","member":{"id":"m-cat","email":"cat@studio.dev"}}"#;
const BOOKING: &str = r#"{"id":"d-2","at":"2026-12-07T07:01:00Z","entitlement":{"id":"booking:b-1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m-cat"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#;
const CHECKIN: &str = r#"{"id":"d-3","at":"2026-12-07T08:40:00Z","entitlement":{"id":"checkin:c-1","kind":"checkin","refs":["checkin:london"],"holder":{"member":"m-cat"},"start":"2026-12-07T08:40:00Z"}}"#;
const CANCEL: &str =
    r#"{"id":"d-4","at":"2026-12-07T10:30:00Z","cancel":{"entitlement":"booking:b-1"}}"#;

/// A canonical batch signed with [`CANONICAL_SECRET`] at [`now`].
fn post(path: &str, body: impl Into<String>) -> Request {
    let body: String = body.into();
    let sig = sign(
        CANONICAL_SECRET.as_bytes(),
        body.as_bytes(),
        now().timestamp(),
    );
    let mut r = unsigned(path, body);
    r.headers_mut()
        .insert(CANONICAL_HEADER, sig.parse().unwrap());
    r
}

fn unsigned(path: &str, body: impl Into<Body>) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://abc.lambda-url.eu-west-1.on.aws{path}"))
        .body(body.into())
        .unwrap()
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

#[tokio::test]
async fn a_good_batch_is_published_with_detail_types_by_kind() {
    let events = FlakyPublisher::default();
    let body = format!("{MEMBER}\n{BOOKING}\n\n{CHECKIN}\r\n{CANCEL}\n");
    let r = call(&events, post("/events", body)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(json_of(&r), json!({"accepted": 4}));
    let sent = events.published();
    let types: Vec<&str> = sent.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(types, ["plan", "booking", "checkin", "plan"]);
    assert!(sent.iter().all(|e| e.source == "access-sync.ingest"));
    assert_eq!(
        Event::parse(&sent[1].detail.to_string()).unwrap(),
        Event::parse(BOOKING).unwrap()
    );
}

#[tokio::test]
async fn one_pretty_printed_object_is_one_event_at_the_root_path() {
    let events = FlakyPublisher::default();
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(BOOKING).unwrap());
    let r = call(&events, post("/", pretty.unwrap())).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(events.published().len(), 1);
}

#[tokio::test]
async fn a_bad_line_answers_400_naming_it_and_publishes_nothing() {
    let events = FlakyPublisher::default();
    let bad = BOOKING.replace("\"kind\":\"booking\"", "\"kind\":\"party\"");
    let r = call(
        &events,
        post("/events", format!("{MEMBER}\n{bad}\n{CHECKIN}")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json_of(&r);
    assert_eq!(body["line"], 2);
    assert!(body["reason"].as_str().unwrap().contains("kind"), "{body}");
    assert!(events.published().is_empty());
}

#[tokio::test]
async fn an_oversized_body_answers_413_and_other_methods_and_paths_are_refused() {
    let events = FlakyPublisher::default();
    let huge = format!("{MEMBER}\n").repeat(MAX_BODY / MEMBER.len() + 1);
    let r = call(&events, post("/events", huge)).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut get = post("/events", "");
    *get.method_mut() = Method::GET;
    let r = call(&events, get).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "POST");
    assert_eq!(
        call(&events, unsigned("/officernd", MEMBER)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&events, post("/events", "\n")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(events.published().is_empty());
}

#[tokio::test]
async fn a_bus_outage_answers_503_naming_the_events() {
    let events = FlakyPublisher::default();
    events.refuse("m-cat");
    let r = call(&events, post("/events", format!("{MEMBER}\n{BOOKING}"))).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json_of(&r)["undelivered"], json!(["d-1", "d-2"]));
}

#[tokio::test]
async fn the_sample_function_url_request_is_accepted() {
    let events = FlakyPublisher::default();
    let req = lambda_http::request::from_str(include_str!("../../../events/ingest.json"));
    // The sample is signed with `whsec_sample_canonical` at its own `timeEpoch`.
    let secrets = FixedWebhookSecrets(Default::default(), Some("whsec_sample_canonical".into()));
    let clock = Clock::fixed(parse_instant("2026-12-07T08:41:00Z").unwrap());
    let r = handle(
        &events,
        &secrets,
        &NoDirectory,
        &door(),
        &clock,
        req.unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert_eq!(events.published().len(), 4);
}

const SECRET: &str = "whsec_local_3kT9pQ";

fn secrets() -> FixedWebhookSecrets {
    FixedWebhookSecrets(
        Platform::ALL
            .iter()
            .map(|p| (*p, SECRET.to_string()))
            .collect(),
        None,
    )
}

/// The first payload of a platform's fixture file, split as `access-sync normalize` splits it.
fn first_line(platform: Platform) -> (Option<String>, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(platform.as_str())
        .join(platform.spec().fixture().file);
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap();
    let (word, payload) = access_sync_platforms::split_word(platform, line.trim());
    (word.map(str::to_string), payload.to_string())
}

/// One native delivery of each platform, signed right at `now` unless told otherwise.
struct Native {
    platform: Platform,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: access_sync_rules::Instant,
}

/// The first delivery of the platform's fixture, signed as the platform signs it, at the
/// instant it says it was sent (else 2026-12-01T08:00:00Z).
fn native(platform: Platform) -> Native {
    let (word, payload) = first_line(platform);
    let spec = platform.spec();
    let now = spec
        .sent_at(&payload)
        .unwrap_or_else(|| parse_instant("2026-12-01T08:00:00Z").unwrap());
    signed(platform, word.as_deref(), &payload, now)
}

fn signed(
    platform: Platform,
    word: Option<&str>,
    payload: &str,
    now: access_sync_rules::Instant,
) -> Native {
    let line = FixtureLine { word, payload };
    let SignedRequest {
        path,
        headers,
        body,
    } = platform.spec().send(SECRET, line, now);
    Native {
        platform,
        path,
        headers,
        body,
        now,
    }
}

impl Native {
    fn request(&self) -> Request {
        let mut r = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!(
                "https://abc.lambda-url.eu-west-1.on.aws{}",
                self.path
            ));
        for (k, v) in &self.headers {
            r = r.header(k.as_str(), v.as_str());
        }
        r.body(Body::Binary(self.body.clone())).unwrap()
    }

    fn without(mut self, header: &str) -> Native {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(header));
        self
    }

    /// Without what authenticates it (signature header, field or bearer token).
    fn unsigned(self) -> Native {
        let mut r = SignedRequest {
            path: self.path,
            headers: self.headers,
            body: self.body,
        };
        self.platform.spec().unsign(&mut r);
        Native {
            path: r.path,
            headers: r.headers,
            body: r.body,
            ..self
        }
    }

    async fn send(&self, events: &FlakyPublisher) -> Response<Body> {
        self.send_to(events, &door()).await
    }

    async fn send_to(&self, events: &FlakyPublisher, door: &Door<MemoryLedger>) -> Response<Body> {
        handle(
            events,
            &secrets(),
            &NoDirectory,
            door,
            &Clock::fixed(self.now),
            self.request(),
        )
        .await
    }
}

#[tokio::test]
async fn a_rightly_signed_webhook_of_each_platform_is_published_as_canonical_events() {
    for p in Platform::ALL {
        let events = FlakyPublisher::default();
        let r = native(p).send(&events).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{p:?}: {:?}", r.body());
        let sent = events.published();
        assert!(!sent.is_empty(), "{p:?}: nothing published");
        assert_eq!(json_of(&r)["accepted"], json!(sent.len()));
        for e in &sent {
            assert_eq!(e.source, "access-sync.ingest");
            match p.webhook_trust() {
                WebhookTrust::Direct => {
                    Event::parse(&e.detail.to_string()).unwrap();
                }
                // Only re-read requests: the body itself is not believed.
                WebhookTrust::Hint => {
                    assert_eq!(e.detail_type, "reread");
                    let r: RereadRequest = serde_json::from_value(e.detail.clone()).unwrap();
                    assert_eq!(r.platform, p.as_str());
                }
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_or_missing_signature_gets_401_and_publishes_nothing() {
    for p in Platform::ALL {
        let events = FlakyPublisher::default();
        // Wrong: signed with another secret.
        let mut wrong = native(p);
        let other = FixedWebhookSecrets(
            Platform::ALL
                .iter()
                .map(|p| (*p, "not-the-secret".to_string()))
                .collect(),
            None,
        );
        let r = handle(
            &events,
            &other,
            &NoDirectory,
            &door(),
            &Clock::fixed(wrong.now),
            wrong.request(),
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{p:?} wrong: {:?}",
            r.body()
        );
        // Missing.
        wrong = native(p).unsigned();
        let r = wrong.send(&events).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{p:?} missing: {:?}",
            r.body()
        );
        assert!(events.published().is_empty(), "{p:?}");
    }
}

#[tokio::test]
async fn a_replayed_delivery_outside_the_five_minute_window_gets_401() {
    let windowed: Vec<Platform> = Platform::ALL
        .into_iter()
        .filter(|p| p.spec().has_replay_window())
        .collect();
    assert_eq!(windowed, [Platform::Officernd, Platform::Optix]);
    for p in windowed {
        let events = FlakyPublisher::default();
        let mut late = native(p);
        late.now += chrono::Duration::minutes(6);
        let r = late.send(&events).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{p:?}: {:?}",
            r.body()
        );
        let mut early = native(p);
        early.now -= chrono::Duration::minutes(6);
        assert_eq!(
            early.send(&events).await.status(),
            StatusCode::UNAUTHORIZED,
            "{p:?}"
        );
        assert!(events.published().is_empty());
    }
}

#[tokio::test]
async fn the_teamup_secret_may_be_a_path_segment_and_a_wrong_one_is_refused() {
    let events = FlakyPublisher::default();
    let mut n = native(Platform::Teamup).without("authorization");
    n.path = format!("/teamup/{SECRET}");
    assert_eq!(n.send(&events).await.status(), StatusCode::ACCEPTED);
    n.path = "/teamup/guess".into();
    assert_eq!(n.send(&events).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_malformed_but_signed_payload_gets_400_with_a_reason_and_publishes_nothing() {
    for p in Platform::ALL {
        let events = FlakyPublisher::default();
        let (word, _) = first_line(p);
        let n = native(p);
        let bad = match p.spec().fixture().format {
            Format::Form => {
                let ts = n.now.timestamp().to_string();
                // No `event`: not an Optix delivery at all.
                format!("client_id=8e3b7c1d&created_timestamp={ts}&booking_id=88001")
            }
            Format::Json => r#"{"not": "a webhook"#.to_string(),
        };
        let n = signed(p, word.as_deref(), &bad, n.now);
        let r = n.send(&events).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{p:?}: {:?}", r.body());
        assert!(json_of(&r)["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert!(events.published().is_empty(), "{p:?}");
    }
}

#[tokio::test]
async fn a_platform_body_over_256_kib_gets_413_and_an_unconfigured_platform_404() {
    for p in Platform::ALL {
        let events = FlakyPublisher::default();
        let mut n = native(p);
        n.body = vec![b' '; MAX_BODY + 1];
        assert_eq!(
            n.send(&events).await.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{p:?}"
        );
        let r = call(&events, native(p).request()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{p:?}");
    }
}

#[tokio::test]
async fn an_unsigned_or_wrongly_signed_or_stale_canonical_batch_gets_401() {
    let events = FlakyPublisher::default();
    let d = door();
    let r = call_with(&events, &d, unsigned("/events", MEMBER)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        json_of(&r)["error"]
            .as_str()
            .unwrap()
            .contains(CANONICAL_HEADER)
    );
    let mut wrong = unsigned("/events", MEMBER);
    let sig = sign(b"another secret", MEMBER.as_bytes(), now().timestamp());
    wrong
        .headers_mut()
        .insert(CANONICAL_HEADER, sig.parse().unwrap());
    assert_eq!(
        call_with(&events, &d, wrong).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut stale = unsigned("/", MEMBER);
    let sig = sign(
        CANONICAL_SECRET.as_bytes(),
        MEMBER.as_bytes(),
        now().timestamp() - 301,
    );
    stale
        .headers_mut()
        .insert(CANONICAL_HEADER, sig.parse().unwrap());
    assert_eq!(
        call_with(&events, &d, stale).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Signed for another body.
    let mut swapped = post("/events", MEMBER);
    *swapped.body_mut() = Body::Text(BOOKING.into());
    assert_eq!(
        call_with(&events, &d, swapped).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(events.published().is_empty());
    assert!(
        d.ledger.is_empty(),
        "nothing recorded for a refused request"
    );
}

#[tokio::test]
async fn without_a_canonical_secret_the_route_is_closed() {
    let events = FlakyPublisher::default();
    for secret in [None, Some(String::new())] {
        let secrets = FixedWebhookSecrets(Default::default(), secret);
        let r = handle(
            &events,
            &secrets,
            &NoDirectory,
            &door(),
            &Clock::fixed(now()),
            post("/events", MEMBER),
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    assert!(events.published().is_empty());
}

#[tokio::test]
async fn a_replayed_canonical_batch_is_a_duplicate_and_publishes_nothing_more() {
    let events = FlakyPublisher::default();
    let d = door();
    let body = format!("{MEMBER}\n{BOOKING}");
    let first = post("/events", body.clone());
    let again = post("/events", body);
    assert_eq!(
        call_with(&events, &d, first).await.status(),
        StatusCode::ACCEPTED
    );
    let r = call_with(&events, &d, again).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(&r)["duplicate"], json!(true));
    assert_eq!(events.published().len(), 2);
}

#[tokio::test]
async fn a_failed_publish_leaves_the_delivery_claimed_for_a_minute_then_retryable() {
    let events = FlakyPublisher::default();
    let d = door();
    events.refuse("m-cat");
    let r = call_with(&events, &d, post("/events", MEMBER)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // At once: still claimed by the failed attempt.
    let r = call_with(&events, &d, post("/events", MEMBER)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.headers().get(header::RETRY_AFTER).unwrap(),
        &crate::trust::CLAIM_SECS.to_string()
    );
    // Retried after exactly that long the claim has lapsed: the same signed request goes
    // through (a sender honouring Retry-After is not refused twice).
    let events = FlakyPublisher::default();
    let later = now() + chrono::Duration::seconds(crate::trust::CLAIM_SECS);
    let secrets = FixedWebhookSecrets(Default::default(), Some(CANONICAL_SECRET.into()));
    let r = handle(
        &events,
        &secrets,
        &NoDirectory,
        &d,
        &Clock::fixed(later),
        post("/events", MEMBER),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert_eq!(events.published().len(), 1);
}

#[tokio::test]
async fn a_far_future_at_or_a_batch_over_a_limit_gets_400_naming_line_field_and_limit() {
    let events = FlakyPublisher::default();
    let d = door();
    let future = MEMBER.replace("2026-12-07T07:00:00Z", "9999-01-01T00:00:00Z");
    let r = call_with(
        &events,
        &d,
        post("/events", format!("{BOOKING}\n\n{future}")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b = json_of(&r);
    assert_eq!(
        (b["line"].clone(), b["field"].clone()),
        (json!(3), json!("at")),
        "{b}"
    );
    let guests: Vec<String> = (0..51).map(|i| format!("\"g{i}@x.dev\"")).collect();
    let crowded = BOOKING.replace(
        "\"holder\":{\"member\":\"m-cat\"}",
        &format!(
            "\"holder\":{{\"member\":\"m-cat\"}},\"guests\":[{}]",
            guests.join(",")
        ),
    );
    let r = call_with(&events, &d, post("/events", crowded)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b = json_of(&r);
    assert_eq!(
        (b["line"].clone(), b["field"].clone(), b["limit"].clone()),
        (json!(1), json!("entitlement.guests"), json!(50)),
        "{b}"
    );
    assert!(events.published().is_empty());
    assert!(d.ledger.is_empty());
}

#[tokio::test]
async fn replayed_platform_deliveries_are_duplicates_whatever_the_nexudus_action() {
    for p in Platform::ALL {
        let events = FlakyPublisher::default();
        let d = door();
        let n = native(p);
        assert_eq!(
            n.send_to(&events, &d).await.status(),
            StatusCode::ACCEPTED,
            "{p:?}"
        );
        let published = events.published().len();
        let r = n.send_to(&events, &d).await;
        assert_eq!(r.status(), StatusCode::OK, "{p:?}: {:?}", r.body());
        assert_eq!(json_of(&r)["duplicate"], json!(true));
        assert_eq!(events.published().len(), published, "{p:?}");
    }
    // The same signed Nexudus body under another action.
    let events = FlakyPublisher::default();
    let d = door();
    let n = native(Platform::Nexudus);
    assert_eq!(n.send_to(&events, &d).await.status(), StatusCode::ACCEPTED);
    let mut other = native(Platform::Nexudus);
    other.path = "/nexudus?action=BookingDelete".into();
    let published = events.published().len();
    let r = other.send_to(&events, &d).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
    assert_eq!(json_of(&r)["duplicate"], json!(true));
    assert_eq!(events.published().len(), published);
    // Under a fresh ledger the same body and action would be a cancel: the refusal matters.
    let r = other.send_to(&events, &door()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert!(
        events.published()[published..]
            .iter()
            .any(|e| e.detail.get("cancel").is_some())
    );
    // An Optix signature with another body: Optix's signature does not cover the body, so
    // the ledger keys a hint on both (`replay::hint_key`); the other body is one more hint,
    // which only asks for re-reads (it can grant nothing), and its exact replay a duplicate.
    let events = FlakyPublisher::default();
    let d = door();
    let n = native(Platform::Optix);
    assert_eq!(n.send_to(&events, &d).await.status(), StatusCode::ACCEPTED);
    let published = events.published().len();
    let mut swapped = native(Platform::Optix);
    let body = String::from_utf8(swapped.body.clone()).unwrap();
    let changed = body.replace("ann%40acme.io", "mal%40evil.dev");
    assert_ne!(changed, body);
    swapped.body = changed.into_bytes();
    let r = swapped.send_to(&events, &d).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert!(
        events.published()[published..]
            .iter()
            .all(|e| e.detail_type == "reread")
    );
    let published = events.published().len();
    let r = swapped.send_to(&events, &d).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
    assert_eq!(events.published().len(), published);
}

#[tokio::test]
async fn a_nexudus_action_we_do_not_act_on_is_acknowledged_never_refused() {
    // Nexudus disables a webhook after 10 failed deliveries (WH-RETRY): an action we do not
    // act on, known or not, gets 2xx and publishes nothing.
    for action in [
        "CoworkerInvoicePaid",
        "HelDeskMessageCreated",
        "90",
        "SomethingNew",
    ] {
        let events = FlakyPublisher::default();
        let mut n = native(Platform::Nexudus);
        n.path = format!("/nexudus?action={action}");
        let r = n.send(&events).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{action}: {:?}", r.body());
        assert_eq!(json_of(&r)["accepted"], json!(0), "{action}");
        assert!(events.published().is_empty(), "{action}");
    }
    // A check-in action is understood.
    let body = r#"[{"Id":99001,"CoworkerId":1001,"BusinessId":11,"FromTime":"2026-12-01T07:55:00Z","ToTime":null,"UpdatedOn":"2026-12-01T07:55:00Z"}]"#;
    let events = FlakyPublisher::default();
    let n = signed(
        Platform::Nexudus,
        Some("CheckinCreated"),
        body,
        parse_instant("2026-12-01T08:00:00Z").unwrap(),
    );
    let r = n.send(&events).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert_eq!(events.published().len(), 1);
}

// ------------------------------------------------------------------ webhooks that are hints

/// The Optix re-read requests published, as (collection, id).
fn rereads(events: &FlakyPublisher) -> Vec<(String, String)> {
    rereads_of(events, Platform::Optix)
}

/// The re-read requests of `platform` published, as (collection, id); anything else fails.
fn rereads_of(events: &FlakyPublisher, platform: Platform) -> Vec<(String, String)> {
    events
        .published()
        .iter()
        .map(|e| {
            assert_eq!(
                e.detail_type, "reread",
                "a canonical event was published: {e:?}"
            );
            assert!(
                Event::parse(&e.detail.to_string()).is_err(),
                "a re-read request must not read as a canonical event"
            );
            let r: RereadRequest = serde_json::from_value(e.detail.clone()).unwrap();
            assert_eq!(r.platform, platform.as_str());
            (r.collection, r.id)
        })
        .collect()
}

#[tokio::test]
async fn a_forged_optix_body_under_a_captured_signature_only_asks_for_a_re_read() {
    let genuine = native(Platform::Optix);
    let sig = |b: &[u8]| {
        form_urlencoded::parse(b)
            .find(|(k, _)| k == "request_signature")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let captured = sig(&genuine.body);
    let ts = genuine.now.timestamp();
    // The attacker keeps client_id, created_timestamp and the signature, and writes a body
    // that would grant a plan to themselves if it were believed.
    let forged_body = format!(
        "client_id=8e3b7c1d&created_timestamp={ts}&organization_id=456&event=new_plan_subscription\
         &account_plan_id=666&plan_template_id=77&member_email=mallory%40evil.example\
         &start_timestamp={ts}&request_signature={captured}"
    );
    let forged = Native {
        body: forged_body.into_bytes(),
        ..native(Platform::Optix)
    };
    assert_eq!(sig(&forged.body), captured);
    let events = FlakyPublisher::default();
    let d = door();
    let r = forged.send_to(&events, &d).await;
    // Verified (the signature is genuine), so acknowledged; but all that is published is a
    // request to read account plan 666 from Optix's API, which decides.
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert_eq!(
        rereads(&events),
        [("accountPlans".to_string(), "666".to_string())]
    );
    // The genuine delivery with the same signature afterwards is not a duplicate (the ledger
    // keys a hint on the signature and the body): its record is re-read too.
    let r = genuine.send_to(&events, &d).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    let after = rereads(&events);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_ne!(after[1], after[0]);
    // Each exact replay, forged or genuine, is one delivery.
    for n in [&forged, &genuine] {
        let r = n.send_to(&events, &d).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(json_of(&r)["duplicate"], json!(true));
    }
    assert_eq!(rereads(&events).len(), 2);
}

#[tokio::test]
async fn an_optix_cancellation_is_not_acted_on_before_the_re_read() {
    let ts = native(Platform::Optix).now.timestamp();
    let body = format!(
        "client_id=8e3b7c1d&created_timestamp={ts}&organization_id=456&event=member_booking_cancelled&booking_id=88001&workspace_id=310"
    );
    let n = signed(Platform::Optix, None, &body, native(Platform::Optix).now);
    let events = FlakyPublisher::default();
    assert_eq!(n.send(&events).await.status(), StatusCode::ACCEPTED);
    assert_eq!(
        rereads(&events),
        [("bookings".to_string(), "88001".to_string())]
    );
}

#[tokio::test]
async fn an_unknown_optix_event_is_acknowledged_and_publishes_nothing() {
    let now = native(Platform::Optix).now;
    let body = format!(
        "client_id=8e3b7c1d&created_timestamp={}&organization_id=456&event=new_issue&issue_id=5",
        now.timestamp()
    );
    let events = FlakyPublisher::default();
    let r = signed(Platform::Optix, None, &body, now)
        .send(&events)
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(json_of(&r)["accepted"], 0);
    assert!(events.published().is_empty());
}

#[tokio::test]
async fn an_optix_token_update_is_offered_to_the_token_store_and_never_published() {
    use access_sync_ports::ApiTokens;
    use access_sync_ports::memory::{MemoryApiTokens, TokenKeepingSecrets};
    let now = native(Platform::Optix).now;
    let body = format!(
        "client_id=8e3b7c1d&created_timestamp={}&organization_id=456&event=organization_token_updated&organization_token=tok-new-o",
        now.timestamp()
    );
    let n = signed(Platform::Optix, None, &body, now);
    let tokens = std::sync::Arc::new(MemoryApiTokens::with(Platform::Optix, "tok-old-o"));
    let keeping = TokenKeepingSecrets(secrets(), tokens.clone());
    let events = FlakyPublisher::default();
    let r = handle(
        &events,
        &keeping,
        &NoDirectory,
        &door(),
        &Clock::fixed(now),
        n.request(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    assert!(events.published().is_empty());
    assert!(!String::from_utf8_lossy(r.body().as_ref()).contains("tok-new-o"));
    let cand = tokens.candidate(Platform::Optix).await.unwrap().unwrap();
    assert_eq!(cand.expose(), "tok-new-o");
    // Only offered: the token in use is unchanged until the client has checked it.
    let cur = tokens.current(Platform::Optix).await.unwrap().unwrap();
    assert_eq!(cur.expose(), "tok-old-o");
    // Without a token store the update is acknowledged and said not to be kept.
    let r = signed(Platform::Optix, None, &body, now)
        .send(&events)
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(json_of(&r)["note"].as_str().unwrap().contains("not kept"));
}

// ------------------------------------------------------------------ TeamUp webhooks are nudges

fn teamup(webhook_id: &str, body: &str) -> Native {
    signed(
        Platform::Teamup,
        Some(webhook_id),
        body,
        parse_instant("2026-12-01T08:00:00Z").unwrap(),
    )
}

#[tokio::test]
async fn a_teamup_body_claiming_a_membership_only_asks_for_re_reads() {
    // Authenticated by the installation secret, but TeamUp signs nothing: a body that would
    // grant membership 999 to customer 4312 (with an attacker's address) if it were believed.
    let body = r#"{"feed_items":[{"object":"feed_item","id":13553027,"timestamp":"2026-12-01T07:59:00Z","type":"customer_membership.created","data":{"id":999,"status":"active","membership":274852,"customer":{"id":4312,"email":"mallory@evil.example"},"start_date":"2026-12-01","expiration_date":null}}]}"#;
    let events = FlakyPublisher::default();
    let r = teamup("wh-1", body).send(&events).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    // Nothing canonical (no member, no entitlement): only "read these from TeamUp's API".
    assert_eq!(
        rereads_of(&events, Platform::Teamup),
        [
            ("customer_memberships".to_string(), "999".to_string()),
            ("customers".to_string(), "4312".to_string())
        ]
    );
    assert!(
        events
            .published()
            .iter()
            .all(|e| !e.detail.to_string().contains("mallory"))
    );
}

#[tokio::test]
async fn teamup_deliveries_are_deduplicated_by_their_webhook_id() {
    let d = door();
    let events = FlakyPublisher::default();
    let first = r#"{"feed_items":[{"object":"feed_item","id":1,"timestamp":"2026-12-01T07:59:00Z","type":"customer.updated","data":{"id":4312}}]}"#;
    assert_eq!(
        teamup("wh-7", first).send_to(&events, &d).await.status(),
        StatusCode::ACCEPTED
    );
    // A retry under the same TEAMUP-WEBHOOK-ID (§5: stable across retries) with the same body
    // does nothing. (The hint ledger keys on the id *and* the body, `replay::hint_key`: another
    // body under a seen id could only ask for more re-reads, never grant.)
    let r = teamup("wh-7", first).send_to(&events, &d).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
    assert_eq!(json_of(&r)["duplicate"], json!(true));
    let other = first.replace("4312", "4313");
    // Another webhook id is another delivery.
    assert_eq!(
        teamup("wh-8", &other).send_to(&events, &d).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        rereads_of(&events, Platform::Teamup),
        [
            ("customers".to_string(), "4312".to_string()),
            ("customers".to_string(), "4313".to_string())
        ]
    );
}

#[tokio::test]
async fn an_unknown_teamup_feed_item_is_acknowledged_and_publishes_nothing() {
    for body in [
        r#"{"feed_items":[{"object":"feed_item","id":5,"timestamp":"2026-12-01T07:59:00Z","type":"payment.succeeded","data":{"id":77,"amount":"12.00"}}]}"#,
        r#"{"feed_items":[{"object":"feed_item","id":6}]}"#,
        r#"{"feed_items":[]}"#,
    ] {
        let events = FlakyPublisher::default();
        let r = teamup("wh-9", body).send(&events).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{body}: {:?}", r.body());
        assert_eq!(json_of(&r)["accepted"], 0);
        assert!(events.published().is_empty());
    }
    // Not TeamUp's format at all: 400 with the reason, nothing published.
    let events = FlakyPublisher::default();
    let r = teamup("wh-10", r#"{"items":[]}"#).send(&events).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(events.published().is_empty());
}
