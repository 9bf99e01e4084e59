//! The re-read path of the binary's wiring ([`SyncApp::invoke`] with an SQS batch from the
//! `reread` queue) against moto (Secrets Manager, EventBridge) and the Optix simulator over
//! real HTTP: a hinted record the API has is read from the API (one request); a hint for a
//! record the API does not have reads and publishes nothing, successfully; a malformed
//! message and a hint for a platform without a client fail item by item; the client's
//! endpoint and organization come from the platform's JSON secret.

use access_sync_aws::create_table;
use access_sync_aws::testing::shared;
use optix_sim::{Sim, SimConfig};
use platform_sync::wiring::{Env, SyncApp};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

fn message(id: &str, detail: Value) -> Value {
    let body = json!({"version": "0", "id": id, "detail-type": "reread",
        "source": "access-sync.ingest", "account": "000000000000",
        "time": "2026-03-20T12:00:00Z", "region": "us-east-1", "resources": [],
        "detail": detail});
    json!({"messageId": id, "body": body.to_string()})
}

#[tokio::test(flavor = "multi_thread")]
async fn hinted_records_are_read_from_the_optix_api_item_by_item() {
    let sdk = shared().sdk_config().await;
    let table = "platform-sync-reread";
    create_table(&aws_sdk_dynamodb::Client::new(&sdk), table)
        .await
        .unwrap();
    let records: Value =
        serde_json::from_str(include_str!("../../../events/optix/api/records.json")).unwrap();
    let sim = Sim::new(SimConfig::default());
    sim.load(&records);
    let h = optix_sim::spawn(sim.clone()).await.unwrap();
    let prefix = "ps-reread/platforms";
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("{prefix}/optix"))
        .secret_string(
            json!({"token": sim.token(), "organization_id": "456", "endpoint": h.endpoint})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let vars = [
        ("TABLE_NAME", table.to_string()),
        ("PLATFORM_SECRETS_PREFIX", prefix.to_string()),
    ];
    let env =
        Env::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let app = SyncApp::new(env, &sdk).unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(600);

    let batch = json!({"Records": [
        message("m1", json!({"platform": "optix", "collection": "bookings", "id": "88001"})),
        // A forged hint: Optix has no booking 666. Read, nothing published, not a failure.
        message("m2", json!({"platform": "optix", "collection": "bookings", "id": "666"})),
        message("m3", json!({"platform": "optix", "collection": "bookings"})),
        message("m4", json!({"platform": "optix", "collection": "invoices", "id": "1"})),
    ]});
    let out = app.invoke(batch, deadline).await.unwrap();
    let failed: Vec<&str> = out["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["m3", "m4"], "{out}");
    // The two well-formed hints were each one read of the API, nothing more.
    assert_eq!(sim.counters().root_fields, 2, "{:?}", sim.counters());
}
