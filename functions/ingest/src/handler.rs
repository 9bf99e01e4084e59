//! HTTP → canonical events → EventBridge, all or nothing per request.
//!
//! `POST /` or `/events` with JSON Lines (or one JSON object) of canonical events. Every line
//! is parsed before anything is published: one bad line answers 400 naming the line and the
//! reason, and nothing is published. Good events go to the bus with source
//! `access-sync.ingest` and a detail-type by kind (see `access_sync_lambda::messages`).

use access_sync_lambda::messages::{canonical_event, parse_body};
use access_sync_ports::{EventPublisher, OutboundEvent, PublishError};
use access_sync_rules::{Event, LineError};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// Largest body accepted (an EventBridge entry is at most 256 KiB too).
pub const MAX_BODY: usize = 256 * 1024;

/// Routes one request.
pub async fn handle<P: EventPublisher>(events: &P, req: Request) -> Response<Body> {
    match req.uri().path().trim_end_matches('/') {
        "" | "/events" => canonical(events, &req).await,
        // Platform dialects (`/officernd`, `/nexudus`, ...) get their routes here.
        path => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no route {path}")}),
        ),
    }
}

async fn canonical<P: EventPublisher>(events: &P, req: &Request) -> Response<Body> {
    if req.method() != Method::POST {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "use POST"}));
        r.headers_mut()
            .insert(header::ALLOW, "POST".parse().expect("a valid header"));
        return r;
    }
    let body = req.body().as_ref();
    if body.len() > MAX_BODY {
        let error = format!(
            "the body is {} bytes; at most {MAX_BODY} are accepted",
            body.len()
        );
        return reply(StatusCode::PAYLOAD_TOO_LARGE, json!({ "error": error }));
    }
    let parsed = match std::str::from_utf8(body).map_err(|_| LineError::new(1, "not UTF-8")) {
        Ok(text) => parse_body(text),
        Err(e) => Err(e),
    };
    let parsed = match parsed {
        Ok(evs) if !evs.is_empty() => evs,
        Ok(_) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": "no events in the body"}),
            );
        }
        Err(e) => {
            tracing::warn!(line = e.line, reason = %e.message, "rejected a batch");
            let body = json!({"error": "invalid event", "line": e.line, "reason": e.message});
            return reply(StatusCode::BAD_REQUEST, body);
        }
    };
    let out: Vec<OutboundEvent> = parsed.iter().map(canonical_event).collect();
    match events.publish(&out).await {
        Ok(()) => {
            tracing::info!(accepted = out.len(), "published");
            reply(StatusCode::ACCEPTED, json!({"accepted": out.len()}))
        }
        Err(e) => unavailable(&parsed, e),
    }
}

/// The bus refused some events even after retries: 503, naming them; resending the whole
/// request is safe (events are recorded once per id).
fn unavailable(events: &[Event], e: PublishError) -> Response<Body> {
    tracing::error!(error = %e, "publishing failed");
    let ids: Vec<&str> = match &e {
        PublishError::Undelivered(u) => u
            .iter()
            .filter_map(|u| events.get(u.index))
            .map(|e| e.id.as_str())
            .collect(),
        PublishError::Unavailable(_) => events.iter().map(|e| e.id.as_str()).collect(),
    };
    let mut r = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": e.to_string(), "undelivered": ids}),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, "5".parse().expect("a valid header"));
    r
}

fn reply(status: StatusCode, body: Value) -> Response<Body> {
    let mut r = Response::new(Body::Text(body.to_string()));
    *r.status_mut() = status;
    let json = "application/json".parse().expect("a valid header");
    r.headers_mut().insert(header::CONTENT_TYPE, json);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_lambda::testing::FlakyPublisher;

    const MEMBER: &str = r#"{"id":"d-1","at":"2026-12-07T07:00:00Z","member":{"id":"m-cat","email":"cat@studio.dev"}}"#;
    const BOOKING: &str = r#"{"id":"d-2","at":"2026-12-07T07:01:00Z","entitlement":{"id":"booking:b-1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m-cat"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#;
    const CHECKIN: &str = r#"{"id":"d-3","at":"2026-12-07T08:40:00Z","entitlement":{"id":"checkin:c-1","kind":"checkin","refs":["checkin:london"],"holder":{"member":"m-cat"},"start":"2026-12-07T08:40:00Z"}}"#;
    const CANCEL: &str =
        r#"{"id":"d-4","at":"2026-12-07T10:30:00Z","cancel":{"entitlement":"booking:b-1"}}"#;

    fn post(path: &str, body: impl Into<Body>) -> Request {
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
        let r = handle(&events, post("/events", body)).await;
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
        let r = handle(&events, post("/", pretty.unwrap())).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(events.published().len(), 1);
    }

    #[tokio::test]
    async fn a_bad_line_answers_400_naming_it_and_publishes_nothing() {
        let events = FlakyPublisher::default();
        let bad = BOOKING.replace("\"kind\":\"booking\"", "\"kind\":\"party\"");
        let r = handle(
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
        let r = handle(&events, post("/events", huge)).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let mut get = post("/events", "");
        *get.method_mut() = Method::GET;
        let r = handle(&events, get).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "POST");
        assert_eq!(
            handle(&events, post("/officernd", MEMBER)).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            handle(&events, post("/events", "\n")).await.status(),
            StatusCode::BAD_REQUEST
        );
        assert!(events.published().is_empty());
    }

    #[tokio::test]
    async fn a_bus_outage_answers_503_naming_the_events() {
        let events = FlakyPublisher::default();
        events.refuse("m-cat");
        let r = handle(&events, post("/events", format!("{MEMBER}\n{BOOKING}"))).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json_of(&r)["undelivered"], json!(["d-1", "d-2"]));
    }

    #[tokio::test]
    async fn the_sample_function_url_request_is_accepted() {
        let events = FlakyPublisher::default();
        let req = lambda_http::request::from_str(include_str!("../../../events/ingest.json"));
        let r = handle(&events, req.unwrap()).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
        assert_eq!(events.published().len(), 4);
    }
}
