//! DynamoDB adapter against moto: ownership (optimistic writes, reconcile walk), idempotency
//! (Powertools semantics), audit log. Each test has its own table.

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::{
    AuditAction, AuditEntry, AuditLog, Begin, Email, GroupId, Idempotency, IdempotencyError,
    IdempotencyKey, OWNERSHIP_SHARDS, Ownership, OwnershipChange, OwnershipStore, Pair, StoreError,
};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

fn owned(email: &str, group: i64, assignment: u64) -> Ownership {
    Ownership {
        pair: pair(email, group),
        assignment_id: assignment,
        user_id: 7,
        valid_until: Some(t("2026-12-07T11:05:00Z")),
    }
}

#[tokio::test]
async fn concurrent_writers_on_one_record_exactly_one_wins_per_version() {
    let db = Arc::new(store("own-race").await);
    db.apply_ownership(
        &[OwnershipChange::Create(owned("joe@example.com", 201, 1))],
        &[],
    )
    .await
    .unwrap();
    // Eight writers all read version 1 and try to move it to version 2.
    let wins = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let (db, wins) = (db.clone(), wins.clone());
        tasks.push(tokio::spawn(async move {
            let change = OwnershipChange::Update {
                ownership: owned("joe@example.com", 201, 100 + i),
                expected: 1,
            };
            match db.apply_ownership(&[change], &[]).await {
                Ok(()) => {
                    wins.fetch_add(1, Ordering::SeqCst);
                }
                Err(StoreError::VersionMismatch { key }) => {
                    assert_eq!(key, "joe@example.com#201")
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(wins.load(Ordering::SeqCst), 1);
    let now = db.owned_for_email("joe@example.com").await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].version, 2);
    // Creating a pair that exists, or deleting at a stale version, loses too.
    let again = db
        .apply_ownership(
            &[OwnershipChange::Create(owned("joe@example.com", 201, 9))],
            &[],
        )
        .await;
    assert!(matches!(again, Err(StoreError::VersionMismatch { .. })));
    let stale = OwnershipChange::Delete {
        pair: pair("joe@example.com", 201),
        expected: 1,
    };
    assert!(matches!(
        db.apply_ownership(&[stale], &[]).await,
        Err(StoreError::VersionMismatch { .. })
    ));
}

#[tokio::test]
async fn ownership_changes_and_their_audit_entries_are_written_together() {
    let db = store("own-audit").await;
    let grant = AuditEntry {
        at: t("2026-12-07T09:45:00Z"),
        pair: Some(pair("joe@example.com", 201)),
        action: AuditAction::Grant,
        cause: "booking:b1".into(),
    };
    db.apply_ownership(
        &[OwnershipChange::Create(owned("joe@example.com", 201, 1))],
        std::slice::from_ref(&grant),
    )
    .await
    .unwrap();
    // A failed transaction writes no audit entry either.
    let lost = db
        .apply_ownership(
            &[OwnershipChange::Create(owned("joe@example.com", 201, 2))],
            &[AuditEntry {
                action: AuditAction::Adopt,
                ..grant.clone()
            }],
        )
        .await;
    assert!(matches!(lost, Err(StoreError::VersionMismatch { .. })));
    // Recording the same entry again does not duplicate it.
    db.record(&[grant.clone(), grant.clone()]).await.unwrap();
    let revoke = AuditEntry {
        at: t("2026-12-07T11:05:00Z"),
        action: AuditAction::Revoke,
        ..grant.clone()
    };
    db.record(std::slice::from_ref(&revoke)).await.unwrap();
    let history = db.history("joe@example.com", 10).await.unwrap();
    assert_eq!(history, vec![revoke, grant]);
}

#[tokio::test]
async fn reconcile_walks_every_owned_pair_shard_by_shard_with_a_cursor() {
    let db = store("own-walk").await;
    let mut expected = Vec::new();
    for i in 0..40 {
        let o = owned(&format!("p{i}@example.com"), 200 + (i % 3), i as u64);
        expected.push(o.pair.clone());
        db.apply_ownership(&[OwnershipChange::Create(o)], &[])
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for shard in 0..OWNERSHIP_SHARDS {
        let mut cursor: Option<String> = None;
        loop {
            let page = db.owned_page(shard, cursor.as_deref(), 3).await.unwrap();
            assert!(page.items.len() <= 3);
            seen.extend(page.items.into_iter().map(|o| o.value.pair));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(matches!(
        db.owned_page(OWNERSHIP_SHARDS, None, 3).await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_same_idempotency_key_twice_runs_once_and_the_second_gets_the_saved_outcome() {
    let db = store("idem-twice").await;
    let key = IdempotencyKey::new("webhook", "delivery-42");
    let now = t("2026-12-07T09:00:00Z");
    let executions = AtomicUsize::new(0);
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let outcome = match db
            .begin(&key, now, now + Duration::seconds(30))
            .await
            .unwrap()
        {
            Begin::Proceed(lock) => {
                executions.fetch_add(1, Ordering::SeqCst);
                let outcome = serde_json::json!({"pairs": 2});
                db.complete(&lock, &outcome, now).await.unwrap();
                outcome
            }
            Begin::Completed(saved) => saved,
        };
        outcomes.push(outcome);
    }
    assert_eq!(executions.load(Ordering::SeqCst), 1);
    assert_eq!(outcomes[0], outcomes[1]);
    // After the expiry window (1 h) the key runs again: expiry is decided by `now`, not TTL.
    let later = now + Duration::hours(1) + Duration::seconds(1);
    assert!(matches!(
        db.begin(&key, later, later + Duration::seconds(30))
            .await
            .unwrap(),
        Begin::Proceed(_)
    ));
}

#[tokio::test]
async fn a_live_lock_is_reported_in_progress_and_a_stale_one_is_recovered() {
    let db = store("idem-stale").await;
    let key = IdempotencyKey::new("converge", "edge-abc");
    let now = t("2026-12-07T09:00:00Z");
    let Begin::Proceed(first) = db
        .begin(&key, now, now + Duration::seconds(30))
        .await
        .unwrap()
    else {
        panic!("first begin must proceed")
    };
    // Another invocation while the first is running.
    let busy = db
        .begin(
            &key,
            now + Duration::seconds(5),
            now + Duration::seconds(35),
        )
        .await;
    assert!(matches!(busy, Err(IdempotencyError::InProgress { .. })));
    assert!(!first.taken_over, "nobody held the key before");
    // The first invocation died; at its deadline a retry takes the lock over, and knows it.
    let later = now + Duration::seconds(30);
    let Begin::Proceed(second) = db
        .begin(&key, later, later + Duration::seconds(30))
        .await
        .unwrap()
    else {
        panic!("a stale lock must be recovered")
    };
    assert!(
        second.taken_over,
        "the lock of an attempt that died is taken over"
    );
    // The first, waking up late, can neither complete nor release the new lock.
    assert!(matches!(
        db.complete(&first, &serde_json::json!(1), later).await,
        Err(IdempotencyError::LockLost(_))
    ));
    db.release(&first).await.unwrap();
    db.complete(&second, &serde_json::json!(2), later)
        .await
        .unwrap();
    assert_eq!(
        db.begin(&key, later, later).await.unwrap(),
        Begin::Completed(serde_json::json!(2))
    );
}

#[tokio::test]
async fn a_failed_execution_releases_the_lock_so_the_retry_runs_at_once() {
    let db = store("idem-release").await;
    let key = IdempotencyKey::new("webhook", "delivery-7");
    let now = t("2026-12-07T09:00:00Z");
    let Begin::Proceed(lock) = db
        .begin(&key, now, now + Duration::minutes(5))
        .await
        .unwrap()
    else {
        panic!("must proceed")
    };
    db.release(&lock).await.unwrap();
    // The retry runs at once, and knows the failed attempt may have saved part of its work.
    let Begin::Proceed(retry) = db
        .begin(&key, now, now + Duration::minutes(5))
        .await
        .unwrap()
    else {
        panic!("a released lock must let the retry run")
    };
    assert!(retry.taken_over);
}

#[tokio::test]
async fn intents_hand_made_assignments_and_exclusions_share_the_persons_partition() {
    use access_sync_ports::{Exclusion, ExclusionList, GrantIntent, HeldByHand};
    let db = store("own-claims").await;
    let joe = "joe@example.com";
    let intent = |g: i64, until: &str| GrantIntent {
        pair: pair(joe, g),
        valid_until: t(until),
        at: t("2026-12-07T10:00:00Z"),
    };
    let hand = HeldByHand {
        pair: pair(joe, 101),
        assignment_id: 55,
        user_id: 7,
        since: t("2026-12-07T10:00:00Z"),
    };
    db.apply_ownership(
        &[
            OwnershipChange::RememberUser {
                email: joe.into(),
                user_id: 7,
            },
            OwnershipChange::Create(owned(joe, 201, 1)),
            OwnershipChange::Intend(intent(202, "2027-01-06T10:00:00Z")),
            OwnershipChange::Intend(intent(202, "2027-01-06T10:05:00Z")),
            OwnershipChange::HoldByHand(hand.clone()),
        ],
        &[],
    )
    .await
    .unwrap();
    let view = db.owner_view(joe).await.unwrap();
    assert_eq!(view.kisi_user, Some(7));
    assert_eq!(view.owned.len(), 1, "{view:?}");
    assert_eq!(
        view.intents,
        vec![
            intent(202, "2027-01-06T10:00:00Z"),
            intent(202, "2027-01-06T10:05:00Z")
        ]
    );
    assert_eq!(view.by_hand, vec![hand.clone()]);
    assert_eq!(view.excluded, None);
    // Intents and hand-made records never show up in the reconcile walk.
    let mut walked = 0;
    for shard in 0..OWNERSHIP_SHARDS {
        walked += db.owned_page(shard, None, 100).await.unwrap().items.len();
    }
    assert_eq!(walked, 1);

    let x = Exclusion {
        email: Email::parse(joe).unwrap(),
        user_id: 7,
        since: t("2026-12-07T11:00:00Z"),
    };
    db.apply_ownership(
        &[
            OwnershipChange::ForgetIntent(intent(202, "2027-01-06T10:00:00Z")),
            OwnershipChange::ForgetIntent(intent(202, "2027-01-06T10:05:00Z")),
            OwnershipChange::ReleaseByHand {
                pair: pair(joe, 101),
            },
            OwnershipChange::Exclude(x.clone()),
        ],
        &[],
    )
    .await
    .unwrap();
    let view = db.owner_view(joe).await.unwrap();
    assert!(
        view.intents.is_empty() && view.by_hand.is_empty(),
        "{view:?}"
    );
    assert_eq!(view.excluded, Some(x.clone()));
    assert_eq!(db.exclusions(10).await.unwrap(), vec![x]);

    // Lifting forgets the exclusion and the deleted user id, nothing else.
    db.apply_ownership(&[OwnershipChange::Include { email: joe.into() }], &[])
        .await
        .unwrap();
    let view = db.owner_view(joe).await.unwrap();
    assert_eq!(view.excluded, None);
    assert_eq!(view.kisi_user, None);
    assert_eq!(view.owned.len(), 1);
    assert!(db.exclusions(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn audit_entries_expire_after_the_retention_and_one_persons_entries_can_be_erased() {
    let db = store("audit-erase")
        .await
        .with_audit_retention(Duration::days(30));
    let start = t("2026-12-07T09:00:00Z");
    let entry = |email: &str, i: i64| AuditEntry {
        at: start + Duration::minutes(i),
        pair: Some(pair(email, 201)),
        action: AuditAction::Grant,
        cause: format!("booking:b{i}"),
    };
    // More than one BatchWriteItem's worth (25) for Joe.
    let joe: Vec<AuditEntry> = (0..30).map(|i| entry("joe@example.com", i)).collect();
    db.record(&joe).await.unwrap();
    db.record(&[entry("ann@example.com", 0)]).await.unwrap();

    let sdk = shared().sdk_config().await;
    let raw = aws_sdk_dynamodb::Client::new(&sdk)
        .query()
        .table_name("audit-erase")
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("AUDIT#ann@example.com".into()),
        )
        .send()
        .await
        .unwrap();
    let ttl = raw.items()[0]["ttl"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(ttl, (start + Duration::days(30)).timestamp());

    assert_eq!(db.erase("joe@example.com").await.unwrap(), 30);
    assert!(db.history("joe@example.com", 100).await.unwrap().is_empty());
    assert_eq!(db.history("ann@example.com", 100).await.unwrap().len(), 1);
    assert_eq!(db.erase("joe@example.com").await.unwrap(), 0);
}

#[tokio::test]
async fn the_activity_feed_reads_everyones_entries_across_days_newest_first_within_bounds() {
    let db = store("audit-feed").await;
    let entry = |at: &str, email: Option<&str>, action| AuditEntry {
        at: t(at),
        pair: email.map(|e| pair(e, 201)),
        action,
        cause: at.to_string(),
    };
    let before = entry(
        "2026-12-06T08:00:00Z",
        Some("ann@example.com"),
        AuditAction::Grant,
    );
    let late_day1 = entry(
        "2026-12-06T23:59:00Z",
        Some("joe@example.com"),
        AuditAction::Grant,
    );
    let system = entry("2026-12-07T01:00:00Z", None, AuditAction::Brake);
    let day2 = entry(
        "2026-12-07T09:00:00Z",
        Some("ann@example.com"),
        AuditAction::Revoke,
    );
    let at_until = entry(
        "2026-12-07T10:00:00Z",
        Some("joe@example.com"),
        AuditAction::Revoke,
    );
    db.apply_ownership(
        &[OwnershipChange::Create(owned("joe@example.com", 201, 1))],
        std::slice::from_ref(&late_day1),
    )
    .await
    .unwrap();
    db.record(&[before, system.clone(), day2.clone(), at_until])
        .await
        .unwrap();
    let (since, until) = (t("2026-12-06T09:00:00Z"), t("2026-12-07T10:00:00Z"));
    let feed = db.recent(since, until, 100).await.unwrap();
    assert_eq!(feed, vec![day2.clone(), system.clone(), late_day1]);
    assert_eq!(
        db.recent(since, until, 2).await.unwrap(),
        vec![day2, system]
    );
    assert!(db.recent(until, since, 10).await.unwrap().is_empty());
}
