//! The fact store against moto, driven the way the handlers will drive it: load what an
//! event needs, `Facts::apply`, save; converge reads one e-mail's facts and its ownership and
//! writes ownership. DynamoDB round trips are counted on the wire (an SDK interceptor) and
//! held to the budgets: ≤ 4 per handled booking event, ≤ 3 per converge.

use access_sync_aws::testing::{RoundTrips, shared};
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::{
    Begin, Email, FactStore, GroupId, Idempotency, IdempotencyKey, Ownership, OwnershipChange,
    OwnershipStore, Pair, StoreError,
};
use access_sync_rules::facts::Record;
use access_sync_rules::{Event, Facts, Mappings};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

const MAPPINGS: &str = r#"
[[mapping]]
source = "resource"
id = "elephant-room"
groups = [201]

[[mapping]]
source = "plan"
id = "resident"
groups = [202]
"#;

async fn store(table: &str) -> (DynamoStore, RoundTrips) {
    let sdk = shared().sdk_config().await;
    let trips = RoundTrips::default();
    let client = trips.client(&sdk);
    create_table(&client, table).await.unwrap();
    trips.take();
    (DynamoStore::new(client, table), trips)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn email(e: &str) -> Email {
    Email::parse(e).unwrap()
}

fn pair(e: &str, g: i64) -> Pair {
    Pair {
        email: email(e),
        group: GroupId::new(g).unwrap(),
    }
}

/// What a webhook handler does with one canonical event: idempotency, load, apply, save,
/// complete. Returns the pairs to converge.
async fn handle(db: &DynamoStore, line: &str) -> Result<BTreeSet<Pair>, StoreError> {
    let mappings = Mappings::parse(MAPPINGS).unwrap();
    let event = Event::parse(line).unwrap();
    let now = event.at;
    let key = IdempotencyKey::new("webhook", &event.id);
    let lock = match db
        .begin(&key, now, now + Duration::seconds(30))
        .await
        .unwrap()
    {
        Begin::Proceed(lock) => lock,
        Begin::Completed(_) => return Ok(BTreeSet::new()),
    };
    let loaded = db.load_for_event(&event.body).await?;
    let mut facts = Facts::from_records(loaded.records.clone());
    let applied = facts.apply(&event, &mappings);
    if let Some(record) = &applied.record
        && let Err(e) = db.save(&loaded, record).await
    {
        db.release(&lock).await.unwrap();
        return Err(e);
    }
    db.complete(
        &lock,
        &serde_json::json!({"pairs": applied.pairs.len()}),
        now,
    )
    .await
    .unwrap();
    Ok(applied.pairs)
}

/// What converge does for one e-mail: facts, ownership, one ownership write.
async fn converge(db: &DynamoStore, e: &str, now: DateTime<Utc>) -> BTreeSet<i64> {
    let mappings = Mappings::parse(MAPPINGS).unwrap();
    let facts = Facts::from_records(db.facts_for_email(&email(e)).await.unwrap());
    let owned = db.owned_for_email(e).await.unwrap();
    let mut open = BTreeSet::new();
    let mut changes = Vec::new();
    for g in [201, 202] {
        let p = pair(e, g);
        let access = facts.access(&mappings, &p, now);
        let mine = owned.iter().find(|o| o.value.pair == p);
        match (access.open, mine) {
            (true, None) => changes.push(OwnershipChange::Create(Ownership {
                pair: p,
                assignment_id: g as u64,
                user_id: 1,
                valid_until: access.until,
            })),
            (false, Some(o)) => changes.push(OwnershipChange::Delete {
                pair: p,
                expected: o.version,
            }),
            _ => {}
        }
        if access.open {
            open.insert(g);
        }
    }
    db.apply_ownership(&changes, &[]).await.unwrap();
    open
}

fn ids(records: &[Record]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| match r {
            Record::Member(m) => format!("member:{}", m.id),
            Record::Team(t) => format!("team:{}", t.id),
            Record::Entitlement(e) => format!("ent:{}", e.id),
        })
        .collect()
}

const JOE: &str = r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"Joe@Example.com","name":"Joe"}}"#;
const ANN: &str =
    r#"{"id":"e2","at":"2026-12-07T08:00:00Z","member":{"id":"m2","email":"ann@example.com"}}"#;
const TEAM: &str =
    r#"{"id":"e3","at":"2026-12-07T08:00:00Z","team":{"id":"t1","members":["m1","m2"]}}"#;
const PLAN: &str = r#"{"id":"e4","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:p1","kind":"plan","refs":["plan:resident"],"holder":{"team":"t1"}}}"#;
const BOOKING: &str = r#"{"id":"e5","at":"2026-12-07T08:30:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m1"},"guests":["Guest@Example.com"],"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}"#;

#[tokio::test]
async fn each_email_partition_holds_exactly_the_facts_its_converge_needs() {
    let (db, _) = store("facts-views").await;
    for line in [JOE, ANN, TEAM, PLAN, BOOKING] {
        handle(&db, line).await.unwrap();
    }
    let joe = db.facts_for_email(&email("joe@example.com")).await.unwrap();
    assert_eq!(
        ids(&joe),
        BTreeSet::from(["member:m1", "team:t1", "ent:plan:p1", "ent:booking:b1"].map(String::from))
    );
    let ann = db.facts_for_email(&email("ann@example.com")).await.unwrap();
    assert_eq!(
        ids(&ann),
        BTreeSet::from(["member:m2", "team:t1", "ent:plan:p1"].map(String::from))
    );
    let guest = db
        .facts_for_email(&email("guest@example.com"))
        .await
        .unwrap();
    assert_eq!(ids(&guest), BTreeSet::from(["ent:booking:b1".to_string()]));

    // The copies answer converge's question as the full facts would.
    let during = t("2026-12-07T10:30:00Z");
    assert_eq!(
        converge(&db, "joe@example.com", during).await,
        BTreeSet::from([201, 202])
    );
    assert_eq!(
        converge(&db, "ann@example.com", during).await,
        BTreeSet::from([202])
    );
    assert_eq!(
        converge(&db, "guest@example.com", during).await,
        BTreeSet::from([201])
    );
}

#[tokio::test]
async fn a_member_changing_address_moves_every_dependent_copy() {
    let (db, _) = store("facts-move").await;
    for line in [JOE, ANN, TEAM, PLAN, BOOKING] {
        handle(&db, line).await.unwrap();
    }
    let pairs = handle(
        &db,
        r#"{"id":"e6","at":"2026-12-07T09:00:00Z","member":{"id":"m1","email":"joe@new.example"}}"#,
    )
    .await
    .unwrap();
    assert!(pairs.contains(&pair("joe@example.com", 202)));
    assert!(pairs.contains(&pair("joe@new.example", 202)));
    let old = db.facts_for_email(&email("joe@example.com")).await.unwrap();
    assert!(ids(&old).is_empty(), "{:?}", ids(&old));
    let new = db.facts_for_email(&email("joe@new.example")).await.unwrap();
    assert_eq!(
        ids(&new),
        BTreeSet::from(["member:m1", "team:t1", "ent:plan:p1", "ent:booking:b1"].map(String::from))
    );
    let during = t("2026-12-07T10:30:00Z");
    assert_eq!(
        converge(&db, "joe@new.example", during).await,
        BTreeSet::from([201, 202])
    );
    assert_eq!(
        converge(&db, "joe@example.com", during).await,
        BTreeSet::new()
    );
    // Leaving the team removes the team's copies and plan from the member's partition.
    handle(
        &db,
        r#"{"id":"e7","at":"2026-12-07T09:10:00Z","team":{"id":"t1","members":["m2"]}}"#,
    )
    .await
    .unwrap();
    let new = db.facts_for_email(&email("joe@new.example")).await.unwrap();
    assert_eq!(
        ids(&new),
        BTreeSet::from(["member:m1", "ent:booking:b1"].map(String::from))
    );
}

#[tokio::test]
async fn a_cancel_is_seen_by_converge_and_closes_access() {
    let (db, _) = store("facts-cancel").await;
    for line in [JOE, BOOKING] {
        handle(&db, line).await.unwrap();
    }
    let pairs = handle(
        &db,
        r#"{"id":"e8","at":"2026-12-07T10:20:00Z","cancel":{"entitlement":"booking:b1"}}"#,
    )
    .await
    .unwrap();
    // The pairs come from the holder carried in the entitlement item.
    assert_eq!(
        pairs,
        BTreeSet::from([pair("joe@example.com", 201), pair("guest@example.com", 201)])
    );
    let after = t("2026-12-07T10:30:00Z");
    assert_eq!(
        converge(&db, "joe@example.com", after).await,
        BTreeSet::new()
    );
    assert_eq!(
        converge(&db, "guest@example.com", after).await,
        BTreeSet::new()
    );
}

#[tokio::test]
async fn concurrent_versions_of_one_entitlement_exactly_one_wins_per_version() {
    let (db, _) = store("facts-race").await;
    handle(&db, JOE).await.unwrap();
    handle(&db, BOOKING).await.unwrap();
    let db = Arc::new(db);
    let mappings = Mappings::parse(MAPPINGS).unwrap();
    // Six writers read the same version and each writes its own new version.
    let mut loaded_all = Vec::new();
    for i in 0..6 {
        let event = Event::parse(
            &BOOKING
                .replace("e5", &format!("r{i}"))
                .replace("2026-12-07T08:30:00Z", &format!("2026-12-07T08:4{i}:00Z")),
        )
        .unwrap();
        let loaded = db.load_for_event(&event.body).await.unwrap();
        let mut facts = Facts::from_records(loaded.records.clone());
        let record = facts.apply(&event, &mappings).record.unwrap();
        loaded_all.push((loaded, record));
    }
    let mut tasks = Vec::new();
    for (loaded, record) in loaded_all {
        let db = db.clone();
        tasks.push(tokio::spawn(async move { db.save(&loaded, &record).await }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(version) => {
                assert_eq!(version, 2);
                wins += 1;
            }
            Err(StoreError::VersionMismatch { key }) => assert!(key.starts_with("ENT#booking:b1")),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn an_entitlement_saved_against_a_stale_holder_is_refused() {
    let (db, _) = store("facts-stale-holder").await;
    handle(&db, JOE).await.unwrap();
    let event = Event::parse(BOOKING).unwrap();
    let loaded = db.load_for_event(&event.body).await.unwrap();
    // Meanwhile Joe changes address: copies computed from `loaded` would go to the old one.
    handle(
        &db,
        r#"{"id":"e6","at":"2026-12-07T08:40:00Z","member":{"id":"m1","email":"joe@new.example"}}"#,
    )
    .await
    .unwrap();
    let mut facts = Facts::from_records(loaded.records.clone());
    let record = facts
        .apply(&event, &Mappings::parse(MAPPINGS).unwrap())
        .record
        .unwrap();
    match db.save(&loaded, &record).await {
        Err(StoreError::VersionMismatch { key }) => assert!(key.starts_with("MEMBER#m1"), "{key}"),
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn the_mapping_document_is_versioned() {
    let (db, _) = store("facts-mapping").await;
    assert_eq!(db.mapping().await.unwrap(), None);
    assert_eq!(db.put_mapping(MAPPINGS, None).await.unwrap(), 1);
    assert!(matches!(
        db.put_mapping(MAPPINGS, None).await,
        Err(StoreError::VersionMismatch { .. })
    ));
    assert_eq!(db.put_mapping("# v2", Some(1)).await.unwrap(), 2);
    let m = db.mapping().await.unwrap().unwrap();
    assert_eq!((m.value.as_str(), m.version), ("# v2", 2));
}

#[tokio::test]
async fn round_trips_per_booking_event_and_per_converge_stay_within_budget() {
    let (db, trips) = store("facts-budget").await;
    for line in [JOE, ANN, TEAM, PLAN] {
        handle(&db, line).await.unwrap();
    }
    trips.take();

    // A handled booking event: a new booking, then a new version of it, then a cancel.
    handle(&db, BOOKING).await.unwrap();
    let new_booking = trips.take();
    handle(
        &db,
        &BOOKING
            .replace("\"e5\"", "\"e5b\"")
            .replace("08:30", "08:45"),
    )
    .await
    .unwrap();
    let new_version = trips.take();
    handle(
        &db,
        r#"{"id":"e9","at":"2026-12-07T09:00:00Z","cancel":{"entitlement":"booking:b1"}}"#,
    )
    .await
    .unwrap();
    let cancel = trips.take();
    // A team-held plan changes too: the holder team is read with its members in one go.
    handle(
        &db,
        &PLAN.replace("\"e4\"", "\"e4b\"").replace("08:00", "08:50"),
    )
    .await
    .unwrap();
    let team_plan = trips.take();
    for (name, ops) in [
        ("new booking", &new_booking),
        ("booking version", &new_version),
        ("cancel", &cancel),
        ("team plan version", &team_plan),
    ] {
        assert_eq!(
            ops,
            &[
                "PutItem",
                "BatchGetItem",
                "TransactWriteItems",
                "UpdateItem"
            ],
            "{name}"
        );
    }
    // A duplicate delivery: one round trip, nothing else.
    handle(&db, BOOKING).await.unwrap();
    assert_eq!(trips.take(), ["PutItem"]);

    // A converge: facts of one e-mail, its ownership, one ownership write.
    converge(&db, "ann@example.com", t("2026-12-07T10:30:00Z")).await;
    let conv = trips.take();
    assert_eq!(conv, ["Query", "Query", "TransactWriteItems"]);
    println!(
        "ROUND TRIPS booking={} version={} cancel={} team-plan={} duplicate=1 converge={}",
        new_booking.len(),
        new_version.len(),
        cancel.len(),
        team_plan.len(),
        conv.len()
    );
}

/// `ingest`'s member and team look-ups (the `Directory` over this store) read only what its
/// IAM policy allows: one `GetItem` of a `MEMBER#`/`TEAM#` record, or one `Query` of an
/// `EMAIL#` partition (infra: `INGEST_TABLE_ACCESS`).
#[tokio::test]
async fn the_directory_reads_one_record_or_one_email_partition_per_look_up() {
    use access_sync_ports::{Directory, FactsDirectory};
    use access_sync_rules::{MemberId, TeamId};
    let (db, trips) = store("facts-directory").await;
    for line in [JOE, ANN, TEAM] {
        handle(&db, line).await.unwrap();
    }
    trips.take();
    let dir = FactsDirectory(db);
    let m1 = MemberId::from("m1");
    let t1 = TeamId::from("t1");

    let members = dir.team_members(&t1).await.unwrap().unwrap();
    assert_eq!(members, vec![m1.clone(), MemberId::from("m2")]);
    assert_eq!(trips.take(), vec!["GetItem".to_string()]);

    assert_eq!(
        dir.email_of(&m1).await.unwrap(),
        Some(email("joe@example.com"))
    );
    assert_eq!(trips.take(), vec!["GetItem".to_string()]);

    assert_eq!(
        dir.member_by_email(&email("ann@example.com"))
            .await
            .unwrap(),
        Some(MemberId::from("m2"))
    );
    assert_eq!(trips.take(), vec!["Query".to_string()]);

    assert_eq!(
        dir.team_members(&TeamId::from("nobody")).await.unwrap(),
        None
    );
    assert_eq!(dir.email_of(&MemberId::from("m9")).await.unwrap(), None);
    assert_eq!(trips.take().len(), 2);
}

#[tokio::test]
async fn the_people_index_lists_every_member_then_only_those_stored_since() {
    let (db, trips) = store("facts-people").await;
    for line in [JOE, ANN, TEAM, PLAN] {
        handle(&db, line).await.unwrap();
    }
    trips.take();
    let (all, cut) = db.members_stored_since(None, 100).await.unwrap();
    assert!(!cut);
    let mut ids: Vec<&str> = all.iter().map(|m| m.record.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m1", "m2"], "members only, teams and plans not");
    assert_eq!(trips.take().len(), 16, "one query per shard, no scan");
    let latest = all.iter().map(|m| m.stored).max().unwrap();
    let after = latest + Duration::milliseconds(1);
    assert!(
        db.members_stored_since(Some(after), 100)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    handle(
        &db,
        r#"{"id":"e6","at":"2026-12-07T09:00:00Z","member":{"id":"m1","email":"joe@new.example"}}"#,
    )
    .await
    .unwrap();
    let (changed, _) = db.members_stored_since(Some(after), 100).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].record.id.as_str(), "m1");
    assert_eq!(changed[0].record.email, Some(email("joe@new.example")));
    assert_eq!(changed[0].version, 2);
    assert!(changed[0].stored > latest);
    let (one, cut) = db.members_stored_since(None, 1).await.unwrap();
    assert_eq!((one.len(), cut), (1, true));
}
