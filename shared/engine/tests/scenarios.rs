//! The shared access scenarios, replayed through the real engine — facts and ownership in
//! DynamoDB and edges in EventBridge Scheduler (both on moto), Kisi as the simulator over HTTP —
//! on a test clock that fires the stored schedules. What Kisi saw must be exactly what
//! `preview` prints, and surviving duplicates and an outage must end in the same state.

mod common;

use common::*;
use kisi_sim::Faults;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_gives_kisi_exactly_the_preview_timeline() {
    let scenarios = scenarios();
    assert!(
        scenarios.len() >= 9,
        "expected the shared scenarios, found {}",
        scenarios.len()
    );
    for sc in scenarios {
        let mut stack = Stack::new(&sc.mapping).await;
        stack.play(&sc.events, sc.horizon).await;
        assert!(
            stack.retry.is_empty(),
            "{}: converges failed: {:?}",
            sc.name,
            stack.retry
        );
        let kisi = stack.kisi_timeline(sc.horizon);
        let preview = preview_timeline(&stack.mappings, &sc.events, sc.horizon);
        assert_eq!(
            kisi, preview,
            "{}: Kisi's timeline differs from preview",
            sc.name
        );
        assert!(
            stack
                .sim
                .snapshot()
                .role_assignments
                .iter()
                .all(|a| a.group_id != 900),
            "{}: the staff group was touched",
            sc.name
        );
    }
}

/// Open pairs at the horizon, from preview: (email, group).
fn open_at_horizon(sc: &Scenario, stack: &Stack) -> std::collections::BTreeSet<(String, u64)> {
    preview_timeline(&stack.mappings, &sc.events, sc.horizon)
        .into_iter()
        .filter(|(_, _, _, u)| u.is_none())
        .map(|(e, g, _, _)| (e, g))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_twice_and_a_kisi_outage_in_the_middle_end_in_the_same_state() {
    for sc in scenarios() {
        let mut stack = Stack::new(&sc.mapping).await;
        let mut evs = sc.events.clone();
        evs.sort_by_key(|e| e.at);
        let middle = evs.len() / 2;
        for (i, ev) in evs.iter().enumerate() {
            if i == middle {
                // Kisi goes down: every API call answers 503 until the next event.
                stack.sim.set_faults(Faults {
                    error_rate: 1.0,
                    error_status: 503,
                    ..Faults::default()
                });
            }
            if i == middle + 1 {
                stack.sim.set_faults(Faults::default());
                stack.retry_failed(ev.at).await;
            }
            stack.fire_due(ev.at).await;
            stack.deliver(ev, ev.at).await.unwrap();
            stack.deliver(ev, ev.at).await.unwrap(); // the platform delivers it again
        }
        stack.sim.set_faults(Faults::default());
        let last = evs.last().map(|e| e.at).unwrap();
        stack.retry_failed(last).await;
        stack.fire_due(sc.horizon).await;
        stack.retry_failed(sc.horizon).await;
        assert!(
            stack.retry.is_empty(),
            "{}: still failing: {:?}",
            sc.name,
            stack.retry
        );

        let want = open_at_horizon(&sc, &stack);
        let got: std::collections::BTreeSet<(String, u64)> = stack
            .kisi_state()
            .into_iter()
            .filter(|(_, _, until)| until.as_deref().is_none_or(|u| at(u) > sc.horizon))
            .map(|(e, g, _)| (e, g))
            .collect();
        assert_eq!(
            got, want,
            "{}: end state after duplicates and an outage",
            sc.name
        );
        // Nothing expired is left behind in Kisi either.
        assert!(
            stack
                .kisi_state()
                .iter()
                .all(|(_, _, until)| until.as_deref().is_none_or(|u| at(u) > sc.horizon)),
            "{}: an expired assignment was left in Kisi: {:?}",
            sc.name,
            stack.kisi_state()
        );
    }
}
