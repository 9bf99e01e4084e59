//! `kisi-sim`: runs the Kisi simulator as a standalone server for local runs and manual tests.
//!
//! `cargo run -p kisi-sim -- --port 8089 --api-key demo`, then point access-sync at it with
//! `KISI_BASE_URL=http://127.0.0.1:8089 KISI_API_KEY=demo`.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use kisi_sim::{DEFAULT_RATE_LIMIT_PER_SEC, SimConfig};

/// A faithful Kisi API simulator (users, groups, role assignments, places) with an admin API
/// under /__admin/ for state, seeding, fault switches and the clock.
#[derive(Parser, Debug)]
#[command(name = "kisi-sim", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// An API key to accept as `Authorization: KISI-LOGIN <key>`; repeat for several.
    #[arg(long = "api-key", required = true)]
    api_keys: Vec<String>,
    /// Requests per second allowed per key (0 disables the limit).
    #[arg(long, default_value_t = DEFAULT_RATE_LIMIT_PER_SEC)]
    rate_limit: u32,
    /// Keep every request/response for GET /__admin/exchanges.
    #[arg(long)]
    record_exchanges: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        api_keys: args.api_keys,
        rate_limit_per_sec: args.rate_limit,
        record_exchanges: args.record_exchanges,
        bind: SocketAddr::new(args.host, args.port),
    };
    let handle = match kisi_sim::spawn(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "kisi-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "kisi-sim listening on {} (admin: {}/__admin/state)",
        handle.base_url, handle.base_url
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.stop().await;
    ExitCode::SUCCESS
}
