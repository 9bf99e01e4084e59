//! Secrets Manager source against moto: cached in process, refreshed on demand.

use access_sync_aws::SecretsManagerSource;
use access_sync_aws::testing::shared;
use access_sync_ports::{SecretError, SecretSource};
use aws_sdk_secretsmanager::Client;

#[tokio::test]
async fn a_secret_is_read_once_and_refresh_picks_up_a_rotation() {
    let sdk = shared().sdk_config().await;
    let client = Client::new(&sdk);
    client
        .create_secret()
        .name("kisi-token-rotation")
        .secret_string("old-token")
        .send()
        .await
        .unwrap();
    let source = SecretsManagerSource::new(client.clone());
    assert_eq!(
        source.secret("kisi-token-rotation").await.unwrap().expose(),
        "old-token"
    );
    client
        .put_secret_value()
        .secret_id("kisi-token-rotation")
        .secret_string("new-token")
        .send()
        .await
        .unwrap();
    // Still the cached value: no call per use.
    let cached = source.secret("kisi-token-rotation").await.unwrap();
    assert_eq!(cached.expose(), "old-token");
    assert!(!format!("{cached:?}").contains("token"));
    // Kisi said 401: refresh.
    assert_eq!(
        source
            .refresh("kisi-token-rotation")
            .await
            .unwrap()
            .expose(),
        "new-token"
    );
    assert_eq!(
        source.secret("kisi-token-rotation").await.unwrap().expose(),
        "new-token"
    );
}

#[tokio::test]
async fn a_missing_secret_is_not_found_and_not_retryable() {
    let sdk = shared().sdk_config().await;
    let source = SecretsManagerSource::new(Client::new(&sdk));
    let err = source.secret("no-such-secret").await.unwrap_err();
    assert!(matches!(err, SecretError::NotFound(ref n) if n == "no-such-secret"));
    assert!(!err.is_retryable());
}
