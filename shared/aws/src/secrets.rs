//! [`SecretSource`] on Secrets Manager, cached in process.
//!
//! A Lambda reads each secret once per cold start; when Kisi answers 401 the caller calls
//! [`SecretSource::refresh`] (the token was rotated) and retries once.

use access_sync_ports::{SecretError, SecretSource, SecretValue};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use std::collections::HashMap;
use std::sync::Mutex;

/// Secrets Manager with an in-process cache.
#[derive(Debug)]
pub struct SecretsManagerSource {
    client: Client,
    cache: Mutex<HashMap<String, SecretValue>>,
}

impl SecretsManagerSource {
    /// A source with an empty cache.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached value of `name`; the next read fetches it.
    pub fn invalidate(&self, name: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    async fn fetch(&self, name: &str) -> Result<SecretValue, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|err| match err.code() {
                Some("ResourceNotFoundException") => SecretError::NotFound(name.to_string()),
                _ => SecretError::Unavailable(DisplayErrorContext(&err).to_string()),
            })?;
        let value = SecretValue::new(
            out.secret_string
                .ok_or_else(|| SecretError::Empty(name.to_string()))?,
        );
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), value.clone());
        Ok(value)
    }
}

impl SecretSource for SecretsManagerSource {
    async fn secret(&self, name: &str) -> Result<SecretValue, SecretError> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        match cached {
            Some(v) => Ok(v),
            None => self.fetch(name).await,
        }
    }

    async fn refresh(&self, name: &str) -> Result<SecretValue, SecretError> {
        self.invalidate(name);
        self.fetch(name).await
    }
}
