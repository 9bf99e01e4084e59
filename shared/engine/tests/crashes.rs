//! A crash between any two side effects of converge — the Kisi call and the ownership write,
//! the revoke and the new grant of a replace, the ownership write and the edge schedule — is
//! repaired by the next trigger (here: the prompt redelivery of the same trigger). One test per
//! crash point; each ends with Kisi's timeline equal to preview's and ownership matching Kisi.

mod common;

use access_sync_ports::OwnershipStore;
use access_sync_rules::{Email, Event};
use chrono::Duration;
use common::crash::{CrashPoint, crash_stack};
use common::*;

const MAP: &str = "[defaults]\ntimezone = \"UTC\"\n\n[[mapping]]\nsource = \"resource\"\nid = \"desk-7\"\ngroups = [301]\n";

fn events() -> Vec<Event> {
    [
        r#"{"id":"m","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com","name":"Joe"}}"#,
        r#"{"id":"b1","at":"2026-12-07T08:05:00Z","entitlement":{"id":"booking:1","kind":"booking","refs":["resource:desk-7"],"holder":{"member":"m1"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
        r#"{"id":"b2","at":"2026-12-07T10:30:00Z","entitlement":{"id":"booking:1","kind":"booking","refs":["resource:desk-7"],"holder":{"member":"m1"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T12:00:00Z"}}"#,
        r#"{"id":"c","at":"2026-12-07T11:30:00Z","cancel":{"entitlement":"booking:1"}}"#,
    ]
    .iter()
    .map(|l| Event::parse(l).unwrap())
    .collect()
}

async fn crash_at(point: CrashPoint, when: &str) {
    let (mut stack, plan) = crash_stack(MAP).await;
    stack.retry_at_once = true;
    let when = at(when);
    let horizon = at("2026-12-08T00:00:00Z");
    let evs = events();
    let mut armed = false;
    for ev in &evs {
        if !armed && ev.at >= when {
            stack.fire_due(when - Duration::seconds(1)).await;
            plan.arm(point);
            armed = true;
        }
        stack.fire_due(ev.at).await;
        stack.deliver(ev, ev.at).await.unwrap();
    }
    if !armed {
        stack.fire_due(when - Duration::seconds(1)).await;
        plan.arm(point);
    }
    stack.fire_due(horizon).await;

    assert_eq!(
        plan.fired(),
        vec![point],
        "the crash at {point:?} never happened"
    );
    assert!(
        !stack.failures.is_empty(),
        "the crash did not fail the converge"
    );
    assert_eq!(
        stack.kisi_timeline(horizon),
        preview_timeline(&stack.mappings, &evs, horizon),
        "after a crash at {point:?}, Kisi's timeline differs from preview"
    );
    // Ownership and Kisi agree: nothing left in Kisi, nothing left owned.
    let owned = stack
        .engine
        .store()
        .owned_for_email("joe@example.com")
        .await
        .unwrap();
    assert!(owned.is_empty(), "ownership left behind: {owned:?}");
    assert!(
        stack.kisi_state().is_empty(),
        "assignments left in Kisi: {:?}",
        stack.kisi_state()
    );
    // One Kisi user, never deleted.
    let users = stack.sim.snapshot().users;
    assert_eq!(
        users
            .iter()
            .filter(|u| Email::parse(&u.email)
                .map(|e| e.as_str() == "joe@example.com")
                .unwrap_or(false))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_creating_the_kisi_user_early_is_repaired() {
    crash_at(CrashPoint::AfterEnsureUser, "2026-12-07T08:05:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_grant_before_the_ownership_write_adopts_the_assignment() {
    crash_at(CrashPoint::AfterGrant, "2026-12-07T09:55:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_ownership_write_after_the_grant_adopts_the_assignment() {
    crash_at(CrashPoint::BeforeOwnershipWrite, "2026-12-07T09:55:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_scheduling_the_close_edge_schedules_it_on_retry() {
    crash_at(CrashPoint::AtSchedule, "2026-12-07T09:55:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_revoke_and_the_new_grant_of_an_extension_is_repaired() {
    crash_at(CrashPoint::AfterRevoke, "2026-12-07T10:30:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_new_grant_of_an_extension_adopts_it() {
    crash_at(CrashPoint::AfterGrant, "2026-12-07T10:30:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_ownership_write_of_an_extension_is_harmless() {
    crash_at(CrashPoint::AfterOwnershipWrite, "2026-12-07T10:30:00Z").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_revoke_before_the_ownership_delete_is_repaired() {
    crash_at(CrashPoint::AfterRevoke, "2026-12-07T11:30:00Z").await;
}
