//! Benchmark: N grants through the Kisi client against the simulator at Kisi's 5 requests/s.
//!
//! Each grant is what the converge path does for a new member: find the user by e-mail, create
//! it (invite policy `never`), then create a `group_basic` assignment with a window — 3 calls
//! needed. Reports calls made ÷ calls needed (1.00 = no wasted or retried call) and wall time ÷
//! the 5 requests/s floor (1.00 = as fast as Kisi allows).
//!
//! `cargo bench -p access-sync-kisi --bench kisi_grants -- --grants 1000 [--error-rate 0.05]`

use std::process::ExitCode;
use std::time::Instant;

use access_sync_kisi::{
    ApiKey, Grant, GroupId, InvitePolicy, KISI_REQUESTS_PER_SECOND, KisiClient, KisiConfig, NewUser,
};
use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use kisi_sim::{Faults, SimConfig};

struct Args {
    grants: u64,
    error_rate: f64,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        grants: 100,
        error_rate: 0.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--grants" => {
                out.grants = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--grants needs a number")?;
            }
            "--error-rate" => {
                out.error_rate = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--error-rate needs a share, e.g. 0.05")?;
            }
            // `cargo bench` passes `--bench`; anything else is a mistake worth reporting.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kisi_grants: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kisi_grants: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kisi_grants: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let sim = kisi_sim::spawn(SimConfig::with_key("bench-key")).await?;
    let group = GroupId(sim.seed_group("Members", None));
    if args.error_rate > 0.0 {
        sim.set_faults(Faults {
            error_rate: args.error_rate,
            ..Faults::default()
        });
    }
    // Production defaults: SlidingWindow::kisi(), default retry policy and timeouts.
    let kisi = KisiClient::new(KisiConfig::new(
        sim.base_url.clone(),
        ApiKey::new("bench-key"),
    ))?;
    let start_of_window = Utc
        .with_ymd_and_hms(2031, 1, 1, 8, 0, 0)
        .single()
        .ok_or("bad date")?;

    let started = Instant::now();
    for i in 0..args.grants {
        let user = kisi
            .ensure_user(
                &NewUser {
                    email: format!("member{i}@bench.example"),
                    name: Some(format!("Member {i}")),
                },
                InvitePolicy::Never,
            )
            .await?;
        kisi.grant(&Grant {
            user: user.user.id,
            group,
            valid_from: Some(start_of_window),
            valid_until: Some(start_of_window + ChronoDuration::days(30)),
            invite: InvitePolicy::Never,
        })
        .await?;
    }
    let wall = started.elapsed().as_secs_f64();

    let state = sim.snapshot();
    let needed = 3 * args.grants;
    let stats = kisi.stats();
    let floor = needed as f64 / KISI_REQUESTS_PER_SECOND;
    if state.role_assignments.len() as u64 != args.grants {
        return Err(format!(
            "expected {} assignments in the simulator, found {}",
            args.grants,
            state.role_assignments.len()
        )
        .into());
    }
    println!(
        "| grants | error rate | calls needed | calls made | made ÷ needed | 429s | 5xx | wall s | floor s | wall ÷ floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {:.2} | {} | {} | {:.3} | {} | {} | {:.1} | {:.1} | {:.3} |",
        args.grants,
        args.error_rate,
        needed,
        stats.requests,
        stats.requests as f64 / needed as f64,
        state.requests.rate_limited,
        stats.server_errors,
        wall,
        floor,
        wall / floor
    );
    Ok(())
}
