//! `access-sync`: the operator's admin CLI.
//!
//! - `preview`: the access timeline of an event file under a mapping file (no AWS, no Kisi);
//!   `--live` steps the live operations on a virtual clock instead of reading it in one pass.
//! - `kisi`: look up Kisi groups and users (`kisi groups`, `kisi whois EMAIL`), list and lift
//!   exclusions (`kisi exclusions`, `kisi include EMAIL`).
//! - `mappings apply FILE`: change the mapping file of the live system.
//! - `post --url URL --secret-file F EVENTS.jsonl`: sign canonical events and post them to ingest.
//! - `brake status | release | discard`: the revokes the one brake holds for the operator
//!   (`status` also lists the endings the platform sync's brake holds).
//! - `import PLATFORM [--dry-run]`: bootstrap from the platform's API (what it found, who gains
//!   what, then commit); `sync run|confirm|discard|status PLATFORM`: the on-demand sync and
//!   its held endings.
//! - `explain EMAIL`, `audit [EMAIL]`, `status`: why a person can or cannot open which door,
//!   what access-sync did and why, and the installation's health (over `access-sync-operator`,
//!   which the web console shares).
//! - `log-id EMAIL`: the pseudonym the logs use for an address; `erase EMAIL`: remove one
//!   person's audit entries and stored facts on request.
//!
//! Exit codes: 0 ok (warnings on stderr), 2 bad input or usage (nothing on stdout), 1 failure.

mod audit_cmd;
mod brake_cmd;
mod claims_cmd;
mod explain_cmd;
mod kisi_cmd;
mod mappings_cmd;
mod normalize_cmd;
mod ops_cmd;
mod post_cmd;
mod preview_cmd;
mod privacy_cmd;
mod status_cmd;
mod sync_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// `preview` of a large event file makes millions of small allocations (ids, records, intervals);
// mimalloc serves and frees them markedly faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "access-sync",
    version,
    about = "Keep Kisi door access in step with your coworking or gym platform."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the access timeline a mapping file and an event file produce.
    Preview(preview_cmd::PreviewArgs),
    /// Look up Kisi groups and users (needs KISI_API_KEY; KISI_BASE_URL optional).
    Kisi(kisi_cmd::KisiArgs),
    /// Print the canonical events a file of native platform webhooks yields (one per line).
    Normalize(normalize_cmd::NormalizeArgs),
    /// Change the live system's mapping file: show the change, store it, converge it.
    Mappings(mappings_cmd::MappingsArgs),
    /// Sign a JSON Lines file of canonical events and post it to an installation's ingest.
    Post(post_cmd::PostArgs),
    /// See and release (or discard) the revokes the brake holds.
    Brake(brake_cmd::BrakeArgs),
    /// Import the platform's current state from its API: show what it found and who gains what, then commit.
    Import(sync_cmd::ImportArgs),
    /// The platform sync on demand, and the endings its brake holds.
    Sync(sync_cmd::SyncArgs),
    /// Why a person can or cannot open each group, now and over the coming days.
    Explain(explain_cmd::ExplainArgs),
    /// What access-sync did and why: grants, revokes, replacements, holds, with their causes.
    Audit(audit_cmd::AuditArgs),
    /// The installation at a glance: brake, held revokes and events, dead letters, syncs, Kisi key.
    Status(status_cmd::StatusArgs),
    /// Print the pseudonym the logs use for an e-mail address (to grep the logs for a person).
    LogId(privacy_cmd::LogIdArgs),
    /// Erase one person's audit entries and stored facts (refused while they have access).
    Erase(privacy_cmd::EraseArgs),
}

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Preview(args) => preview_cmd::run(args),
        Cmd::Kisi(args) => kisi_cmd::run(args),
        Cmd::Normalize(args) => normalize_cmd::run(args),
        Cmd::Mappings(args) => mappings_cmd::run(args),
        Cmd::Post(args) => post_cmd::run(args),
        Cmd::Brake(args) => brake_cmd::run(args),
        Cmd::Import(args) => sync_cmd::import(args),
        Cmd::Sync(args) => sync_cmd::sync(args),
        Cmd::Explain(args) => explain_cmd::run(args),
        Cmd::Audit(args) => audit_cmd::run(args),
        Cmd::Status(args) => status_cmd::run(args),
        Cmd::LogId(args) => privacy_cmd::log_id(args),
        Cmd::Erase(args) => privacy_cmd::erase(args),
    }
}
