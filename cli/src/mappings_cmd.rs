//! `access-sync mappings apply FILE [--dry-run] [--allow-mass-revoke]`
//!
//! Validates the mapping file (errors name the line, exit 2), then — with the same settings as
//! the deployed functions (`TABLE_NAME`, `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`, … and the usual
//! AWS credentials; `AWS_ENDPOINT_URL` for the local stack) — prints who gains or loses which
//! group now, stores the file and converges every affected pair. A change that would take more
//! than `BRAKE_SHARE_PER_HOUR` (10 %) of managed access away now is refused up front unless
//! `--allow-mass-revoke`; either way its revokes go through the one brake, which holds what
//! exceeds the hour's budget for `access-sync brake release`. Staff and unmapped groups are
//! never touched.

use access_sync_engine::ApplyOptions;
use access_sync_rules::mapping::Mappings;
use access_sync_runtime::App;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mappings` subcommands.
#[derive(clap::Args, Debug)]
pub struct MappingsArgs {
    #[command(subcommand)]
    cmd: MappingsCmd,
}

#[derive(clap::Subcommand, Debug)]
enum MappingsCmd {
    /// Validate, show the change, store it and converge everyone it affects.
    Apply {
        /// The mapping file (TOML).
        file: PathBuf,
        /// Only show what would change.
        #[arg(long)]
        dry_run: bool,
        /// Store and converge even if it takes more than the brake share of managed access away
        /// (the one brake still holds revokes past the hour's budget: `access-sync brake`).
        #[arg(long)]
        allow_mass_revoke: bool,
    },
}

/// Runs `mappings`.
pub fn run(args: MappingsArgs) -> ExitCode {
    let MappingsCmd::Apply {
        file,
        dry_run,
        allow_mass_revoke,
    } = args.cmd;
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if let Err(e) = Mappings::parse(&text) {
        eprintln!("error: {}:{}: {}", file.display(), e.line, e.message);
        return ExitCode::from(2);
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
    runtime.block_on(apply(&text, dry_run, allow_mass_revoke))
}

async fn apply(text: &str, dry_run: bool, allow_mass_revoke: bool) -> ExitCode {
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
    let opts = ApplyOptions {
        dry_run,
        brake_share: app.config.brake_share,
        allow_mass_revoke,
    };
    match app.engine.apply_mapping(text, now, &opts).await {
        Ok(change) => {
            for p in &change.gains {
                println!("+ {} gains group {}", p.email, p.group);
            }
            for p in &change.losses {
                println!("- {} loses group {}", p.email, p.group);
            }
            println!(
                "{} gain, {} lose now; {} pairs affected; {} managed before",
                change.gains.len(),
                change.losses.len(),
                change.affected,
                change.managed
            );
            if let Some(why) = change.refused {
                eprintln!("refused: {why}");
                return ExitCode::from(1);
            }
            if change.applied {
                println!("applied: stored and converged");
            } else {
                println!("dry run: nothing changed");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
