//! End to end through the real handler code, in process: every shared scenario is posted to
//! `ingest` as canonical events, travels EventBridge → SQS (moto) → `on_*` → converge
//! requests → `on_edge`, with edges stored in moto's Scheduler and fired by the pump on a test
//! clock. What the Kisi simulator saw must be exactly `preview`'s timeline; with every event
//! delivered twice and a Kisi outage in the middle, the end state must be the same.

mod common;

use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::parse_instant;
use access_sync_rules::{Event, Instant};
use chrono::Duration;
use local_stack::Driver;
use local_stack::functions::InProcess;
use local_stack::stack::LocalStack;
use local_stack::timeline::{kisi_state, kisi_timeline, preview_state, preview_timeline};
use serde_json::json;
use std::collections::BTreeSet;

struct Scenario {
    name: String,
    mapping: String,
    events: Vec<Event>,
    horizon: Instant,
}

fn scenarios() -> Vec<Scenario> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios");
    let mut dirs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} not found beside the repository: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| p.join("events.jsonl").is_file() && !p.join("expect-exit").exists())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs {
        let mapping = std::fs::read_to_string(d.join("mappings.toml")).unwrap();
        let text = std::fs::read_to_string(d.join("events.jsonl")).unwrap();
        let events: Vec<Event> = access_sync_rules::event::parse_jsonl(&text)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let args = std::fs::read_to_string(d.join("args")).unwrap_or_default();
        let words: Vec<&str> = args.split_whitespace().collect();
        let horizon = words
            .iter()
            .position(|w| *w == "--until")
            .and_then(|i| words.get(i + 1))
            .map(|s| parse_instant(s).unwrap())
            .unwrap_or_else(|| events.iter().map(|e| e.at).max().unwrap() + Duration::days(30));
        out.push(Scenario {
            name: d.file_name().unwrap().to_string_lossy().into_owned(),
            mapping,
            events,
            horizon,
        });
    }
    assert!(
        out.len() >= 9,
        "expected the shared scenarios, found {}",
        out.len()
    );
    out
}

async fn stack_for(sc: &Scenario) -> (LocalStack, Driver<InProcess>) {
    let start = sc.events.iter().map(|e| e.at).min().unwrap();
    common::start(&sc.name, &sc.mapping, start).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_through_ingest_and_the_handlers_gives_kisi_the_preview_timeline() {
    for sc in scenarios() {
        let (stack, driver) = stack_for(&sc).await;
        driver.play(&sc.events, sc.horizon).await.unwrap();
        assert!(
            !driver.pumps.has_failures(),
            "{}: deliveries failed",
            sc.name
        );
        let mappings = Mappings::parse(&sc.mapping).unwrap();
        let kisi = kisi_timeline(&driver.sim.timeline().await.unwrap(), sc.horizon);
        let preview = preview_timeline(&mappings, &sc.events, sc.horizon);
        assert_eq!(
            kisi, preview,
            "{}: Kisi's timeline differs from preview",
            sc.name
        );
        let state = kisi_state(&driver.sim.state().await.unwrap());
        assert!(
            state.iter().all(|(_, g, _)| *g != 900),
            "{}: the staff group was touched",
            sc.name
        );
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_twice_and_a_kisi_outage_in_the_middle_end_in_the_preview_state() {
    let mut bitten: Vec<String> = Vec::new();
    for sc in scenarios() {
        let (stack, driver) = stack_for(&sc).await;
        let mut evs = sc.events.clone();
        evs.sort_by_key(|e| e.at);
        let middle = evs.len() / 2;
        let mut outage_failed = false;
        for (i, ev) in evs.iter().enumerate().filter(|(_, e)| e.at <= sc.horizon) {
            if i == middle {
                // Kisi goes down: every API call answers 503 until the next event.
                driver
                    .sim
                    .set_faults(json!({"error_rate": 1.0, "error_status": 503}))
                    .await
                    .unwrap();
            }
            if i == middle + 1 {
                outage_failed |= driver.pumps.has_failures();
                driver.sim.set_faults(json!({})).await.unwrap();
                driver.pumps.redeliver_failed().await.unwrap();
            }
            driver.advance(ev.at).await.unwrap();
            driver.post(&[ev]).await.unwrap();
            driver.post(&[ev]).await.unwrap(); // the platform delivers it again
            driver.pumps.drain().await.unwrap();
        }
        driver.sim.set_faults(json!({})).await.unwrap();
        driver.pumps.redeliver_failed().await.unwrap();
        driver.advance(sc.horizon).await.unwrap();
        assert!(
            !driver.pumps.has_failures(),
            "{}: deliveries still failing",
            sc.name
        );
        let mappings = Mappings::parse(&sc.mapping).unwrap();
        let preview = preview_timeline(&mappings, &sc.events, sc.horizon);
        let open: BTreeSet<(String, u64)> = kisi_state(&driver.sim.state().await.unwrap())
            .into_iter()
            .map(|(e, g, _)| (e, g))
            .collect();
        assert_eq!(
            open,
            preview_state(&preview),
            "{}: end state differs",
            sc.name
        );
        if outage_failed {
            bitten.push(sc.name.clone());
        }
        stack.stop().await;
    }
    // The outage must have failed something (else this test proves nothing about recovery).
    assert!(
        bitten.len() >= 3,
        "the outage failed deliveries only in {bitten:?}"
    );
}
