//! An event delivery that stops for good right after its facts are saved (the function dies
//! there, and the message is then dead-lettered: SQS's `maxReceiveCount` failed receives while
//! its idempotency lock still held) must still leave reconcile a way to the pairs it changed.
//!
//! This is what denied `member134@…` a whole booking interval (170 minutes in groups 103 and
//! 104) in issue 16's live bench at 200 members: at the opening burst the room bookings
//! (`on_booking`'s queue) are handled before the member event that gives their holder an e-mail
//! (`on_plan_change`'s queue), so the member event is the only one whose converge reaches the
//! room's groups. Its handler was cut after the facts save and before the dirty marks were
//! written; the message came back while the lock held until it was dead-lettered. The plan
//! event converged 101 on its own; nothing — no dirty mark, no repair-index entry, no
//! ownership — ever named 103 and 104 again, so reconcile could not repair them.
//!
//! Against moto and the Kisi simulator, with a crash injected after the facts save.

mod common;

use access_sync_engine::ReconcileConfig;
use access_sync_rules::Event;
use common::crash::{CrashPoint, crash_stack};
use common::*;
use std::collections::BTreeSet;

const MAP: &str = r#"
[defaults]
timezone = "Europe/London"
lead_minutes = 10
lag_minutes = 10
blocked = "deny"

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [101]

[[mapping]]
source = "resource"
id = "room-b"
groups = [103, 104]
"#;

fn ev(s: &str) -> Event {
    Event::parse(s).unwrap()
}

/// The bench's events for `member134`, in the order the local stack handled them at 00:00:
/// the bookings first (their holder not yet described: held), then the member, then the plan.
fn events() -> (Vec<Event>, Event, Event) {
    let bookings = vec![
        ev(
            r#"{"id":"d3","at":"2026-03-28T00:00:00Z","entitlement":{"id":"booking:134-0","kind":"booking","refs":["resource:room-b"],"holder":{"member":"m134"},"start":"2026-03-28T10:00:00Z","end":"2026-03-28T12:00:00Z"}}"#,
        ),
        ev(
            r#"{"id":"d4","at":"2026-03-28T00:00:00Z","entitlement":{"id":"booking:134-1","kind":"booking","refs":["resource:room-b"],"holder":{"member":"m134"},"start":"2026-03-28T12:00:00Z","end":"2026-03-28T12:30:00Z"}}"#,
        ),
    ];
    let member = ev(
        r#"{"id":"d1","at":"2026-03-28T00:00:00Z","member":{"id":"m134","email":"member134@example.com","name":"M 134"}}"#,
    );
    let plan = ev(
        r#"{"id":"d2","at":"2026-03-28T00:00:00Z","entitlement":{"id":"plan:134","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m134"},"start":"2026-03-28T00:00:00Z"}}"#,
    );
    (bookings, member, plan)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_event_dead_lettered_after_its_facts_save_is_repaired_by_reconcile() {
    let (mut stack, plan) = crash_stack(MAP).await;
    let start = at("2026-03-28T00:00:00Z");
    let (bookings, member, plan_ev) = events();
    for b in &bookings {
        stack.deliver(b, start).await.unwrap();
    }
    // The member event's handler dies right after its facts are saved; its delivery is never
    // handled again (dead-lettered).
    plan.arm(CrashPoint::AfterFactsSave);
    let crashed = stack.deliver(&member, start).await;
    assert_eq!(plan.fired(), vec![CrashPoint::AfterFactsSave]);
    assert!(crashed.is_err(), "the crash did not fail the delivery");
    stack.deliver(&plan_ev, start).await.unwrap();

    // Reconcile runs every 15 minutes; the first run past the dirty marks' grace must hand the
    // room's pairs to converge (which schedules their opening edge at 09:50).
    let cfg = ReconcileConfig::default();
    let mut repaired = Vec::new();
    for t in ["2026-03-28T00:15:00Z", "2026-03-28T00:30:00Z"] {
        stack.fire_due(at(t)).await;
        let report = stack.reconcile(at(t), &cfg).await;
        repaired.extend(report.to_converge.into_iter());
    }
    let horizon = at("2026-03-29T00:00:00Z");
    stack.fire_due(horizon).await;

    let mut all = bookings.clone();
    all.push(member.clone());
    all.push(plan_ev.clone());
    assert_eq!(
        stack.kisi_timeline(horizon),
        preview_timeline(&stack.mappings, &all, horizon),
        "Kisi's timeline differs from preview (reconcile asked to converge: {repaired:?})"
    );
}

/// A removal whose first attempt died after its facts save (before the delivery was marked
/// done) is applied again by the redelivery: the facts no longer hold the address it touched,
/// so applying it again names no pair. The lock it takes over says an attempt died part-way,
/// and the dirty marks that attempt wrote still name the pairs: the redelivery revokes at once,
/// not at the next reconcile (issue 16's bench: 5 excess minutes after a crashed removal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_redelivered_after_a_crash_past_its_facts_save_revokes_at_once() {
    let (mut stack, plan) = crash_stack(MAP).await;
    let (_, member, plan_ev) = events();
    let start = at("2026-03-28T00:00:00Z");
    stack.deliver(&member, start).await.unwrap();
    stack.deliver(&plan_ev, start).await.unwrap();
    let holds = |state: BTreeSet<(String, u64, Option<String>)>| {
        state
            .iter()
            .any(|(e, g, _)| e == "member134@example.com" && *g == 101)
    };
    assert!(holds(stack.kisi_state()), "the plan did not grant 101");

    let removal =
        ev(r#"{"id":"d9","at":"2026-03-28T08:55:00Z","member":{"id":"m134","removed":true}}"#);
    plan.arm(CrashPoint::AfterFactsSave);
    let crashed = stack.deliver(&removal, at("2026-03-28T08:55:00Z")).await;
    assert_eq!(plan.fired(), vec![CrashPoint::AfterFactsSave]);
    assert!(crashed.is_err(), "the crash did not fail the delivery");
    assert!(
        holds(stack.kisi_state()),
        "nothing converged the crashed attempt's pairs"
    );

    // The redelivery, a minute later, with no reconcile in between.
    stack
        .deliver(&removal, at("2026-03-28T08:56:00Z"))
        .await
        .unwrap();
    assert!(
        !holds(stack.kisi_state()),
        "the redelivered removal did not revoke: {:?}",
        stack.kisi_state()
    );
}
