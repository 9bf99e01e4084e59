//! The safety store (repair index, dirty marks, holds, the brake's budget) against moto: one
//! read per person, walks by shard with a cursor, a dirty mark cleared only if unchanged, the
//! budget shared with a version check. Each test has its own table.

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::{
    Budget, Dirty, Email, GroupId, Hold, NoteChange, OWNERSHIP_SHARDS, Pair, Reduction,
    SafetyStore, StoreError, Wanted,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

async fn store(table: &str) -> DynamoStore {
    let sdk = shared().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&client, table).await.unwrap();
    DynamoStore::new(client, table)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn pair(email: &str, group: i64) -> Pair {
    Pair {
        email: Email::parse(email).unwrap(),
        group: GroupId::new(group).unwrap(),
    }
}

#[tokio::test]
async fn a_persons_notes_come_back_in_one_read_and_the_walks_page_through_every_shard() {
    let db = store("safety-walk").await;
    let mut changes = Vec::new();
    for i in 0..40 {
        changes.push(NoteChange::Want(
            pair(&format!("m{i}@example.com"), 101),
            Wanted {
                from: t("2026-12-07T09:00:00Z"),
                until: (i % 2 == 0).then(|| t("2026-12-07T11:00:00Z")),
            },
        ));
    }
    db.apply_notes(&changes).await.unwrap();
    db.mark_dirty(&[Dirty {
        pair: pair("m1@example.com", 102),
        at: t("2026-12-07T09:00:00Z"),
        mark: "e-1".into(),
    }])
    .await
    .unwrap();
    let hold = Hold {
        pair: pair("m1@example.com", 101),
        at: t("2026-12-07T09:05:00Z"),
        reduction: Reduction::Revoke,
        trigger: "event".into(),
        discarded: None,
    };
    db.apply_notes(&[NoteChange::Hold(hold.clone())])
        .await
        .unwrap();

    let notes = db.notes("m1@example.com").await.unwrap();
    assert_eq!(notes.wanted.len(), 1);
    assert_eq!(notes.wanted[0].1.until, None);
    assert_eq!(notes.dirty.len(), 1);
    assert_eq!(notes.holds, vec![hold.clone()]);

    let mut seen = BTreeSet::new();
    for shard in 0..OWNERSHIP_SHARDS {
        let mut cursor: Option<String> = None;
        loop {
            let page = db.wanted_page(shard, cursor.as_deref(), 3).await.unwrap();
            for (p, _) in page.items {
                assert!(seen.insert(p), "a pair came back twice");
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
    }
    assert_eq!(seen.len(), 40);
    let mut dirty = 0;
    for shard in 0..OWNERSHIP_SHARDS {
        dirty += db.dirty_page(shard, None, 10).await.unwrap().items.len();
    }
    assert_eq!(dirty, 1);
    assert_eq!(db.holds_page(None, 10).await.unwrap().items, vec![hold]);
    assert!(matches!(
        db.wanted_page(OWNERSHIP_SHARDS, None, 1).await,
        Err(StoreError::Invalid(_))
    ));

    db.apply_notes(&[
        NoteChange::Release(pair("m1@example.com", 101)),
        NoteChange::Unwant(pair("m1@example.com", 101)),
    ])
    .await
    .unwrap();
    let notes = db.notes("m1@example.com").await.unwrap();
    assert!(notes.wanted.is_empty() && notes.holds.is_empty());
}

#[tokio::test]
async fn a_dirty_mark_is_cleared_only_if_no_newer_event_marked_it_since() {
    let db = store("safety-dirty").await;
    let first = Dirty {
        pair: pair("ann@example.com", 101),
        at: t("2026-12-07T09:00:00Z"),
        mark: "e-1".into(),
    };
    db.mark_dirty(std::slice::from_ref(&first)).await.unwrap();
    // A second event marks the pair before the converge that read the first one finishes.
    let second = Dirty {
        mark: "e-2".into(),
        ..first.clone()
    };
    db.mark_dirty(std::slice::from_ref(&second)).await.unwrap();
    db.apply_notes(&[NoteChange::Clean(first)]).await.unwrap();
    assert_eq!(
        db.notes("ann@example.com").await.unwrap().dirty,
        vec![second.clone()]
    );
    db.apply_notes(&[NoteChange::Clean(second)]).await.unwrap();
    assert!(db.notes("ann@example.com").await.unwrap().dirty.is_empty());
}

#[tokio::test]
async fn the_budget_is_written_only_over_the_version_read() {
    let db = store("safety-budget").await;
    assert_eq!(db.budget().await.unwrap(), None);
    let mut b = Budget {
        managed: 100,
        ..Budget::default()
    };
    assert_eq!(db.save_budget(&b, None).await.unwrap(), 1);
    assert!(matches!(
        db.save_budget(&b, None).await,
        Err(StoreError::VersionMismatch { .. })
    ));
    b.used.insert(29_000_000, 3);
    assert_eq!(db.save_budget(&b, Some(1)).await.unwrap(), 2);
    assert!(matches!(
        db.save_budget(&b, Some(1)).await,
        Err(StoreError::VersionMismatch { .. })
    ));
    let stored = db.budget().await.unwrap().unwrap();
    assert_eq!((stored.value, stored.version), (b, 2));
    let _ = GroupId::new(1);
}
