//! `officernd-sim`: runs the OfficeRnD simulator as a standalone server.
//!
//! `cargo run -p officernd-sim -- --port 8090 --fixture tests/officernd-sim/fixtures/small-org.json`
//! or `--generate-members 500 --seed 1`; the token endpoint is `/oauth/token` and the API base
//! `/api/v2/organizations/<slug>` (both printed at start).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use officernd_sim::{ClientApp, Fixture, Sim, SimConfig};

/// An OfficeRnD Flex API v2 simulator (OAuth2 token endpoint, cursor-paged collections, signed
/// webhooks) with an admin API under /__admin/.
#[derive(Parser, Debug)]
#[command(name = "officernd-sim", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Organisation slug (a fixture's orgSlug wins).
    #[arg(long, default_value = "sim-coworking")]
    org_slug: String,
    /// OAuth client id (granted every scope).
    #[arg(long, default_value = "sim-client")]
    client_id: String,
    /// OAuth client secret.
    #[arg(long, default_value = "sim-secret")]
    client_secret: String,
    /// Seed the organisation from this fixture file.
    #[arg(long, conflicts_with = "generate_members")]
    fixture: Option<std::path::PathBuf>,
    /// Generate an organisation with this many members.
    #[arg(long)]
    generate_members: Option<usize>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The generator's anchor date-time (default: today 00:00 UTC).
    #[arg(long)]
    anchor: Option<chrono::DateTime<chrono::Utc>>,
    /// Where admin-triggered webhooks are POSTed.
    #[arg(long)]
    webhook_url: Option<String>,
    /// The secret webhooks are signed with.
    #[arg(long, default_value = "sim-webhook-secret")]
    webhook_secret: String,
    /// API reads allowed per client per minute (0: no limit; OfficeRnD publishes none).
    #[arg(long, default_value_t = 0)]
    read_limit_per_min: u32,
    /// Token requests allowed per client per minute (0: no limit).
    #[arg(long, default_value_t = officernd_sim::TOKEN_LIMIT_PER_MIN)]
    token_limit_per_min: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        org_slug: args.org_slug,
        clients: vec![ClientApp::with_all_scopes(
            &args.client_id,
            &args.client_secret,
        )],
        webhook_target: args.webhook_url,
        webhook_secret: args.webhook_secret,
        read_limit_per_min: args.read_limit_per_min,
        token_limit_per_min: args.token_limit_per_min,
        bind: SocketAddr::new(args.host, args.port),
        ..SimConfig::default()
    };
    let sim = Sim::new(config);
    let fixture = if let Some(path) = &args.fixture {
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Fixture::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("officernd-sim: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.generate_members.map(|n| {
            let anchor = args
                .anchor
                .unwrap_or_else(|| officernd_sim::generate::default_anchor(sim.now()));
            officernd_sim::generate(n, args.seed, anchor)
        })
    };
    if let Some(f) = fixture
        && let Err(e) = sim.load_fixture(&f)
    {
        eprintln!("officernd-sim: bad fixture: {e}");
        return ExitCode::FAILURE;
    }
    let handle = match officernd_sim::spawn_sim(sim).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "officernd-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "officernd-sim listening on {} (token: {}, api: {}, admin: {}/__admin/state)",
        handle.base_url,
        handle.token_url(),
        handle.api_base(),
        handle.base_url
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.stop().await;
    ExitCode::SUCCESS
}
