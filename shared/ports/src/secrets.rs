//! Secrets (the Kisi API token, platform webhook secrets), read once and cached in process.
//!
//! Kisi answering 401 means the token was rotated: the caller calls
//! [`SecretSource::refresh`] once and retries. A webhook whose signature fails can do the same
//! for its secret before rejecting.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A secret's value. Its `Debug` and `Display` never print the value, so it can sit in
/// structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it (an HTTP header, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What can go wrong reading a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No secret by that name (a deployment mistake). Not retryable.
    #[error("secret {0} does not exist")]
    NotFound(String),
    /// The secret exists but has no string value. Not retryable.
    #[error("secret {0} has no string value")]
    Empty(String),
    /// The service could not be reached or refused us transiently; retry.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

impl SecretError {
    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SecretError::Unavailable(_) => true,
            SecretError::NotFound(_) | SecretError::Empty(_) => false,
        }
    }
}

/// A source of secrets, cached in process.
pub trait SecretSource: Send + Sync {
    /// The secret `name` (a name or ARN), from the cache if it has been read before.
    ///
    /// # Errors
    /// `NotFound`, `Empty`, `Unavailable`.
    fn secret(&self, name: &str) -> impl Future<Output = Result<SecretValue, SecretError>> + Send;

    /// Drops the cached value of `name` and reads it again (after a 401 from Kisi).
    ///
    /// # Errors
    /// As [`SecretSource::secret`]; on error the cache stays empty for `name`.
    fn refresh(&self, name: &str) -> impl Future<Output = Result<SecretValue, SecretError>> + Send;
}

/// A shared source (one cache for several users, or a test that rotates a secret it handed
/// over).
impl<T: SecretSource + ?Sized> SecretSource for Arc<T> {
    fn secret(&self, name: &str) -> impl Future<Output = Result<SecretValue, SecretError>> + Send {
        (**self).secret(name)
    }

    fn refresh(&self, name: &str) -> impl Future<Output = Result<SecretValue, SecretError>> + Send {
        (**self).refresh(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_value() {
        let s = SecretValue::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
