//! `access-sync explain EMAIL [--group G] [--at T] [--days N] [--json]`: "Joe is at the door
//! and it won't open — why?" from live data.
//!
//! Per group (every mapped group, or only `--group`, plus any group where access-sync or Kisi
//! holds something for the person): open or closed at `--at` (default: now) and until when,
//! the changes over the next `--days` (14), the assignments Kisi actually holds (ours, held by
//! hand, not ours) and what access-sync recorded (held revokes, the repair index); then the
//! entitlements that reach the address with their status and the mapping lines that turn them
//! into groups, and the newest audit entries. The timeline is the rules core's own answer, as
//! converge and `preview` compute it.
//!
//! Exit codes: 0 ok, 2 usage or configuration, 1 failure.

use crate::ops_cmd::{self, Failed, when};
use access_sync_operator::{EntitlementStatus, Explanation, HoldingKind};
use access_sync_ports::Reduction;
use access_sync_rules::time::format_instant;
use chrono::Duration;
use std::io::Write;
use std::process::ExitCode;

/// `explain` arguments.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The person's e-mail.
    email: String,
    /// Only this Kisi group.
    #[arg(long)]
    group: Option<i64>,
    /// The instant to explain (RFC 3339; default: now, by the installation's clock).
    #[arg(long)]
    at: Option<String>,
    /// How many days of changes to show (1 to 62).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u16).range(1..=62))]
    days: u16,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    ops_cmd::run(|op| async move {
        let email = ops_cmd::email(&args.email)?;
        let group = ops_cmd::group(args.group)?;
        let at = match ops_cmd::instant(args.at.as_deref(), "--at")? {
            Some(t) => t,
            None => op.now().await?,
        };
        let horizon = at + Duration::days(i64::from(args.days));
        let x = op.explain_until(&email, group, at, horizon).await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            ops_cmd::json(&mut out, &x);
        } else {
            text(&x, &mut out);
        }
        Ok::<(), Failed>(())
    })
}

fn status_name(s: EntitlementStatus) -> &'static str {
    match s {
        EntitlementStatus::Active => "active",
        EntitlementStatus::Pending => "pending",
        EntitlementStatus::Blocked => "blocked",
        EntitlementStatus::UsedUp => "used up",
        EntitlementStatus::Cancelled => "cancelled",
    }
}

/// The explanation as text.
pub(crate) fn text(x: &Explanation, out: &mut impl Write) {
    let who = match (&x.name, x.members.is_empty()) {
        (Some(n), false) => format!(" ({n}; member {})", x.members.join(", ")),
        (None, false) => format!(" (member {})", x.members.join(", ")),
        (Some(n), true) => format!(" ({n})"),
        (None, true) => " (no platform member has this address)".into(),
    };
    let _ = writeln!(out, "{}{who}", x.email);
    let _ = writeln!(
        out,
        "at {}, looking ahead to {}",
        format_instant(x.at),
        format_instant(x.horizon)
    );
    match &x.excluded {
        Some(e) => {
            let _ = writeln!(
                out,
                "EXCLUDED since {}: access-sync grants nothing to this address (Kisi user {} was \
                 deleted in Kisi by a person, or an operator excluded it); lift: access-sync kisi \
                 include {}",
                format_instant(e.since),
                e.user_id,
                x.email
            );
        }
        None => {
            let _ = writeln!(out, "excluded: no");
        }
    }
    match (&x.kisi, &x.kisi_error) {
        (_, Some(e)) => {
            let _ = writeln!(out, "Kisi: not read: {e}");
        }
        (Some(p), None) => {
            let _ = writeln!(
                out,
                "Kisi: user {}{}",
                p.user_id,
                if p.access_enabled {
                    ""
                } else {
                    " (ACCESS DISABLED in Kisi)"
                }
            );
        }
        (None, None) => {
            let _ = writeln!(out, "Kisi: no user with this e-mail");
        }
    }
    for g in &x.groups {
        let _ = writeln!(out);
        let state = if g.open {
            format!("OPEN until {}", when(g.until))
        } else {
            match g.next_open {
                Some(t) => format!("CLOSED, opens {}", format_instant(t)),
                None => "CLOSED".into(),
            }
        };
        let because = if g.reasons.is_empty() {
            String::new()
        } else {
            format!(" because {}", g.reasons.join(", "))
        };
        let _ = writeln!(
            out,
            "group {} ({}): {state}{because}",
            g.group,
            if g.managed { "mapped" } else { "not mapped" }
        );
        if g.open && x.excluded.is_some() {
            let _ = writeln!(out, "  the rules open it, but the address is excluded");
        }
        if !g.changes.is_empty() {
            let list: Vec<String> = g
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        if c.open { "opens" } else { "closes" },
                        format_instant(c.at)
                    )
                })
                .collect();
            let _ = writeln!(out, "  next: {}", list.join("; "));
        }
        for w in &g.windows {
            let _ = writeln!(
                out,
                "  window {} .. {} ({})",
                format_instant(w.from),
                when(w.until),
                w.reasons.join(", ")
            );
        }
        for h in &g.kisi {
            let whose = match h.kind {
                HoldingKind::Ours => "ours",
                HoldingKind::ByHand => "held by hand (left exactly as it is)",
                HoldingKind::NotOurs => "not access-sync's",
            };
            let _ = writeln!(
                out,
                "  Kisi: assignment {} {}, valid until {}: {whose}",
                h.assignment,
                h.role,
                when(h.valid_until)
            );
        }
        if x.kisi_error.is_none() && g.kisi.is_empty() {
            let _ = writeln!(out, "  Kisi: no assignment in this group");
        }
        if let Some(o) = &g.ours
            && !g.kisi.iter().any(|h| h.assignment == o.assignment_id)
            && x.kisi_error.is_none()
        {
            let _ = writeln!(
                out,
                "  access-sync: recorded assignment {} as ours, but Kisi does not show it (reconcile repairs it)",
                o.assignment_id
            );
        }
        if let Some(h) = &g.by_hand {
            let _ = writeln!(
                out,
                "  access-sync: held by hand since {} (assignment {})",
                format_instant(h.since),
                h.assignment_id
            );
        }
        if let Some(h) = &g.held_revoke {
            let what = match &h.reduction {
                Reduction::Revoke => "revoke".to_string(),
                Reduction::Shorten { to, .. } => format!("shorten to {}", when(*to)),
            };
            let state = match &h.discarded {
                None => "held by the brake (access-sync brake release|discard)".to_string(),
                Some(d) => format!("discarded {}", format_instant(d.at)),
            };
            let _ = writeln!(
                out,
                "  brake: {what} since {} ({}): {state}",
                format_instant(h.at),
                h.trigger
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "entitlements: {}", x.entitlements.len());
    for e in &x.entitlements {
        let span = match (e.start, e.end) {
            (None, _) => String::new(),
            (Some(s), end) => format!(" {} .. {}", format_instant(s), when(end)),
        };
        let gives = if e.grants { "" } else { " (gives nothing)" };
        let maps: Vec<String> = e
            .mappings
            .iter()
            .map(|m| match m.line {
                Some(l) => format!(
                    "{} -> mapping line {l}, groups {}",
                    m.reference,
                    m.groups
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                None => format!("{} -> no mapping", m.reference),
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} {} {}{}: {}{gives}{span}{}",
            e.id,
            e.kind.as_deref().unwrap_or("-"),
            e.holder.as_deref().unwrap_or("-"),
            if e.guest { " (as guest)" } else { "" },
            status_name(e.status),
            if maps.is_empty() {
                String::new()
            } else {
                format!("; {}", maps.join("; "))
            }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "audit (newest first): {}", x.audit.len());
    for e in &x.audit {
        let _ = writeln!(out, "  {}", crate::audit_cmd::line(e));
    }
}
