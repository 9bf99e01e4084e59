//! JSON logs, one object per line, fields flattened (`member`, `group`, `reason`, ...), so
//! CloudWatch Logs Insights can filter on them. The level comes from `RUST_LOG` (default
//! `info`). Handlers log ids, counts and e-mails where an operator needs them; never a token,
//! a secret or a full payload.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber (a second call is a no-op).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
}
