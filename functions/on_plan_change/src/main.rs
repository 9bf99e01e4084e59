//! `on_plan_change`: plans, allowances, passes, occupancy, members, teams and cancels from the
//! `plan` queue (an EventBridge rule on detail-type `plan` → SQS), recorded once, converge
//! requested.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use on_plan_change::handler;

use access_sync_lambda::{App, logging};
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = App::from_env().await?;
    let app = &app;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handler::handle(&app.engine, &app.events, &app.clock, ev.payload).await)
    }))
    .await
}
