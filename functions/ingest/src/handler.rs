//! HTTP → canonical events → EventBridge: routes the request, refuses what is not a POST or
//! too big, and hands the body to the canonical or the platform route
//! ([`crate::routes`] has what each does).

use crate::routes::{Route, canonical, check_request, platform, reply, route};
use access_sync_ports::{Directory, EventPublisher, WebhookSecrets};
use access_sync_runtime::Clock;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Handles one request.
pub async fn handle<P: EventPublisher, W: WebhookSecrets, D: Directory>(
    events: &P,
    secrets: &W,
    directory: &D,
    clock: &Clock,
    req: Request,
) -> Response<Body> {
    let to = route(req.uri().path());
    if let Route::NotFound = to {
        let error = format!("no route {}", req.uri().path());
        return reply(StatusCode::NOT_FOUND, json!({ "error": error }));
    }
    let body = match check_request(&req) {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    match to {
        Route::Platform(p, presented) => match clock.now().await {
            Ok(now) => platform(events, secrets, directory, p, presented, &req, now).await,
            Err(e) => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": e.to_string()}),
            ),
        },
        _ => canonical(events, body).await,
    }
}
