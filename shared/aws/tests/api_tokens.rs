//! API tokens kept in a platform's credentials secret, against moto: an Optix
//! `organization_token_updated` token offered by `ingest` is kept as the candidate, and the
//! Optix client (over the Optix simulator) promotes it only after the API refused the old one
//! and the candidate answered for the right organization; the other fields stay.

use access_sync_aws::SecretsManagerApiTokens;
use access_sync_aws::testing::shared;
use access_sync_platforms::Platform;
use access_sync_ports::{ApiTokens, PlatformSource, SecretValue};
use access_sync_sources::optix::{OptixConfig, OptixSource};
use aws_sdk_secretsmanager::Client;
use serde_json::{Value, json};
use std::collections::BTreeMap;

async fn stored(client: &Client, name: &str) -> Value {
    let v = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    serde_json::from_str(v.secret_string().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offered_token_is_a_candidate_until_the_client_checks_and_promotes_it() {
    let sdk = shared().sdk_config().await;
    let client = Client::new(&sdk);
    let sim = optix_sim::Sim::new(optix_sim::SimConfig::default());
    sim.put(
        "bookings",
        json!({"booking_id": "88001", "start_timestamp": 1774346400,
        "end_timestamp": 1774350000, "is_approved": true, "is_canceled": false,
        "is_rejected": false, "user": {"user_id": "301"}}),
    );
    let h = optix_sim::spawn(sim.clone()).await.unwrap();
    let name = "api-tokens/platforms/optix";
    client
        .create_secret()
        .name(name)
        .secret_string(
            json!({"token": sim.token(), "organization_id": "456", "endpoint": h.endpoint})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let tokens = SecretsManagerApiTokens::new(
        client.clone(),
        BTreeMap::from([(Platform::Optix, name.to_string())]),
    );
    let old = sim.token();
    sim.rotate_token(1_796_115_600);
    let new = sim.token();
    assert_ne!(old, new);

    // ingest keeps what the webhook carried: a candidate, not the token in use.
    tokens
        .offer(Platform::Optix, SecretValue::new(new.clone()))
        .await
        .unwrap();
    let s = stored(&client, name).await;
    assert_eq!(
        (s["token"].as_str(), s["candidate"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );
    assert!(
        tokens
            .offer(Platform::Teamup, SecretValue::new("x"))
            .await
            .is_err()
    );

    // The client's old token is refused; it checks the candidate with the API and promotes it.
    let optix = OptixSource::new(tokens.clone(), OptixConfig::new(None)).unwrap();
    let read = optix
        .read("bookings", "88001", chrono::Utc::now())
        .await
        .unwrap();
    assert!(read.is_some());
    assert_eq!(optix.stats().tokens_promoted, 1);
    let s = stored(&client, name).await;
    assert_eq!(s["token"].as_str(), Some(new.as_str()));
    assert!(
        s.get("candidate").is_none(),
        "the candidate is dropped once promoted"
    );
    assert_eq!(
        (s["organization_id"].as_str(), s["endpoint"].as_str()),
        (Some("456"), Some(h.endpoint.as_str()))
    );

    // Later the token in use expires and a planted token is offered: the API refuses it when
    // the client checks it, so it is not promoted and the one in the secret stays.
    sim.expire_token();
    tokens
        .offer(Platform::Optix, SecretValue::new("tok-planted-o"))
        .await
        .unwrap();
    let fresh = OptixSource::new(tokens.clone(), OptixConfig::new(None)).unwrap();
    assert!(
        fresh
            .read("bookings", "88001", chrono::Utc::now())
            .await
            .is_err()
    );
    assert_eq!(
        stored(&client, name).await["token"].as_str(),
        Some(new.as_str())
    );
}
