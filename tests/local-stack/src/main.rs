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
use local_stack::timeline::{kisi_state, kisi_timeline, preview_state, preview_timeline};
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
        /// Replay a platform's native webhooks (officernd, nexudus, teamup), signed as the
        /// platform signs them, through its ingest route. Not optix: its webhooks are only
        /// hints re-read from its API, which the demo's stack does not run yet.
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
            } => up(ports, mappings, clock).await,
            Cmd::Demo {
                ports,
                mappings,
                events,
                platform,
                until,
                fast_forward,
                check,
            } => {
                let input = Input::read(platform.as_deref(), mappings, events)?;
                let until = match until {
                    Some(u) => parse_instant(&u).map_err(|e| anyhow::anyhow!("--until: {e}"))?,
                    None => midnight_after(input.last()),
                };
                demo(ports, input, until, fast_forward, check).await
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

async fn up(ports: Ports, mappings: Option<PathBuf>, clock: Option<String>) -> Result<()> {
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
    let stack = LocalStack::start(&ports.options(), &groups).await?;
    if let Some(c) = clock {
        stack
            .sim
            .set_clock(parse_instant(&c).map_err(|e| anyhow::anyhow!("--clock: {e}"))?)
            .await?;
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
            bail!(
                "--platform {}: not in the demo yet. Its webhooks are only hints (issue 19): \
                 access-sync re-reads each named record from the platform's API, and the demo's \
                 stack has no {} API simulator wired yet, so replaying its webhook fixture \
                 would grant nothing. `cargo test -p access-sync-local-stack --test platforms \
                 {}` runs it end to end against its simulator.",
                p.as_str(),
                p.as_str(),
                p.as_str()
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
    let driver = Driver {
        pumps: Pumps::new(
            f,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        ),
        sim: stack.sim.clone(),
    };
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
