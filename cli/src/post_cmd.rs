//! `access-sync post --url URL (--secret-file F | --secret-env VAR) EVENTS.jsonl`
//!
//! Signs a JSON Lines file of canonical events with the installation's canonical secret and
//! posts it to ingest's canonical route, as any other system must (README, "Security model"):
//!
//! ```text
//! access-sync-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! Prints ingest's status and answer. Exit 0 when ingest accepted the file (2xx: 202, or 200
//! for a delivery it had accepted before), 1 when it refused it or could not be reached, 2 for
//! bad usage (no secret, unreadable file). The secret is never printed.

use access_sync_platforms::canonical::{CANONICAL_HEADER, sign};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `post`.
#[derive(clap::Args, Debug)]
pub struct PostArgs {
    /// Ingest's canonical route, e.g. `https://<id>.lambda-url.<region>.on.aws/events`.
    #[arg(long)]
    url: String,
    /// A file holding the canonical secret (surrounding whitespace ignored).
    #[arg(
        long,
        conflicts_with = "secret_env",
        required_unless_present = "secret_env"
    )]
    secret_file: Option<PathBuf>,
    /// An environment variable holding the canonical secret.
    #[arg(long)]
    secret_env: Option<String>,
    /// Sign as of this instant (RFC 3339) instead of the system clock: for a local stack
    /// whose functions run on a test clock.
    #[arg(long)]
    at: Option<String>,
    /// Canonical events, JSON Lines (`-` for standard input).
    events: PathBuf,
}

/// Runs `post`.
pub fn run(args: PostArgs) -> ExitCode {
    let (secret, body, t) = match prepare(&args) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let signature = sign(secret.as_bytes(), &body, t);
    match rt.block_on(send(&args.url, &signature, body)) {
        Ok((status, text)) => {
            println!("{status} {}", text.trim());
            if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: posting to {}: {e}", args.url);
            ExitCode::from(1)
        }
    }
}

fn prepare(args: &PostArgs) -> Result<(String, Vec<u8>, i64), String> {
    let secret = match (&args.secret_file, &args.secret_env) {
        (Some(f), _) => {
            std::fs::read_to_string(f).map_err(|e| format!("{}: cannot read: {e}", f.display()))?
        }
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| format!("the variable {var} is not set"))?
        }
        (None, None) => return Err("give --secret-file or --secret-env".into()),
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err("the canonical secret is empty".into());
    }
    let body = if args.events.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| format!("standard input: {e}"))?;
        b
    } else {
        std::fs::read(&args.events)
            .map_err(|e| format!("{}: cannot read: {e}", args.events.display()))?
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("{}: no events", args.events.display()));
    }
    let t = match &args.at {
        None => chrono::Utc::now().timestamp(),
        Some(at) => access_sync_rules::time::parse_instant(at)
            .map_err(|e| format!("--at: {e}"))?
            .timestamp(),
    };
    Ok((secret, body, t))
}

async fn send(url: &str, signature: &str, body: Vec<u8>) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .post(url)
        .header("content-type", "application/x-ndjson")
        .header(CANONICAL_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    Ok((status, r.text().await.unwrap_or_default()))
}
