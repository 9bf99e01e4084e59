//! The safety net against moto and the Kisi simulator: grants lost during an outage (a converge
//! request and an opening edge that dead-letter) are repaired by the next reconcile; a storm of
//! cancels is held at the one brake (grants still flow), reported, and released or discarded by
//! the operator; a held shortening leaves Kisi's `valid_until` in place.

mod common;

use access_sync_engine::{ReconcileConfig, Trigger};
use access_sync_ports::{AuditAction, AuditLog, Reduction};
use access_sync_rules::brake::BrakeConfig;
use access_sync_rules::{Email, Event, GroupId};
use chrono::Duration;
use common::*;
use kisi_sim::Faults;
use std::collections::BTreeSet;

const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201]\n";

fn ev(s: &str) -> Event {
    Event::parse(s).unwrap()
}

fn member_with_plan(i: usize, at: &str) -> Vec<Event> {
    vec![
        ev(&format!(
            r#"{{"id":"m{i}","at":"{at}","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#
        )),
        ev(&format!(
            r#"{{"id":"p{i}","at":"{at}","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z"}}}}"#
        )),
    ]
}

fn email(i: usize) -> Email {
    Email::parse(&format!("member{i}@example.com")).unwrap()
}

fn outage() -> Faults {
    Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Faults::default()
    }
}

async fn holds_of(stack: &Stack) -> Vec<access_sync_ports::Hold> {
    stack.engine.holds().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converge_request_and_an_opening_edge_that_dead_letter_in_an_outage_are_repaired_by_reconcile()
 {
    let mut stack = Stack::new(MAP).await;
    // Bob books the room for 10:00-11:00 at 08:00, while Kisi is up: his user is created and
    // the opening edge (09:55) is scheduled.
    for e in [
        r#"{"id":"b1","at":"2026-12-07T08:00:00Z","member":{"id":"bob","email":"bob@example.com"}}"#,
        r#"{"id":"b2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b","kind":"booking","refs":["resource:room"],"holder":{"member":"bob"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
    ] {
        let e = ev(e);
        stack.deliver(&e, e.at).await.unwrap();
    }
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    assert_eq!(stack.schedules().await.len(), 1, "the opening edge");

    // Kisi goes down at 09:00. Ann's plan arrives: the facts are saved, her converge fails
    // and its request dead-letters (it is never retried).
    stack.sim.set_faults(outage());
    for e in member_with_plan(1, "2026-12-07T09:00:00Z") {
        stack.deliver(&e, e.at).await.unwrap();
    }
    // Bob's opening edge fires at 09:55 and fails too; Scheduler gives up on it.
    stack.fire_due(at("2026-12-07T09:55:00Z")).await;
    assert_eq!(stack.retry.len(), 2, "ann's converge and bob's edge failed");
    stack.retry.clear();
    assert!(stack.kisi_state().is_empty());

    // Kisi answers again; the next reconcile repairs both.
    stack.sim.set_faults(Faults::default());
    let r = stack
        .reconcile(at("2026-12-07T10:00:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(r.aborted, None);
    assert_eq!((r.lost_grants, r.unconverged), (1, 1), "{r:?}");
    assert_eq!(
        stack.kisi_state(),
        BTreeSet::from([
            (
                "bob@example.com".to_string(),
                201,
                Some("2026-12-07T11:05:00Z".to_string())
            ),
            // An open-ended plan is granted with the rolling lease: 30 days from the repair.
            (
                "member1@example.com".to_string(),
                101,
                Some("2027-01-06T10:00:00Z".to_string())
            ),
        ])
    );
    // Nothing is left to repair: the next run asks for nothing.
    let r = stack
        .reconcile(at("2026-12-07T10:15:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(
        (r.lost_grants, r.unconverged, r.converge_requested),
        (0, 0, 0),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_cancels_for_every_plan_is_held_at_the_brake_and_released_by_the_operator() {
    let brake = BrakeConfig {
        share: 0.10,
        floor: 2,
        window: Duration::hours(1),
    };
    let mut stack = Stack::braked(MAP, brake).await;
    let n = 30;
    for i in 0..n {
        for e in member_with_plan(i, "2026-12-07T08:00:00Z") {
            stack.deliver(&e, e.at).await.unwrap();
        }
    }
    assert_eq!(stack.kisi_state().len(), n);
    // Reconcile counts the managed pairs: the budget is then 10 % of 30 = 3 an hour.
    stack
        .reconcile(at("2026-12-07T08:30:00Z"), &ReconcileConfig::default())
        .await;

    // A platform bug cancels every plan at 09:00.
    for i in 0..n {
        let c = ev(&format!(
            r#"{{"id":"c{i}","at":"2026-12-07T09:00:00Z","cancel":{{"entitlement":"plan:{i}"}}}}"#
        ));
        stack.deliver(&c, c.at).await.unwrap();
    }
    assert!(
        stack.failures.is_empty(),
        "a held revoke is not a failure: {:?}",
        stack.failures
    );
    assert_eq!(
        stack.kisi_state().len(),
        n - 3,
        "only the budget went through"
    );
    let held = holds_of(&stack).await;
    assert_eq!(held.len(), n - 3);
    assert!(
        held.iter()
            .all(|h| h.reduction == Reduction::Revoke && h.trigger == "event")
    );
    let audited = stack
        .engine
        .store()
        .history(held[0].pair.email.as_str(), 10)
        .await
        .unwrap();
    assert!(
        audited.iter().any(|a| a.action == AuditAction::Hold),
        "{audited:?}"
    );

    // Grants still flow during the storm.
    for e in member_with_plan(99, "2026-12-07T09:05:00Z") {
        stack.deliver(&e, e.at).await.unwrap();
    }
    assert_eq!(stack.kisi_state().len(), n - 3 + 1);

    // Reconcile neither revokes the held pairs nor asks for them again; it reports them.
    let r = stack
        .reconcile(at("2026-12-07T09:15:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(
        (r.held, r.braked, r.revokes_wanted),
        (n - 3, true, 0),
        "{r:?}"
    );
    assert_eq!(stack.kisi_state().len(), n - 3 + 1);
    let status = stack
        .engine
        .brake_status(at("2026-12-07T09:15:00Z"))
        .await
        .unwrap();
    // 3 used at 09:00; the limit now follows the 28 pairs reconcile counted (10 % → 2).
    assert_eq!(
        (
            status.holds.len(),
            status.used,
            status.limit,
            status.managed
        ),
        (n - 3, 3, 2, (n - 3 + 1) as u64)
    );

    // The operator looks, and releases one pair, then all of them.
    let first = held[0].pair.clone();
    let done = stack
        .engine
        .release_held(Some(&first), at("2026-12-07T09:20:00Z"))
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].done, "revoked");
    let done = stack
        .engine
        .release_held(None, at("2026-12-07T09:21:00Z"))
        .await
        .unwrap();
    assert_eq!(done.len(), n - 4);
    assert!(holds_of(&stack).await.is_empty());
    let left: Vec<_> = stack.kisi_state().into_iter().collect();
    assert_eq!(
        left,
        // Granted at 09:05 on an open-ended plan: the rolling lease, 30 days.
        vec![(
            "member99@example.com".to_string(),
            101,
            Some("2027-01-06T09:05:00Z".to_string())
        )],
        "only the member whose plan was not cancelled keeps the door"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_revoke_keeps_the_access_until_the_persons_facts_change() {
    let brake = BrakeConfig {
        share: 0.0,
        floor: 0,
        window: Duration::hours(1),
    };
    let mut stack = Stack::braked(MAP, brake).await;
    for e in member_with_plan(1, "2026-12-07T08:00:00Z") {
        stack.deliver(&e, e.at).await.unwrap();
    }
    let c = ev(r#"{"id":"c1","at":"2026-12-07T09:00:00Z","cancel":{"entitlement":"plan:1"}}"#);
    stack.deliver(&c, c.at).await.unwrap();
    assert_eq!(stack.kisi_state().len(), 1, "held");
    let done = stack
        .engine
        .discard_held(None, at("2026-12-07T09:10:00Z"))
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    // Reconcile and an edge leave it alone while nothing changes.
    let r = stack
        .reconcile(at("2026-12-07T09:30:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!((r.held, r.revokes_wanted), (0, 0), "{r:?}");
    stack
        .converge(
            &email(1),
            &BTreeSet::from([GroupId::new(101).unwrap()]),
            at("2026-12-07T09:40:00Z"),
            Trigger::Edge,
        )
        .await;
    assert_eq!(stack.kisi_state().len(), 1, "a discarded revoke came back");
    // Her facts change (the platform sends her member record with a name): at the next
    // converge the rules decide afresh, through the brake, which holds it again (budget 0).
    let m = ev(
        r#"{"id":"m1b","at":"2026-12-07T10:00:00Z","member":{"id":"m1","email":"member1@example.com","name":"Ann"}}"#,
    );
    stack.deliver(&m, m.at).await.unwrap();
    stack
        .converge(
            &email(1),
            &BTreeSet::from([GroupId::new(101).unwrap()]),
            at("2026-12-07T10:00:00Z"),
            Trigger::Edge,
        )
        .await;
    assert_eq!(stack.kisi_state().len(), 1);
    let held = holds_of(&stack).await;
    assert_eq!(held.len(), 1);
    assert!(held[0].discarded.is_none(), "{held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_shortening_leaves_kisis_valid_until_in_place() {
    let brake = BrakeConfig {
        share: 0.0,
        floor: 0,
        window: Duration::hours(1),
    };
    let mut stack = Stack::braked(MAP, brake).await;
    for e in [
        r#"{"id":"b1","at":"2026-12-07T08:00:00Z","member":{"id":"bob","email":"bob@example.com"}}"#,
        r#"{"id":"b2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b","kind":"booking","refs":["resource:room"],"holder":{"member":"bob"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T12:00:00Z"}}"#,
    ] {
        let e = ev(e);
        stack.deliver(&e, e.at).await.unwrap();
    }
    stack.fire_due(at("2026-12-07T10:00:00Z")).await;
    let until = Some("2026-12-07T12:05:00Z".to_string());
    let bob = ("bob@example.com".to_string(), 201, until.clone());
    assert_eq!(stack.kisi_state(), BTreeSet::from([bob.clone()]));
    // The booking is cut to 11:00: a shortening, held (the budget is 0).
    let e = ev(
        r#"{"id":"b3","at":"2026-12-07T10:30:00Z","entitlement":{"id":"booking:b","kind":"booking","refs":["resource:room"],"holder":{"member":"bob"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
    );
    stack.deliver(&e, e.at).await.unwrap();
    assert_eq!(stack.kisi_state(), BTreeSet::from([bob]), "Kisi changed");
    let held = holds_of(&stack).await;
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].reduction,
        Reduction::Shorten {
            from: Some(at("2026-12-07T12:05:00Z")),
            to: Some(at("2026-12-07T11:05:00Z"))
        }
    );
    // At 11:05 the shortened window ends: still held, now as a revoke; Kisi's own
    // valid_until (12:05) still ends the access, and after it the clean-up is no reduction.
    stack.fire_due(at("2026-12-07T11:05:00Z")).await;
    assert_eq!(holds_of(&stack).await[0].reduction, Reduction::Revoke);
    stack
        .converge(
            &Email::parse("bob@example.com").unwrap(),
            &BTreeSet::from([GroupId::new(201).unwrap()]),
            at("2026-12-07T12:10:00Z"),
            Trigger::Reconcile,
        )
        .await;
    assert!(stack.kisi_state().is_empty());
    assert!(holds_of(&stack).await.is_empty());
}
