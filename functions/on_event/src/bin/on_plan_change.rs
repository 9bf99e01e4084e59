//! `on_plan_change`: plans, allowances, passes, occupancy, members, teams and cancels from the
//! `plan` queue (an EventBridge rule on detail-type `plan` → SQS), recorded once, converge
//! requested.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    on_event::serve().await
}
