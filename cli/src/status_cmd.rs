//! `access-sync status [--json]`: the installation at a glance, problems first: revokes the
//! brake holds and its budget, events held for a member not yet described, dead-letter queue
//! depths with the first reasons, each platform's last sync, exclusions, and whether Kisi
//! accepts the API key.
//!
//! Dead-letter queues: `DEAD_LETTER_QUEUES` (names or URLs, comma-separated), or every queue
//! named `STACK_PREFIX*-dlq` / `*-failures` (`STACK_PREFIX` defaults to `access-sync`).
//! Exit codes: 0 ok (also when there are problems: they are the answer), 2 usage or
//! configuration, 1 failure.

use crate::ops_cmd::{self, Failed, when};
use access_sync_operator::{KeyHealth, Status};
use access_sync_ports::Reduction;
use access_sync_rules::time::format_instant;
use std::io::Write;
use std::process::ExitCode;

/// `status` arguments.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `status`.
pub fn run(args: StatusArgs) -> ExitCode {
    ops_cmd::run(|op| async move {
        let now = op.now().await?;
        let s = op.status(now).await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.insert("problems".into(), serde_json::json!(s.problems()));
            }
            ops_cmd::json(&mut out, &v);
        } else {
            text(&s, &mut out);
        }
        Ok::<(), Failed>(())
    })
}

fn text(s: &Status, out: &mut impl Write) {
    let _ = writeln!(out, "status at {}", format_instant(s.at));
    let problems = s.problems();
    if problems.is_empty() {
        let _ = writeln!(out, "problems: none");
    } else {
        let _ = writeln!(out, "problems: {}", problems.len());
        for p in &problems {
            let _ = writeln!(out, "  - {p}");
        }
    }
    match &s.last_reconcile {
        Some(r) => {
            let _ = writeln!(
                out,
                "last reconcile: {} {} {}",
                format_instant(r.at),
                r.outcome,
                r.report
            );
        }
        None => {
            let _ = writeln!(out, "last reconcile: none recorded");
        }
    }
    let held = s
        .brake
        .holds
        .iter()
        .filter(|h| h.discarded.is_none())
        .count();
    let _ = writeln!(
        out,
        "brake: {held} held, {} discarded; {} of {} revokes used in the last hour ({} managed pairs)",
        s.brake.holds.len() - held,
        s.brake.used,
        s.brake.limit,
        s.brake.managed
    );
    for h in &s.brake.holds {
        let what = match &h.reduction {
            Reduction::Revoke => "revoke".to_string(),
            Reduction::Shorten { to, .. } => format!("shorten to {}", when(*to)),
        };
        let state = match &h.discarded {
            None => "held".to_string(),
            Some(d) => format!("discarded {}", format_instant(d.at)),
        };
        let _ = writeln!(
            out,
            "  {}\t{}\t{what}\tsince {} ({})\t{state}",
            h.pair.email,
            h.pair.group,
            format_instant(h.at),
            h.trigger
        );
    }
    let _ = writeln!(
        out,
        "held events (waiting for a member): {}",
        s.held_events.len()
    );
    for h in &s.held_events {
        let _ = writeln!(
            out,
            "  {}\t{}\twaiting for {}",
            format_instant(h.at),
            h.entitlement,
            h.waiting_for
        );
    }
    match &s.dead_letters_error {
        Some(e) => {
            let _ = writeln!(out, "dead letters: not read: {e}");
        }
        None => {
            let total: u64 = s.dead_letters.iter().map(|q| q.depth).sum();
            let _ = writeln!(
                out,
                "dead letters: {total} in {} queue(s)",
                s.dead_letters.len()
            );
            for q in &s.dead_letters {
                let _ = writeln!(out, "  {}\t{}", q.name, q.depth);
                for m in &q.first {
                    let _ = writeln!(
                        out,
                        "    {}{}: {}",
                        m.sent.map_or_else(|| "?".into(), format_instant),
                        m.receives
                            .map_or_else(String::new, |n| format!(" (received {n} times)")),
                        m.reason
                    );
                }
            }
        }
    }
    if s.platforms.is_empty() {
        let _ = writeln!(out, "platform syncs: none ran");
    }
    for p in &s.platforms {
        let _ = writeln!(
            out,
            "platform sync {}: last full {}; changes since {}{}{}",
            p.platform,
            p.last_full.map_or_else(|| "never".into(), format_instant),
            p.high_water.map_or_else(|| "-".into(), format_instant),
            p.in_progress.map_or_else(String::new, |t| format!(
                "; full listing in progress since {}",
                format_instant(t)
            )),
            p.held.as_ref().map_or_else(String::new, |h| format!(
                "; {} ending(s) held since {}",
                h.ended,
                format_instant(h.at)
            ))
        );
    }
    let _ = writeln!(out, "exclusions: {}", s.exclusions.len());
    for x in &s.exclusions {
        let _ = writeln!(out, "  {}\tsince {}", x.email, format_instant(x.since));
    }
    let _ = writeln!(
        out,
        "Kisi key: {}",
        match &s.kisi {
            KeyHealth::Ok(n) => format!("ok ({n} groups readable)"),
            KeyHealth::Rejected(e) => format!("REJECTED: {e}"),
            KeyHealth::Unavailable(e) => format!("unavailable: {e}"),
        }
    );
}
