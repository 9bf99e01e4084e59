//! The OfficeRnD client against the OfficeRnD simulator over real HTTP (a free loopback port):
//! complete listings of a generated organisation, incremental members, reads and deletions,
//! token expiry, throttling, server errors, short pages and outages.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use access_sync_ports::memory::MemorySecrets;
use access_sync_ports::{ListRequest, PlatformSource, SourceError, SourceRecord};
use access_sync_rules::Instant as At;
use access_sync_sources::RetryPolicy;
use access_sync_sources::officernd::{OfficerndConfig, OfficerndSource};
use chrono::{DateTime, Utc};
use officernd_sim::{Collection, Faults, Readings, Sim, SimConfig, SimHandle};
use serde_json::{Value, json};

const SECRET: &str = "officernd/credentials";

fn anchor() -> At {
    DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A simulator serving a generated organisation of `members` members, its clock two hours
/// after the generator's anchor (so tokens expire only when a test says so).
async fn org(members: usize, config: SimConfig) -> SimHandle {
    let sim = Sim::new(config);
    sim.load_fixture(&officernd_sim::generate(members, 7, anchor()))
        .unwrap();
    sim.set_now(Some(anchor() + chrono::Duration::hours(2)));
    officernd_sim::spawn_sim(sim).await.unwrap()
}

fn secret_json(h: &SimHandle, client_secret: &str) -> String {
    json!({
        "client_id": "sim-client",
        "client_secret": client_secret,
        "org_slug": h.org_slug(),
        "token_url": h.token_url(),
        "api_url": format!("{}/api/v2/organizations", h.base_url),
    })
    .to_string()
}

/// Fast retries (the behaviour is the same as production's, the waits shorter); a
/// `Retry-After` is still honoured in full.
fn config(max_attempts: u32) -> OfficerndConfig {
    OfficerndConfig {
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            rate_limit_floor: Duration::from_millis(50),
            deadline: Duration::from_secs(30),
        },
        reads_per_second: 1000,
        ..OfficerndConfig::new(SECRET)
    }
}

fn client_with(
    h: &SimHandle,
    secret: &str,
    cfg: OfficerndConfig,
) -> OfficerndSource<Arc<MemorySecrets>> {
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(SECRET, &secret_json(h, secret));
    OfficerndSource::new(secrets, cfg).unwrap()
}

fn client(h: &SimHandle) -> OfficerndSource<Arc<MemorySecrets>> {
    client_with(h, "sim-secret", config(5))
}

/// A window wide enough for every generated booking occurrence and check-in.
fn window(collection: &str) -> Option<(At, At)> {
    match collection {
        "bookings/occurrences" => Some((
            anchor() - chrono::Duration::days(60),
            anchor() + chrono::Duration::days(300),
        )),
        "checkins" => Some((
            anchor() - chrono::Duration::days(60),
            anchor() + chrono::Duration::days(2),
        )),
        _ => None,
    }
}

fn request(collection: &str, changed_since: Option<At>, cursor: Option<String>) -> ListRequest {
    ListRequest {
        collection: collection.to_owned(),
        changed_since,
        window: window(collection),
        cursor,
    }
}

/// Every page of a listing until `next` is `None`; the records and the number of pages.
async fn list_all(
    src: &impl PlatformSource,
    collection: &str,
    changed_since: Option<At>,
) -> Result<(Vec<SourceRecord>, u64), SourceError> {
    let mut out = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = src
            .list(&request(collection, changed_since, cursor.take()))
            .await?;
        pages += 1;
        out.extend(page.records);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return Ok((out, pages)),
        }
    }
}

fn ids(records: &[SourceRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

/// The ids the simulator holds in `collection`.
fn sim_ids(h: &SimHandle, collection: &str) -> BTreeSet<String> {
    let c = Collection::from_key(collection).unwrap();
    h.fixture()
        .records
        .get(c.key())
        .map(|list| {
            list.iter()
                .map(|r| r["_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Each id once, and exactly the simulator's.
fn assert_exactly_once(h: &SimHandle, collection: &str, records: &[SourceRecord]) {
    let got = ids(records);
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "{collection}: an id came twice");
    assert_eq!(set, sim_ids(h, collection), "{collection}");
    assert!(records.iter().all(|r| r.collection == collection));
}

fn pages_for(n: usize) -> u64 {
    n.div_ceil(50).max(1) as u64
}

#[tokio::test]
async fn a_full_sync_of_500_members_reads_every_record_once_and_completes() {
    let h = org(500, SimConfig::default()).await;
    let src = client(&h);
    assert_eq!(src.collections().len(), 12);
    let mut per_collection: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    let mut members = Vec::new();
    for &collection in src.collections() {
        let (records, pages) = list_all(&src, collection, None).await.unwrap();
        if collection == "bookings/occurrences" {
            // Occurrences are a view: each instance once, each from a listed booking.
            let got = ids(&records);
            let set: BTreeSet<&String> = got.iter().collect();
            assert_eq!(set.len(), got.len(), "an occurrence came twice");
            let bookings = sim_ids(&h, "bookings");
            assert!(!records.is_empty());
            for r in &records {
                let id = r.body["_id"].as_str().unwrap();
                assert!(bookings.contains(id));
                assert_eq!(r.id, format!("{id}@{}", r.body["start"].as_str().unwrap()));
            }
        } else {
            assert_exactly_once(&h, collection, &records);
            assert!(
                pages == pages_for(records.len()) || pages == pages_for(records.len()) + 1,
                "{collection}: {pages} pages for {} records",
                records.len()
            );
        }
        per_collection.insert(collection, (records.len(), pages));
        if collection == "members" {
            members = records;
        }
    }
    assert_eq!(per_collection["members"].0, 500);
    // The modification times are read where the records carry them.
    assert!(members.iter().all(|r| r.modified_at.is_some()));

    let stats = src.stats();
    let counters = h.counters();
    let pages: u64 = per_collection.values().map(|(_, p)| p).sum();
    println!(
        "OfficeRnD full sync of 500 members (collection: records / pages; windows: occurrences 360 days, check-ins 62 days):"
    );
    for (c, (n, p)) in &per_collection {
        println!("  {c:22} {n:6} / {p:4}");
    }
    println!(
        "  requests {} (API {} + token {}), tokens {}",
        counters.total, stats.requests, stats.token_requests, stats.tokens
    );
    // One token; one request per page, nothing retried; the simulator saw exactly that.
    assert_eq!(stats.tokens, 1);
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.pages, pages);
    assert_eq!(stats.requests, pages);
    assert_eq!(counters.total, stats.requests + stats.token_requests);
    assert_eq!(counters.token_requests, 1);
}

#[tokio::test]
async fn members_are_listed_incrementally_by_modified_at() {
    let h = org(200, SimConfig::default()).await;
    let src = client(&h);
    let all = sim_ids(&h, "members");
    let since = anchor() + chrono::Duration::hours(3);
    h.set_now(Some(since));
    let changed: Vec<String> = all.iter().step_by(37).cloned().collect();
    assert!(changed.len() >= 5);
    for id in &changed {
        let patch = json!({"phone": "+44 20 0000 0000"});
        h.update(Collection::Members, id, patch.as_object().unwrap())
            .unwrap();
    }
    assert!(src.incremental("members"));
    let (records, _) = list_all(&src, "members", Some(since)).await.unwrap();
    let got: BTreeSet<String> = ids(&records).into_iter().collect();
    assert_eq!(got, changed.iter().cloned().collect::<BTreeSet<_>>());
    // Nothing changed among the companies since then.
    let (companies, _) = list_all(&src, "companies", Some(since)).await.unwrap();
    assert!(companies.is_empty());
    // Memberships cannot be filtered by change time: `changed_since` is not sent (OfficeRnD
    // answers 400 to it) and the listing is full.
    assert!(!src.incremental("memberships"));
    let (memberships, _) = list_all(&src, "memberships", Some(since)).await.unwrap();
    assert_exactly_once(&h, "memberships", &memberships);
    let log = h.requests();
    assert!(
        log.iter()
            .filter(|r| r.route == "GET /memberships")
            .all(|r| !r.query.as_deref().unwrap_or("").contains("modifiedAt"))
    );
    assert!(log.iter().all(|r| r.status < 400), "{log:?}");
}

#[tokio::test]
async fn one_record_by_id_and_a_deleted_one_is_none() {
    let h = org(50, SimConfig::default()).await;
    let src = client(&h);
    let member = sim_ids(&h, "members").into_iter().next().unwrap();
    let got = src
        .read("members", &member, anchor())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, member);
    assert_eq!(got.collection, "members");
    assert_eq!(
        Value::Object(h.record(Collection::Members, &member).unwrap()),
        got.body
    );

    let membership = sim_ids(&h, "memberships").into_iter().next().unwrap();
    assert!(
        src.read("memberships", &membership, anchor())
            .await
            .unwrap()
            .is_some()
    );
    h.delete(Collection::Memberships, &membership).unwrap();
    assert_eq!(
        src.read("memberships", &membership, anchor())
            .await
            .unwrap(),
        None
    );
    let (left, _) = list_all(&src, "memberships", None).await.unwrap();
    assert!(!ids(&left).contains(&membership));
    // Not an ObjectId: OfficeRnD would 404; nothing is sent.
    let before = h.counters().total;
    assert_eq!(
        src.read("members", "../companies", anchor()).await.unwrap(),
        None
    );
    assert_eq!(h.counters().total, before);
    // Unknown collections and occurrences are refused, not guessed.
    assert!(matches!(
        src.read("bookings/occurrences", &member, anchor()).await,
        Err(SourceError::Unreadable { .. })
    ));
    assert!(matches!(
        src.list(&request("invoices", None, None)).await,
        Err(SourceError::Unreadable { .. })
    ));
}

#[tokio::test]
async fn a_token_that_expires_mid_listing_is_replaced_once() {
    let h = org(300, SimConfig::default()).await;
    let src = client(&h);
    let first = src.list(&request("members", None, None)).await.unwrap();
    assert_eq!(first.records.len(), 50);
    h.expire_tokens();
    let mut records = first.records;
    let mut cursor = first.next;
    while let Some(c) = cursor.take() {
        let page = src.list(&request("members", None, Some(c))).await.unwrap();
        records.extend(page.records);
        cursor = page.next;
    }
    assert_exactly_once(&h, "members", &records);
    let stats = src.stats();
    assert_eq!((stats.tokens, stats.unauthorized), (2, 1), "{stats:?}");
    assert_eq!(h.counters().tokens_issued, 2);
}

#[tokio::test]
async fn throttling_with_retry_after_and_server_error_bursts_are_survived() {
    let h = org(200, SimConfig::default()).await;
    let src = client(&h);
    h.set_faults(Faults {
        storm_429_requests: 2,
        retry_after_secs: Some(1),
        ..Faults::default()
    });
    let (members, _) = list_all(&src, "members", None).await.unwrap();
    assert_exactly_once(&h, "members", &members);
    h.set_faults(Faults {
        error_requests: 4,
        error_status: 503,
        ..Faults::default()
    });
    let (companies, _) = list_all(&src, "companies", None).await.unwrap();
    assert_exactly_once(&h, "companies", &companies);
    // A 429 without Retry-After (the other reading, §4) is waited out as well.
    h.set_faults(Faults {
        storm_429_requests: 1,
        ..Faults::default()
    });
    let (plans, _) = list_all(&src, "plans", None).await.unwrap();
    assert_exactly_once(&h, "plans", &plans);
    let stats = src.stats();
    assert_eq!(
        (stats.rate_limited, stats.server_errors),
        (3, 4),
        "{stats:?}"
    );
    assert_eq!(h.counters().rate_limited, 3);
}

#[tokio::test]
async fn a_short_page_is_not_the_end() {
    let h = org(300, SimConfig::default()).await;
    let src = client(&h);
    h.set_faults(Faults {
        short_page_requests: 3,
        ..Faults::default()
    });
    let (members, pages) = list_all(&src, "members", None).await.unwrap();
    assert_exactly_once(&h, "members", &members);
    assert_eq!(h.counters().short_pages, 3);
    assert!(pages > pages_for(members.len()));
}

#[tokio::test]
async fn a_null_cursor_ends_a_listing_as_an_absent_one_does() {
    let h = org(120, SimConfig::default()).await;
    h.set_readings(Readings {
        null_cursor_keys: true,
        ..Readings::default()
    });
    let src = client(&h);
    let (members, _) = list_all(&src, "members", None).await.unwrap();
    assert_exactly_once(&h, "members", &members);
}

#[tokio::test]
async fn an_outage_past_the_retry_bound_is_unavailable_and_the_listing_resumes_later() {
    let h = org(200, SimConfig::default()).await;
    let src = client_with(&h, "sim-secret", config(3));
    let first = src.list(&request("members", None, None)).await.unwrap();
    let cursor = first.next.clone().expect("more pages");
    h.set_faults(Faults {
        error_requests: 1000,
        error_status: 502,
        ..Faults::default()
    });
    let err = src
        .list(&request("members", None, Some(cursor.clone())))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(src.stats().server_errors, 3);
    // The listing is incomplete: no page said `next: None`. Later, from the stored cursor:
    h.set_faults(Faults::default());
    let mut records = first.records;
    let mut next = Some(cursor);
    while let Some(c) = next.take() {
        let page = src.list(&request("members", None, Some(c))).await.unwrap();
        records.extend(page.records);
        next = page.next;
    }
    assert_exactly_once(&h, "members", &records);
}

#[tokio::test]
async fn a_token_endpoint_hiccup_is_retried() {
    let h = org(20, SimConfig::default()).await;
    let src = client(&h);
    h.set_faults(Faults {
        token_error_requests: 2,
        ..Faults::default()
    });
    let (members, _) = list_all(&src, "members", None).await.unwrap();
    assert_exactly_once(&h, "members", &members);
    let stats = src.stats();
    assert_eq!((stats.token_requests, stats.tokens), (3, 1), "{stats:?}");
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_a_missing_secret_not_configured() {
    // Every token the simulator issues is already expired: 401, one new token, 401 again.
    let h = org(
        20,
        SimConfig {
            token_lifetime_secs: 0,
            ..SimConfig::default()
        },
    )
    .await;
    let src = client(&h);
    let err = src.list(&request("members", None, None)).await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        (src.stats().tokens, src.stats().unauthorized),
        (2, 2),
        "{:?}",
        src.stats()
    );

    // A wrong client secret: refused at the token endpoint (after reading the secret again).
    let h = org(20, SimConfig::default()).await;
    let src = client_with(&h, "not-the-secret", config(5));
    let err = src.list(&request("members", None, None)).await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"));
    assert_eq!(src.stats().token_requests, 2);
    assert_eq!(h.counters().total, 2);

    // No secret, or one still empty.
    let src = OfficerndSource::new(Arc::new(MemorySecrets::default()), config(5)).unwrap();
    assert!(matches!(
        src.read("members", "603dfbc260f4054084125d33", anchor())
            .await,
        Err(SourceError::NotConfigured { .. })
    ));
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(
        SECRET,
        r#"{"client_id":"","client_secret":"","org_slug":""}"#,
    );
    let src = OfficerndSource::new(secrets, config(5)).unwrap();
    assert!(matches!(
        src.list(&request("members", None, None)).await,
        Err(SourceError::NotConfigured { .. })
    ));
}
