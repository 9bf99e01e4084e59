//! The Nexudus credentials as kept in Secrets Manager: one JSON secret.
//!
//! ```json
//! {"username": "admin@space.example", "password": "…", "auth": "bearer",
//!  "client_id": "access-sync", "api_url": "https://spaces.nexudus.com/api"}
//! ```
//!
//! `username`/`password` are those of a Nexudus admin user with API access and the
//! `<Entity>-List`/`<Entity>-Read` roles (R §1 "Permissions"). `auth` is `bearer` (the default:
//! a token from `<api_url>/token`, R §1 "Get a token", recommended) or `basic` (HTTP Basic on
//! every request, R §1 "Use"). `client_id` is what refresh tokens are bound to (R §1 "Refresh";
//! default `access-sync`, so another tool refreshing with the user name does not invalidate
//! ours). `api_url` defaults to `https://spaces.nexudus.com/api` (R §1 "Admin REST base"); the
//! simulator's is set in tests.

use std::fmt;

use access_sync_ports::SecretValue;
use serde::Deserialize;

/// Nexudus's admin REST base (R §1 [C]).
pub const DEFAULT_API_URL: &str = "https://spaces.nexudus.com/api";

/// The refresh tokens' client id when the secret names none.
pub const DEFAULT_CLIENT_ID: &str = "access-sync";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretJson {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
}

/// How requests are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// A bearer token from `/api/token` (refreshed, R §1).
    Bearer,
    /// `Authorization: Basic base64(email:password)` on every request (R §1).
    Basic,
}

/// Why the secret cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CredentialsError {
    /// A required field is empty or missing.
    Missing(&'static str),
    /// Not the documented JSON, or a field is unusable (never quotes a value).
    Invalid(String),
}

/// Parsed credentials. `Debug` never prints the password.
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: SecretValue,
    pub(crate) auth: AuthMode,
    pub(crate) client_id: String,
    /// No trailing slash.
    pub(crate) api_base: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("auth", &self.auth)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Parses the secret's text.
    pub(crate) fn parse(text: &str) -> Result<Credentials, CredentialsError> {
        let j: SecretJson = serde_json::from_str(text).map_err(|e| {
            CredentialsError::Invalid(format!(
                "not the documented JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if j.username.trim().is_empty() {
            return Err(CredentialsError::Missing("username"));
        }
        if j.password.is_empty() {
            return Err(CredentialsError::Missing("password"));
        }
        let auth = match j.auth.as_deref().map(str::trim) {
            None | Some("" | "bearer") => AuthMode::Bearer,
            Some("basic") => AuthMode::Basic,
            Some(_) => {
                return Err(CredentialsError::Invalid(
                    "auth must be \"bearer\" or \"basic\"".into(),
                ));
            }
        };
        let api_base = j
            .api_url
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        match reqwest::Url::parse(&api_base) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => {
                return Err(CredentialsError::Invalid(
                    "api_url must be an https:// URL (http:// for the simulator)".into(),
                ));
            }
        }
        Ok(Credentials {
            username: j.username.trim().to_owned(),
            password: SecretValue::new(j.password),
            auth,
            client_id: j
                .client_id
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned()),
            api_base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_refuses_what_is_unusable() {
        let c = Credentials::parse(r#"{"username":"a@b.c","password":"pw"}"#).unwrap();
        assert_eq!(c.auth, AuthMode::Bearer);
        assert_eq!(c.api_base, DEFAULT_API_URL);
        assert_eq!(c.client_id, DEFAULT_CLIENT_ID);
        assert!(!format!("{c:?}").contains("pw"));
        let b = Credentials::parse(
            r#"{"username":"a@b.c","password":"pw","auth":"basic","api_url":"http://127.0.0.1:1/api/"}"#,
        )
        .unwrap();
        assert_eq!(
            (b.auth, b.api_base.as_str()),
            (AuthMode::Basic, "http://127.0.0.1:1/api")
        );
        assert_eq!(
            Credentials::parse(r#"{"username":"","password":"pw"}"#).unwrap_err(),
            CredentialsError::Missing("username")
        );
        assert!(matches!(
            Credentials::parse(r#"{"username":"a","password":"p","auth":"oauth"}"#),
            Err(CredentialsError::Invalid(_))
        ));
        assert!(matches!(
            Credentials::parse(r#"{"username":"a","password":"p","extra":1}"#),
            Err(CredentialsError::Invalid(_))
        ));
    }
}
