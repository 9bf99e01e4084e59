//! The binary's wiring ([`SyncApp`]) against moto (DynamoDB, EventBridge, Secrets Manager) and
//! the OfficeRnD simulator over real HTTP: an empty credentials secret is the outcome
//! `not_configured` (not a failure the schedule would retry into the DLQ); once the operator
//! fills it, a full sync publishes the space and records its progress; the next scheduled run
//! is full again (OfficeRnD cannot list memberships by change time); a platform without an API client is refused, not retried.

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::SyncStateStore;
use access_sync_rules::Instant;
use officernd_sim::{Sim, SimConfig};
use platform_sync::wiring::{Env, SyncApp};
use serde_json::json;
use std::time::{Duration, SystemTime};

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_secret_is_not_configured_then_a_filled_one_syncs() {
    let sdk = shared().sdk_config().await;
    let table = "platform-sync-lambda";
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&dynamo, table).await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let prefix = "ps-lambda/platforms";
    // As the CDK app creates it: a secret with no value yet.
    secrets
        .create_secret()
        .name(format!("{prefix}/officernd"))
        .send()
        .await
        .unwrap();

    let anchor: Instant = "2026-11-30T00:00:00Z".parse().unwrap();
    let sim = Sim::new(SimConfig::default());
    sim.load_fixture(&officernd_sim::generate(20, 3, anchor))
        .unwrap();
    let h = officernd_sim::spawn_sim(sim).await.unwrap();

    let vars = [
        ("TABLE_NAME", table.to_string()),
        ("PLATFORM_SECRETS_PREFIX", format!("{prefix}/")),
        ("SYNC_BRAKE_SHARE", "0.5".to_string()),
    ];
    let env =
        Env::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    assert_eq!(
        env.secret_name(access_sync_platforms::Platform::Officernd),
        format!("{prefix}/officernd")
    );
    let app = SyncApp::new(env, &sdk).unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(600);

    let out = app
        .invoke(json!({"platform": "officernd"}), deadline)
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"platform": "officernd", "not_configured": true})
    );

    secrets
        .put_secret_value()
        .secret_id(format!("{prefix}/officernd"))
        .secret_string(
            json!({
                "client_id": "sim-client",
                "client_secret": "sim-secret",
                "org_slug": h.org_slug(),
                "token_url": h.token_url(),
                "api_url": format!("{}/api/v2/organizations", h.base_url),
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let out = app
        .invoke(json!({"platform": "officernd"}), deadline)
        .await
        .unwrap();
    assert_eq!(out["full"], true, "{out}");
    assert_eq!(out["held"], false, "{out}");
    let changes = out["changes"].as_u64().unwrap();
    assert!(changes >= 20, "every member at least: {out}");
    let store = DynamoStore::new(dynamo.clone(), table);
    let progress = store.progress("officernd").await.unwrap();
    assert!(
        progress.last_full.is_some() && progress.full.is_none(),
        "{progress:?}"
    );

    // The next scheduled run is full again: OfficeRnD cannot list memberships, passes or
    // bookings by change time, so only a full listing sees a dropped webhook of one.
    let out = app
        .invoke(json!({"platform": "officernd"}), deadline)
        .await
        .unwrap();
    assert_eq!(out["full"], true, "{out}");

    // A deadline already inside the margin: a full listing pauses before its first page.
    let paused = app
        .invoke(
            json!({"platform": "officernd", "full": true}),
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(paused["paused"], true, "{paused}");

    let missing = access_sync_platforms::Platform::ALL.into_iter().find(|p| {
        access_sync_sources::connect(
            *p,
            std::sync::Arc::new(access_sync_ports::memory::MemorySecrets::default()),
            "x",
        )
        .is_err()
    });
    if let Some(p) = missing {
        let e = app
            .invoke(json!({"platform": p.as_str()}), deadline)
            .await
            .unwrap_err();
        assert!(
            !e.is_retryable() && e.to_string().contains("no API client"),
            "{e}"
        );
    }
    let e = app
        .invoke(json!({"platform": "officernd", "bogus": 1}), deadline)
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
}
