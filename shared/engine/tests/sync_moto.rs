//! The sync run with its state and the facts in DynamoDB (moto), the platform in memory: a
//! listing that fails part-way stores only the resumable cursor and the records read (no fact,
//! nothing published); a sync that would end most entitlements is held (in DynamoDB) until
//! confirmed; chunks are cleared.

mod sync_support;

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_engine::sync::{Mode, SyncOutcome};
use access_sync_ports::{AuditAction, AuditLog, ChunkKind, FactStore, SyncStateStore};
use access_sync_rules::Body;
use std::sync::atomic::{AtomicUsize, Ordering};
use sync_support::*;

static SEQ: AtomicUsize = AtomicUsize::new(0);

async fn world(n: usize) -> World<DynamoStore, DynamoStore> {
    let sdk = shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!(
        "sync-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    );
    create_table(&ddb, &table).await.unwrap();
    let store = DynamoStore::new(ddb, &table);
    World::with(n, store.clone(), store)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_listing_stores_only_its_cursor_and_resumes() {
    let w = world(3).await;
    w.source.fail_at(Some(("plans", 2)));
    assert!(w.sync().run(Mode::Auto, at(NOW), &always).await.is_err());
    assert!(w.bus.published().is_empty());
    assert!(w.store.all_records().await.unwrap().is_empty());
    let p = w.state.progress("officernd").await.unwrap();
    let full = p.full.clone().unwrap();
    assert_eq!(
        (
            full.collection,
            full.cursor.as_deref(),
            full.records,
            full.chunks
        ),
        (1, Some("2"), 5, 1)
    );
    assert_eq!(
        w.state
            .chunks("officernd", ChunkKind::Buffer, 1)
            .await
            .unwrap()[0]
            .lines()
            .count(),
        5
    );

    w.source.fail_at(None);
    let SyncOutcome::Done(r) = w.sync().run(Mode::Auto, at(NOW), &always).await.unwrap() else {
        panic!()
    };
    assert_eq!((r.records, r.changes.len()), (6, 6));
    let p = w.state.progress("officernd").await.unwrap();
    assert_eq!((p.full, p.last_full), (None, Some(at(NOW))));
    assert!(
        w.state
            .chunks("officernd", ChunkKind::Buffer, 1)
            .await
            .is_err(),
        "cleared"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mass_ending_is_held_in_dynamodb_until_confirmed() {
    let w = world(10).await;
    w.sync().run(Mode::Full, at(NOW), &always).await.unwrap();
    w.apply_published().await;
    assert_eq!(w.store.all_records().await.unwrap().len(), 20);
    let before = w.bus.published().len();
    for i in 0..10 {
        w.source.remove("plans", &i.to_string());
    }
    let later = at("2026-03-01T11:00:00Z");
    let SyncOutcome::Done(r) = w.sync().run(Mode::Full, later, &always).await.unwrap() else {
        panic!()
    };
    assert!(r.held && r.ended == 10 && r.active == 10);
    assert_eq!(w.bus.published().len(), before, "nothing ended yet");
    let held = w.state.progress("officernd").await.unwrap().held.unwrap();
    assert_eq!((held.events, held.chunks), (10, 1));
    let history = w.store.history("*", 10).await.unwrap();
    assert!(history.iter().any(|a| a.action == AuditAction::Brake));

    assert_eq!(w.sync().confirm(later).await.unwrap(), 10);
    let cancels = w.published()[before..]
        .iter()
        .filter(|e| matches!(e.body, Body::Cancel(_)))
        .count();
    assert_eq!(cancels, 10);
    assert!(w.state.progress("officernd").await.unwrap().held.is_none());
    assert!(
        w.state
            .chunks("officernd", ChunkKind::Held, 1)
            .await
            .is_err(),
        "cleared"
    );
}
