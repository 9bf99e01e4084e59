//! `ingest`: canonical events and platform webhooks over HTTP (a Lambda function URL) →
//! validated → EventBridge.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use access_sync_runtime::logging;
use ingest::handler;
use ingest::wiring::IngestApp;
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = IngestApp::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(
            handler::handle(
                &app.events,
                &app.secrets,
                &app.directory,
                &app.door,
                &app.clock,
                req,
            )
            .await,
        )
    }))
    .await
}
