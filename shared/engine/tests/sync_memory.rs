//! The sync run over in-memory ports: a listing that fails part-way changes nothing and
//! resumes; a run out of time pauses and resumes; a repeated sync publishes the same ids; a
//! sync that would end most entitlements is held until confirmed.

mod sync_support;

use access_sync_engine::sync::{Brake, Mode, SyncError, SyncOutcome, SyncSettings};
use access_sync_ports::{AuditAction, ChunkKind, FactStore, SyncStateStore};
use access_sync_rules::Body;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use sync_support::*;

#[tokio::test]
async fn a_listing_that_fails_part_way_changes_nothing_and_resumes_at_the_failed_page() {
    let w = World::new(3);
    w.source.fail_at(Some(("plans", 1)));
    let err = w
        .sync()
        .run(Mode::Auto, at(NOW), &always)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Source(_)) && err.is_retryable(),
        "{err}"
    );
    assert!(w.bus.published().is_empty(), "nothing published");
    assert!(w.store.all_records().await.unwrap().is_empty(), "no fact");
    // Stored: the cursor of the failed page and the four records read before it.
    let p = w.state.progress("officernd").await.unwrap();
    let full = p.full.clone().unwrap();
    assert_eq!(
        (full.collection, full.cursor.as_deref(), full.records),
        (1, Some("1"), 4)
    );
    assert_eq!(w.state.chunk_count("officernd", ChunkKind::Buffer), 1);
    assert_eq!((p.last_full, p.high_water, p.held), (None, None, None));

    w.source.fail_at(None);
    let calls_before = w.source.calls().len();
    let later = at("2026-03-01T10:15:00Z");
    let out = w.sync().run(Mode::Auto, later, &always).await.unwrap();
    let SyncOutcome::Done(report) = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        (report.records, report.changes.len(), report.endings.len()),
        (6, 6, 0)
    );
    // Resumed at plans page 1: members were not listed again.
    let resumed = &w.source.calls()[calls_before..];
    assert_eq!(resumed[0].collection, "plans");
    assert_eq!(resumed[0].cursor.as_deref(), Some("1"));
    assert!(resumed.iter().all(|c| c.collection == "plans"));
    // The events carry the instant the listing started.
    assert!(w.published().iter().all(|e| e.at == at(NOW)));
    let p = w.state.progress("officernd").await.unwrap();
    assert_eq!((p.full, p.last_full), (None, Some(at(NOW))));
    assert_eq!(w.state.chunk_count("officernd", ChunkKind::Buffer), 0);
}

#[tokio::test]
async fn a_run_out_of_time_pauses_and_the_next_resumes() {
    let w = World::new(2);
    let pages = AtomicUsize::new(0);
    let three_pages = || pages.fetch_add(1, Ordering::SeqCst) < 3;
    let out = w
        .sync()
        .run(Mode::Auto, at(NOW), &three_pages)
        .await
        .unwrap();
    assert_eq!(out, SyncOutcome::Paused { records: 3 });
    assert!(w.bus.published().is_empty());
    let out = w.sync().run(Mode::Auto, at(NOW), &always).await.unwrap();
    let SyncOutcome::Done(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!((r.records, r.changes.len()), (4, 4));
}

#[tokio::test]
async fn repeated_syncs_publish_the_same_ids_then_nothing_once_applied() {
    let w = World::new(2);
    w.source
        .put(record("plans", "orphan", json!({"plan": "hot"})));
    let SyncOutcome::Done(a) = w.sync().run(Mode::Full, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert_eq!(a.unmapped.len(), 1);
    assert_eq!(a.unmapped[0].reason, "no member");
    let first: Vec<String> = w.published().iter().map(|e| e.id.clone()).collect();
    let SyncOutcome::Done(_) = w.sync().run(Mode::Full, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    let both: Vec<String> = w.published().iter().map(|e| e.id.clone()).collect();
    assert_eq!(both[first.len()..], first[..], "same delivery ids");
    w.apply_published().await;
    let n = w.bus.published().len();
    let SyncOutcome::Done(c) = w.sync().run(Mode::Full, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert_eq!((c.changes.len(), c.endings.len(), c.unchanged), (0, 0, 4));
    assert_eq!(w.bus.published().len(), n);
}

#[tokio::test]
async fn a_sync_that_would_end_most_entitlements_is_held_until_confirmed() {
    let w = World::new(10);
    w.sync().run(Mode::Full, at(NOW), &always).await.unwrap();
    w.apply_published().await;
    let before = w.bus.published().len();
    // The platform now lists 2 of the 10 plans, and a new member.
    for i in 2..10 {
        w.source.remove("plans", &i.to_string());
    }
    w.source
        .put(record("members", "m-new", json!({"email": "new@x.io"})));
    let later = at("2026-03-01T11:00:00Z");
    let SyncOutcome::Done(r) = w.sync().run(Mode::Full, later, &always).await.unwrap() else {
        panic!()
    };
    assert!(r.held);
    assert_eq!((r.ended, r.active, r.endings.len()), (8, 10, 8));
    // The change (the new member) went out; the endings did not.
    let sent = &w.published()[before..];
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].body, Body::Member(m) if m.id.as_str() == "m-new"));
    let p = w.state.progress("officernd").await.unwrap();
    assert_eq!(
        p.held.as_ref().map(|h| (h.events, h.ended, h.active)),
        Some((8, 8, 10))
    );
    let audit = w.store.audit_entries();
    assert!(
        audit
            .iter()
            .any(|a| a.action == AuditAction::Brake && a.cause.contains("held 8"))
    );

    let n = w.sync().confirm(later).await.unwrap();
    assert_eq!(n, 8);
    let cancels = w.published()[before + 1..]
        .iter()
        .filter(|e| matches!(e.body, Body::Cancel(_)))
        .count();
    assert_eq!(cancels, 8);
    assert!(w.state.progress("officernd").await.unwrap().held.is_none());
    assert_eq!(w.state.chunk_count("officernd", ChunkKind::Held), 0);
    assert!(matches!(
        w.sync().confirm(later).await,
        Err(SyncError::NothingHeld(_))
    ));
}

#[tokio::test]
async fn a_few_endings_pass_the_brake_and_a_stricter_brake_holds_them() {
    let w = World::new(10);
    w.sync().run(Mode::Full, at(NOW), &always).await.unwrap();
    w.apply_published().await;
    w.source.remove("plans", "0");
    let mut strict = w.sync();
    strict.settings = SyncSettings {
        brake: Brake {
            share: 0.05,
            floor: 0,
        },
        ..SyncSettings::default()
    };
    let SyncOutcome::Done(r) = strict.run(Mode::DryRun, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert!(r.held, "1 of 10 is over 5 %");
    let before = w.bus.published().len();
    let SyncOutcome::Done(r) = w.sync().run(Mode::Full, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert!(!r.held, "one ending is under the default floor");
    let sent = &w.published()[before..];
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].body, Body::Cancel(id) if id.as_str() == "officernd:plan:0"));
}

/// `source(n)` with `members` listable by change time and `plans` not, as OfficeRnD's
/// memberships, passes and bookings are not.
fn partly_incremental(n: usize) -> access_sync_ports::memory::MemorySource {
    let s = access_sync_ports::memory::MemorySource::new(
        access_sync_platforms::Platform::Officernd,
        &["members", "plans"],
        &["members"],
        1,
    );
    for c in ["members", "plans"] {
        for i in 0..n {
            let id = if c == "members" {
                format!("m{i}")
            } else {
                i.to_string()
            };
            let body = if c == "members" {
                json!({"email": format!("p{i}@x.io")})
            } else {
                json!({"member": format!("m{i}"), "plan": "hot"})
            };
            s.put(record(c, &id, body));
        }
    }
    s
}

#[tokio::test]
async fn a_changed_plan_not_listable_by_change_time_is_seen_by_the_next_scheduled_run() {
    let w = World {
        source: partly_incremental(3),
        ..World::new(0)
    };
    let SyncOutcome::Done(first) = w.sync().run(Mode::Auto, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert_eq!(first.changes.len(), 6);
    w.apply_published().await;
    // The plan changes and its webhook is dropped; nothing reports it as changed since the
    // last run (the platform cannot filter plans by change time).
    w.source.put(record(
        "plans",
        "0",
        json!({"member": "m0", "plan": "cold"}),
    ));
    let calls = w.source.calls().len();
    let later = at(NOW) + chrono::Duration::minutes(15);
    let SyncOutcome::Done(next) = w.sync().run(Mode::Auto, later, &always).await.unwrap() else {
        panic!()
    };
    assert_eq!(next.changes.len(), 1, "{next:?}");
    let listed: Vec<_> = w.source.calls()[calls..]
        .iter()
        .map(|r| (r.collection.clone(), r.changed_since))
        .collect();
    assert!(listed.contains(&("plans".to_string(), None)), "{listed:?}");
}

#[tokio::test]
async fn a_platform_listable_by_change_time_throughout_syncs_incrementally_between_full_syncs() {
    let s = access_sync_ports::memory::MemorySource::new(
        access_sync_platforms::Platform::Officernd,
        &["members"],
        &["members"],
        1,
    );
    s.put(record("members", "m0", json!({"email": "p0@x.io"})));
    let w = World {
        source: s,
        ..World::new(0)
    };
    let SyncOutcome::Done(_) = w.sync().run(Mode::Auto, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    let calls = w.source.calls().len();
    let later = at(NOW) + chrono::Duration::minutes(15);
    let SyncOutcome::Done(_) = w.sync().run(Mode::Auto, later, &always).await.unwrap() else {
        panic!()
    };
    let since: Vec<_> = w.source.calls()[calls..]
        .iter()
        .map(|r| r.changed_since)
        .collect();
    assert_eq!(since, vec![Some(at(NOW))], "incremental since the last run");
}
