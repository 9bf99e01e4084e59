//! `ingest`: canonical events over HTTP (a Lambda function URL) → validated → EventBridge.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

use ingest::handler;

use access_sync_lambda::{logging, wiring};
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let events = wiring::publisher_from_env().await;
    let events = &events;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(handler::handle(events, req).await)
    }))
    .await
}
