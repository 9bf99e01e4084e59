//! The OfficeRnD credentials as kept in Secrets Manager: one JSON secret.
//!
//! ```json
//! {"client_id": "…", "client_secret": "…", "org_slug": "my-space",
//!  "token_url": "https://identity.officernd.com/oauth/token",
//!  "api_url": "https://app.officernd.com/api/v2/organizations"}
//! ```
//!
//! `client_id`/`client_secret` are those of the application an admin creates in OfficeRnD
//! (reference §1 "Grant"); `org_slug` is the slug in the admin URL (§1 "Base URL v2");
//! `token_url` and `api_url` are optional and default to OfficeRnD's production hosts (§1
//! "Token endpoint", "Base URL v2"); the simulator's are set in tests. The API base is
//! `{api_url}/{org_slug}`.

use std::fmt;

use access_sync_ports::SecretValue;
use serde::Deserialize;

/// OfficeRnD's token endpoint (reference §1 "Token endpoint" [C]).
pub const DEFAULT_TOKEN_URL: &str = "https://identity.officernd.com/oauth/token";

/// OfficeRnD's v2 API, up to the organisation slug (reference §1 "Base URL v2" [C]).
pub const DEFAULT_API_URL: &str = "https://app.officernd.com/api/v2/organizations";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretJson {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    org_slug: String,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
}

/// Why the secret cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CredentialsError {
    /// A required field is empty or missing (the secret was created but not filled in).
    Missing(&'static str),
    /// The secret is not the documented JSON, or a field is unusable (never quotes a value).
    Invalid(String),
}

/// Parsed credentials. `Debug` never prints the secret.
pub(crate) struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretValue,
    pub(crate) token_url: String,
    /// `{api_url}/{org_slug}`, no trailing slash.
    pub(crate) api_base: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token_url", &self.token_url)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

fn url(
    field: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, CredentialsError> {
    let value = value
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned());
    match reqwest::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(value),
        _ => Err(CredentialsError::Invalid(format!(
            "{field} must be an https:// URL (http:// for the simulator)"
        ))),
    }
}

impl Credentials {
    /// Reads the secret's JSON.
    pub(crate) fn parse(text: &str) -> Result<Credentials, CredentialsError> {
        if text.trim().is_empty() {
            return Err(CredentialsError::Missing("client_id"));
        }
        let s: SecretJson = serde_json::from_str(text).map_err(|e| {
            // serde's message names the field and position, never the value.
            CredentialsError::Invalid(format!(
                "the secret must be a JSON object with client_id, client_secret, org_slug \
                 (and optional token_url, api_url): {}",
                e.classify_name()
            ))
        })?;
        let client_id = s.client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(CredentialsError::Missing("client_id"));
        }
        if s.client_secret.trim().is_empty() {
            return Err(CredentialsError::Missing("client_secret"));
        }
        let slug = s.org_slug.trim();
        if slug.is_empty() {
            return Err(CredentialsError::Missing("org_slug"));
        }
        if !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(CredentialsError::Invalid(
                "org_slug may hold only letters, digits, '-', '_' and '.'".into(),
            ));
        }
        let token_url = url("token_url", s.token_url, DEFAULT_TOKEN_URL)?;
        let api_url = url("api_url", s.api_url, DEFAULT_API_URL)?;
        Ok(Credentials {
            client_id,
            client_secret: SecretValue::new(s.client_secret.trim()),
            token_url,
            api_base: format!("{api_url}/{slug}"),
        })
    }
}

trait Classify {
    fn classify_name(&self) -> String;
}

impl Classify for serde_json::Error {
    /// The error without the input's text: serde_json quotes unknown field names (ours, not
    /// the secret's values) and positions only, but an "invalid type: string \"…\"" message
    /// would quote a value, so only the category and position are kept.
    fn classify_name(&self) -> String {
        let msg = self.to_string();
        if msg.starts_with("unknown field") || msg.starts_with("missing field") {
            msg
        } else {
            format!(
                "{:?} error at line {} column {}",
                self.classify(),
                self.line(),
                self.column()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_json_with_defaults() {
        let c = Credentials::parse(
            r#"{"client_id":"id","client_secret":"s3cr3t","org_slug":"my-space"}"#,
        )
        .unwrap();
        assert_eq!(c.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(
            c.api_base,
            "https://app.officernd.com/api/v2/organizations/my-space"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn base_urls_can_be_overridden() {
        let c = Credentials::parse(
            r#"{"client_id":"id","client_secret":"x","org_slug":"s",
                "token_url":"http://127.0.0.1:9/oauth/token","api_url":"http://127.0.0.1:9/api/v2/organizations/"}"#,
        )
        .unwrap();
        assert_eq!(c.token_url, "http://127.0.0.1:9/oauth/token");
        assert_eq!(c.api_base, "http://127.0.0.1:9/api/v2/organizations/s");
    }

    #[test]
    fn empty_or_partial_secrets_are_not_configured() {
        assert_eq!(
            Credentials::parse("").unwrap_err(),
            CredentialsError::Missing("client_id")
        );
        assert_eq!(
            Credentials::parse(r#"{"client_id":"id","org_slug":"s"}"#).unwrap_err(),
            CredentialsError::Missing("client_secret")
        );
        assert_eq!(
            Credentials::parse(r#"{"client_id":"id","client_secret":"x"}"#).unwrap_err(),
            CredentialsError::Missing("org_slug")
        );
    }

    #[test]
    fn bad_values_are_refused_without_quoting_them() {
        let e = Credentials::parse(r#"{"client_id":"id","client_secret":"x","org_slug":"a/../b"}"#)
            .unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid(_)));
        let e = Credentials::parse(r#"{"client_id":"id","client_secret":12345678}"#).unwrap_err();
        let CredentialsError::Invalid(msg) = e else {
            panic!("{e:?}")
        };
        assert!(!msg.contains("12345678"), "{msg}");
        let e = Credentials::parse(
            r#"{"client_id":"id","client_secret":"x","org_slug":"s","token_url":"ftp://x"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, CredentialsError::Invalid(_)));
    }
}
