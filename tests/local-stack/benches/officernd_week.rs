//! Issue 17's acceptance, measured: a replayed week of OfficeRnD changes with a share of the
//! webhooks dropped on the way ends, after the next sync, exactly as the same week with every
//! webhook delivered, and the access the dropped ones got wrong is bounded by the sync
//! interval.
//!
//! Both weeks run on their own local stack (moto, the Kisi simulator, the OfficeRnD simulator
//! over HTTP, the handlers and `platform_sync` in process): a generated organisation is
//! imported at 08:00 of the system's day, then changes are made in the simulator's admin every
//! few virtual minutes (memberships removed, members leaving their company, passes used up,
//! meeting rooms booked and cancelled while open, new passes) and their signed webhooks are
//! posted to ingest — or, in the second week, dropped with the given probability — while
//! `platform_sync` runs every 15 virtual minutes. The two Kisi timelines are then compared:
//! minutes someone had access in the lossy week and not in the full one are **excess**, the
//! other way round **denied**; the longest single stretch must not exceed the sync interval.
//!
//! ```text
//! cargo bench -p access-sync-local-stack --bench officernd_week
//! OFFICERND_WEEK_MEMBERS=100 OFFICERND_WEEK_DAYS=7 OFFICERND_WEEK_CHANGES_PER_DAY=24 OFFICERND_WEEK_DROP=0.2
//! ```
//!
//! Needs moto (`source scripts/tools.sh`). Prints one JSON line; exits non-zero if the final
//! states differ or a stretch exceeds the interval.

#[path = "../tests/common/officernd.rs"]
#[allow(dead_code)]
mod officernd;

use access_sync_rules::Instant;
use access_sync_rules::time::parse_instant;
use local_stack::timeline::{Line, kisi_state, kisi_timeline};
use officernd::Org;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Key = (String, u64);

fn intervals(lines: &[Line], end: Instant) -> BTreeMap<Key, Vec<(Instant, Instant)>> {
    let mut out: BTreeMap<Key, Vec<(Instant, Instant)>> = BTreeMap::new();
    for (email, group, from, until) in lines {
        let from = parse_instant(from).unwrap();
        let until = until.as_deref().map_or(end, |u| parse_instant(u).unwrap());
        out.entry((email.clone(), *group))
            .or_default()
            .push((from, until));
    }
    out
}

/// Stretches of `a` not covered by `b`, per key.
fn uncovered(
    a: &BTreeMap<Key, Vec<(Instant, Instant)>>,
    b: &BTreeMap<Key, Vec<(Instant, Instant)>>,
) -> Vec<(Key, Instant, i64)> {
    let mut out = Vec::new();
    for (k, spans) in a {
        let other = b.get(k).cloned().unwrap_or_default();
        for &(from, until) in spans {
            // Walk the span, cutting out what `other` covers.
            let mut pieces = vec![(from, until)];
            for &(of, ou) in &other {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(f, u)| {
                        let mut keep = Vec::new();
                        if of >= u || ou <= f {
                            keep.push((f, u));
                        } else {
                            if f < of {
                                keep.push((f, of));
                            }
                            if ou < u {
                                keep.push((ou, u));
                            }
                        }
                        keep
                    })
                    .collect();
            }
            for (f, u) in pieces {
                out.push((k.clone(), f, (u - f).num_minutes()));
            }
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let members: usize = env("OFFICERND_WEEK_MEMBERS", 100);
    let days: i64 = env("OFFICERND_WEEK_DAYS", 7);
    let per_day: i64 = env("OFFICERND_WEEK_CHANGES_PER_DAY", 24);
    let drop: f64 = env("OFFICERND_WEEK_DROP", 0.2);
    let seed: u64 = env("OFFICERND_WEEK_SEED", 5);
    let n = (days * per_day).max(1) as usize;
    let every = (days * 24 * 60 / n as i64).max(1);
    let began = std::time::Instant::now();

    let full = Org::generated("week-full", members, seed, &[]).await;
    let script = officernd::changes(&full.fixture, n, seed, every);
    let a = officernd::play(&full, &script, 0.0, seed).await;
    let t_full = began.elapsed();
    let lossy = Org::generated("week-lossy", members, seed, &[]).await;
    let b = officernd::play(&lossy, &script, drop, seed).await;
    let end = a.end.unwrap();
    assert_eq!(a.end, b.end);

    let ta = kisi_timeline(&full.driver.sim.timeline().await.unwrap(), end);
    let tb = kisi_timeline(&lossy.driver.sim.timeline().await.unwrap(), end);
    let (ia, ib) = (intervals(&ta, end), intervals(&tb, end));
    let excess = uncovered(&ib, &ia);
    let denied = uncovered(&ia, &ib);
    let pairs = |s: BTreeSet<(String, u64, Option<String>)>| {
        s.into_iter()
            .map(|(e, g, _)| (e, g))
            .collect::<BTreeSet<_>>()
    };
    let same_end = pairs(kisi_state(&full.driver.sim.state().await.unwrap()))
        == pairs(kisi_state(&lossy.driver.sim.state().await.unwrap()));
    let max = |v: &[(Key, Instant, i64)]| v.iter().map(|x| x.2).max().unwrap_or(0);
    let report = json!({
        "members": members, "days": days, "changes": script.len(),
        "webhooks_delivered": b.delivered, "webhooks_dropped": b.dropped,
        "sync_interval_minutes": 15,
        "excess_minutes": excess.iter().map(|x| x.2).sum::<i64>(),
        "excess_stretches": excess.len(), "longest_excess_minutes": max(&excess),
        "denied_minutes": denied.iter().map(|x| x.2).sum::<i64>(),
        "denied_stretches": denied.len(), "longest_denied_minutes": max(&denied),
        "final_state_equal": same_end,
        "kisi_intervals": ta.len(),
        "wall_seconds_full_week": t_full.as_secs(),
        "wall_seconds_total": began.elapsed().as_secs(),
    });
    println!("{report}");
    full.stop().await;
    lossy.stop().await;
    let bounded = max(&excess) <= 15 && max(&denied) <= 15;
    if !(same_end && bounded) {
        eprintln!("FAILED: final states equal {same_end}, stretches bounded by 15 min {bounded}");
        std::process::exit(1);
    }
}
