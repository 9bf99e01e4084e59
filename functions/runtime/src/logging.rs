//! JSON logs, one object per line, fields flattened (`person`, `group`, `reason`, ...), so
//! CloudWatch Logs Insights can filter on them. Handlers log ids, counts and pseudonyms
//! ([`crate::redact::Pseudonym`]); never an e-mail, a name, a token, a secret or a payload.
//!
//! - **Level**: `RUST_LOG` (default `info`). The Lambda runtime and the HTTP and AWS SDK
//!   libraries ([`QUIET_TARGETS`]) stay at `warn` even when `RUST_LOG` asks for more for
//!   everything (`RUST_LOG=trace`): at debug and trace they log request URIs (the TeamUp
//!   secret can be in the path), headers and bodies (addresses, the Kisi key, secret values
//!   read from Secrets Manager). Naming one of them in `RUST_LOG` (`RUST_LOG=trace,hyper=debug`)
//!   lifts the cap for it; the scrubber below still applies.
//! - **Scrubbing**: every line goes through [`crate::redact::scrub`] before it is written.

use crate::redact::scrub;
use std::io::Write;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log targets kept at `warn` unless named in `RUST_LOG` (a directive matches every target
/// that starts with it: `hyper` covers `hyper_util`, `aws_smithy` every `aws_smithy_*`).
pub const QUIET_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tower",
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_credential_types",
];

/// The filter for a `RUST_LOG` value (`None` or unparsable: `info`), with [`QUIET_TARGETS`]
/// capped at `warn` unless the value names them.
pub fn filter(spec: Option<&str>) -> EnvFilter {
    let spec = spec
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let named: Vec<&str> = spec
        .split(',')
        .map(|d| d.split(['=', '[']).next().unwrap_or("").trim())
        .collect();
    for target in QUIET_TARGETS {
        if !named.contains(target)
            && let Ok(d) = format!("{target}=warn").parse()
        {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// The JSON subscriber every function installs, writing scrubbed lines to `writer`, at the
/// level `spec` (a `RUST_LOG` value) asks for. Tests install it with a capturing writer.
pub fn subscriber<W>(writer: W, spec: Option<&str>) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    builder(writer, spec).finish()
}

type Builder<W> = tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    EnvFilter,
    Scrubbed<W>,
>;

fn builder<W>(writer: W, spec: Option<&str>) -> Builder<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter(spec))
        .with_writer(Scrubbed(writer))
}

/// Installs the JSON subscriber on stdout, at `RUST_LOG` (a second call is a no-op). Libraries
/// logging through the `log` crate reach it too, through the same filter and scrubber.
pub fn init() {
    let spec = std::env::var("RUST_LOG").ok();
    let _ = builder(std::io::stdout, spec.as_deref()).try_init();
}

/// A writer that passes each log line through [`scrub`] before writing it to the inner
/// writer.
pub struct Scrubbed<W>(pub W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<W> {
    type Writer = ScrubbedLine<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedLine {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// One log line being written: collected, then scrubbed and written when dropped (the
/// formatter writes a whole line per writer).
pub struct ScrubbedLine<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Write for ScrubbedLine<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ScrubbedLine<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = scrub(&String::from_utf8_lossy(&self.buf));
        let _ = self.inner.write_all(line.as_bytes());
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    #[test]
    fn libraries_stay_at_warn_under_trace_unless_named() {
        let out = Capture::default();
        let sub = subscriber(out.clone(), Some("trace"));
        tracing::subscriber::with_default(sub, || {
            tracing::trace!(target: "hyper_util::client", "hyper trace line");
            tracing::debug!(target: "aws_smithy_runtime::client", "smithy debug line");
            tracing::trace!(target: "lambda_http::request", "lambda trace line");
            tracing::warn!(target: "hyper::proto", "hyper warn line");
            tracing::trace!(target: "access_sync_kisi::client", "our trace line");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hyper trace line"), "{text}");
        assert!(!text.contains("smithy debug line"), "{text}");
        assert!(!text.contains("lambda trace line"), "{text}");
        assert!(text.contains("hyper warn line"), "{text}");
        assert!(text.contains("our trace line"), "{text}");

        let out = Capture::default();
        let sub = subscriber(out.clone(), Some("trace,hyper_util=trace"));
        tracing::subscriber::with_default(sub, || {
            tracing::trace!(target: "hyper_util::client", "named trace line");
            tracing::trace!(target: "h2::codec", "h2 trace line");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("named trace line"), "{text}");
        assert!(!text.contains("h2 trace line"), "{text}");
    }

    #[test]
    fn every_line_is_scrubbed_before_it_is_written() {
        crate::redact::register_secret("kisi-key-0123456789");
        let out = Capture::default();
        tracing::subscriber::with_default(subscriber(out.clone(), Some("info")), || {
            tracing::info!(
                error = "user cat@studio.dev: 401 for key kisi-key-0123456789",
                "x"
            );
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("cat@studio.dev"), "{text}");
        assert!(!text.contains("kisi-key-0123456789"), "{text}");
        assert!(
            text.contains(&crate::redact::pseudonym("cat@studio.dev")),
            "{text}"
        );
        assert!(text.contains(crate::redact::REDACTED), "{text}");
        assert!(text.ends_with('\n'), "{text}");
    }
}
