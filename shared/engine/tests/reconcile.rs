//! Reconcile against moto and the Kisi simulator: an incomplete read revokes nothing, a mass
//! revoke goes through the one brake (its budget revoked, the rest held), drift is repaired or left alone as the rules say, and a run
//! without drift writes nothing.

mod common;

use access_sync_engine::ReconcileConfig;
use access_sync_ports::{AccessControl, AuditAction, AuditLog, FactStore, OwnershipStore};
use access_sync_rules::brake::BrakeConfig;
use access_sync_rules::mapping::NotifyPolicy;
use access_sync_rules::{Email, Event, GroupId};
use common::*;
use kisi_sim::Faults;

const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n\n[[mapping]]\nsource = \"plan\"\nid = \"night\"\ngroups = [102]\n";
const NOW: &str = "2026-12-07T09:00:00Z";

fn member_with_plan(i: usize, plan: &str) -> Vec<Event> {
    vec![
        Event::parse(&format!(r#"{{"id":"m{i}","at":"2026-12-07T08:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#)).unwrap(),
        Event::parse(&format!(r#"{{"id":"p{i}","at":"2026-12-07T08:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:{plan}"],"holder":{{"member":"m{i}"}},"start":"2026-12-01T00:00:00Z"}}}}"#)).unwrap(),
    ]
}

async fn granted(n: usize) -> Stack {
    granted_braked(n, BrakeConfig::default()).await
}

async fn granted_braked(n: usize, brake: BrakeConfig) -> Stack {
    let mut stack = Stack::braked(MAP, brake).await;
    for i in 0..n {
        for ev in member_with_plan(i, "hot-desk") {
            stack.deliver(&ev, ev.at).await.unwrap();
        }
    }
    assert_eq!(stack.kisi_state().len(), n);
    stack
}

fn cfg(_share: f64) -> ReconcileConfig {
    ReconcileConfig::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_drift_writes_nothing() {
    let stack = granted(5).await;
    let before = stack.sim.snapshot();
    let r = stack.reconcile(at(NOW), &cfg(0.10)).await;
    let after = stack.sim.snapshot();
    assert_eq!(
        (
            r.managed,
            r.missing_in_kisi,
            r.window_drift,
            r.not_ours,
            r.revokes_wanted,
            r.converge_requested
        ),
        (5, 0, 0, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(
        after.timeline.len(),
        before.timeline.len(),
        "Kisi was written"
    );
    assert_eq!(after.users.len(), before.users.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_kisi_read_revokes_nothing() {
    let stack = granted(3).await;
    // The platform cancels one plan; only the fact is recorded (its converge was lost).
    let cancel =
        Event::parse(r#"{"id":"c","at":"2026-12-07T08:30:00Z","cancel":{"entitlement":"plan:0"}}"#)
            .unwrap();
    stack.engine.handle_event(&cancel, cancel.at).await.unwrap();
    stack.sim.set_faults(Faults {
        short_page_requests: 1,
        ..Faults::default()
    });
    let r = stack.reconcile(at(NOW), &cfg(1.0)).await;
    assert!(r.aborted.is_some(), "{r:?}");
    assert_eq!(
        stack.kisi_state().len(),
        3,
        "something was revoked after an incomplete read"
    );
    // Once Kisi answers completely, the cancelled plan is revoked.
    stack.sim.set_faults(Faults::default());
    let r = stack.reconcile(at(NOW), &cfg(1.0)).await;
    assert_eq!((r.aborted.clone(), r.revokes_wanted), (None, 1), "{r:?}");
    assert_eq!(stack.kisi_state().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_mapping_revokes_within_the_brake_and_holds_the_rest_for_the_operator() {
    let brake = BrakeConfig {
        share: 0.10,
        floor: 1,
        window: chrono::Duration::hours(1),
    };
    let stack = granted_braked(20, brake).await;
    let v = stack
        .engine
        .store()
        .mapping()
        .await
        .unwrap()
        .unwrap()
        .version;
    // The operator drops the hot-desk mapping by mistake: every member would lose the door.
    let without = "[[mapping]]\nsource = \"plan\"\nid = \"night\"\ngroups = [102]\n";
    stack
        .engine
        .store()
        .put_mapping(without, Some(v))
        .await
        .unwrap();
    stack.engine.forget_mapping();
    // Reconcile asks converge for every revoke; the one brake lets 10 % of 20 through.
    let r = stack.reconcile(at(NOW), &cfg(0.10)).await;
    assert_eq!(r.revokes_wanted, 20, "{r:?}");
    assert_eq!(
        stack.kisi_state().len(),
        18,
        "the brake let more than its budget through"
    );
    let held = stack.engine.holds().await.unwrap();
    assert_eq!(held.len(), 18);
    let audit = (stack.engine.store())
        .history(held[0].pair.email.as_str(), 10)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|a| a.action == AuditAction::Hold),
        "no hold audited: {audit:?}"
    );
    // The next run reports them (the alarm's metric) and does not ask for them again.
    let r = stack.reconcile(at(NOW), &cfg(0.10)).await;
    assert_eq!((r.held, r.braked, r.revokes_wanted), (18, true, 0), "{r:?}");
    assert_eq!(stack.kisi_state().len(), 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_deleted_by_hand_in_kisi_is_granted_again() {
    let stack = granted(2).await;
    let owned = stack
        .engine
        .store()
        .owned_for_email("member1@example.com")
        .await
        .unwrap();
    stack
        .engine
        .kisi()
        .revoke(owned[0].value.assignment_id)
        .await
        .unwrap();
    assert_eq!(stack.kisi_state().len(), 1);
    let r = stack.reconcile(at(NOW), &cfg(0.10)).await;
    assert_eq!(r.missing_in_kisi, 1, "{r:?}");
    assert_eq!(stack.kisi_state().len(), 2, "not repaired");
    let again = stack
        .engine
        .store()
        .owned_for_email("member1@example.com")
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].value.assignment_id, owned[0].value.assignment_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_added_by_hand_is_left_alone_unless_the_rules_grant_it() {
    let stack = granted(1).await;
    let kisi = stack.engine.kisi();
    let g = GroupId::new(101).unwrap();
    // Staff add a friend to the hot-desk group by hand: no plan, not ours.
    let friend = kisi
        .ensure_user(
            &Email::parse("friend@example.com").unwrap(),
            None,
            NotifyPolicy::Never,
        )
        .await
        .unwrap();
    kisi.grant(friend, g, None, NotifyPolicy::Never)
        .await
        .unwrap();
    // A member whose plan grants the group but whose converge was lost, added by hand too.
    for ev in member_with_plan(7, "hot-desk") {
        stack.engine.handle_event(&ev, ev.at).await.unwrap();
    }
    let seven = kisi
        .ensure_user(
            &Email::parse("member7@example.com").unwrap(),
            None,
            NotifyPolicy::Never,
        )
        .await
        .unwrap();
    kisi.grant(seven, g, None, NotifyPolicy::Never)
        .await
        .unwrap();

    let r = stack.reconcile(at(NOW), &cfg(0.10)).await;
    assert_eq!(r.not_ours, 2, "{r:?}");
    assert_eq!(
        stack.kisi_state().len(),
        3,
        "a hand-made assignment was removed"
    );
    assert!(
        stack
            .engine
            .store()
            .owned_for_email("friend@example.com")
            .await
            .unwrap()
            .is_empty(),
        "took over an assignment the rules do not grant"
    );
    assert_eq!(
        stack
            .engine
            .store()
            .owned_for_email("member7@example.com")
            .await
            .unwrap()
            .len(),
        1,
        "the entitled one was not adopted"
    );
}
