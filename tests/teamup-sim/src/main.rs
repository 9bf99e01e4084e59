//! `teamup-sim`: runs the TeamUp simulator as a standalone server.
//!
//! `cargo run -p teamup-sim -- <port> [<fixture.json> | --generate <customers>]`; the API base
//! is `http://127.0.0.1:<port>/api/v2`, the token `sim-m2m-token` (printed at start).

use std::net::SocketAddr;
use std::process::ExitCode;

use teamup_sim::{Fixture, Sim, SimConfig, generate, spawn_sim};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = match args.first().map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: teamup-sim <port> [<fixture.json> | --generate <customers>]");
            return ExitCode::from(2);
        }
    };
    let sim = Sim::new(SimConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], port)),
        ..SimConfig::default()
    });
    let fixture = match args.get(1).map(String::as_str) {
        None => Fixture::default(),
        Some("--generate") => {
            let Some(n) = args.get(2).and_then(|n| n.parse().ok()) else {
                eprintln!("--generate needs a number of customers");
                return ExitCode::from(2);
            };
            generate(n, chrono::Utc::now())
        }
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Fixture>(&t).map_err(|e| e.to_string()));
            match parsed {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {path}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    if let Err(e) = sim.seed(&fixture) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let token = sim.config().token.clone();
    match spawn_sim(sim).await {
        Ok(h) => {
            println!("teamup-sim: {} (token {token})", h.api_url());
            let _ = tokio::signal::ctrl_c().await;
            h.stop().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
