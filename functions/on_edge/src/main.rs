//! `on_edge`: the only function that writes Kisi (reserved concurrency 1, one token bucket).
//! Invoked by EventBridge Scheduler with an edge, and by the converge queue with requests.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use on_edge::handler;

use access_sync_runtime::{App, logging};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = App::from_env().await?;
    let app = &app;
    run(service_fn(
        move |ev: LambdaEvent<handler::Input>| async move {
            handler::handle(&app.engine, &app.clock, ev.payload).await
        },
    ))
    .await
}
