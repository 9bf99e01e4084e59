//! An entitlement whose holder nobody has described yet (an OfficeRnD membership names only a
//! member id) is held, audited, and applied when the member arrives: nothing is lost.

mod common;

use access_sync_ports::{AuditAction, AuditLog};
use access_sync_rules::Event;
use common::*;

const MAPPING: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entitlement_of_an_unknown_member_is_held_audited_and_applied_when_the_member_arrives() {
    let mut stack = Stack::new(MAPPING).await;
    let plan = Event::parse(r#"{"id":"p9","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:9","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m9"},"start":"2026-12-01T00:00:00Z"}}"#).unwrap();
    stack.deliver(&plan, plan.at).await.unwrap();
    assert!(stack.kisi_state().is_empty(), "nobody to grant yet");
    let holds: Vec<_> = stack
        .engine
        .store()
        .history("*", 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Hold)
        .collect();
    assert_eq!(holds.len(), 1, "{holds:?}");
    assert!(holds[0].cause.contains("plan:9") && holds[0].cause.contains("m9"));

    let member = Event::parse(r#"{"id":"m9","at":"2026-12-07T09:00:00Z","member":{"id":"m9","email":"nine@example.com"}}"#).unwrap();
    stack.deliver(&member, member.at).await.unwrap();
    let granted: Vec<(String, u64)> = stack
        .kisi_state()
        .into_iter()
        .map(|(e, g, _)| (e, g))
        .collect();
    assert_eq!(granted, vec![("nine@example.com".to_string(), 101)]);
}
