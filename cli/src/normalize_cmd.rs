//! `access-sync normalize PLATFORM FILE`
//!
//! Prints the canonical events (JSON Lines, ACCESS-MODEL §2) that the native webhook payloads in
//! FILE yield, one payload per line, without checking signatures and using the members seen on
//! earlier lines: the operator's way to see what access-sync understood. The output feeds
//! `access-sync preview --events` directly. Bad input: exit 2, nothing on stdout,
//! `FILE:LINE: reason` on stderr.

use access_sync_platforms::{Platform, normalize_lines};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `normalize`.
#[derive(clap::Args, Debug)]
pub struct NormalizeArgs {
    /// The platform: officernd, optix, nexudus or teamup.
    platform: String,
    /// Native payloads, one per line (Optix: one form-encoded body per line; Nexudus: optionally
    /// `Action [ … ]`; TeamUp: optionally `<TEAMUP-WEBHOOK-ID> { … }`).
    file: PathBuf,
}

/// Runs `normalize`.
pub fn run(args: NormalizeArgs) -> ExitCode {
    match execute(&args) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn execute(args: &NormalizeArgs) -> Result<String, String> {
    let platform = Platform::parse(&args.platform).ok_or_else(|| {
        format!(
            "unknown platform {:?} (want one of {})",
            args.platform,
            Platform::ALL.map(Platform::as_str).join(", ")
        )
    })?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("{}: cannot read: {e}", args.file.display()))?;
    let events = normalize_lines(platform, &text)
        .map_err(|e| format!("{}:{}: {}", args.file.display(), e.line, e.rejection))?;
    let mut out = String::with_capacity(events.len() * 160);
    for e in &events {
        out.push_str(&e.to_json());
        out.push('\n');
    }
    Ok(out)
}
