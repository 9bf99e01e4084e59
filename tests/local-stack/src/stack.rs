//! Starting and stopping the local stack's processes: moto (a child that dies with us, see
//! `access_sync_aws::testing::Moto`), the Kisi simulator (in this process) and `cargo lambda
//! watch` (a child in its own process group, so stopping it stops the functions it runs).
//!
//! A state file (`<dir>/state.json`) records this process and the watch's process group. A
//! second start finds it: a stack still running is stopped first (SIGTERM to its owner, which
//! cleans up), and what a crashed one left behind is killed, so starting twice or after a
//! crash always ends with one clean stack. Stopping leaves no process behind.

use crate::names::Names;
use crate::platforms::{PlatformOptions, RunningPlatform};
use crate::provision::{Queues, provision, put_secret};
use crate::sim::SimAdmin;
use access_sync_aws::SdkConfig;
use access_sync_aws::testing::Moto;
use access_sync_platforms::Platform;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the stack listens; every port can be chosen (flags or `LOCAL_STACK_*_PORT`).
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace root (where `cargo lambda watch` runs).
    pub root: PathBuf,
    /// The state directory (default `<root>/.local-stack`).
    pub dir: PathBuf,
    /// moto's port.
    pub moto_port: u16,
    /// The Kisi simulator's port.
    pub sim_port: u16,
    /// `cargo lambda watch`'s port; `None` runs no functions out of process.
    pub lambda_port: Option<u16>,
    /// Requests per second the simulator allows per key (Kisi: 5; 0 = no limit).
    pub kisi_rate_limit: u32,
    /// `RUST_LOG` of the functions under `cargo lambda watch` (`None`: `warn`); their log
    /// lines go to `<dir>/watch.log`.
    pub function_log: Option<String>,
    /// Platforms whose API simulator runs beside the stack (each on a free loopback port),
    /// with the fixture it is seeded from (`None`: an empty organisation).
    pub platforms: Vec<(Platform, Option<PathBuf>)>,
}

/// The state file.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    pid: u32,
    watch_pgid: Option<u32>,
    moto_port: u16,
    sim_port: u16,
    lambda_port: Option<u16>,
}

/// A running local stack. [`LocalStack::stop`] (or dropping it) stops everything.
pub struct LocalStack {
    /// Resource names and URLs.
    pub names: Names,
    /// SDK configuration for moto.
    pub sdk: SdkConfig,
    /// The queues.
    pub queues: Queues,
    /// The simulator's admin API.
    pub sim: SimAdmin,
    /// `cargo lambda watch`'s base URL, when it runs.
    pub lambda_url: Option<String>,
    /// The platform API simulators.
    pub platforms: Vec<RunningPlatform>,
    moto: Option<Moto>,
    sim_handle: Option<kisi_sim::SimHandle>,
    watch: Option<Child>,
    dir: PathBuf,
}

const STAFF_GROUP: u64 = 900;

impl LocalStack {
    /// Starts moto and the simulator, provisions the AWS resources, seeds the Kisi groups the
    /// mapping names (and a staff group no mapping names), and starts `cargo lambda watch`
    /// when a port is given.
    ///
    /// # Errors
    /// A port is taken, or a part does not start.
    pub async fn start(opts: &Options, groups: &[u64]) -> Result<LocalStack> {
        std::fs::create_dir_all(&opts.dir)
            .with_context(|| format!("creating {}", opts.dir.display()))?;
        clean_up_previous(&opts.dir).await;
        for (port, what) in [
            (
                Some(opts.moto_port),
                "moto (--moto-port / LOCAL_STACK_MOTO_PORT)",
            ),
            (
                Some(opts.sim_port),
                "the Kisi simulator (--sim-port / LOCAL_STACK_SIM_PORT)",
            ),
            (
                opts.lambda_port,
                "cargo lambda watch (--lambda-port / LOCAL_STACK_LAMBDA_PORT)",
            ),
        ] {
            // A stack just stopped may take a moment to let go of its ports.
            if let Some(port) = port
                && !port_free_within(port, Duration::from_secs(10)).await
            {
                bail!("port {port} for {what} is taken: choose another");
            }
        }
        let kisi_key = "local-stack-key".to_string();
        let moto = Moto::start_on(opts.moto_port);
        let mut cfg = kisi_sim::SimConfig::with_key(&kisi_key);
        cfg.rate_limit_per_sec = opts.kisi_rate_limit;
        cfg.bind = ([127, 0, 0, 1], opts.sim_port).into();
        let sim_handle = kisi_sim::spawn(cfg)
            .await
            .context("starting the Kisi simulator")?;
        let mut platforms = Vec::new();
        for (platform, fixture) in &opts.platforms {
            let webhook_url = match opts.lambda_port {
                Some(port) => format!(
                    "http://127.0.0.1:{port}/lambda-url/ingest/{}",
                    platform.as_str()
                ),
                None => format!("http://in-process.invalid/{}", platform.as_str()),
            };
            let p = crate::platforms::start(&PlatformOptions {
                platform: *platform,
                fixture: fixture.clone(),
                port: 0,
                webhook_url,
            })
            .await?;
            platforms.push(p);
        }
        let names = Names {
            prefix: "local".into(),
            moto_url: moto.endpoint().to_string(),
            sim_url: sim_handle.base_url.clone(),
            kisi_key,
            platforms: platforms.iter().map(|p| p.platform).collect(),
        };
        let sim = SimAdmin::new(&names.sim_url);
        for &g in groups {
            sim.seed_group(g, &format!("group {g}")).await?;
        }
        sim.seed_group(STAFF_GROUP, "Staff").await?;
        let sdk = moto.sdk_config().await;
        let queues = provision(&sdk, &names).await?;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        for p in &platforms {
            put_secret(&secrets, &names.platform_secret(p.platform), &p.credentials).await?;
        }
        let mut stack = LocalStack {
            names,
            sdk,
            queues,
            sim,
            lambda_url: None,
            platforms,
            moto: Some(moto),
            sim_handle: Some(sim_handle),
            watch: None,
            dir: opts.dir.clone(),
        };
        if let Some(port) = opts.lambda_port {
            stack.start_watch(&opts.root, port, opts.function_log.as_deref())?;
        }
        stack.write_state(opts)?;
        Ok(stack)
    }

    /// Where `cargo lambda watch` and the functions under it write.
    pub fn watch_log(&self) -> PathBuf {
        self.dir.join("watch.log")
    }

    fn start_watch(&mut self, root: &Path, port: u16, function_log: Option<&str>) -> Result<()> {
        let log = std::fs::File::create(self.dir.join("watch.log"))?;
        let mut cmd = Command::new("cargo");
        cmd.args(["lambda", "watch", "--quiet", "--ignore-changes"])
            .args(["-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(root)
            .envs(self.names.function_env())
            // cargo-lambda's own level; the functions' comes with `--env-var`.
            .env("RUST_LOG", "warn")
            .arg("--env-var")
            .arg(format!("RUST_LOG={}", function_log.unwrap_or("warn")))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let child = cmd
            .spawn()
            .context("starting `cargo lambda watch` (is cargo-lambda installed? scripts/tools.sh installs it)")?;
        self.watch = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(c) = self.watch.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                bail!(
                    "cargo lambda watch exited with {status}; see {}",
                    self.dir.join("watch.log").display()
                );
            }
            if Instant::now() > deadline {
                bail!("cargo lambda watch is not listening on {port} after 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.lambda_url = Some(format!("http://127.0.0.1:{port}"));
        Ok(())
    }

    fn write_state(&self, opts: &Options) -> Result<()> {
        let state = StateFile {
            pid: std::process::id(),
            watch_pgid: self.watch.as_ref().map(Child::id),
            moto_port: opts.moto_port,
            sim_port: opts.sim_port,
            lambda_port: opts.lambda_port,
        };
        std::fs::write(
            self.dir.join("state.json"),
            serde_json::to_string_pretty(&state)?,
        )?;
        Ok(())
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops everything this stack started and removes the state file.
    pub async fn stop(mut self) {
        // The simulator stops gracefully here; the rest is what dropping does.
        if let Some(h) = self.sim_handle.take() {
            h.stop().await;
        }
        self.platforms.clear();
    }
}

impl Drop for LocalStack {
    /// Stops `cargo lambda watch` (its whole process group) and moto, and removes the state
    /// file; the in-process simulator ends with its runtime.
    fn drop(&mut self) {
        if let Some(mut c) = self.watch.take() {
            kill_group(c.id());
            let _ = c.wait();
        }
        drop(self.moto.take());
        let _ = std::fs::remove_file(self.dir.join("state.json"));
    }
}

async fn port_free_within(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
    // Give the group a moment, then make sure.
    for _ in 0..30 {
        if !group_alive(pgid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// A live process that is a local stack (not some other process that reused the pid).
fn is_local_stack(pid: u32) -> bool {
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("local-stack"))
            .unwrap_or(false)
}

fn group_alive(pgid: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Stops a stack a previous run left: asks a live owner to stop (it cleans up itself), and
/// kills what a crashed one left behind.
pub async fn clean_up_previous(dir: &Path) {
    let path = dir.join("state.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let Ok(state) = serde_json::from_str::<StateFile>(&text) else {
        let _ = std::fs::remove_file(&path);
        return;
    };
    if state.pid != std::process::id() && is_local_stack(state.pid) {
        eprintln!(
            "local-stack: stopping the stack already running (pid {})",
            state.pid
        );
        let _ = Command::new("kill")
            .args(["-TERM", &state.pid.to_string()])
            .status();
        for _ in 0..100 {
            if !alive(state.pid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let Some(pgid) = state.watch_pgid
        && group_alive(pgid)
    {
        eprintln!("local-stack: cleaning up what a previous run left (process group {pgid})");
        kill_group(pgid);
    }
    let _ = std::fs::remove_file(&path);
}

/// Stops the stack recorded in `dir`, if any (`local-stack down`). Answers whether there was
/// one.
pub async fn down(dir: &Path) -> bool {
    let had = dir.join("state.json").exists();
    clean_up_previous(dir).await;
    had
}
