//! `platform_sync`: the platform's API as the truth, every 15 minutes and on demand.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use access_sync_runtime::logging;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use platform_sync::wiring::{SyncApp, deadline_of};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = &SyncApp::from_env().await?;
    run(service_fn(
        move |ev: LambdaEvent<serde_json::Value>| async move {
            app.invoke(ev.payload, deadline_of(ev.context.deadline))
                .await
        },
    ))
    .await
}
