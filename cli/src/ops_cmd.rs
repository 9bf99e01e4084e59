//! What `explain`, `audit` and `status` share: the operator over the installation (the
//! settings of `mappings apply`: `TABLE_NAME`, `KISI_TOKEN_SECRET`, … and AWS credentials;
//! against the local stack, the `export` lines `local-stack up` prints), the runtime, parsing
//! of the operator's input, and writing JSON.

use access_sync_operator::{AwsOperator, OperatorError};
use access_sync_rules::time::{format_instant, parse_instant};
use access_sync_rules::{Email, GroupId, Instant};
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;

/// A usage or configuration mistake (exit 2) or a failure (exit 1).
pub(crate) enum Failed {
    Usage(String),
    Failure(String),
}

impl From<OperatorError> for Failed {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::Config(m) | OperatorError::Input(m) => Failed::Usage(m),
            other => Failed::Failure(other.to_string()),
        }
    }
}

/// An address as the operator typed it: trimmed, compared case-insensitively; it must have
/// something on both sides of one `@` (the core accepts any non-empty text as an address, but
/// an operator's typo should not silently show an empty person).
pub(crate) fn email(raw: &str) -> Result<Email, Failed> {
    let bad = || Failed::Usage(format!("{raw:?} is not an e-mail address"));
    match raw.trim().split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Email::parse(raw).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

pub(crate) fn group(raw: Option<i64>) -> Result<Option<GroupId>, Failed> {
    raw.map(|g| GroupId::new(g).ok_or_else(|| Failed::Usage(format!("{g} is not a Kisi group id"))))
        .transpose()
}

pub(crate) fn instant(raw: Option<&str>, what: &str) -> Result<Option<Instant>, Failed> {
    raw.map(|t| parse_instant(t).map_err(|e| Failed::Usage(format!("{what}: {e}"))))
        .transpose()
}

pub(crate) fn when(t: Option<Instant>) -> String {
    t.map_or_else(|| "open-ended".into(), format_instant)
}

/// Writes `value` as one JSON document.
pub(crate) fn json(out: &mut impl Write, value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => {
            let _ = writeln!(out, "{s}");
        }
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// Runs `body` with the operator built from the environment, on its own runtime, and turns
/// its answer into an exit code.
pub(crate) fn run<F, Fut>(body: F) -> ExitCode
where
    F: FnOnce(AwsOperator) -> Fut,
    Fut: Future<Output = Result<(), Failed>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let done = runtime.block_on(async {
        let op = AwsOperator::from_env().await?;
        body(op).await
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failed::Failure(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}
