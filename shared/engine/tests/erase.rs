//! Erasing one person on request (`access-sync erase`), over DynamoDB and Scheduler on moto and
//! the Kisi simulator: refused while they have access; with `force` their Kisi access is taken
//! back and nothing in the table names them any more; once their access has ended it needs no
//! force; other people are untouched.

mod common;

use access_sync_aws::testing::shared;
use access_sync_ports::{AuditLog, FactStore, OwnershipStore};
use access_sync_rules::{Email, Event};
use common::*;

const MAPPING: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201]\n";

fn events() -> Vec<Event> {
    [
        r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m-ann","email":"Ann@Acme.io","name":"Ann Archer"}}"#,
        r#"{"id":"e2","at":"2026-12-07T08:00:00Z","member":{"id":"m-bob","email":"bob@acme.io","name":"Bob Brown"}}"#,
        r#"{"id":"e3","at":"2026-12-07T08:00:00Z","team":{"id":"t-acme","members":["m-ann","m-bob"]}}"#,
        r#"{"id":"e4","at":"2026-12-07T08:01:00Z","entitlement":{"id":"plan:acme","kind":"plan","refs":["plan:hot-desk"],"holder":{"team":"t-acme"},"start":"2026-12-01T00:00:00Z","end":"2026-12-20T00:00:00Z"}}"#,
        r#"{"id":"e5","at":"2026-12-07T08:02:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:room"],"holder":{"member":"m-ann"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#,
        r#"{"id":"e6","at":"2026-12-07T08:03:00Z","member":{"id":"m-cat","email":"cat@studio.dev","name":"Cat Cole"}}"#,
        r#"{"id":"e7","at":"2026-12-07T08:03:00Z","entitlement":{"id":"booking:c1","kind":"booking","refs":["resource:room"],"holder":{"member":"m-cat"},"start":"2026-12-07T09:00:00Z","end":"2026-12-07T09:30:00Z"}}"#,
    ]
    .iter()
    .map(|l| Event::parse(l).unwrap())
    .collect()
}

async fn played() -> Stack {
    let mut stack = Stack::new(MAPPING).await;
    for ev in events() {
        stack.deliver(&ev, ev.at).await.unwrap();
    }
    stack
}

/// Every item of the table that contains `text` anywhere (keys or attributes), except the
/// idempotency records (hashed keys; they expire within hours: see `erase`'s docs).
async fn items_naming(table: &str, text: &str) -> Vec<String> {
    let ddb = aws_sdk_dynamodb::Client::new(&shared().sdk_config().await);
    let items = ddb.scan().table_name(table).send().await.unwrap();
    items
        .items()
        .iter()
        .map(|i| format!("{i:?}"))
        .filter(|i| !i.contains("IDEM#") && i.to_lowercase().contains(&text.to_lowercase()))
        .collect()
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_someone_with_access_is_refused_and_changes_nothing() {
    let stack = played().await;
    let now = at("2026-12-07T09:00:00Z");
    let ann = email("ann@acme.io");
    let before = stack
        .engine
        .store()
        .history(ann.as_str(), 100)
        .await
        .unwrap();
    assert!(!before.is_empty());

    let r = stack.engine.erase_person(&ann, now, false).await.unwrap();
    assert!(r.refused.is_some(), "{r:?}");
    let why = r.access.join("\n");
    assert!(
        why.contains("group 101 is open until 2026-12-20T00:00:00Z"),
        "{why}"
    );
    assert!(
        why.contains("group 201 opens at 2026-12-07T09:55:00Z"),
        "{why}"
    );
    assert!(why.contains("holds their Kisi assignment"), "{why}");
    assert_eq!(r.erased, Default::default());
    assert_eq!(
        stack
            .engine
            .store()
            .history(ann.as_str(), 100)
            .await
            .unwrap(),
        before
    );
    assert!(
        !stack
            .engine
            .store()
            .facts_for_email(&ann)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        stack
            .kisi_state()
            .iter()
            .any(|(e, g, _)| e == "ann@acme.io" && *g == 101)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_erasure_revokes_and_leaves_nothing_that_names_the_person() {
    let stack = played().await;
    let now = at("2026-12-07T09:00:00Z");
    let ann = email("ann@acme.io");
    assert!(!items_naming(&stack.table, "ann@acme.io").await.is_empty());
    assert!(
        stack
            .schedules()
            .await
            .values()
            .any(|e| e.email == "ann@acme.io")
    );

    let r = stack.engine.erase_person(&ann, now, true).await.unwrap();
    assert_eq!(r.refused, None);
    assert_eq!(r.members, vec!["m-ann".into()]);
    assert_eq!(r.erased.member_records, 1);
    assert!(r.erased.audit_entries >= 2, "{r:?}"); // the grant, and the forced revoke
    assert!(r.erased.rewritten >= 2, "{r:?}"); // the team, its plan, her booking
    assert!(r.kisi_changes >= 1, "{r:?}");

    // Kisi: her access is gone, Bob's is not.
    let kisi = stack.kisi_state();
    assert!(!kisi.iter().any(|(e, _, _)| e == "ann@acme.io"), "{kisi:?}");
    assert!(
        kisi.iter().any(|(e, g, _)| e == "bob@acme.io" && *g == 101),
        "{kisi:?}"
    );
    // The table: nothing names her, by address or by name; no schedule either.
    assert_eq!(
        items_naming(&stack.table, "ann@acme.io").await,
        Vec::<String>::new()
    );
    assert_eq!(
        items_naming(&stack.table, "Ann Archer").await,
        Vec::<String>::new()
    );
    assert!(
        !stack
            .schedules()
            .await
            .values()
            .any(|e| e.email == "ann@acme.io")
    );
    assert!(
        stack
            .engine
            .store()
            .history(ann.as_str(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let view = stack.engine.store().owner_view(ann.as_str()).await.unwrap();
    assert!(
        view.owned.is_empty() && view.kisi_user.is_none(),
        "{view:?}"
    );
    // Bob's facts and history are intact, and converging him again changes nothing.
    let bob = email("bob@acme.io");
    assert!(!items_naming(&stack.table, "Bob Brown").await.is_empty());
    assert!(
        !stack
            .engine
            .store()
            .history(bob.as_str(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let steps = stack
        .engine
        .converge(
            &bob,
            &[access_sync_rules::GroupId::new(101).unwrap()].into(),
            now,
            access_sync_engine::Trigger::Event,
        )
        .await
        .unwrap();
    assert!(
        steps
            .iter()
            .all(|s| matches!(s.decision, access_sync_rules::converge::Decision::Keep)),
        "{steps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_access_has_ended_erasure_needs_no_force() {
    let mut stack = played().await;
    let cat = email("cat@studio.dev");
    // Her booking: 08:55 to 09:35 with lead and lag; the close edge fires.
    stack.fire_due(at("2026-12-07T12:00:00Z")).await;
    assert!(
        !stack
            .kisi_state()
            .iter()
            .any(|(e, _, _)| e == "cat@studio.dev")
    );
    let later = at("2026-12-08T12:00:00Z");
    let r = stack.engine.erase_person(&cat, later, false).await.unwrap();
    assert_eq!(r.refused, None, "{r:?}");
    assert!(r.access.is_empty(), "{r:?}");
    assert_eq!(r.kisi_changes, 0);
    assert_eq!(r.erased.audit_entries, 2, "{r:?}"); // granted, revoked
    assert_eq!(
        items_naming(&stack.table, "cat@studio.dev").await,
        Vec::<String>::new()
    );
    assert_eq!(
        items_naming(&stack.table, "Cat Cole").await,
        Vec::<String>::new()
    );
    // Erasing again finds nothing and is not an error.
    let again = stack.engine.erase_person(&cat, later, false).await.unwrap();
    assert_eq!(again.erased, Default::default());
}
