//! `on_checkin`: check-ins from the `checkin` queue (an EventBridge rule on detail-type
//! `checkin` → SQS), recorded once, converge requested.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    on_event::serve().await
}
