//! Issue 16, items 1, 4 and 5 over the real adapters (moto, the Kisi simulator over HTTP):
//! access-sync touches only the assignments it made (even across a crash or a dropped
//! connection), leaves hand-made ones exactly as they are, respects an operator's deletion of a
//! Kisi user until the exclusion is lifted, and bounds every assignment by a renewed lease.

mod common;

use access_sync_engine::{Included, ReconcileConfig, Trigger};
use access_sync_ports::{AccessControl, AuditAction, AuditLog, OwnershipStore};
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, Event, GroupId};
use chrono::Duration;
use common::crash::{CrashPoint, crash_stack};
use common::*;
use kisi_sim::{EmailKind, Faults};
use std::collections::BTreeSet;

const MAP: &str = r#"[defaults]
timezone = "UTC"
notify = "always"

[[mapping]]
source = "checkin"
id = "london"
groups = [101]

[[mapping]]
source = "resource"
id = "desk-7"
groups = [101]

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [102]

[[mapping]]
source = "resource"
id = "room-1"
groups = [103]
"#;

const JOE: &str = "joe@example.com";

fn ev(line: &str) -> Event {
    Event::parse(line).unwrap()
}

fn member() -> Event {
    ev(
        r#"{"id":"m","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com","name":"Joe"}}"#,
    )
}

fn plan(at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"p-{at}","at":"{at}","entitlement":{{"id":"plan:1","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m1"}},"start":"2026-12-01T00:00:00Z"}}}}"#
    ))
}

fn booking(id: &str, resource: &str, at: &str, start: &str, end: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}","at":"{at}","entitlement":{{"id":"booking:{id}","kind":"booking","refs":["resource:{resource}"],"holder":{{"member":"m1"}},"start":"{start}","end":"{end}"}}}}"#
    ))
}

fn joe() -> Email {
    Email::parse(JOE).unwrap()
}

fn group(g: i64) -> GroupId {
    GroupId::new(g).unwrap()
}

async fn audit_actions(stack: &Stack) -> Vec<(AuditAction, String)> {
    stack
        .engine
        .store()
        .history(JOE, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.cause))
        .collect()
}

fn joe_in_kisi(stack: &Stack) -> Option<u64> {
    stack
        .sim
        .snapshot()
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(JOE))
        .map(|u| u.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_made_assignment_survives_a_check_in_a_booking_and_their_end_untouched() {
    let mut stack = Stack::new(MAP).await;
    // The landlord's permanent front-door access, made by hand in the dashboard.
    let user = stack.sim.seed_user(JOE, "Joe", None);
    let hand = stack
        .sim
        .assign_by_hand(user, 101, "group_basic", None)
        .unwrap();
    // And a manager's role in the meeting room, also by hand.
    let manager = stack
        .sim
        .assign_by_hand(user, 103, "group_manager", None)
        .unwrap();
    let events = [
        member(),
        ev(
            r#"{"id":"c1","at":"2026-12-07T08:40:00Z","entitlement":{"id":"checkin:c-1","kind":"checkin","refs":["checkin:london"],"holder":{"member":"m1"},"start":"2026-12-07T08:40:00Z"}}"#,
        ),
        booking(
            "b1",
            "desk-7",
            "2026-12-07T09:00:00Z",
            "2026-12-08T10:00:00Z",
            "2026-12-08T11:00:00Z",
        ),
        booking(
            "b2",
            "room-1",
            "2026-12-07T09:05:00Z",
            "2026-12-07T14:00:00Z",
            "2026-12-07T15:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-09T00:00:00Z")).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);

    // Same id, still no end, never deleted, and nothing else of Joe's in the group.
    let snap = stack.sim.snapshot();
    let in_101: Vec<_> = snap
        .role_assignments
        .iter()
        .filter(|a| a.user_id == user && a.group_id == 101)
        .collect();
    assert_eq!(in_101.len(), 1, "{in_101:?}");
    assert_eq!(in_101[0].id, hand);
    assert_eq!(in_101[0].valid_until, None, "a valid_until was added");
    assert!(
        !snap
            .timeline
            .iter()
            .any(|e| e.group_id == 101 && e.action != kisi_sim::TimelineAction::Created),
        "something in group 101 was deleted: {:?}",
        snap.timeline
    );
    assert_eq!(
        snap.timeline.iter().filter(|e| e.group_id == 101).count(),
        1,
        "access-sync created something in group 101: {:?}",
        snap.timeline
    );
    let in_103: Vec<_> = snap
        .role_assignments
        .iter()
        .filter(|a| a.group_id == 103)
        .collect();
    assert_eq!(in_103.len(), 1, "{in_103:?}");
    assert_eq!(
        (
            in_103[0].id,
            in_103[0].role_id.as_str(),
            in_103[0].valid_until
        ),
        (manager, "group_manager", None)
    );
    assert_eq!(
        snap.timeline.iter().filter(|e| e.group_id == 103).count(),
        1,
        "{:?}",
        snap.timeline
    );

    // Recorded as held by hand, never as ours; audited once; no intent left behind.
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.owned.is_empty(), "{view:?}");
    let held: BTreeSet<u64> = view.by_hand.iter().map(|h| h.assignment_id).collect();
    assert_eq!(held, BTreeSet::from([hand, manager]));
    assert!(view.intents.is_empty(), "{:?}", view.intents);
    let audit = audit_actions(&stack).await;
    let by_hand: Vec<_> = audit
        .iter()
        .filter(|(a, _)| *a == AuditAction::ByHand)
        .collect();
    assert_eq!(by_hand.len(), 2, "{audit:?}");
    assert!(by_hand[0].1.contains("held by hand"), "{}", by_hand[0].1);
    assert!(
        !audit
            .iter()
            .any(|(a, _)| matches!(a, AuditAction::Grant | AuditAction::Revoke)),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_hand_made_assignment_is_gone_converge_grants_ours() {
    let mut stack = Stack::new(MAP).await;
    let user = stack.sim.seed_user(JOE, "Joe", None);
    let hand = stack
        .sim
        .assign_by_hand(user, 103, "group_basic", None)
        .unwrap();
    let b = booking(
        "b1",
        "room-1",
        "2026-12-07T08:00:00Z",
        "2026-12-07T10:00:00Z",
        "2026-12-07T12:00:00Z",
    );
    stack
        .deliver(&member(), at("2026-12-07T08:00:00Z"))
        .await
        .unwrap();
    stack.deliver(&b, at("2026-12-07T08:00:00Z")).await.unwrap();
    stack.fire_due(at("2026-12-07T10:00:00Z")).await;
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert_eq!(view.by_hand.len(), 1, "{view:?}");
    assert!(view.owned.is_empty());

    // Staff remove their hand-made access while the booking still grants the room.
    stack.engine.kisi().revoke(hand).await.unwrap();
    stack
        .converge(
            &joe(),
            &BTreeSet::from([group(103)]),
            at("2026-12-07T10:30:00Z"),
            Trigger::Reconcile,
        )
        .await;
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.by_hand.is_empty(), "{view:?}");
    assert_eq!(view.owned.len(), 1);
    assert!(
        stack
            .kisi_state()
            .contains(&(JOE.into(), 103, Some("2026-12-07T12:05:00Z".into()))),
        "{:?}",
        stack.kisi_state()
    );
    // Ours is ours: it is revoked when the booking ends.
    stack.fire_due(at("2026-12-07T13:00:00Z")).await;
    assert!(stack.kisi_state().is_empty(), "{:?}", stack.kisi_state());
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_kisis_create_before_the_ownership_write_is_still_ours() {
    let (mut stack, plan_) = crash_stack(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    plan_.arm(CrashPoint::AfterGrant);
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    assert_eq!(plan_.fired(), vec![CrashPoint::AfterGrant]);
    assert_eq!(stack.retry.len(), 1, "the crash did not fail the converge");
    assert_eq!(stack.kisi_state().len(), 1, "Kisi's create happened");
    assert!(
        stack
            .engine
            .store()
            .owned_for_email(JOE)
            .await
            .unwrap()
            .is_empty()
    );

    // The redelivery comes five minutes later: the lease it asks for is another one.
    let t1 = t0 + Duration::minutes(5);
    stack.retry_failed(t1).await;
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert_eq!(view.owned.len(), 1, "{view:?}");
    assert!(view.by_hand.is_empty(), "taken for hand-made: {view:?}");
    assert!(view.intents.is_empty(), "{:?}", view.intents);
    let until = format_instant(t1 + Duration::days(30));
    assert_eq!(
        stack.kisi_state(),
        BTreeSet::from([(JOE.to_string(), 102, Some(until))])
    );
    let audit = stack.engine.store().history(JOE, 100).await.unwrap();
    assert!(
        audit.iter().any(
            |e| e.action == AuditAction::Grant && e.cause.contains("found after a lost answer")
        ),
        "{audit:?}"
    );
    // Ours, so reconcile has nothing foreign to report.
    let r = stack.reconcile(t1, &ReconcileConfig::default()).await;
    assert_eq!(r.not_ours, 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_whose_connection_drops_after_kisi_did_the_work_ends_up_owned() {
    let mut stack = Stack::new(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    // Joe's user is known now, so the booking's converge starts with the create itself.
    stack.sim.set_faults(Faults {
        drop_connection_requests: 1,
        ..Faults::default()
    });
    let b = booking(
        "b1",
        "room-1",
        "2026-12-07T08:10:00Z",
        "2026-12-07T10:00:00Z",
        "2026-12-07T11:00:00Z",
    );
    stack.deliver(&b, at("2026-12-07T10:00:00Z")).await.unwrap();
    assert_eq!(stack.sim.snapshot().requests.dropped_connections, 1);
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    let owned = stack.engine.store().owned_for_email(JOE).await.unwrap();
    assert_eq!(owned.len(), 2, "{owned:?}");
    let r = stack
        .reconcile(at("2026-12-07T10:01:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(r.not_ours, 0, "an orphan: {r:?}");
    // And it closes with the booking.
    stack.fire_due(at("2026-12-07T12:00:00Z")).await;
    assert!(
        !stack.kisi_state().iter().any(|(_, g, _)| *g == 103),
        "{:?}",
        stack.kisi_state()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_that_lost_every_answer_is_undone_when_its_window_has_closed() {
    let mut stack = Stack::new(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    // The create and its retry (a 409) both lose their answers: the converge fails.
    stack.sim.set_faults(Faults {
        drop_connection_requests: 2,
        ..Faults::default()
    });
    let b = booking(
        "b1",
        "room-1",
        "2026-12-07T08:10:00Z",
        "2026-12-07T10:00:00Z",
        "2026-12-07T11:00:00Z",
    );
    stack.deliver(&b, at("2026-12-07T10:00:00Z")).await.unwrap();
    assert_eq!(stack.retry.len(), 1, "{:?}", stack.failures);
    assert!(
        stack.kisi_state().iter().any(|(_, g, _)| *g == 103),
        "Kisi did the work"
    );
    // The redelivery only comes after the booking (and its lag) is over.
    stack.retry_failed(at("2026-12-07T11:30:00Z")).await;
    assert!(stack.retry.is_empty(), "{:?}", stack.failures);
    assert!(
        !stack.kisi_state().iter().any(|(_, g, _)| *g == 103),
        "the orphan is still in Kisi: {:?}",
        stack.kisi_state()
    );
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.intents.is_empty(), "{:?}", view.intents);
    let r = stack
        .reconcile(at("2026-12-07T11:31:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(r.not_ours, 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_by_hand_is_not_created_again_until_the_exclusion_is_lifted() {
    let mut stack = Stack::new(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    let user = joe_in_kisi(&stack).expect("access-sync created Joe's user");

    // The operator removes Joe from Kisi to take his access away (he keeps his plan).
    assert!(stack.sim.delete_user_by_hand(user));
    let t1 = at("2026-12-07T09:00:00Z");
    let r = stack.reconcile(t1, &ReconcileConfig::default()).await;
    assert_eq!(r.missing_in_kisi, 1, "{r:?}");
    assert_eq!(joe_in_kisi(&stack), None, "the user was created again");
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    let x = view.excluded.clone().expect("an exclusion is recorded");
    assert_eq!(x.user_id, user);
    assert!(view.owned.is_empty(), "{view:?}");
    let audit = audit_actions(&stack).await;
    assert!(
        audit
            .iter()
            .any(|(a, c)| *a == AuditAction::Exclude && c.contains("deleted in Kisi")),
        "{audit:?}"
    );

    // A booking, a reconcile, the plan again: still nobody created, nothing granted.
    let b = booking(
        "b1",
        "room-1",
        "2026-12-07T09:10:00Z",
        "2026-12-07T10:00:00Z",
        "2026-12-07T11:00:00Z",
    );
    stack.deliver(&b, at("2026-12-07T09:10:00Z")).await.unwrap();
    stack.fire_due(at("2026-12-07T10:30:00Z")).await;
    stack
        .deliver(&plan("2026-12-07T10:31:00Z"), at("2026-12-07T10:31:00Z"))
        .await
        .unwrap();
    stack
        .reconcile(at("2026-12-07T10:32:00Z"), &ReconcileConfig::default())
        .await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    assert_eq!(joe_in_kisi(&stack), None, "the user was created again");
    assert!(stack.kisi_state().is_empty(), "{:?}", stack.kisi_state());

    // The operator lifts it: the user is created again and the rules apply.
    let t2 = at("2026-12-07T10:40:00Z");
    stack.sim.set_now(Some(t2));
    let lifted = stack.engine.include(&joe(), t2).await.unwrap();
    assert!(matches!(lifted, Included::Lifted(_)), "{lifted:?}");
    let again = joe_in_kisi(&stack).expect("the user is created once lifted");
    assert_ne!(again, user);
    let state = stack.kisi_state();
    assert!(state.iter().any(|(_, g, _)| *g == 102), "{state:?}");
    assert!(state.iter().any(|(_, g, _)| *g == 103), "{state:?}");
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.excluded.is_none());
    assert!(
        audit_actions(&stack)
            .await
            .iter()
            .any(|(a, _)| *a == AuditAction::Include)
    );
    // Lifting twice is nothing.
    assert_eq!(
        stack.engine.include(&joe(), t2).await.unwrap(),
        Included::NotExcluded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_deleted_by_hand_while_the_user_remains_is_granted_again() {
    let mut stack = Stack::new(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    let owned = stack.engine.store().owned_for_email(JOE).await.unwrap();
    stack
        .engine
        .kisi()
        .revoke(owned[0].value.assignment_id)
        .await
        .unwrap();
    let r = stack
        .reconcile(at("2026-12-07T09:00:00Z"), &ReconcileConfig::default())
        .await;
    assert_eq!(r.missing_in_kisi, 1, "{r:?}");
    assert_eq!(stack.kisi_state().len(), 1, "{:?}", stack.kisi_state());
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.excluded.is_none());
    assert_eq!(view.owned.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_ended_grant_carries_a_lease_and_is_renewed_without_a_second_invitation() {
    let mut stack = Stack::new(MAP).await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack.deliver(&member(), t0).await.unwrap();
    stack.deliver(&plan(&format_instant(t0)), t0).await.unwrap();
    let lease_end = t0 + Duration::days(30);
    assert_eq!(
        stack.kisi_state(),
        BTreeSet::from([(JOE.to_string(), 102, Some(format_instant(lease_end)))])
    );
    let invitations = |stack: &Stack| {
        stack
            .sim
            .snapshot()
            .emails
            .iter()
            .filter(|e| e.kind == EmailKind::AccessGranted)
            .count()
    };
    assert_eq!(invitations(&stack), 1);
    // The renewal is scheduled like any edge: 20 days in, with no event at all.
    let renew = t0 + Duration::days(20);
    assert!(
        stack.schedules().await.values().any(|e| e.edge == renew),
        "{:?}",
        stack.schedules().await
    );
    stack.fire_due(t0 + Duration::days(21)).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    assert_eq!(
        stack.kisi_state(),
        BTreeSet::from([(
            JOE.to_string(),
            102,
            Some(format_instant(renew + Duration::days(30)))
        )])
    );
    assert_eq!(invitations(&stack), 1, "the renewal sent an invitation");
    // Access never had a gap, and the next renewal is scheduled.
    assert_eq!(
        stack.kisi_timeline(t0 + Duration::days(21)),
        vec![(JOE.to_string(), 102, format_instant(t0), None)]
    );
    assert!(
        stack
            .schedules()
            .await
            .values()
            .any(|e| e.edge == renew + Duration::days(20))
    );
    // A reconcile in between sees no drift.
    let r = stack
        .reconcile(t0 + Duration::days(22), &ReconcileConfig::default())
        .await;
    assert_eq!(r.converge_requested, 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kisi_that_answers_404_to_everything_excludes_nobody() {
    use access_sync_kisi::{ApiKey, KisiAccess, KisiClient, KisiConfig};
    use access_sync_ports::OwnershipChange;
    // A wrong base URL: every path is 404, the user's too.
    let stack = Stack::wrapped(
        MAP,
        |s| s,
        |k| {
            let base = format!("{}/not-kisi", k.client().base_url());
            KisiAccess::new(KisiClient::new(KisiConfig::new(base, ApiKey::new("e2e-key"))).unwrap())
        },
        |e| e,
    )
    .await;
    let t0 = at("2026-12-07T08:00:00Z");
    stack
        .engine
        .store()
        .apply_ownership(
            &[OwnershipChange::RememberUser {
                email: JOE.into(),
                user_id: 1001,
            }],
            &[],
        )
        .await
        .unwrap();
    for e in [member(), plan(&format_instant(t0))] {
        stack.engine.handle_event(&e, t0).await.unwrap();
    }
    let r = stack
        .engine
        .converge(&joe(), &BTreeSet::from([group(102)]), t0, Trigger::Event)
        .await;
    assert!(r.is_err(), "{r:?}");
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.excluded.is_none(), "{view:?}");
    assert_eq!(view.kisi_user, Some(1001));
}
