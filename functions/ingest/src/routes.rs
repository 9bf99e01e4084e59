//! What `ingest` does with one HTTP request, route by route.
//!
//! - `POST /` or `/events`: JSON Lines (or one JSON object) of canonical events, signed with
//!   the installation's canonical secret (`access-sync-signature`, see
//!   [`access_sync_platforms::canonical`]): unsigned or wrongly signed, 401; no secret
//!   configured, 404. Every line is parsed before anything is published: one bad line answers
//!   400 naming the line and the reason, and nothing is published.
//! - `POST /officernd`, `/optix`, `/nexudus?action=…`, `/teamup` (or `/teamup/<secret>`): a
//!   platform's native webhook. Size (413), then signature (401, compared in constant time;
//!   a replay outside the 5-minute window is refused), then payload (400 with the reason):
//!   as [`Platform::accept`] does, with member and team lists answered from the facts store
//!   ([`crate::normalize`]). A platform with no secret configured has no route (404).
//!   A platform whose webhooks are only hints (`WebhookTrust::Hint`: Optix) is not
//!   normalised: its verified delivery becomes re-read requests ([`crate::hints`]).
//!
//! Then, on every route, the bounds, the time check and the replay ledger
//! ([`crate::trust`]). Good events go to the bus with source `access-sync.ingest` and a
//! detail-type by kind (see [`access_sync_runtime::messages`]): 202 with how many. The bus
//! refusing answers 503 naming the events; resending is safe (events are recorded once per id).

use crate::normalize::{NormalizeError, normalize_with};
use crate::trust::{Door, admit};
use access_sync_platforms::{
    IncomingRequest, Platform, Rejection, WebhookTrust, check_size, replay,
};
use access_sync_ports::{
    DeliveryLedger, Directory, EventPublisher, OutboundEvent, PublishError, WebhookSecrets,
};
use access_sync_rules::{Event, Instant, LineError};
use lambda_http::http::{HeaderMap, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// Largest body accepted (an EventBridge entry is at most 256 KiB too).
pub const MAX_BODY: usize = access_sync_platforms::MAX_BODY_BYTES;

/// Where a request goes.
pub enum Route<'a> {
    /// Canonical events.
    Canonical,
    /// A platform's webhook, and the path segment after its name for a platform that takes
    /// one (TeamUp: the secret presented in the path).
    Platform(Platform, Option<&'a str>),
    /// Nothing here.
    NotFound,
}

/// Routes a path.
pub fn route(path: &str) -> Route<'_> {
    let path = path.trim_end_matches('/');
    if path.is_empty() || path == "/events" {
        return Route::Canonical;
    }
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next().and_then(Platform::parse), parts.next()) {
        (Some(p), None) => Route::Platform(p, None),
        (Some(p), Some(segment)) if p.spec().takes_path_segment() => {
            Route::Platform(p, Some(segment))
        }
        _ => Route::NotFound,
    }
}

/// Refuses anything but a POST (405), and a body over [`MAX_BODY`] (413).
#[allow(clippy::result_large_err)]
pub fn check_request(req: &Request) -> Result<&[u8], Response<Body>> {
    if req.method() != Method::POST {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "use POST"}));
        r.headers_mut()
            .insert(header::ALLOW, "POST".parse().expect("a valid header"));
        return Err(r);
    }
    let body = req.body().as_ref();
    if body.len() > MAX_BODY {
        let error = format!(
            "the body is {} bytes; at most {MAX_BODY} are accepted",
            body.len()
        );
        return Err(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({ "error": error }),
        ));
    }
    Ok(body)
}

/// Canonical events: check the signature, parse every line, then publish all or nothing.
pub async fn canonical<P: EventPublisher, W: WebhookSecrets, L: DeliveryLedger>(
    events: &P,
    secrets: &W,
    door: &Door<L>,
    req: &Request,
    now: Instant,
) -> Response<Body> {
    let secret = match secrets.canonical().await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let error = "no canonical route: not configured (WEBHOOK_SECRET_CANONICAL)";
            return reply(StatusCode::NOT_FOUND, json!({ "error": error }));
        }
        Err(e) => {
            tracing::error!(error = %e, "canonical secret unavailable");
            return retry_later(json!({"error": "temporarily unavailable"}));
        }
    };
    let body = req.body().as_ref();
    let header = text(
        req.headers(),
        access_sync_platforms::canonical::CANONICAL_HEADER,
    );
    if let Err(rejection) =
        access_sync_platforms::canonical::verify(secret.expose().as_bytes(), header, body, now)
    {
        tracing::warn!(status = 401, reason = %rejection, "canonical batch rejected");
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": rejection.to_string()}),
        );
    }
    let parsed = std::str::from_utf8(body)
        .map_err(|_| LineError::new(1, "not UTF-8"))
        .and_then(parse_lines);
    match parsed {
        Ok(evs) if evs.is_empty() => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "no events in the body"}),
        ),
        Ok(evs) => {
            let (lines, evs): (Vec<usize>, Vec<Event>) = evs.into_iter().unzip();
            let key = replay::canonical_key(header, body);
            admit(events, door, &key, &evs, Some(&lines), now).await
        }
        Err(e) => {
            tracing::warn!(line = e.line, reason = %e.message, "rejected a batch");
            let body = json!({"error": "invalid event", "line": e.line, "reason": e.message});
            reply(StatusCode::BAD_REQUEST, body)
        }
    }
}

/// The canonical events of a request body with their lines: JSON Lines (blank lines
/// skipped), or one JSON object (which may span lines; line 1).
fn parse_lines(text: &str) -> Result<Vec<(usize, Event)>, LineError> {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return Event::parse(text.trim())
            .map(|e| vec![(1, e)])
            .map_err(|m| LineError::new(1, m));
    }
    access_sync_rules::event::parse_jsonl(text)
}

/// A platform's webhook: verified and normalised, then published.
/// Member ids the payload names without an e-mail are resolved (or held) by the engine.
#[allow(clippy::too_many_arguments)]
pub async fn platform<P: EventPublisher, W: WebhookSecrets, D: Directory, L: DeliveryLedger>(
    events: &P,
    secrets: &W,
    directory: &D,
    door: &Door<L>,
    platform: Platform,
    presented: Option<&str>,
    req: &Request,
    now: Instant,
) -> Response<Body> {
    let secret = match secrets.secret(platform).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let error = format!("no route /{}: not configured", platform.as_str());
            return reply(StatusCode::NOT_FOUND, json!({ "error": error }));
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook secrets unavailable");
            return retry_later(json!({"error": "temporarily unavailable"}));
        }
    };
    let headers = req.headers();
    let read_header = |name: &str| text(headers, name);
    let received = platform.spec().receive(&IncomingRequest {
        path_segment: presented,
        query: req.uri().query().unwrap_or_default(),
        header: &read_header,
    });
    let delivery = received.delivery(req.body().as_ref());
    // Size, then signature, then payload: nothing is read from the store for a stranger.
    let checked = check_size(delivery.body.len())
        .and_then(|()| platform.verify(secret.expose(), &delivery, now));
    if let Err(rejection) = checked {
        return rejected(platform, &rejection);
    }
    if platform.webhook_trust() == WebhookTrust::Hint {
        return crate::hints::hinted(events, secrets, door, platform, &delivery, now).await;
    }
    match normalize_with(platform, &delivery, directory).await {
        Ok(evs) if evs.is_empty() => {
            // An event type we do not act on (or do not know) is acknowledged, never refused,
            // so the platform keeps the webhook enabled; the log records which type it was
            // (the type only: no payload, no personal data).
            let event_type = std::str::from_utf8(delivery.body).ok().and_then(|payload| {
                platform
                    .spec()
                    .event_type(access_sync_platforms::FixtureLine {
                        word: delivery.action,
                        payload,
                    })
            });
            tracing::info!(
                platform = platform.as_str(),
                event_type = event_type.as_deref().unwrap_or("unknown"),
                "webhook acknowledged: nothing in it concerns access"
            );
            reply(
                StatusCode::ACCEPTED,
                json!({"accepted": 0, "note": "nothing in this webhook concerns access"}),
            )
        }
        Ok(evs) => {
            let key = replay::delivery_key(platform, &delivery);
            admit(events, door, &key, &evs, None, now).await
        }
        Err(NormalizeError::Rejected(rejection)) => rejected(platform, &rejection),
        Err(NormalizeError::Unavailable(e)) => {
            tracing::error!(error = %e, "the directory did not answer");
            retry_later(json!({"error": "temporarily unavailable"}))
        }
    }
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn rejected(platform: Platform, r: &Rejection) -> Response<Body> {
    // The reason never contains the secret or the expected signature.
    tracing::warn!(platform = platform.as_str(), status = r.http_status(), reason = %r, "webhook rejected");
    let status = StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    reply(status, json!({"error": r.to_string()}))
}

pub(crate) async fn publish<P: EventPublisher>(
    events: &P,
    out: &[OutboundEvent],
    ids: &[&str],
) -> Response<Body> {
    match events.publish(out).await {
        Ok(()) => {
            tracing::info!(accepted = out.len(), "published");
            reply(StatusCode::ACCEPTED, json!({"accepted": out.len()}))
        }
        Err(e) => unavailable(ids, e),
    }
}

/// The bus refused some events even after retries: 503, naming them.
fn unavailable(names: &[&str], e: PublishError) -> Response<Body> {
    tracing::error!(error = %e, "publishing failed");
    let ids: Vec<&str> = match &e {
        PublishError::Undelivered(u) => u
            .iter()
            .filter_map(|u| names.get(u.index).copied())
            .collect(),
        PublishError::Unavailable(_) => names.to_vec(),
    };
    retry_later(json!({"error": e.to_string(), "undelivered": ids}))
}

/// Publishes re-read requests once per signed delivery (the ledger, as for events).
pub(crate) async fn publish_once_hint<P: EventPublisher, L: DeliveryLedger>(
    events: &P,
    door: &Door<L>,
    key: &str,
    out: &[OutboundEvent],
    names: &[String],
    now: Instant,
) -> Response<Body> {
    let ids: Vec<&str> = names.iter().map(String::as_str).collect();
    crate::trust::publish_once(events, door, key, out, &ids, now).await
}

pub(crate) fn retry_later(body: Value) -> Response<Body> {
    let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, body);
    r.headers_mut()
        .insert(header::RETRY_AFTER, "5".parse().expect("a valid header"));
    r
}

/// A JSON answer.
pub fn reply(status: StatusCode, body: Value) -> Response<Body> {
    let mut r = Response::new(Body::Text(body.to_string()));
    *r.status_mut() = status;
    let json = "application/json".parse().expect("a valid header");
    r.headers_mut().insert(header::CONTENT_TYPE, json);
    r
}
