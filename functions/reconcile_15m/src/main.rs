//! `reconcile_15m`: every 15 minutes (an EventBridge schedule), Kisi against the rules.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use reconcile_15m::handler;

use access_sync_runtime::{App, logging};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = App::from_env().await?;
    let (app, config) = (&app, &app.reconcile_config());
    run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            handler::handle(&app.engine, &app.events, &app.clock, config).await
        },
    ))
    .await
}
