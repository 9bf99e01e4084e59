//! HTTP → canonical events → EventBridge: routes the request, refuses what is not a POST or
//! too big, and hands the body to the canonical or the platform route
//! ([`crate::routes`] has what each does; [`crate::trust`] the bounds and the replay ledger).

use crate::routes::{Route, canonical, check_request, platform, reply, route};
use crate::trust::Door;
use access_sync_ports::{DeliveryLedger, Directory, EventPublisher, WebhookSecrets};
use access_sync_runtime::Clock;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Handles one request.
pub async fn handle<P: EventPublisher, W: WebhookSecrets, D: Directory, L: DeliveryLedger>(
    events: &P,
    secrets: &W,
    directory: &D,
    door: &Door<L>,
    clock: &Clock,
    req: Request,
) -> Response<Body> {
    let to = route(req.uri().path());
    if let Route::NotFound = to {
        let error = format!("no route {}", req.uri().path());
        return reply(StatusCode::NOT_FOUND, json!({ "error": error }));
    }
    if let Err(refused) = check_request(&req) {
        return refused;
    }
    let now = match clock.now().await {
        Ok(now) => now,
        Err(e) => {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": e.to_string()}),
            );
        }
    };
    match to {
        Route::Platform(p, presented) => {
            platform(events, secrets, directory, door, p, presented, &req, now).await
        }
        _ => canonical(events, secrets, door, &req, now).await,
    }
}
