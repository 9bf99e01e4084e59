//! `mappings apply` in the live system: the change is shown, stored and converged; a mass
//! revoke needs an explicit override; staff groups are never touched.

mod common;

use access_sync_engine::{ApplyOptions, EngineError};
use access_sync_ports::AccessControl;
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, Event, GroupId};
use common::*;

const BEFORE: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n";
const AFTER: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101, 103]\n\n[[mapping]]\nsource = \"plan\"\nid = \"night\"\ngroups = [102]\n";
const NIGHT_ONLY: &str = "[[mapping]]\nsource = \"plan\"\nid = \"night\"\ngroups = [102]\n";

fn member_with_plan(i: usize, plan: &str) -> Vec<Event> {
    vec![
        Event::parse(&format!(r#"{{"id":"m{i}","at":"2026-12-07T08:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#)).unwrap(),
        Event::parse(&format!(r#"{{"id":"p{i}","at":"2026-12-07T08:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:{plan}"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z"}}}}"#)).unwrap(),
    ]
}

fn pairs(v: &[access_sync_rules::Pair]) -> Vec<String> {
    v.iter()
        .map(|p| format!("{}/{}", p.email, p.group))
        .collect()
}

async fn stack() -> Stack {
    let mut stack = Stack::new(BEFORE).await;
    stack.sim.seed_group_with_id(Some(102), "Night", None);
    stack.sim.seed_group_with_id(Some(103), "Floor 2", None);
    for ev in member_with_plan(0, "hot-desk")
        .into_iter()
        .chain(member_with_plan(1, "night"))
    {
        stack.deliver(&ev, ev.at).await.unwrap();
    }
    // Staff have their own hand-made group: nothing may touch it.
    let kisi = stack.engine.kisi();
    let staff = kisi
        .ensure_user(
            &Email::parse("staff@example.com").unwrap(),
            None,
            NotifyPolicy::Never,
        )
        .await
        .unwrap();
    kisi.grant(staff, GroupId::new(900).unwrap(), None, NotifyPolicy::Never)
        .await
        .unwrap();
    stack
}

fn groups_in_kisi(stack: &Stack) -> Vec<String> {
    stack
        .kisi_state()
        .into_iter()
        .map(|(e, g, _)| format!("{e}/{g}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_a_mapping_shows_the_change_then_converges_it() {
    let stack = stack().await;
    let now = at("2026-12-07T09:00:00Z");
    let dry = stack
        .engine
        .apply_mapping(
            AFTER,
            now,
            &ApplyOptions {
                dry_run: true,
                ..ApplyOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        pairs(&dry.gains),
        ["member0@example.com/103", "member1@example.com/102"]
    );
    assert!(dry.losses.is_empty() && !dry.applied);
    assert_eq!(
        groups_in_kisi(&stack),
        ["member0@example.com/101", "staff@example.com/900"],
        "a dry run changed Kisi"
    );

    let done = stack
        .engine
        .apply_mapping(AFTER, now, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(done.applied);
    assert_eq!(done.affected, 2);
    assert_eq!(
        groups_in_kisi(&stack),
        [
            "member0@example.com/101",
            "member0@example.com/103",
            "member1@example.com/102",
            "staff@example.com/900"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_that_takes_most_access_away_needs_an_explicit_override() {
    let stack = stack().await;
    let now = at("2026-12-07T09:00:00Z");
    stack
        .engine
        .apply_mapping(AFTER, now, &ApplyOptions::default())
        .await
        .unwrap();
    let refused = stack
        .engine
        .apply_mapping(NIGHT_ONLY, now, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(refused.refused.is_some() && !refused.applied, "{refused:?}");
    assert_eq!(
        pairs(&refused.losses),
        ["member0@example.com/101", "member0@example.com/103"]
    );
    assert_eq!(
        groups_in_kisi(&stack).len(),
        4,
        "a refused change touched Kisi"
    );

    let forced = stack
        .engine
        .apply_mapping(
            NIGHT_ONLY,
            now,
            &ApplyOptions {
                allow_mass_revoke: true,
                ..ApplyOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(forced.applied);
    assert_eq!(
        groups_in_kisi(&stack),
        ["member1@example.com/102", "staff@example.com/900"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_mapping_file_is_rejected_with_its_line_and_changes_nothing() {
    let stack = stack().await;
    let bad = "[[mapping]]\nsource = \"plan\"\nid = \"x\"\ngroups = [0]\n";
    match stack
        .engine
        .apply_mapping(bad, at("2026-12-07T09:00:00Z"), &ApplyOptions::default())
        .await
    {
        Err(EngineError::Mapping(m)) => assert!(m.contains("line 4"), "{m}"),
        other => panic!("expected a mapping error, got {other:?}"),
    }
    assert_eq!(
        groups_in_kisi(&stack),
        ["member0@example.com/101", "staff@example.com/900"]
    );
}
