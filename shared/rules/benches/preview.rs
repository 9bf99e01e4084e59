//! Preview benchmark (a bench binary): N members, each with a member event, a plan and five
//! bookings, through the whole preview path as the CLI runs it — reading the JSON Lines
//! ([`PreviewInput::parse`]), the timeline (`engine_s`: the batch reading, which prints what the
//! live engine on its virtual clock records), and formatting the output.
//!
//! `cargo bench -p access-sync-rules --bench preview -- --members 100000`
//! (run it under `taskset -c 0` for one core). Prints one JSON line with the timings, the CPU
//! time of the timed part and how long it waited for the CPU (the scheduler's accounting, from
//! /proc/self/schedstat: on a shared machine the wall time counts other processes' turns), and
//! the peak resident set size of the process (VmHWM), so sizes can be compared across runs.

use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::PreviewInput;
use std::fmt::Write;
use std::time::Instant;

// The allocator the `access-sync` CLI uses, so the figures are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn input(members: usize) -> (String, String) {
    let mut map = String::from(
        "[defaults]\ntimezone = \"Europe/London\"\n\n[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n",
    );
    for r in 0..10 {
        let _ = write!(
            map,
            "\n[[mapping]]\nsource = \"resource\"\nid = \"room-{r}\"\ngroups = [{}]\n",
            201 + r
        );
    }
    let mut ev = String::with_capacity(members * 1500);
    for i in 0..members {
        let day = 1 + i % 28;
        let _ = writeln!(
            ev,
            r#"{{"id":"m{i}","at":"2026-12-01T00:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com","name":"Member {i}"}}}}"#
        );
        let _ = writeln!(
            ev,
            r#"{{"id":"p{i}","at":"2026-12-01T00:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z","end":"2027-01-01T00:00:00Z"}}}}"#
        );
        for b in 0..5 {
            let hour = 8 + 2 * b;
            let _ = writeln!(
                ev,
                r#"{{"id":"b{i}-{b}","at":"2026-12-01T00:00:00Z","entitlement":{{"id":"booking:{i}-{b}","kind":"booking","refs":["resource:room-{}"],"holder":{{"member":"m{i}"}},"start":"2026-12-{day:02}T{hour:02}:00:00Z","end":"2026-12-{day:02}T{:02}:30:00Z"}}}}"#,
                (i + b) % 10,
                hour + 1
            );
        }
    }
    (map, ev)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Time this process has spent on a CPU and waiting for one (ns), from the scheduler's own
/// accounting: on a shared machine the wall time also counts the turns of other processes.
fn cpu_and_wait_ns() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/schedstat").unwrap_or_default();
    let mut fields = text.split_whitespace().map(|f| f.parse().unwrap_or(0));
    (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let members = args
        .iter()
        .position(|a| a == "--members")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000usize);
    let (map_text, ev_text) = input(members);
    let rss_input = peak_rss_kib();

    let (cpu0, wait0) = cpu_and_wait_ns();
    let t0 = Instant::now();
    let mappings = Mappings::parse(&map_text).expect("bench mapping parses");
    let input = PreviewInput::parse(&ev_text).expect("bench events parse");
    let t_parse = t0.elapsed();
    let n_events = input.len();

    let t1 = Instant::now();
    let p = input.preview(&mappings, None);
    let t_engine = t1.elapsed();

    let t2 = Instant::now();
    let out = p.to_jsonl();
    let t_format = t2.elapsed();
    let total = t0.elapsed();
    let (cpu1, wait1) = cpu_and_wait_ns();
    println!(
        r#"{{"members":{members},"events":{n_events},"intervals":{},"parse_s":{:.3},"engine_s":{:.3},"format_s":{:.3},"total_s":{:.3},"cpu_s":{:.3},"runqueue_wait_s":{:.3},"peak_rss_mib":{:.0},"input_rss_mib":{:.0},"output_bytes":{}}}"#,
        p.intervals.len(),
        t_parse.as_secs_f64(),
        t_engine.as_secs_f64(),
        t_format.as_secs_f64(),
        total.as_secs_f64(),
        cpu1.saturating_sub(cpu0) as f64 / 1e9,
        wait1.saturating_sub(wait0) as f64 / 1e9,
        peak_rss_kib() as f64 / 1024.0,
        rss_input as f64 / 1024.0,
        out.len()
    );
}
