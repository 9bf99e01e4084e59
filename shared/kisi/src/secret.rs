//! The Kisi API key as a type that cannot leak through logs: `Debug` and `Display` print a
//! placeholder, and the only way to the text is [`ApiKey::expose`], used when building the
//! `Authorization` header (which is itself marked sensitive).
//!
//! A key that can change (rotated by an operator) comes from a [`KeySource`]: as deployed,
//! [`SecretKey`], a secret in a [`SecretSource`] (Secrets Manager).

use crate::KisiError;
use access_sync_ports::SecretSource;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A Kisi API key (`Authorization: KISI-LOGIN <key>`). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace (a trailing newline from a secret file) is dropped.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_owned())
    }

    /// The key's text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What [`KeySource::key`] returns.
pub type KeyFuture<'a> = Pin<Box<dyn Future<Output = Result<ApiKey, KisiError>> + Send + 'a>>;

/// Where a client reads an API key that can change (see
/// [`crate::KisiClient::with_key_source`]).
pub trait KeySource: Send + Sync {
    /// The key; with `refresh`, read again at the source because Kisi refused the last one.
    ///
    /// # Errors
    /// [`KisiError::KeyUnavailable`] when reading may work later, [`KisiError::Config`] when
    /// it will not (no such secret).
    fn key(&self, refresh: bool) -> KeyFuture<'_>;
}

/// The API key kept in a secret store under one name.
pub struct SecretKey<S> {
    secrets: S,
    name: String,
}

impl<S> SecretKey<S> {
    /// The key in secret `name` of `secrets`.
    pub fn new(secrets: S, name: impl Into<String>) -> Self {
        SecretKey {
            secrets,
            name: name.into(),
        }
    }
}

impl<S> fmt::Debug for SecretKey<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: SecretSource> KeySource for SecretKey<S> {
    fn key(&self, refresh: bool) -> KeyFuture<'_> {
        Box::pin(async move {
            let read = if refresh {
                self.secrets.refresh(&self.name).await
            } else {
                self.secrets.secret(&self.name).await
            };
            match read {
                Ok(v) => Ok(ApiKey::new(v.expose())),
                Err(e) if e.is_retryable() => Err(KisiError::KeyUnavailable(e.to_string())),
                Err(e) => Err(KisiError::Config(format!("Kisi API key: {e}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_key() {
        let key = ApiKey::new("s3cr3t-kisi-key\n");
        assert!(!format!("{key:?}").contains("s3cr3t"));
        assert!(!format!("{key}").contains("s3cr3t"));
        assert!(!format!("{:?}", Some(&key)).contains("s3cr3t"));
        assert_eq!(key.expose(), "s3cr3t-kisi-key");
    }
}
