//! `access-sync preview --mappings FILE.toml --events FILE.jsonl [--until RFC3339] [--live]`
//!
//! Runs [`access_sync_rules::preview`] (reading the file with
//! [`PreviewInput::parse`]) and prints one JSON object per interval (ACCESS-MODEL §4).
//! `--live` runs [`access_sync_rules::preview::preview_live`] instead: the live operations
//! themselves on a virtual clock (apply each event, converge the pairs it can change, fire the
//! edges as they fall due) — slower, the same output; CI runs the scenarios through both.
//! Bad input: exit 2, nothing on stdout, `FILE:LINE: reason` on stderr.

use access_sync_rules::event::parse_jsonl;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::{PreviewInput, preview_live};
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
    /// Step the live operations edge by edge (the engine the Lambdas run) instead of reading
    /// the timeline in one pass; same output, slower. For cross-checking.
    #[arg(long)]
    live: bool,
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
    let bad = |e: access_sync_rules::LineError| {
        format!("{}:{}: {}", args.events.display(), e.line, e.message)
    };
    let result = if args.live {
        let events = parse_jsonl(&text).map_err(bad)?;
        preview_live(
            &mappings,
            events.into_iter().map(|(_, e)| e).collect(),
            until,
        )
    } else {
        PreviewInput::parse(&text)
            .map_err(bad)?
            .preview(&mappings, until)
    };
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    Ok(result.to_jsonl())
}
