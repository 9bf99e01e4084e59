//! `access-sync preview --mappings FILE.toml --events FILE.jsonl [--until RFC3339]`
//!
//! Runs [`access_sync_rules::preview`] (reading the file with
//! [`PreviewInput::parse`]) and prints one JSON object per interval (ACCESS-MODEL §4).
//! Bad input: exit 2, nothing on stdout, `FILE:LINE: reason` on stderr.

use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::PreviewInput;
use access_sync_rules::time::parse_instant;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `preview`.
#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
    /// The mapping file (TOML).
    #[arg(long)]
    mappings: PathBuf,
    /// Canonical events (JSON Lines).
    #[arg(long)]
    events: PathBuf,
    /// Horizon (RFC 3339); default 30 days after the latest event.
    #[arg(long)]
    until: Option<String>,
}

/// Runs `preview`.
pub fn run(args: PreviewArgs) -> ExitCode {
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

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn execute(args: &PreviewArgs) -> Result<String, String> {
    let until = args
        .until
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(|m| format!("--until: {m}"))?;
    let mappings = Mappings::parse(&read(&args.mappings)?)
        .map_err(|e| format!("{}:{}: {}", args.mappings.display(), e.line, e.message))?;
    let text = read(&args.events)?;
    let events = PreviewInput::parse(&text)
        .map_err(|e| format!("{}:{}: {}", args.events.display(), e.line, e.message))?;
    let result = events.preview(&mappings, until);
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    Ok(result.to_jsonl())
}
