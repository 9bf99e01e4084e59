//! Where the platforms' webhook secrets are configured: one Secrets Manager secret per
//! platform (never in environment variables or logs). `WEBHOOK_SECRET_OFFICERND`,
//! `WEBHOOK_SECRET_OPTIX`, `WEBHOOK_SECRET_NEXUDUS` and `WEBHOOK_SECRET_TEAMUP` hold the
//! secrets' *names* (the CDK app creates them empty); `access_sync_ports::StoredWebhookSecrets`
//! reads them. A platform whose variable is unset, or whose secret is still empty, has no
//! route (404).

use access_sync_platforms::Platform;
use std::collections::BTreeMap;

/// The variable naming a platform's secret: `WEBHOOK_SECRET_<PLATFORM>`.
pub fn secret_variable(platform: Platform) -> String {
    format!("WEBHOOK_SECRET_{}", platform.as_str().to_ascii_uppercase())
}

/// The secret names from `WEBHOOK_SECRET_<PLATFORM>` through `get`.
pub fn secret_names(get: impl Fn(&str) -> Option<String>) -> BTreeMap<Platform, String> {
    Platform::ALL
        .iter()
        .filter_map(|p| get(&secret_variable(*p)).map(|n| (*p, n)))
        .collect()
}
