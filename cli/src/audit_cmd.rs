//! `access-sync audit [EMAIL] [--since T] [--group G] [--limit N] [--json]`: what access-sync
//! did (grant, revoke, replace, adopt, hold, held by hand, exclude, include) and why, newest
//! first. Without EMAIL: the system-wide entries (brake holds, events held for a member not yet
//! described).
//!
//! Exit codes: 0 ok, 2 usage or configuration, 1 failure.

use crate::ops_cmd::{self, Failed};
use access_sync_operator::AuditQuery;
use access_sync_ports::{AuditAction, AuditEntry};
use access_sync_rules::time::format_instant;
use std::io::Write;
use std::process::ExitCode;

/// `audit` arguments.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The person's e-mail (without it: system-wide entries).
    email: Option<String>,
    /// Only entries at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only entries about this Kisi group.
    #[arg(long)]
    group: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Print JSON (an array of entries) instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn action_name(a: AuditAction) -> &'static str {
    match a {
        AuditAction::Grant => "grant",
        AuditAction::Revoke => "revoke",
        AuditAction::Adopt => "adopt",
        AuditAction::Skip => "skip",
        AuditAction::Hold => "hold",
        AuditAction::Brake => "brake",
        AuditAction::ByHand => "by_hand",
        AuditAction::Exclude => "exclude",
        AuditAction::Include => "include",
    }
}

/// One entry as a line: instant, action, e-mail, group, cause (tab-separated).
pub(crate) fn line(e: &AuditEntry) -> String {
    let (email, group) = e.pair.as_ref().map_or(("-".into(), "-".into()), |p| {
        (p.email.to_string(), p.group.to_string())
    });
    format!(
        "{}\t{}\t{email}\t{group}\t{}",
        format_instant(e.at),
        action_name(e.action),
        e.cause
    )
}

/// Runs `audit`.
pub fn run(args: AuditArgs) -> ExitCode {
    ops_cmd::run(|op| async move {
        let q = AuditQuery {
            email: args.email.as_deref().map(ops_cmd::email).transpose()?,
            since: ops_cmd::instant(args.since.as_deref(), "--since")?,
            group: ops_cmd::group(args.group)?,
            limit: args.limit,
        };
        let entries = op.audit(&q).await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            ops_cmd::json(&mut out, &entries);
        } else {
            for e in &entries {
                let _ = writeln!(out, "{}", line(e));
            }
            let _ = writeln!(
                out,
                "{} entr{}",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            );
        }
        Ok::<(), Failed>(())
    })
}
