//! `access-sync brake status | release (--all | EMAIL GROUP) | discard (--all | EMAIL GROUP)`
//!
//! The one brake holds revokes and shortened windows past its budget (see the README). With the
//! same settings as the deployed functions (`TABLE_NAME`, `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`,
//! … and the usual AWS credentials; `AWS_ENDPOINT_URL` for the local stack):
//! - `status` lists the holds and how much of the hour's budget is used, and the endings a
//!   platform sync holds (released with `access-sync sync confirm|discard <platform>`, which
//!   `release` and `discard` remind of: they act on Kisi revokes only);
//! - `release` carries held revokes out (converge for those pairs with the brake bypassed);
//!   what the rules no longer take away is kept and its hold dropped;
//! - `discard` drops the revoke: Kisi is not touched and the access stays as it is until the
//!   person's facts or the mapping change (then the rules decide again, through the brake).
//!   Kisi still ends an assignment at its `valid_until`.
//!
//! Exit codes: 0 ok, 2 usage or configuration, 1 failure.

use access_sync_ports::Reduction;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, GroupId, Pair};
use access_sync_runtime::App;
use std::process::ExitCode;

/// `brake` subcommands.
#[derive(clap::Args, Debug)]
pub struct BrakeArgs {
    #[command(subcommand)]
    cmd: BrakeCmd,
}

/// Which held revokes.
#[derive(clap::Args, Debug)]
struct Which {
    /// Every held revoke.
    #[arg(long, conflicts_with_all = ["email", "group"])]
    all: bool,
    /// The person's e-mail.
    #[arg(requires = "group")]
    email: Option<String>,
    /// The Kisi group id.
    group: Option<i64>,
}

#[derive(clap::Subcommand, Debug)]
enum BrakeCmd {
    /// List the held revokes and the budget used in the last hour.
    Status,
    /// Carry held revokes out (converge with the brake bypassed for them).
    Release(Which),
    /// Drop held revokes: keep the access as it is until the person's facts or the mapping change.
    Discard(Which),
}

impl Which {
    fn pair(&self) -> Result<Option<Pair>, String> {
        if self.all {
            return Ok(None);
        }
        let (Some(e), Some(g)) = (&self.email, self.group) else {
            return Err("say which: --all, or EMAIL GROUP".into());
        };
        let email = Email::parse(e).ok_or_else(|| format!("{e:?} is not an e-mail"))?;
        let group = GroupId::new(g).ok_or_else(|| format!("{g} is not a Kisi group id"))?;
        Ok(Some(Pair { email, group }))
    }
}

/// Runs `brake`.
pub fn run(args: BrakeArgs) -> ExitCode {
    let which = match &args.cmd {
        BrakeCmd::Status => None,
        BrakeCmd::Release(w) | BrakeCmd::Discard(w) => match w.pair() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
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
    runtime.block_on(execute(&args.cmd, which.flatten()))
}

fn what(r: &Reduction) -> String {
    match r {
        Reduction::Revoke => "revoke".into(),
        Reduction::Shorten { to, .. } => format!(
            "shorten to {}",
            to.map(format_instant)
                .unwrap_or_else(|| "open-ended".into())
        ),
    }
}

async fn execute(cmd: &BrakeCmd, pair: Option<Pair>) -> ExitCode {
    let app = match App::from_env().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let now = match app.clock.now().await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let engine = &app.engine;
    let done = match cmd {
        BrakeCmd::Status => match engine.brake_status(now).await {
            Ok(s) => {
                let held = s.holds.iter().filter(|h| h.discarded.is_none()).count();
                println!(
                    "{held} held, {} discarded; budget: {} of {} used in the last hour ({} managed pairs)",
                    s.holds.len() - held,
                    s.used,
                    s.limit,
                    s.managed
                );
                for h in &s.holds {
                    let state = match &h.discarded {
                        None => "held".to_string(),
                        Some(d) => format!("discarded {}", format_instant(d.at)),
                    };
                    println!(
                        "{}\t{}\t{}\tsince {} ({})\t{state}",
                        h.pair.email,
                        h.pair.group,
                        what(&h.reduction),
                        format_instant(h.at),
                        h.trigger
                    );
                }
                // The platform sync's held endings: the same brake from the operator's view.
                for line in crate::sync_cmd::held_everywhere().await {
                    println!("{line}");
                }
                return ExitCode::SUCCESS;
            }
            Err(e) => Err(e),
        },
        BrakeCmd::Release(_) => engine.release_held(pair.as_ref(), now).await,
        BrakeCmd::Discard(_) => engine.discard_held(pair.as_ref(), now).await,
    };
    match done {
        Ok(list) => {
            if list.is_empty() {
                println!(
                    "nothing held{}",
                    if pair.is_some() { " for that pair" } else { "" }
                );
            }
            for o in &list {
                println!("{}\t{}\t{}", o.pair.email, o.pair.group, o.done);
            }
            // Held sync endings are released apart (they are cancels to publish, not Kisi
            // revokes): say so rather than leave them unnoticed.
            for line in crate::sync_cmd::held_everywhere().await {
                eprintln!("note: {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
