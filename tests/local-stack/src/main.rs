//! `local-stack`: the whole access-sync pipeline on this machine.
//!
//! - `local-stack up`: moto, the Kisi simulator, the functions under `cargo lambda watch`, and
//!   the pumps (SQS → functions, due schedules → `on_edge`), until Ctrl-C.
//! - `local-stack demo`: the same stack; applies a mapping file, replays a day of canonical
//!   events through ingest on a fast-forwarded clock, prints Kisi's changes as they happen and
//!   the final state, checks both against `preview`, and stops. `--check` also invokes every
//!   sample in `events/` with `cargo lambda invoke` and fails on any difference (CI runs it).
//! - `local-stack down`: stops a stack started elsewhere (or cleans up after a crashed one).

use access_sync_platforms::Platform;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::{format_instant, parse_instant};
use access_sync_rules::{Body, Event, Instant};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use kisi_sim::TimelineAction;
use local_stack::functions::{Functions, InProcess, Watch};
use local_stack::native::{Native, deliveries};
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options, down};
use local_stack::timeline::{
    intervals, kisi_state, kisi_timeline, preview_state, preview_timeline, uncovered,
};
use local_stack::{Driver, sim::SimAdmin};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "local-stack",
    about = "The access-sync pipeline on this machine"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the stack and keep it running until Ctrl-C.
    Up {
        #[command(flatten)]
        ports: Ports,
        /// A mapping file to apply once the stack is up.
        #[arg(long)]
        mappings: Option<PathBuf>,
        /// Fix the clock at this instant (move it with `POST <sim>/__admin/clock`); default:
        /// the system clock.
        #[arg(long)]
        clock: Option<String>,
        /// Start this platform's API simulator too (officernd, nexudus, optix or teamup), with its credentials where
        /// `platform_sync` reads them, and run `platform_sync` every 15 minutes of the clock.
        #[arg(long)]
        platform: Option<String>,
        /// The organisation the platform's simulator starts with (its fixture format;
        /// default: empty; OfficeRnD's and Nexudus's can be seeded through their `/__admin/` API).
        #[arg(long, requires = "platform")]
        fixture: Option<PathBuf>,
    },
    /// Replay a day through the stack on a fast-forwarded clock.
    Demo {
        #[command(flatten)]
        ports: Ports,
        /// The mapping file (default `events/demo-day/mappings.toml`, or the platform's).
        #[arg(long)]
        mappings: Option<PathBuf>,
        /// Canonical events, JSON Lines (default `events/demo-day/events.jsonl`); with
        /// `--platform`, the platform's native webhooks (default its fixture in `events/`).
        #[arg(long)]
        events: Option<PathBuf>,
        /// A platform. One with an API simulator (officernd, nexudus, optix, teamup) plays its
        /// story: an existing space imported by `platform_sync`, a day of changes made in the
        /// simulator whose webhooks reach ingest (one is dropped on the way), and
        /// `platform_sync` every 15 minutes repairing it. With `--events`/`--mappings` it
        /// replays the platform's native webhooks from `events/<platform>/`, signed as it signs
        /// them; not optix's or teamup's, which are only hints.
        #[arg(long)]
        platform: Option<String>,
        /// Play until this instant (default: the midnight, UTC, after the last event).
        #[arg(long)]
        until: Option<String>,
        /// About how many real seconds the day takes (0: as fast as possible).
        #[arg(long, default_value_t = 60)]
        fast_forward: u64,
        /// Fail unless Kisi's timeline and final state equal `preview`'s, and invoke every
        /// sample in `events/` with `cargo lambda invoke`.
        #[arg(long)]
        check: bool,
        /// After the day, keep the stack running with `access-sync console` on its data until
        /// Ctrl-C.
        #[arg(long)]
        console: bool,
    },
    /// Stop a running stack (or clean up after a crashed one).
    Down {
        /// The state directory.
        #[arg(long, default_value = ".local-stack")]
        dir: PathBuf,
    },
}

#[derive(Args, Clone)]
struct Ports {
    /// moto's port.
    #[arg(long, env = "LOCAL_STACK_MOTO_PORT", default_value_t = 5050)]
    moto_port: u16,
    /// The Kisi simulator's port.
    #[arg(long, env = "LOCAL_STACK_SIM_PORT", default_value_t = 8089)]
    sim_port: u16,
    /// `cargo lambda watch`'s port.
    #[arg(long, env = "LOCAL_STACK_LAMBDA_PORT", default_value_t = 9000)]
    lambda_port: u16,
    /// Run the handlers in this process instead of under `cargo lambda watch`.
    #[arg(long)]
    in_process: bool,
    /// The state directory.
    #[arg(long, default_value = ".local-stack")]
    dir: PathBuf,
}

impl Ports {
    fn options(&self) -> Options {
        Options {
            root: std::env::current_dir().unwrap_or_else(|_| ".".into()),
            dir: self.dir.clone(),
            moto_port: self.moto_port,
            sim_port: self.sim_port,
            lambda_port: (!self.in_process).then_some(self.lambda_port),
            kisi_rate_limit: kisi_sim::DEFAULT_RATE_LIMIT_PER_SEC,
            function_log: None,
            platforms: Vec::new(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let r = rt.block_on(async {
        match cli.cmd {
            Cmd::Up {
                ports,
                mappings,
                clock,
                platform,
                fixture,
            } => {
                let platforms = match platform.as_deref() {
                    None => Vec::new(),
                    Some(p) => match Platform::parse(p) {
                        Some(p) if local_stack::platforms::SIMULATED.contains(&p) => {
                            vec![(p, fixture)]
                        }
                        _ => bail!(
                            "--platform {p}: want one of {}",
                            local_stack::platforms::SIMULATED
                                .map(Platform::as_str)
                                .join(", ")
                        ),
                    },
                };
                up(ports, mappings, clock, platforms).await
            }
            Cmd::Demo {
                ports,
                mappings,
                events,
                platform,
                until,
                fast_forward,
                check,
                console,
            } => {
                if let Some(p) = platform.as_deref().and_then(Platform::parse)
                    && local_stack::platforms::SIMULATED.contains(&p)
                    && events.is_none()
                    && mappings.is_none()
                {
                    return platform_demo(ports, p, fast_forward, check).await;
                }
                let input = Input::read(platform.as_deref(), mappings, events)?;
                let until = match until {
                    Some(u) => parse_instant(&u).map_err(|e| anyhow::anyhow!("--until: {e}"))?,
                    None => midnight_after(input.last()),
                };
                demo(ports, input, until, fast_forward, check, console).await
            }
            Cmd::Down { dir } => {
                if down(&dir).await {
                    println!("stopped");
                } else {
                    println!("no stack was running");
                }
                Ok(())
            }
        }
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-stack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn read_mappings(path: &Path) -> Result<(String, Mappings)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let m = Mappings::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
    Ok((text, m))
}

/// `access-sync mappings apply FILE`, as an operator runs it, against the stack.
fn apply_mappings(stack: &LocalStack, path: &Path) -> Result<()> {
    let exe = std::env::current_exe()?.with_file_name("access-sync");
    if !exe.is_file() {
        bail!(
            "{} not found: build it first (`cargo build -p access-sync`)",
            exe.display()
        );
    }
    let out = std::process::Command::new(&exe)
        .args(["mappings", "apply"])
        .arg(path)
        .envs(stack.names.function_env())
        .output()
        .context("running access-sync mappings apply")?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        println!("   {line}");
    }
    if !out.status.success() {
        bail!(
            "access-sync mappings apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

async fn up(
    ports: Ports,
    mappings: Option<PathBuf>,
    clock: Option<String>,
    platforms: Vec<(Platform, Option<PathBuf>)>,
) -> Result<()> {
    // Listen for SIGTERM from the start: a stop asked for during start-up is then a clean one.
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let groups = match &mappings {
        Some(p) => read_mappings(p)?
            .1
            .managed_groups()
            .iter()
            .map(|g| g.get())
            .collect(),
        None => Vec::new(),
    };
    let mut opts = ports.options();
    opts.platforms = platforms;
    let stack = LocalStack::start(&opts, &groups).await?;
    if let Some(c) = clock {
        let t = parse_instant(&c).map_err(|e| anyhow::anyhow!("--clock: {e}"))?;
        stack.sim.set_clock(t).await?;
        for p in &stack.platforms {
            p.admin.set_clock(t).await?;
        }
    }
    if let Some(p) = &mappings {
        println!("== access-sync mappings apply {}", p.display());
        apply_mappings(&stack, p)?;
    }
    print_endpoints(&stack);
    let result = match stack.lambda_url.clone() {
        Some(url) => pump_forever(&stack, Watch::new(url), term).await,
        None => match InProcess::from_pairs(&stack.names.function_env(), &stack.sdk) {
            Ok(f) => pump_forever(&stack, f, term).await,
            Err(e) => Err(e),
        },
    };
    stack.stop().await;
    println!("stopped: nothing left running");
    result
}

fn print_endpoints(stack: &LocalStack) {
    let n = &stack.names;
    println!("== the local stack is up");
    println!("   moto (AWS):       {}", n.moto_url);
    println!(
        "   Kisi simulator:   {}   (state: {}/__admin/state)",
        n.sim_url, n.sim_url
    );
    println!("   clock:            {}", n.clock_url());
    if let Some(url) = &stack.lambda_url {
        println!(
            "   functions:        {url}   (cargo lambda invoke NAME -A 127.0.0.1 -P {} --data-file events/NAME.json)",
            url.rsplit(':').next().unwrap_or_default()
        );
        println!("   ingest:           {url}/lambda-url/ingest/events");
    }
    for p in &stack.platforms {
        println!(
            "   {} simulator: {}   (admin: {}/__admin/; credentials: secret {}; platform_sync every {} min of the clock)",
            p.platform.as_str(),
            p.base_url,
            p.base_url,
            n.platform_secret(p.platform),
            local_stack::SYNC_INTERVAL_MINUTES
        );
    }
    println!("   environment of the functions (for access-sync mappings apply, kisi, ...):");
    for (k, v) in n.function_env() {
        println!("     export {k}={v}");
    }
}

/// The pumps in the background: deliver queued messages, fire edges due by the clock, hand
/// failed items back after a while; until Ctrl-C or SIGTERM.
async fn pump_forever<F: Functions>(
    stack: &LocalStack,
    f: F,
    mut term: tokio::signal::unix::Signal,
) -> Result<()> {
    let pumps = Pumps::new(
        f,
        &stack.sdk,
        stack.queues.clone(),
        stack.names.schedule_group(),
        stack.sim.clone(),
    );
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut since_retry = 0u32;
    let syncs: Vec<local_stack::Tick> = stack
        .platforms
        .iter()
        .map(|p| local_stack::Tick::platform_sync(p.platform, local_stack::SYNC_INTERVAL_MINUTES))
        .collect();
    let mut next_sync = match syncs.first() {
        Some(t) => Some(t.next_after(stack.sim.now().await?)),
        None => None,
    };
    println!("== pumping (Ctrl-C stops everything)");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = tick.tick() => {
                let now = stack.sim.now().await?;
                if let Err(e) = pumps.drain().await {
                    eprintln!("pump: {e:#}");
                }
                if let Err(e) = pumps.fire_due(now).await {
                    eprintln!("scheduler pump: {e:#}");
                }
                // The platform clocks follow the stack's; platform_sync runs on its grid.
                for p in &stack.platforms {
                    let _ = p.admin.set_clock(now).await;
                }
                if let Some(at) = next_sync.filter(|at| *at <= now) {
                    for t in &syncs {
                        match pumps.functions.invoke(&t.function, t.payload.clone()).await {
                            Ok(v) => println!("   platform_sync at {}: {v}", format_instant(at)),
                            Err(e) => eprintln!("platform_sync: {e:#}"),
                        }
                    }
                    next_sync = syncs.first().map(|t| t.next_after(now));
                }
                // What SQS and Scheduler do after a failure: try again a little later.
                since_retry += 1;
                if since_retry >= 10 && pumps.has_failures() {
                    since_retry = 0;
                    pumps.redeliver_failed().await?;
                }
            }
        }
    }
}

fn read_events(path: &Path) -> Result<Vec<Event>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let parsed = access_sync_rules::event::parse_jsonl(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
    Ok(parsed.into_iter().map(|(_, e)| e).collect())
}

/// What a demo replays: canonical events, or a platform's native webhooks (with the
/// canonical events `access-sync normalize` makes of them, for the comparison with preview).
struct Input {
    mappings_path: PathBuf,
    mappings: Mappings,
    events_path: PathBuf,
    /// Canonical events, in `at` order.
    events: Vec<Event>,
    /// Native deliveries, in order, when replaying a platform.
    natives: Option<Vec<Native>>,
}

impl Input {
    fn read(
        platform: Option<&str>,
        mappings: Option<PathBuf>,
        events: Option<PathBuf>,
    ) -> Result<Input> {
        let platform = match platform {
            Some(p) => Some(Platform::parse(p).with_context(|| {
                let all = Platform::ALL.map(Platform::as_str).join(", ");
                format!("--platform {p}: want one of {all}")
            })?),
            None => None,
        };
        if let Some(p) = platform
            && p.spec().webhook_trust() == access_sync_platforms::WebhookTrust::Hint
        {
            let story = if local_stack::platforms::SIMULATED.contains(&p) {
                format!(
                    "`demo --platform {}` without --events/--mappings plays its story against its \
                     API simulator.",
                    p.as_str()
                )
            } else {
                "The local stack has no API simulator for it yet, so it is not in the demo."
                    .to_string()
            };
            bail!(
                "--platform {}: its webhooks are only hints: access-sync re-reads each named \
                 record from the platform's API, so replaying its webhook fixture alone would \
                 grant nothing. {story}",
                p.as_str(),
            );
        }
        let dir = PathBuf::from("events").join(platform.map_or("demo-day", |p| p.as_str()));
        let mappings_path = mappings.unwrap_or_else(|| dir.join("mappings.toml"));
        let events_path = events.unwrap_or_else(|| {
            dir.join(match platform {
                None => "events.jsonl",
                Some(p) => p.spec().fixture().file,
            })
        });
        let (_, mappings) = read_mappings(&mappings_path)?;
        let (events, natives) = match platform {
            None => (read_events(&events_path)?, None),
            Some(p) => {
                let text = std::fs::read_to_string(&events_path)
                    .with_context(|| format!("{}", events_path.display()))?;
                let (natives, events) =
                    deliveries(p, &text).with_context(|| format!("{}", events_path.display()))?;
                (events, Some(natives))
            }
        };
        let mut events = events;
        events.sort_by_key(|e| e.at);
        if events.is_empty() {
            bail!("{}: no events", events_path.display());
        }
        Ok(Input {
            mappings_path,
            mappings,
            events_path,
            events,
            natives,
        })
    }

    fn first(&self) -> Instant {
        let native = self.natives.as_ref().and_then(|n| n.first().map(|n| n.at));
        native.unwrap_or(self.events[0].at)
    }

    fn last(&self) -> Instant {
        let native = self
            .natives
            .as_ref()
            .and_then(|n| n.iter().map(|n| n.at).max());
        let canonical = self.events.iter().map(|e| e.at).max();
        native.max(canonical).unwrap_or(self.events[0].at)
    }

    /// Instants at which something is posted, with what: (instant, canonical batch or one
    /// native delivery).
    fn steps(&self) -> Vec<(Instant, Step<'_>)> {
        match &self.natives {
            Some(n) => n.iter().map(|n| (n.at, Step::Native(n))).collect(),
            None => {
                let mut out: Vec<(Instant, Step<'_>)> = Vec::new();
                for e in &self.events {
                    match out.last_mut() {
                        Some((t, Step::Canonical(batch))) if *t == e.at => batch.push(e),
                        _ => out.push((e.at, Step::Canonical(vec![e]))),
                    }
                }
                out
            }
        }
    }
}

enum Step<'a> {
    Canonical(Vec<&'a Event>),
    Native(&'a Native),
}

fn midnight_after(t: Instant) -> Instant {
    let day = t.date_naive().succ_opt().unwrap_or(t.date_naive());
    day.and_hms_opt(0, 0, 0).map_or(t, |d| d.and_utc())
}

async fn demo(
    ports: Ports,
    input: Input,
    until: Instant,
    fast_forward: u64,
    check: bool,
    console: bool,
) -> Result<()> {
    let mappings = &input.mappings;
    let mappings_path = input.mappings_path.as_path();
    let start = input.first();
    let groups: Vec<u64> = mappings.managed_groups().iter().map(|g| g.get()).collect();
    let began = std::time::Instant::now();
    let mut opts = ports.options();
    if check {
        // The functions log at trace; their log must still name nobody and hold no secret.
        opts.function_log = Some("trace".into());
    }
    let stack = LocalStack::start(&opts, &groups).await?;
    let result = async {
        println!(
            "== local stack up: moto {}, Kisi simulator {}, functions {}",
            stack.names.moto_url,
            stack.names.sim_url,
            stack.lambda_url.as_deref().unwrap_or("in process")
        );
        stack.sim.set_clock(start).await?;
        println!("== access-sync mappings apply {}", mappings_path.display());
        apply_mappings(&stack, mappings_path)?;
        match stack.lambda_url.clone() {
            Some(url) => {
                let watch = Watch::new(url);
                warm_up(&watch).await?;
                play(&stack, watch, &input, until, fast_forward, check).await?;
            }
            None => {
                let f = InProcess::from_pairs(&stack.names.function_env(), &stack.sdk)?;
                play(&stack, f, &input, until, fast_forward, check).await?;
            }
        }
        if check && let Some(url) = &stack.lambda_url {
            invoke_samples(&stack, url).await?;
            check_function_logs(&stack, &input, &Watch::new(url.clone())).await?;
        }
        if console {
            keep_with_console(&stack).await?;
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    stack.stop().await;
    println!(
        "== stopped the stack ({:.0} s in all); nothing is left running",
        began.elapsed().as_secs_f64()
    );
    result
}

/// `demo --console`: `access-sync console` on the stack's data (the clock stays at the end of
/// the day) with the pumps running, until Ctrl-C.
async fn keep_with_console(stack: &LocalStack) -> Result<()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let exe = std::env::current_exe()?.with_file_name("access-sync");
    let mut child = std::process::Command::new(&exe)
        .arg("console")
        .envs(stack.names.function_env())
        .env("DEAD_LETTER_QUEUES", stack.names.dlq())
        .spawn()
        .with_context(|| format!("starting {} console", exe.display()))?;
    let result = match stack.lambda_url.clone() {
        Some(url) => pump_forever(stack, Watch::new(url), term).await,
        None => match InProcess::from_pairs(&stack.names.function_env(), &stack.sdk) {
            Ok(f) => pump_forever(stack, f, term).await,
            Err(e) => Err(e),
        },
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The functions' log under `cargo lambda watch` (at trace with `--check`) must hold no
/// address, no name of the replayed members and no secret of the stack, also after a TeamUp
/// webhook with the secret in the URL path (and one with a wrong secret).
async fn check_function_logs(stack: &LocalStack, input: &Input, watch: &Watch) -> Result<()> {
    use access_sync_rules::event::Body;
    let secret = local_stack::names::local_webhook_secret(Platform::Teamup);
    let empty = br#"{"feed_items":[]}"#.to_vec();
    let (status, text) = watch
        .post(&format!("/teamup/{secret}"), &[], empty.clone())
        .await?;
    if status != 202 {
        bail!("ingest answered {status} to TeamUp's secret in the path: {text}");
    }
    let (status, _) = watch
        .post("/teamup/a-wrong-secret-0123456789", &[], empty)
        .await?;
    if status != 401 {
        bail!("ingest answered {status} to a wrong TeamUp path secret, not 401");
    }
    let mut words: Vec<String> = Vec::new();
    for e in &input.events {
        match &e.body {
            Body::Member(m) => {
                words.extend(m.email.iter().map(|e| e.as_str().to_string()));
                words.extend(m.name.iter().filter(|n| n.len() > 3).cloned());
            }
            Body::Entitlement(en) => words.extend(en.guests.iter().map(|g| g.as_str().to_string())),
            _ => {}
        }
    }
    let secrets = local_stack::logs::stack_secrets(&stack.names);
    let path = stack.watch_log();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let bad = local_stack::logs::leaks(&text, &words, &secrets);
    if !bad.is_empty() {
        for l in bad.iter().take(10) {
            eprintln!("   {l}");
        }
        bail!(
            "{} lines of {} name a person or hold a secret",
            bad.len(),
            path.display()
        );
    }
    println!(
        "== the functions' log ({} lines at RUST_LOG=trace) names nobody and holds no secret",
        text.lines().count()
    );
    Ok(())
}

/// The first invocation of each function under `cargo lambda watch` starts it (and builds it
/// if the build is not fresh): do that before the clock starts.
async fn warm_up(watch: &Watch) -> Result<()> {
    let t = std::time::Instant::now();
    print!("== starting the functions under cargo lambda watch ...");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    for f in ["on_booking", "on_plan_change", "on_checkin", "on_edge"] {
        watch
            .invoke(f, serde_json::json!({"Records": []}))
            .await
            .with_context(|| format!("starting {f}"))?;
    }
    // Unsigned: the canonical route must refuse it.
    let (status, _) = watch.post("/events", &[], b"\n".to_vec()).await?;
    if status != 401 {
        bail!("ingest answered {status} to an unsigned body, not 401");
    }
    println!(" ready in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

fn hhmm(t: Instant) -> String {
    t.format("%a %e %b %H:%M").to_string()
}

/// One line saying what arrived at ingest.
fn describe(step: &Step<'_>) -> String {
    match step {
        Step::Canonical(batch) => batch
            .iter()
            .map(|e| match &e.body {
                Body::Member(m) => format!("member {}", m.id.as_str()),
                Body::Team(t) => format!("team {} ({} members)", t.id.as_str(), t.members.len()),
                Body::Entitlement(en) => en.id.as_str().to_string(),
                Body::Cancel(id) => format!("cancel {}", id.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Step::Native(n) => {
            let kind = n.platform.spec().event_type(n.line());
            format!(
                "{} webhook {}",
                n.platform.as_str(),
                kind.unwrap_or_default()
            )
        }
    }
}

async fn play<F: Functions>(
    stack: &LocalStack,
    f: F,
    input: &Input,
    until: Instant,
    fast_forward: u64,
    check: bool,
) -> Result<()> {
    let driver = Driver::new(
        Pumps::new(
            f,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        ),
        stack.sim.clone(),
    );
    let (mappings, events) = (&input.mappings, &input.events);
    let steps = input.steps();
    let start = input.first();
    let span = (until - start).num_seconds().max(1) as f64;
    let real = std::time::Instant::now();
    let pace = |t: Instant| {
        let at = (t - start).num_seconds() as f64 / span * fast_forward as f64;
        Duration::from_secs_f64(at.max(0.0))
    };
    let what = match &input.natives {
        Some(n) => format!("{} native webhooks", n.len()),
        None => format!("{} canonical events", events.len()),
    };
    println!(
        "== replaying {what} ({}) through ingest, {} → {} (about {fast_forward} s)",
        input.events_path.display(),
        format_instant(start),
        format_instant(until)
    );
    println!("   time (UTC)         · what arrived / + - ~ what changed in Kisi");
    let mut shown = 0;
    let mut i = 0;
    loop {
        let next_event = steps.get(i).map(|s| s.0).filter(|&t| t <= until);
        let next_edge = driver.pumps.next_edge().await?.filter(|&t| t <= until);
        let next = [next_event, next_edge, Some(until)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until);
        if let Some(wait) = pace(next).checked_sub(real.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        driver.advance(next).await?;
        while let Some((_, step)) = steps.get(i).filter(|s| s.0 == next) {
            shown = print_changes(&driver.sim, shown).await?;
            println!("   {}   · {}", hhmm(next), describe(step));
            match step {
                Step::Canonical(batch) => driver.post(batch).await?,
                Step::Native(n) => driver.post_native(n, next).await?,
            }
            driver.pumps.drain().await?;
            i += 1;
        }
        shown = print_changes(&driver.sim, shown).await?;
        if next >= until && steps.get(i).is_none_or(|s| s.0 > until) {
            break;
        }
    }
    println!("== played in {:.1} s", real.elapsed().as_secs_f64());

    // The safety net: one reconcile at the end finds nothing to repair.
    let report = driver
        .pumps
        .functions
        .invoke("reconcile_15m", serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}))
        .await?;
    driver.pumps.drain().await?;
    println!("== reconcile_15m at the end: {report}");

    let kisi = kisi_timeline(&driver.sim.timeline().await?, until);
    let preview = preview_timeline(mappings, events, until);
    let state = kisi_state(&driver.sim.state().await?);
    println!(
        "== Kisi at {} (e-mail, group, valid until):",
        format_instant(until)
    );
    for (email, group, valid) in &state {
        println!(
            "   {email:<22} group {group:<4} until {}",
            valid.as_deref().unwrap_or("(no end)")
        );
    }
    let open: std::collections::BTreeSet<(String, u64)> =
        state.iter().map(|(e, g, _)| (e.clone(), *g)).collect();
    let same_timeline = kisi == preview;
    let same_state = open == preview_state(&preview);
    println!(
        "== Kisi's timeline {} preview's ({} intervals); the final state {}",
        if same_timeline {
            "equals"
        } else {
            "DIFFERS from"
        },
        preview.len(),
        if same_state {
            "matches"
        } else {
            "DOES NOT match"
        }
    );
    if check && !(same_timeline && same_state) {
        for l in kisi.iter().filter(|l| !preview.contains(l)) {
            eprintln!("   only in Kisi:    {l:?}");
        }
        for l in preview.iter().filter(|l| !kisi.contains(l)) {
            eprintln!("   only in preview: {l:?}");
        }
        bail!("Kisi differs from preview");
    }
    let stats = driver
        .pumps
        .stats
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    println!(
        "   pumps: {} messages delivered {:?}, {} edges fired, {} deliveries failed",
        stats.delivered.values().sum::<u64>(),
        stats.delivered,
        stats.edges,
        stats.failed
    );
    Ok(())
}

/// Prints the simulator's timeline entries after the first `shown`; answers the new count.
async fn print_changes(sim: &SimAdmin, shown: usize) -> Result<usize> {
    let changes = sim.timeline().await?;
    let mut k = shown;
    while k < changes.len() {
        let c = &changes[k];
        // A deletion and a creation of the same pair at the same instant is a replacement.
        let replaced = c.action == TimelineAction::Deleted
            && changes.get(k + 1).is_some_and(|n| {
                n.action == TimelineAction::Created
                    && n.email == c.email
                    && n.group_id == c.group_id
                    && n.at == c.at
            });
        if replaced {
            println!(
                "   {}   ~ {:<22} group {} (window changed)",
                hhmm(c.at),
                c.email,
                c.group_id
            );
            k += 2;
            continue;
        }
        let (sign, verb) = if c.action == TimelineAction::Created {
            ("+", "opens")
        } else {
            ("-", "closes")
        };
        println!(
            "   {}   {sign} {:<22} group {} {verb}",
            hhmm(c.at),
            c.email,
            c.group_id
        );
        k += 1;
    }
    Ok(changes.len())
}

/// `events/ingest.json` signed afresh with the local stack's canonical secret at the clock's
/// `now` (its own signature is for the sample secret at its own time): the file to invoke.
async fn signed_ingest_sample(stack: &LocalStack) -> Result<PathBuf> {
    let mut sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("events/ingest.json")?)?;
    let body = sample["body"]
        .as_str()
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let now = stack.sim.now().await?;
    sample["headers"][access_sync_platforms::canonical::CANONICAL_HEADER] =
        serde_json::Value::String(access_sync_platforms::canonical::sign(
            local_stack::names::LOCAL_CANONICAL_SECRET.as_bytes(),
            &body,
            now.timestamp(),
        ));
    let path = stack.dir().join("ingest-signed.json");
    std::fs::write(&path, serde_json::to_string_pretty(&sample)?)?;
    Ok(path)
}

/// `cargo lambda invoke NAME --data-file events/<sample>.json` for every sample (ingest's
/// signed afresh, and required to answer 202).
async fn invoke_samples(stack: &LocalStack, url: &str) -> Result<()> {
    let port = url.rsplit(':').next().unwrap_or("9000");
    println!("== cargo lambda invoke with every sample in events/");
    let ingest = signed_ingest_sample(stack).await?;
    let ingest = ingest.to_string_lossy().into_owned();
    for (function, file) in [
        ("ingest", ingest.as_str()),
        ("on_booking", "events/on_booking.json"),
        ("on_plan_change", "events/on_plan_change.json"),
        ("on_checkin", "events/on_checkin.json"),
        ("on_edge", "events/on_edge.json"),
        ("on_edge", "events/on_edge_converge.json"),
        ("reconcile_15m", "events/reconcile_15m.json"),
    ] {
        let out = std::process::Command::new("cargo")
            .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", port])
            .args(["--data-file", file])
            .output()
            .context("running cargo lambda invoke")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let first: String = text.trim().chars().take(100).collect();
        if !out.status.success() {
            bail!(
                "cargo lambda invoke {function} --data-file {file} failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if function == "ingest" && !text.contains("\"statusCode\":202") {
            bail!("cargo lambda invoke ingest: not accepted: {text}");
        }
        let file = if function == "ingest" {
            "events/ingest.json (signed now)"
        } else {
            file
        };
        println!("   ok  {function:<15} {file:<32} {first}");
    }
    Ok(())
}

/// Members of the space the platform story imports.
const STORY_MEMBERS: usize = 12;

/// The virtual day the platform story happens on (midnight UTC).
const STORY_DAY: &str = "2026-06-15T00:00:00Z";

/// The platform story (`demo --platform officernd|nexudus|optix|teamup`): an existing space in the platform's
/// simulator (generated, dated on a fixed virtual day, [`STORY_DAY`]: the sync lists
/// check-ins and booking occurrences in windows around the stack's clock), a mapping that opens a group for each
/// kind of thing it names, applied with `access-sync mappings apply`; the import
/// (`platform_sync` with `full`); a day of changes made in the simulator's admin, each
/// webhook posted to ingest — except the first, a membership removed, which is dropped on the
/// way — while `platform_sync` runs every 15 minutes on the virtual clock and repairs it.
/// `--check` fails unless Kisi's timeline equals preview's of the canonical events the engine
/// received (from ingest and from the syncs, each dated when it was delivered) and Kisi's final
/// state equals preview's of the platform's final state. It also prints how far Kisi was from
/// the webhooks alone (the dropped one included) and for how long.
///
/// The handlers run in this process: `platform_sync` has no Lambda binary in this tree yet.
async fn platform_demo(
    ports: Ports,
    platform: Platform,
    fast_forward: u64,
    check: bool,
) -> Result<()> {
    use local_stack::platforms::{mapping_for, platform_events, script};
    let began = std::time::Instant::now();
    let mut opts = ports.options();
    opts.lambda_port = None;
    opts.platforms = vec![(platform, None)];
    let stack = LocalStack::start(&opts, &[]).await?;
    let result = async {
        let admin = stack.platforms[0].admin.clone();
        let day: chrono::DateTime<chrono::Utc> = STORY_DAY.parse()?;
        let t0 = day + chrono::Duration::hours(7);
        let until = day + chrono::Duration::days(1);
        stack.sim.set_clock(t0).await?;
        admin.set_clock(t0).await?;
        admin.generate(STORY_MEMBERS, 17, day).await?;
        println!(
            "== local stack up: moto {}, Kisi simulator {}, {} simulator {}, functions in process",
            stack.names.moto_url,
            stack.names.sim_url,
            platform.as_str(),
            admin.base
        );
        let imported = platform_events(&stack, platform, t0).await?;
        let toml = mapping_for(&imported);
        let path = stack.dir().join(format!("{}-mappings.toml", platform.as_str()));
        std::fs::write(&path, &toml)?;
        let mappings = Mappings::parse(&toml).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for g in mappings.managed_groups() {
            stack.sim.seed_group(g.get(), &format!("group {}", g.get())).await?;
        }
        println!(
            "== an existing space of {STORY_MEMBERS} members in the {} simulator; access-sync mappings apply {}",
            platform.as_str(),
            path.display()
        );
        apply_mappings(&stack, &path)?;
        // The platform's client unpaced: its request budget is one of real time (Optix's 30 a
        // minute for the sync), and the virtual clock stands still while a handler runs, so
        // real waits would only cost wall time (an Optix day took 18 minutes paced). Kisi's
        // client stays paced as deployed (the demo's Kisi simulator keeps Kisi's limits).
        let f = InProcess::from_pairs_sync_paced(
            &stack.names.function_env(),
            &stack.sdk,
            access_sync_sources::Pacing::Unpaced,
        )?;
        let mut pumps = Pumps::new(
            f,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        );
        pumps.received = Some(std::sync::Mutex::new(Vec::new()));
        let driver = Driver::new(pumps, stack.sim.clone())
        .with_platforms(std::slice::from_ref(&admin), local_stack::SYNC_INTERVAL_MINUTES);
        println!("   time (UTC)         · what happened / + - ~ what changed in Kisi");
        let out = driver.sync(platform, serde_json::json!({"full": true})).await?;
        println!(
            "   {}   · import: platform_sync read {} records, published {} events ({} records it could not map)",
            hhmm(t0),
            out["records"],
            out["changes"],
            out["unmapped"]
        );
        let mut shown = print_changes(&driver.sim, 0).await?;
        let mut made: Vec<Event> = imported.clone();
        let hint = platform.spec().webhook_trust() == access_sync_platforms::WebhookTrust::Hint;
        let mut seen = access_sync_platforms::Seen::new();
        for e in &imported {
            seen.observe(e);
        }
        let fixture = admin.fixture().await?;
        let changes = script::for_platform(platform, &fixture, 12, 17, 60, t0);
        let span = (until - t0).num_seconds().max(1) as f64;
        let real = std::time::Instant::now();
        let mut ticks_seen = 0;
        let mut dropped: Vec<Instant> = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let at = t0 + chrono::Duration::minutes(c.minute);
            let pace = Duration::from_secs_f64((at - t0).num_seconds() as f64 / span * fast_forward as f64);
            if let Some(wait) = pace.checked_sub(real.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            driver.advance(at).await?;
            ticks_seen = print_ticks(&driver, ticks_seen, &mut dropped);
            shown = print_changes(&driver.sim, shown).await?;
            let hooks = admin
                .change(c.change, c.collection, c.id.as_deref(), c.body.as_ref())
                .await?;
            if hooks.is_empty() {
                println!(
                    "   {}   · {} {} in {}: the platform sends no webhook for it (the next platform_sync reads it)",
                    hhmm(at), c.collection, c.change, platform.as_str()
                );
            }
            for w in hooks {
                // What the webhook itself says. A hint (Optix's, TeamUp's) says nothing itself: it names
                // a record that `platform_reread` reads back from the API, so what it stands
                // for is the platform's state once the change is made.
                let events = if hint {
                    platform_events(&stack, platform, at).await?
                } else {
                    platform
                        .normalize(&platform.fixture_delivery(w.line()), &seen)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                };
                for e in &events {
                    seen.observe(e);
                }
                if i == 0 {
                    println!(
                        "   {}   · {} {} in {} → webhook {}: DROPPED on the way (never reaches ingest)",
                        hhmm(at), c.collection, c.change, platform.as_str(), w.event_type
                    );
                    made.extend(events);
                    dropped.push(at);
                } else {
                    println!(
                        "   {}   · {} {} in {} → webhook {}",
                        hhmm(at), c.collection, c.change, platform.as_str(), w.event_type
                    );
                    driver.deliver(&w).await?;
                    made.extend(events);
                }
            }
            driver.pumps.drain().await?;
            shown = print_changes(&driver.sim, shown).await?;
        }
        driver.advance(until).await?;
        ticks_seen = print_ticks(&driver, ticks_seen, &mut dropped);
        print_changes(&driver.sim, shown).await?;
        println!(
            "== played in {:.1} s; platform_sync ran {ticks_seen} times",
            real.elapsed().as_secs_f64()
        );
        // What the engine received (webhooks and syncs), when: Kisi must show exactly that.
        let received: Vec<Event> = driver
            .pumps
            .received
            .as_ref()
            .map(|r| r.lock().map(|v| v.clone()).unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(at, v)| {
                let mut e = Event::parse(&v.to_string()).ok()?;
                e.at = e.at.max(at);
                Some(e)
            })
            .collect();
        let kisi = kisi_timeline(&driver.sim.timeline().await?, until);
        let engine = preview_timeline(&mappings, &received, until);
        // The webhooks' own events at the moment each change was made, the dropped one
        // included: how far Kisi was from what the webhooks alone say, and when the syncs
        // brought it to the platform's records (a dropped change late by at most the interval;
        // a webhook whose payload means less than its record corrected by the next sync).
        let preview = preview_timeline(&mappings, &made, until);
        let (ik, ip) = (intervals(&kisi, until), intervals(&preview, until));
        let (excess, denied) = (uncovered(&ik, &ip), uncovered(&ip, &ik));
        let longest = excess.iter().chain(&denied).map(|x| x.2).max().unwrap_or(0);
        let state = kisi_state(&driver.sim.state().await?);
        let open: std::collections::BTreeSet<(String, u64)> =
            state.iter().map(|(e, g, _)| (e.clone(), *g)).collect();
        let truth = platform_events(&stack, platform, until).await?;
        let truth = preview_timeline(&mappings, &truth, until + chrono::Duration::hours(1));
        let end = access_sync_rules::time::format_instant(until);
        let open_truth: std::collections::BTreeSet<(String, u64)> = truth
            .iter()
            .filter(|l| l.2 <= end && l.3.as_deref().is_none_or(|u| u > end.as_str()))
            .map(|l| (l.0.clone(), l.1))
            .collect();
        println!("== Kisi at {end} (e-mail, group, valid until):");
        for (email, group, valid) in &state {
            println!(
                "   {email:<26} group {group:<4} until {}",
                valid.as_deref().unwrap_or("(no end)")
            );
        }
        let same_state = open == open_truth;
        let same_timeline = kisi == engine;
        let interval = local_stack::SYNC_INTERVAL_MINUTES;
        println!(
            "== Kisi's timeline {} preview's of the {} events the engine received, as it received them ({} intervals); the final state {} preview's of the platform's state",
            if same_timeline { "equals" } else { "DIFFERS from" },
            received.len(),
            engine.len(),
            if same_state { "matches" } else { "DOES NOT match" }
        );
        println!(
            "== Kisi against preview of {} (each at its change, the dropped one included): {} stretches where Kisi was open and they say closed, {} the other way round; the longest {longest} min",
            if hint { "the platform's state as each change is made (its webhooks are hints: each names a record re-read from the API)" } else { "the webhooks alone" },
            excess.len(),
            denied.len(),
        );
        for (k, at, minutes) in excess.iter().chain(&denied) {
            let open = excess.iter().any(|x| x.0 == *k && x.1 == *at);
            println!(
                "   {:<26} group {:<4} {} from {} for {minutes} min",
                k.0,
                k.1,
                match (open, hint) {
                    (true, false) => "open in Kisi, webhooks say closed",
                    (false, false) => "closed in Kisi, webhooks say open",
                    (true, true) => "open in Kisi, the platform says closed",
                    (false, true) => "closed in Kisi, the platform says open",
                },
                hhmm(*at)
            );
        }
        println!(
            "{}",
            if hint {
                format!("   (open in Kisi, the platform says closed: a dropped webhook, until the next platform_sync, every {interval} min; closed in Kisi, the platform says open: a dropped webhook of a grant, or a team change, which only a complete listing carries)")
            } else {
                format!("   (open in Kisi, webhooks say closed: a dropped webhook, until the next platform_sync, every {interval} min, or a change the platform sends no webhook for, from the sync that read it; closed in Kisi, webhooks say open: from a sync that ended what a webhook's payload did not)")
            }
        );
        if check && !(same_timeline && same_state) {
            for l in kisi.iter().filter(|l| !engine.contains(l)) {
                eprintln!("   only in Kisi:    {l:?}");
            }
            for l in engine.iter().filter(|l| !kisi.contains(l)) {
                eprintln!("   only in preview: {l:?}");
            }
            bail!("Kisi differs from preview, or ends unlike the platform");
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    stack.stop().await;
    println!(
        "== stopped the stack ({:.0} s in all); nothing is left running",
        began.elapsed().as_secs_f64()
    );
    result
}

/// Prints the `platform_sync` ticks after the first `seen` that changed something (or
/// failed), marking the first after a dropped webhook. Answers the new count.
fn print_ticks<F: Functions>(driver: &Driver<F>, seen: usize, dropped: &mut Vec<Instant>) -> usize {
    let log = driver
        .tick_log
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    for run in log.iter().skip(seen) {
        let repaired = dropped.iter().any(|t| *t <= run.at);
        dropped.retain(|t| *t > run.at);
        match &run.result {
            Ok(v)
                if v["changes"].as_u64().unwrap_or(0) + v["endings"].as_u64().unwrap_or(0) > 0 =>
            {
                println!(
                    "   {}   · platform_sync: {} changed, {} ended{}",
                    hhmm(run.at),
                    v["changes"],
                    v["endings"],
                    if repaired {
                        " (after the dropped webhook)"
                    } else {
                        ""
                    }
                );
            }
            Ok(_) => {}
            Err(e) => println!("   {}   · platform_sync failed: {e}", hhmm(run.at)),
        }
    }
    log.len()
}
