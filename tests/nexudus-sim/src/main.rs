//! `nexudus-sim`: runs the Nexudus simulator as a standalone server.
//!
//! `cargo run -p nexudus-sim -- --port 8091 --fixture tests/nexudus-sim/fixtures/small-space.json`
//! or `--generate-coworkers 500 --seed 1`; the API base is `http://<addr>/api` and the token
//! endpoint `http://<addr>/api/token` (printed at start).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use nexudus_sim::{Fixture, Sim, SimConfig};

/// A Nexudus admin REST API simulator (token endpoint, paged lists, signed webhooks) with an
/// admin API under /__admin/.
#[derive(Parser, Debug)]
#[command(name = "nexudus-sim", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8091)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The API user's e-mail.
    #[arg(long, default_value = "admin@space.example")]
    username: String,
    /// The API user's password.
    #[arg(long, default_value = "sim-password")]
    password: String,
    /// The webhooks' shared secret.
    #[arg(long, default_value = "sim-webhook-secret")]
    webhook_secret: String,
    /// Seed the space from this fixture file.
    #[arg(long, conflicts_with = "generate_coworkers")]
    fixture: Option<std::path::PathBuf>,
    /// Generate a space with this many coworkers.
    #[arg(long)]
    generate_coworkers: Option<usize>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let sim = Sim::new(SimConfig {
        bind: SocketAddr::new(args.host, args.port),
        username: args.username,
        password: args.password,
        webhook_secret: args.webhook_secret,
        ..SimConfig::default()
    });
    let fixture = if let Some(path) = &args.fixture {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        match serde_json::from_str::<Fixture>(&text) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    } else {
        let today = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_else(chrono::Utc::now);
        args.generate_coworkers
            .map(|n| nexudus_sim::generate(n, args.seed, today))
    };
    if let Some(f) = fixture
        && let Err(e) = sim.seed(&f)
    {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let handle = match nexudus_sim::spawn_sim(sim).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot listen: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "nexudus-sim: API {}/api, token {}/api/token",
        handle.base_url, handle.base_url
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.stop().await;
    ExitCode::SUCCESS
}
