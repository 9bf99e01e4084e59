//! `access-sync console [--port N] [--no-open]`: serves the console on 127.0.0.1 over the
//! installation the environment names (the settings of `mappings apply`: `TABLE_NAME`,
//! `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`, … and AWS credentials; `AWS_ENDPOINT_URL` for the
//! local stack), prints the address with this run's login token, opens it in the browser, and
//! serves until Ctrl-C.
//!
//! Exit codes: 0 stopped by Ctrl-C, 2 configuration to fix or port taken, 1 failure.

use crate::{Options, start};
use access_sync_operator::AwsOperator;
use std::process::ExitCode;

/// `console` arguments.
#[derive(clap::Args, Debug)]
pub struct ConsoleArgs {
    /// The port on 127.0.0.1 (default: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Do not open the browser (print the address only).
    #[arg(long)]
    no_open: bool,
}

/// Runs `console`.
pub fn run(args: ConsoleArgs) -> ExitCode {
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
    runtime.block_on(serve(args))
}

async fn serve(args: ConsoleArgs) -> ExitCode {
    let ops = match AwsOperator::from_env().await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut running = match start(ops, &Options { port: args.port }).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::from(2);
        }
    };
    println!(
        "access-sync console on http://{} (Ctrl-C stops it)",
        running.addr
    );
    println!("open: {}", running.login_url);
    if !args.no_open {
        open_browser(&running.login_url);
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = running.wait() => {
            eprintln!("error: the server stopped");
            return ExitCode::from(1);
        }
    }
    running.stop().await;
    println!("stopped");
    ExitCode::SUCCESS
}

/// Opens `url` with `$BROWSER`, else the desktop's opener; says so when neither works.
fn open_browser(url: &str) {
    let candidates: Vec<String> = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => vec![b],
        _ if cfg!(target_os = "macos") => vec!["open".into()],
        _ => vec!["xdg-open".into()],
    };
    for c in candidates {
        let spawned = std::process::Command::new(&c)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            return;
        }
    }
    println!("(no browser could be opened: open the address above yourself)");
}
