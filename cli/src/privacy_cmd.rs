//! Personal data: `access-sync log-id EMAIL…` and `access-sync erase EMAIL [--yes] [--force]`.
//!
//! - `log-id` prints the pseudonym the logs use for an address (`p:` + 10 hex of
//!   HMAC-SHA256(log key, address)), to grep the logs for one person. The key is the
//!   functions': `LOG_HASH_KEY`, or derived from `TABLE_NAME` (run it with the installation's
//!   settings, as `mappings apply`).
//! - `erase` removes one person's audit entries and stored facts from the installation the
//!   environment points at (`TABLE_NAME`, `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`, … and the
//!   usual AWS credentials; `AWS_ENDPOINT_URL` for the local stack). It refuses while the
//!   person still has access (exit 1, saying why) unless `--force`, which revokes what
//!   access-sync granted them first. It asks before erasing unless `--yes`.

use access_sync_rules::Email;
use access_sync_runtime::App;
use access_sync_runtime::redact::{key_from, pseudonym_with};
use std::io::BufRead;
use std::process::ExitCode;

/// `access-sync log-id`.
#[derive(clap::Args, Debug)]
pub struct LogIdArgs {
    /// One or more e-mail addresses.
    #[arg(required = true)]
    emails: Vec<String>,
}

/// `access-sync erase`.
#[derive(clap::Args, Debug)]
pub struct EraseArgs {
    /// The person's e-mail address.
    email: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// Erase even if they still have access: revoke what access-sync granted them now.
    #[arg(long)]
    force: bool,
}

/// Runs `log-id`.
pub fn log_id(args: LogIdArgs) -> ExitCode {
    let (key, source) = key_from(|k| std::env::var(k).ok());
    eprintln!("log key from {source}");
    let one = args.emails.len() == 1;
    for e in &args.emails {
        let Some(email) = Email::parse(e) else {
            eprintln!("error: {e:?} is not an e-mail address");
            return ExitCode::from(2);
        };
        let id = pseudonym_with(key.as_bytes(), email.as_str());
        if one {
            println!("{id}");
        } else {
            println!("{id}  {email}");
        }
    }
    ExitCode::SUCCESS
}

/// Runs `erase`.
pub fn erase(args: EraseArgs) -> ExitCode {
    let Some(email) = Email::parse(&args.email) else {
        eprintln!("error: {:?} is not an e-mail address", args.email);
        return ExitCode::from(2);
    };
    if !args.yes {
        let table = std::env::var("TABLE_NAME").unwrap_or_default();
        eprint!(
            "Erase every audit entry and stored fact of {email} from table {table:?}{}? [y/N] ",
            if args.force {
                ", revoking what access-sync granted them"
            } else {
                ""
            }
        );
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("not erased");
            return ExitCode::from(1);
        }
    }
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
    runtime.block_on(run_erase(&email, args.force))
}

async fn run_erase(email: &Email, force: bool) -> ExitCode {
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
    match app.engine.erase_person(email, now, force).await {
        Ok(r) => {
            for why in &r.access {
                println!("access: {why}");
            }
            if let Some(refused) = r.refused {
                eprintln!("refused: {email} {refused}");
                return ExitCode::from(1);
            }
            let e = &r.erased;
            println!(
                "erased {email}: {} audit entries, {} member records ({}), {} stored copies, \
                 {} team/entitlement records rewritten, {} edge schedules cancelled, {} Kisi changes",
                e.audit_entries,
                e.member_records,
                r.members
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                e.items,
                e.rewritten,
                r.edges_cancelled,
                r.kisi_changes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
