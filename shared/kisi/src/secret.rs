//! The Kisi API key as a type that cannot leak through logs: `Debug` and `Display` print a
//! placeholder, and the only way to the text is [`ApiKey::expose`], used when building the
//! `Authorization` header (which is itself marked sensitive).

use std::fmt;

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
