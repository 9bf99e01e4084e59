//! The Optix credentials as kept in Secrets Manager, read through the [`SecretSource`] port:
//! one JSON secret, `<prefix>/platforms/optix`.
//!
//! ```json
//! {"token": "…", "organization_id": "1234",
//!  "endpoint": "https://api.optixapp.com/graphql", "candidate": "…"}
//! ```
//!
//! `token` is the organization token (optix.md §1 [C USE]); `organization_id` the organization
//! a replacement token must answer for; `endpoint` is optional (Optix's production one by
//! default; the simulator's in tests); `candidate` is a replacement offered by `ingest` from
//! an `organization_token_updated` webhook, not yet checked.
//!
//! This store only reads: a candidate the client checked and promoted is used by this process
//! from then on, and every later cold start checks it again (one `me` request) until the
//! writing store (`ingest`'s) or an operator makes it the `token`.

use std::sync::Mutex;

use access_sync_platforms::Platform;
use access_sync_ports::{ApiSettings, ApiTokens, SecretError, SecretSource, SecretValue};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretJson {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    candidate: Option<String>,
    #[serde(default)]
    organization_id: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
}

fn filled(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The Optix token (and its endpoint and organization) from one JSON secret.
pub struct SecretTokens<S> {
    secrets: S,
    name: String,
    promoted: Mutex<Option<String>>,
}

impl<S> std::fmt::Debug for SecretTokens<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretTokens")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: SecretSource> SecretTokens<S> {
    /// Reads the secret `name` of `secrets` (nothing is read until the first use).
    pub fn new(secrets: S, name: impl Into<String>) -> Self {
        Self {
            secrets,
            name: name.into(),
            promoted: Mutex::new(None),
        }
    }

    async fn read(&self, fresh: bool) -> Result<SecretJson, SecretError> {
        let value = if fresh {
            self.secrets.refresh(&self.name).await
        } else {
            self.secrets.secret(&self.name).await
        };
        let value = match value {
            Ok(v) => v,
            // Created but not filled in: not configured, as for OfficeRnD.
            Err(SecretError::Empty(_)) => return Ok(SecretJson::default()),
            Err(e) => return Err(e),
        };
        if value.expose().trim().is_empty() {
            return Ok(SecretJson::default());
        }
        // Never quote the value: it holds the token.
        serde_json::from_str(value.expose()).map_err(|e| {
            SecretError::Unavailable(format!(
                "secret {} is not the documented JSON (line {}, column {})",
                self.name,
                e.line(),
                e.column()
            ))
        })
    }
}

impl<S: SecretSource> ApiTokens for SecretTokens<S> {
    async fn current(&self, _platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        let kept = self
            .promoted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(t) = kept {
            return Ok(Some(SecretValue::new(t)));
        }
        Ok(filled(self.read(false).await?.token).map(SecretValue::new))
    }

    async fn candidate(&self, _platform: Platform) -> Result<Option<SecretValue>, SecretError> {
        // Fresh: `ingest` may have offered one since this process read the secret.
        Ok(filled(self.read(true).await?.candidate).map(SecretValue::new))
    }

    async fn offer(&self, _platform: Platform, _token: SecretValue) -> Result<(), SecretError> {
        Err(SecretError::Unavailable(format!(
            "secret {} is read-only here: tokens are offered through ingest's store",
            self.name
        )))
    }

    async fn promote(&self, _platform: Platform, token: SecretValue) -> Result<(), SecretError> {
        *self.promoted.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.expose().to_owned());
        Ok(())
    }

    async fn settings(&self, _platform: Platform) -> Result<Option<ApiSettings>, SecretError> {
        let s = self.read(false).await?;
        Ok(Some(ApiSettings {
            endpoint: filled(s.endpoint),
            organization_id: filled(s.organization_id),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_ports::memory::MemorySecrets;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_token_endpoint_and_organization_come_from_the_json_secret() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.set(
            "p/platforms/optix",
            r#"{"token":"t1","organization_id":"42","endpoint":"http://127.0.0.1:9/graphql"}"#,
        );
        let t = SecretTokens::new(secrets.clone(), "p/platforms/optix");
        let cur = t.current(Platform::Optix).await.unwrap().unwrap();
        assert_eq!(cur.expose(), "t1");
        assert!(t.candidate(Platform::Optix).await.unwrap().is_none());
        let s = t.settings(Platform::Optix).await.unwrap().unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9/graphql"));
        assert_eq!(s.organization_id.as_deref(), Some("42"));
        // A candidate offered later is seen; once promoted it is the one in use.
        secrets.set("p/platforms/optix", r#"{"token":"t1","candidate":"t2"}"#);
        let c = t.candidate(Platform::Optix).await.unwrap().unwrap();
        t.promote(Platform::Optix, c).await.unwrap();
        assert_eq!(
            t.current(Platform::Optix).await.unwrap().unwrap().expose(),
            "t2"
        );
    }

    #[tokio::test]
    async fn an_empty_secret_has_no_token_and_a_malformed_one_is_an_error_without_its_value() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.set("e", "");
        let t = SecretTokens::new(secrets.clone(), "e");
        assert!(t.current(Platform::Optix).await.unwrap().is_none());
        secrets.set("m", "{\"token\": \"sekrit\"");
        let t = SecretTokens::new(secrets, "m");
        let e = t.current(Platform::Optix).await.unwrap_err().to_string();
        assert!(!e.contains("sekrit"), "{e}");
    }
}
