//! The places mapping (`[[place]]`, issue 17 item 6) over the real adapters (moto, the Kisi
//! simulator over HTTP): a person whom a mapped location reaches gets that location's Kisi
//! place role, one per location, for exactly the windows of the location's mapping; it is
//! taken back when the last mapped location stops reaching them; a place role made by hand is
//! never touched; reconcile repairs place roles both ways; a place Kisi refuses leaves the
//! person's doors alone.

mod common;

use access_sync_engine::{ReconcileConfig, Trigger};
use access_sync_ports::{AccessControl, AuditAction, AuditLog, OwnershipStore};
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, Event, GroupId, Instant};
use common::*;
use std::collections::BTreeSet;

/// Places 11 and 12 exist in Kisi (seeded by [`stack`]); group 900 (staff) is in no mapping.
const MAP: &str = r#"[defaults]
timezone = "UTC"
notify = "never"

[[mapping]]
source = "location"
id = "london"
groups = [101]

[[mapping]]
source = "location"
id = "paris"
groups = [102]

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [103]

[[place]]
location = "london"
place = 11

[[place]]
location = "paris"
place = 12
"#;

const JOE: &str = "joe@example.com";

fn ev(line: &str) -> Event {
    Event::parse(line).unwrap()
}

fn joe() -> Email {
    Email::parse(JOE).unwrap()
}

fn place(p: u64) -> GroupId {
    GroupId::place(p).unwrap()
}

fn member(email: &str, id: &str) -> Event {
    ev(&format!(
        r#"{{"id":"m-{id}","at":"2026-12-07T08:00:00Z","member":{{"id":"{id}","email":"{email}","name":"Joe"}}}}"#
    ))
}

/// An occupancy (a desk) of `member` at `location`, from `start` to `end`.
fn desk(id: &str, member: &str, location: &str, at: &str, start: &str, end: &str) -> Event {
    ev(&format!(
        r#"{{"id":"{id}-{at}","at":"{at}","entitlement":{{"id":"occ:{id}","kind":"occupancy","refs":["location:{location}","desk:{id}"],"holder":{{"member":"{member}"}},"start":"{start}","end":"{end}"}}}}"#
    ))
}

fn cancel(id: &str, at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"x-{id}","at":"{at}","cancel":{{"entitlement":"occ:{id}"}}}}"#
    ))
}

fn plan(at: &str) -> Event {
    ev(&format!(
        r#"{{"id":"p-{at}","at":"{at}","entitlement":{{"id":"plan:1","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m1"}},"start":"2026-12-07T09:00:00Z"}}}}"#
    ))
}

async fn stack(map: &str) -> Stack {
    let stack = Stack::new(map).await;
    stack
        .sim
        .seed_place_with_id(Some(11), "London", "1 Bridge St");
    stack
        .sim
        .seed_place_with_id(Some(12), "Paris", "2 Rue de Rivoli");
    stack
}

/// (e-mail, place, role) of every place role in Kisi.
fn places_in_kisi(stack: &Stack) -> BTreeSet<(String, u64, String)> {
    let snap = stack.sim.snapshot();
    snap.place_role_assignments
        .iter()
        .map(|a| {
            let email = snap
                .users
                .iter()
                .find(|u| u.id == a.user_id)
                .map(|u| u.email.to_lowercase())
                .unwrap_or_default();
            (email, a.place_id, a.role_id.clone())
        })
        .collect()
}

fn joe_has(places: &[u64]) -> BTreeSet<(String, u64, String)> {
    places
        .iter()
        .map(|&p| (JOE.to_string(), p, "place_basic".to_string()))
        .collect()
}

/// The places `preview` says are open for Joe at `t`.
fn preview_places(stack: &Stack, events: &[Event], t: Instant) -> Vec<u64> {
    access_sync_rules::preview::preview(
        &stack.mappings,
        events.to_vec(),
        Some(at("2026-12-31T00:00:00Z")),
    )
    .intervals
    .iter()
    .filter(|i| i.email == joe() && i.from <= t && i.until.is_none_or(|u| u > t))
    .filter_map(|i| i.group.as_place())
    .collect()
}

async fn audit(stack: &Stack, email: &str) -> Vec<(AuditAction, String)> {
    stack
        .engine
        .store()
        .history(email, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.cause))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_location_gives_its_place_until_the_last_entitlement_there_ends() {
    let mut stack = stack(MAP).await;
    let events = vec![
        member(JOE, "m1"),
        plan("2026-12-07T08:00:00Z"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-10T00:00:00Z",
        ),
        desk(
            "d2",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-12T00:00:00Z",
        ),
        desk(
            "d3",
            "m1",
            "paris",
            "2026-12-07T08:00:00Z",
            "2026-12-07T10:00:00Z",
            "2026-12-09T00:00:00Z",
        ),
        // The longer London desk is cancelled: London still reaches Joe through d1.
        cancel("d2", "2026-12-08T12:00:00Z"),
    ];
    let checks: [(&str, &[u64]); 5] = [
        ("2026-12-07T09:30:00Z", &[11]),
        ("2026-12-07T10:00:00Z", &[11, 12]),
        ("2026-12-08T13:00:00Z", &[11, 12]),
        ("2026-12-09T00:00:00Z", &[11]),
        ("2026-12-10T00:00:00Z", &[]),
    ];
    let mut delivered = 0;
    for (t, want) in checks {
        let t = at(t);
        // Only what is new since the last check: the clock never goes back.
        let due: Vec<Event> = events[delivered..]
            .iter()
            .filter(|e| e.at <= t)
            .cloned()
            .collect();
        delivered += due.len();
        stack.play(&due, t).await;
        assert!(stack.failures.is_empty(), "{:?}", stack.failures);
        assert_eq!(
            places_in_kisi(&stack),
            joe_has(want),
            "at {}",
            format_instant(t)
        );
        assert_eq!(
            preview_places(&stack, &events, t),
            want.to_vec(),
            "preview at {}",
            format_instant(t)
        );
    }
    // The doors followed their own mappings; the plan gives no place.
    let doors: BTreeSet<u64> = stack.kisi_state().into_iter().map(|(_, g, _)| g).collect();
    assert_eq!(doors, BTreeSet::from([103]));
    // Nothing of ours is left for the places, and no intent either.
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    let owned: BTreeSet<GroupId> = view.owned.iter().map(|o| o.value.pair.group).collect();
    assert_eq!(owned, BTreeSet::from([GroupId::new(103).unwrap()]));
    assert!(view.intents.is_empty(), "{:?}", view.intents);
    assert!(view.by_hand.is_empty(), "{:?}", view.by_hand);
    let history = stack.engine.store().history(JOE, 100).await.unwrap();
    for p in [11, 12] {
        let of = |action: AuditAction| {
            history
                .iter()
                .filter(|e| {
                    e.action == action && e.pair.as_ref().is_some_and(|x| x.group == place(p))
                })
                .count()
        };
        assert_eq!(
            (of(AuditAction::Grant), of(AuditAction::Revoke)),
            (1, 1),
            "place {p}: {history:?}"
        );
    }
    // Places were created without a window and without Kisi's e-mail.
    let snap = stack.sim.snapshot();
    assert!(snap.emails.is_empty(), "{:?}", snap.emails);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_role_made_by_hand_is_never_changed_or_deleted() {
    let mut stack = stack(MAP).await;
    // Joe's London place role and Ann's Paris place manager role, both made in the dashboard.
    let joe_user = stack.sim.seed_user(JOE, "Joe", None);
    let joes = stack
        .sim
        .assign_place_by_hand(joe_user, 11, "place_basic")
        .unwrap();
    let ann_user = stack.sim.seed_user("ann@example.com", "Ann", None);
    let anns = stack
        .sim
        .assign_place_by_hand(ann_user, 12, "place_manager")
        .unwrap();
    let events = vec![
        member(JOE, "m1"),
        member("ann@example.com", "m2"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-08T00:00:00Z",
        ),
        desk(
            "d2",
            "m2",
            "paris",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-08T00:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-07T12:00:00Z")).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    let expected = BTreeSet::from([
        (JOE.to_string(), 11, "place_basic".to_string()),
        (
            "ann@example.com".to_string(),
            12,
            "place_manager".to_string(),
        ),
    ]);
    assert_eq!(places_in_kisi(&stack), expected);
    // Their doors are ours.
    let doors: BTreeSet<u64> = stack.kisi_state().into_iter().map(|(_, g, _)| g).collect();
    assert_eq!(doors, BTreeSet::from([101, 102]));
    for (email, id, p) in [(JOE, joes, 11), ("ann@example.com", anns, 12)] {
        let view = stack.engine.store().owner_view(email).await.unwrap();
        assert!(
            !view.owned.iter().any(|o| o.value.pair.group == place(p)),
            "{view:?}"
        );
        let held: Vec<u64> = view.by_hand.iter().map(|h| h.assignment_id).collect();
        assert_eq!(held, vec![id], "{email}");
        let log = audit(&stack, email).await;
        assert!(
            log.iter()
                .any(|(a, c)| *a == AuditAction::ByHand && c.contains(&id.to_string())),
            "{log:?}"
        );
    }

    // The desks end and reconcile runs: doors close, the hand-made place roles stay as they are.
    stack.play(&[], at("2026-12-09T00:00:00Z")).await;
    let report = stack
        .reconcile(at("2026-12-09T00:00:00Z"), &ReconcileConfig::default())
        .await;
    assert!(report.aborted.is_none(), "{report:?}");
    assert!(stack.kisi_state().is_empty(), "{:?}", stack.kisi_state());
    let snap = stack.sim.snapshot();
    let ids: BTreeSet<u64> = snap.place_role_assignments.iter().map(|a| a.id).collect();
    assert_eq!(ids, BTreeSet::from([joes, anns]));
    assert_eq!(places_in_kisi(&stack), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_place_roles_both_ways() {
    let mut stack = stack(MAP).await;
    let events = vec![
        member(JOE, "m1"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-20T00:00:00Z",
        ),
        desk(
            "d3",
            "m1",
            "paris",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-20T00:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-07T10:00:00Z")).await;
    assert_eq!(places_in_kisi(&stack), joe_has(&[11, 12]));

    // Someone deletes our London place role in Kisi: reconcile grants it again.
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    let london = view
        .owned
        .iter()
        .find(|o| o.value.pair.group == place(11))
        .unwrap();
    assert_eq!(london.value.valid_until, None, "a place role has no window");
    stack
        .engine
        .kisi()
        .revoke(london.value.assignment_id)
        .await
        .unwrap();
    assert_eq!(places_in_kisi(&stack), joe_has(&[12]));
    let now = at("2026-12-07T11:00:00Z");
    let report = stack.reconcile(now, &ReconcileConfig::default()).await;
    assert_eq!(report.missing_in_kisi, 1, "{report:?}");
    assert_eq!(places_in_kisi(&stack), joe_has(&[11, 12]));

    // The Paris desk is cancelled but the converge is lost: reconcile takes the place back.
    let now = at("2026-12-07T12:00:00Z");
    stack
        .engine
        .handle_event(&cancel("d3", "2026-12-07T12:00:00Z"), now)
        .await
        .unwrap();
    assert_eq!(
        places_in_kisi(&stack),
        joe_has(&[11, 12]),
        "nothing converged yet"
    );
    let report = stack
        .reconcile(at("2026-12-07T12:30:00Z"), &ReconcileConfig::default())
        .await;
    assert!(report.revokes_wanted >= 2, "door and place: {report:?}");
    assert_eq!(places_in_kisi(&stack), joe_has(&[11]));
    let doors: BTreeSet<u64> = stack.kisi_state().into_iter().map(|(_, g, _)| g).collect();
    assert_eq!(doors, BTreeSet::from([101]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_kisi_refuses_leaves_the_doors_alone() {
    // Place 77 does not exist in Kisi: its grant is refused (404).
    let map = MAP.replace("place = 12", "place = 77");
    let mut stack = stack(&map).await;
    let events = vec![
        member(JOE, "m1"),
        desk(
            "d3",
            "m1",
            "paris",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-08T00:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-07T10:00:00Z")).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    let doors: BTreeSet<u64> = stack.kisi_state().into_iter().map(|(_, g, _)| g).collect();
    assert_eq!(doors, BTreeSet::from([102]));
    assert!(places_in_kisi(&stack).is_empty());
    let log = audit(&stack, JOE).await;
    assert!(
        log.iter()
            .any(|(a, c)| *a == AuditAction::Skip && c.contains("Kisi refused the place role")),
        "{log:?}"
    );
    // The next converge tries again (an operator may have created the place meanwhile).
    stack
        .converge(
            &joe(),
            &BTreeSet::from([place(77)]),
            at("2026-12-07T11:00:00Z"),
            Trigger::Event,
        )
        .await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_revoke_goes_through_the_one_brake() {
    let brake = access_sync_rules::brake::BrakeConfig {
        share: 0.0,
        floor: 0,
        window: chrono::Duration::hours(1),
    };
    let mut stack = Stack::braked(MAP, brake).await;
    stack
        .sim
        .seed_place_with_id(Some(11), "London", "1 Bridge St");
    let events = vec![
        member(JOE, "m1"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-20T00:00:00Z",
        ),
        cancel("d1", "2026-12-07T12:00:00Z"),
    ];
    stack.play(&events, at("2026-12-07T12:30:00Z")).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    // No budget: the door and the place are both held, and both stay in Kisi.
    assert_eq!(places_in_kisi(&stack), joe_has(&[11]));
    assert_eq!(stack.kisi_state().len(), 1);
    let held: BTreeSet<GroupId> = stack
        .engine
        .holds()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.pair.group)
        .collect();
    assert_eq!(
        held,
        BTreeSet::from([GroupId::new(101).unwrap(), place(11)])
    );
    // An operator releases them: both go.
    let done = stack
        .engine
        .release_held(None, at("2026-12-07T13:00:00Z"))
        .await
        .unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(places_in_kisi(&stack).is_empty());
    assert!(stack.kisi_state().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_place_to_the_mapping_gives_it_and_removing_it_takes_it_back() {
    let without = MAP.split("[[place]]").next().unwrap().to_string();
    let mut stack = stack(&without).await;
    let events = vec![
        member(JOE, "m1"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-20T00:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-07T10:00:00Z")).await;
    assert!(places_in_kisi(&stack).is_empty());
    let opts = access_sync_engine::ApplyOptions::default();
    let now = at("2026-12-07T11:00:00Z");
    stack.sim.set_now(Some(now));
    let done = stack.engine.apply_mapping(MAP, now, &opts).await.unwrap();
    assert!(done.applied, "{done:?}");
    assert_eq!(places_in_kisi(&stack), joe_has(&[11]));
    let now = at("2026-12-07T12:00:00Z");
    stack.sim.set_now(Some(now));
    let done = stack
        .engine
        .apply_mapping(&without, now, &opts)
        .await
        .unwrap();
    assert!(done.applied, "{done:?}");
    assert!(places_in_kisi(&stack).is_empty());
    // The door stayed.
    let doors: BTreeSet<u64> = stack.kisi_state().into_iter().map(|(_, g, _)| g).collect();
    assert_eq!(doors, BTreeSet::from([101]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excluded_person_gets_no_place() {
    let mut stack = stack(MAP).await;
    let events = vec![
        member(JOE, "m1"),
        desk(
            "d1",
            "m1",
            "london",
            "2026-12-07T08:00:00Z",
            "2026-12-07T09:00:00Z",
            "2026-12-20T00:00:00Z",
        ),
    ];
    stack.play(&events, at("2026-12-07T10:00:00Z")).await;
    assert_eq!(places_in_kisi(&stack), joe_has(&[11]));
    // A person deletes Joe's Kisi user (and with it his door and place roles).
    let user = stack
        .sim
        .snapshot()
        .users
        .iter()
        .find(|u| u.email == JOE)
        .unwrap()
        .id;
    assert!(stack.sim.delete_user_by_hand(user));
    // A desk in Paris arrives: Joe is excluded, nothing is created for him.
    let later = desk(
        "d3",
        "m1",
        "paris",
        "2026-12-07T11:00:00Z",
        "2026-12-07T11:00:00Z",
        "2026-12-20T00:00:00Z",
    );
    stack.play(&[later], at("2026-12-07T12:00:00Z")).await;
    assert!(stack.failures.is_empty(), "{:?}", stack.failures);
    let view = stack.engine.store().owner_view(JOE).await.unwrap();
    assert!(view.excluded.is_some(), "{view:?}");
    assert!(places_in_kisi(&stack).is_empty());
    assert!(stack.kisi_state().is_empty());
    assert!(stack.sim.snapshot().users.iter().all(|u| u.email != JOE));
}
