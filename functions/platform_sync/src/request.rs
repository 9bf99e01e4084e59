//! The function's input.

use access_sync_platforms::Platform;
use serde::Deserialize;

/// What to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sync (full or incremental as due; full when `full`).
    #[default]
    Sync,
    /// Publish the endings the brake held.
    Confirm,
    /// Drop the endings the brake held.
    Discard,
}

/// `{"platform": "officernd", "full": true, "action": "sync"}`; `full` and `action` optional.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The platform's name.
    pub platform: String,
    /// A full listing even if an incremental one is due.
    #[serde(default)]
    pub full: bool,
    /// What to do.
    #[serde(default)]
    pub action: Action,
}

impl SyncRequest {
    /// Parses the input and names the platform.
    ///
    /// # Errors
    /// What is wrong with it (a bad input: not retryable).
    pub fn parse(v: serde_json::Value) -> Result<(SyncRequest, Platform), String> {
        let req: SyncRequest = serde_json::from_value(v).map_err(|e| e.to_string())?;
        let platform = Platform::parse(&req.platform).ok_or_else(|| {
            format!(
                "unknown platform {:?} (want one of {})",
                req.platform,
                Platform::ALL.map(Platform::as_str).join(", ")
            )
        })?;
        Ok((req, platform))
    }
}
