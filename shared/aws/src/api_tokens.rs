//! [`ApiTokens`] on Secrets Manager: a platform's API token kept in its credentials secret
//! (`<prefix>/platforms/<platform>`, a JSON object), where the platform replaces the token by
//! webhook (Optix's `organization_token_updated`, optix.md §1).
//!
//! The secret is the one the API client reads (`access_sync_sources::optix::SecretTokens`):
//! `token` is the one in use, `candidate` a replacement `ingest` was offered and nobody has
//! checked yet; every other field (`organization_id`, `endpoint`) is kept as it is.
//! [`ApiTokens::offer`] writes `candidate`; [`ApiTokens::promote`] makes a token `token` and
//! drops `candidate` when it is that token. Each write is a read, a change and a
//! `PutSecretValue` of the whole object: two writers at the same instant may lose one
//! candidate, which the next `organization_token_updated` offers again.
//!
//! Never logs or quotes a value.

use access_sync_platforms::Platform;
use access_sync_ports::{ApiSettings, ApiTokens, SecretError, SecretValue};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The API tokens of the platforms in `names`, each in its credentials secret.
#[derive(Debug, Clone)]
pub struct SecretsManagerApiTokens {
    client: Client,
    names: BTreeMap<Platform, String>,
}

impl SecretsManagerApiTokens {
    /// Tokens kept in the secret `names[platform]`; a platform not in `names` has none.
    pub fn new(client: Client, names: BTreeMap<Platform, String>) -> Self {
        Self { client, names }
    }

    fn name(&self, platform: Platform) -> Result<&str, SecretError> {
        self.names
            .get(&platform)
            .map(String::as_str)
            .ok_or_else(|| SecretError::NotFound(format!("{} API credentials", platform.as_str())))
    }

    /// The secret's object; an empty or unset value is an empty object.
    async fn read(&self, name: &str) -> Result<Map<String, Value>, SecretError> {
        let out = self.client.get_secret_value().secret_id(name).send().await;
        let text = match out {
            Ok(o) => o.secret_string.unwrap_or_default(),
            // Created by the CDK app without a value: nothing kept yet.
            Err(e)
                if e.code() == Some("ResourceNotFoundException")
                    && secret_exists(&self.client, name).await =>
            {
                String::new()
            }
            Err(e) => {
                return Err(match e.code() {
                    Some("ResourceNotFoundException") => SecretError::NotFound(name.to_string()),
                    _ => SecretError::Unavailable(DisplayErrorContext(&e).to_string()),
                });
            }
        };
        if text.trim().is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(SecretError::Unavailable(format!(
                "secret {name} is not a JSON object"
            ))),
        }
    }

    async fn write(&self, name: &str, object: Map<String, Value>) -> Result<(), SecretError> {
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(Value::Object(object).to_string())
            .send()
            .await
            .map_err(|e| SecretError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    async fn field(&self, platform: Platform, key: &str) -> Result<Option<String>, SecretError> {
        let m = self.read(self.name(platform)?).await?;
        Ok(text(&m, key))
    }
}

/// A secret with no value answers `ResourceNotFoundException` to `GetSecretValue`, as a
/// missing one does; `DescribeSecret` tells them apart.
async fn secret_exists(client: &Client, name: &str) -> bool {
    client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok()
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl ApiTokens for SecretsManagerApiTokens {
    async fn current(&self, platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        Ok(self.field(platform, "token").await?.map(SecretValue::new))
    }

    async fn candidate(&self, platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        Ok(self
            .field(platform, "candidate")
            .await?
            .map(SecretValue::new))
    }

    async fn offer(&self, platform: Platform, token: SecretValue) -> Result<(), SecretError> {
        let name = self.name(platform)?;
        let mut m = self.read(name).await?;
        if text(&m, "token").as_deref() == Some(token.expose().trim()) {
            return Ok(()); // already the one in use
        }
        m.insert(
            "candidate".into(),
            Value::String(token.expose().trim().to_string()),
        );
        self.write(name, m).await
    }

    async fn promote(&self, platform: Platform, token: SecretValue) -> Result<(), SecretError> {
        let name = self.name(platform)?;
        let mut m = self.read(name).await?;
        let token = token.expose().trim().to_string();
        if text(&m, "candidate").as_deref() == Some(token.as_str()) {
            m.remove("candidate");
        }
        m.insert("token".into(), Value::String(token));
        self.write(name, m).await
    }

    async fn settings(&self, platform: Platform) -> Result<Option<ApiSettings>, SecretError> {
        let m = self.read(self.name(platform)?).await?;
        Ok(Some(ApiSettings {
            endpoint: text(&m, "endpoint"),
            organization_id: text(&m, "organization_id"),
        }))
    }
}
