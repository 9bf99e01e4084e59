//! Each platform end to end on the local stack: its native webhook sequence
//! (`events/<platform>/webhooks.*`: create, update, cancel, a team plan, a pass used up; for
//! TeamUp a blocked membership and a class registration), signed as the platform signs it, is
//! posted to the platform's ingest route at the instant each payload carries, and travels
//! EventBridge → SQS → `on_*` → `on_edge` → the Kisi simulator with edges fired on the test
//! clock. Kisi must then show exactly what `access-sync normalize | access-sync preview` shows
//! for the same file, which `events/<platform>/expected.jsonl` records. Optix, whose webhooks
//! are only hints (issue 19), is tested instead through its simulator's API: see
//! `optix_webhooks_end_to_end`; TeamUp's are only nudges (issue 20): its sequence must grant
//! nothing without TeamUp's API (`teamup_webhooks_end_to_end`).

mod common;

use access_sync_platforms::Platform;
use access_sync_rules::mapping::Mappings;
use chrono::Duration;
use local_stack::native::deliveries;
use local_stack::timeline::{kisi_timeline, preview_timeline};

fn fixture(p: Platform) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(p.as_str());
    (
        std::fs::read_to_string(dir.join("mappings.toml")).unwrap(),
        std::fs::read_to_string(dir.join(p.spec().fixture().file)).unwrap(),
    )
}

async fn platform_end_to_end(p: Platform) {
    let (mapping, text) = fixture(p);
    let (natives, events) = deliveries(p, &text).unwrap();
    assert!(
        natives.len() >= 8,
        "{p:?}: a realistic sequence, got {}",
        natives.len()
    );
    let start = natives[0].at;
    let horizon = natives.iter().map(|n| n.at).max().unwrap() + Duration::days(30);
    let (stack, driver) = common::start(p.as_str(), &mapping, start).await;
    for n in &natives {
        driver.advance(n.at).await.unwrap();
        driver.post_native(n, n.at).await.unwrap();
        driver.pumps.drain().await.unwrap();
    }
    driver.advance(horizon).await.unwrap();
    assert!(!driver.pumps.has_failures(), "{p:?}: deliveries failed");
    let kisi = kisi_timeline(&driver.sim.timeline().await.unwrap(), horizon);
    let preview = preview_timeline(&Mappings::parse(&mapping).unwrap(), &events, horizon);
    assert!(!preview.is_empty(), "{p:?}: the fixture grants nothing");
    assert_eq!(
        kisi, preview,
        "{p:?}: Kisi differs from normalize | preview"
    );
    stack.stop().await;
}

/// One test per platform, below (separate tests run in parallel): a new platform makes this
/// match fail to compile until it has its own.
#[allow(dead_code)]
fn every_platform_has_its_test(p: Platform) {
    match p {
        Platform::Officernd | Platform::Optix | Platform::Nexudus | Platform::Teamup => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officernd_webhooks_end_to_end() {
    platform_end_to_end(Platform::Officernd).await;
}

/// Optix's webhooks are only hints (issue 19): the records change in the Optix simulator's
/// API, the simulator signs a webhook naming each changed record, ingest's `/optix` route turns
/// it into re-reads, and `platform_reread` publishes what the API says. Kisi must then show
/// what `preview` shows for the events the API mapping (`Platform::Optix`'s `map_records`)
/// gives for each named record as the API held it at that step — computed here from the
/// records the test put, not from Kisi — and then for a full listing of the API by the
/// scheduled sync (`platform_sync`), the only source of team membership. A forged body under
/// a captured valid signature (naming a cancellation the API does not hold) changes nothing
/// in Kisi.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optix_webhooks_end_to_end() {
    use access_sync_platforms::api::ApiRecord;
    use local_stack::functions::Functions;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    let (fixture_mapping, _) = fixture(Platform::Optix);
    // Plan template 72 ("Night access", the plan awaiting acceptance) mapped too, so its
    // acceptance shows in Kisi.
    let mapping =
        format!("{fixture_mapping}\n[[mapping]]\nsource = \"plan\"\nid = \"72\"\ngroups = [401]\n");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/optix/api");
    let seed: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("records.json")).unwrap()).unwrap();
    // What the API holds, mirrored: (collection, id) → record.
    let id_field = |c: &str| {
        optix_sim::LISTS
            .iter()
            .find(|(n, _)| *n == c)
            .map(|(_, f)| *f)
            .unwrap()
    };
    let mut api: BTreeMap<(String, String), Value> = BTreeMap::new();
    for (c, f) in optix_sim::LISTS {
        for r in seed[c].as_array().into_iter().flatten() {
            api.insert(
                (c.to_string(), r[f].as_str().unwrap().to_string()),
                r.clone(),
            );
        }
    }
    let record = |api: &BTreeMap<(String, String), Value>, c: &str, id: &str| {
        api[&(c.to_string(), id.to_string())].clone()
    };

    // 2026-03-19 12:00 UTC: before the booking (24th), with plan 9003 still UPCOMING.
    let start = chrono::DateTime::from_timestamp(1_773_921_600, 0).unwrap();
    let (stack, driver, optix) = common::start_with_optix("optix-api", &mapping, start, &[]).await;

    // Each step: the records changed in the API (if any), then one webhook per hint.
    type Step = (
        Vec<(&'static str, Value)>,
        &'static str,
        Vec<(&'static str, &'static str)>,
    );
    let mut booking_cancelled = record(&api, "bookings", "88001");
    booking_cancelled["is_approved"] = json!(false);
    booking_cancelled["is_canceled"] = json!(true);
    let mut plan_accepted = record(&api, "accountPlans", "9003");
    plan_accepted["status"] = json!("ACTIVE");
    let steps: Vec<Step> = vec![
        // A created booking (approved), with one attending invitee; it names its member too.
        (
            vec![],
            "new_member_booking",
            vec![("booking_id", "88001"), ("user_id", "301")],
        ),
        // Ada's active plan (its allowance 12 is mapped).
        (
            vec![],
            "new_plan_subscription",
            vec![("account_plan_id", "9001")],
        ),
        // The Acme team plan, then its members. A re-read of one record does not say who is in
        // a team (only a complete listing of users and teams does: the scheduled sync), so
        // these grant nothing yet (in the expectation as in Kisi) until the full sync below.
        (
            vec![],
            "new_plan_subscription",
            vec![("account_plan_id", "9002")],
        ),
        (vec![], "user_updated", vec![("user_id", "302")]),
        (vec![], "user_updated", vec![("user_id", "303")]),
        // A plan awaiting acceptance: nothing yet.
        (
            vec![],
            "new_plan_subscription",
            vec![("account_plan_id", "9003")],
        ),
        // … accepted.
        (
            vec![("accountPlans", plan_accepted)],
            "plan_subscription_updated",
            vec![("account_plan_id", "9003")],
        ),
        // A booking awaiting review (nothing) and a cancelled one (nothing).
        (vec![], "new_member_booking", vec![("booking_id", "88003")]),
        (
            vec![],
            "member_booking_cancelled",
            vec![("booking_id", "88002")],
        ),
    ];
    let post = |body: String| {
        let functions = &driver.pumps.functions;
        async move {
            functions
                .post(
                    "/optix",
                    &[("content-type", "application/x-www-form-urlencoded")],
                    body.into_bytes(),
                )
                .await
                .unwrap()
        }
    };

    let mut expected = Vec::new();
    let mut at = start;
    let mut map_hint = |api: &BTreeMap<(String, String), Value>,
                        c: &str,
                        id: &str,
                        at: chrono::DateTime<chrono::Utc>| {
        let body = record(api, c, id);
        let mapped = Platform::Optix
            .events_from_records(
                &[ApiRecord {
                    collection: c,
                    id,
                    body: &body,
                }],
                at,
            )
            .unwrap();
        for mut e in mapped.events {
            // As the re-read names each version: the mapping's id at the re-read's instant.
            e.id = format!("{}@{}", e.id, at.timestamp());
            expected.push(e);
        }
    };
    let mut captured = None;
    for (changes, event, fields) in steps {
        at += Duration::hours(1);
        driver.advance(at).await.unwrap();
        for (c, r) in changes {
            let id = r[id_field(c)].as_str().unwrap().to_string();
            optix.put(c, r.clone());
            api.insert((c.to_string(), id), r);
        }
        let body = optix.webhook(event, &fields, at.timestamp());
        let (status, text) = post(body.clone()).await;
        assert!(status == 202 || status == 200, "{event}: {status} {text}");
        driver.pumps.drain().await.unwrap();
        for (f, id) in &fields {
            let c = match *f {
                "booking_id" => "bookings",
                "account_plan_id" => "accountPlans",
                "user_id" => "users",
                other => panic!("no collection for {other}"),
            };
            map_hint(&api, c, id, at);
        }
        captured = Some(body);
    }
    assert!(!driver.pumps.has_failures(), "optix: deliveries failed");

    // A forged body under the last captured signature (same client_id, created_timestamp,
    // request_signature): it claims booking 88001 was cancelled.
    let before = serde_json::to_value(driver.sim.timeline().await.unwrap()).unwrap();
    let captured = captured.unwrap();
    // The last step named booking 88002 (cancelled); the forgery names 88001 instead.
    let forged = captured.replace("booking_id=88002", "booking_id=88001");
    assert_ne!(forged, captured);
    let (status, text) = post(forged).await;
    // After the genuine one: verified, so a hint (booking 88001 is read again from the API,
    // which says approved); nothing in Kisi changes.
    assert!(status == 202 || status == 200, "forged: {status} {text}");
    driver.pumps.drain().await.unwrap();
    let after = serde_json::to_value(driver.sim.timeline().await.unwrap()).unwrap();
    assert_eq!(before, after, "a forged body changed Kisi");
    // Raced ahead of the genuine delivery (a signature captured in flight): verified, so
    // acted on as a hint — booking 88001 is read again from the API, which says approved,
    // and Kisi does not change.
    at += Duration::minutes(30);
    driver.advance(at).await.unwrap();
    let before = serde_json::to_value(driver.sim.timeline().await.unwrap()).unwrap();
    let genuine = optix.webhook(
        "member_booking_updated",
        &[("booking_id", "88003")],
        at.timestamp(),
    );
    let forged = genuine
        .replace("member_booking_updated", "member_booking_cancelled")
        .replace("booking_id=88003", "booking_id=88001");
    assert_ne!(forged, genuine);
    let reads = optix.counters().root_fields;
    let (status, text) = post(forged).await;
    assert!(status == 202 || status == 200, "forged: {status} {text}");
    driver.pumps.drain().await.unwrap();
    assert!(
        optix.counters().root_fields > reads,
        "the forged hint was not re-read"
    );
    let after = serde_json::to_value(driver.sim.timeline().await.unwrap()).unwrap();
    assert_eq!(before, after, "a forged body changed Kisi");
    map_hint(&api, "bookings", "88001", at);

    // The cancellation, as the API says it, ends the booking.
    at += Duration::hours(1);
    driver.advance(at).await.unwrap();
    optix.put("bookings", booking_cancelled.clone());
    api.insert(("bookings".into(), "88001".into()), booking_cancelled);
    let body = optix.webhook(
        "member_booking_cancelled",
        &[("booking_id", "88001")],
        at.timestamp(),
    );
    let (status, text) = post(body).await;
    assert!(status == 202 || status == 200, "cancel: {status} {text}");
    driver.pumps.drain().await.unwrap();
    map_hint(&api, "bookings", "88001", at);

    // The scheduled full sync lists every collection: the team plan's members are known
    // only from such a listing, so the Acme plan reaches Bob and Cat now.
    at += Duration::hours(1);
    driver.advance(at).await.unwrap();
    driver
        .pumps
        .functions
        .invoke("platform_sync", json!({"platform": "optix", "full": true}))
        .await
        .unwrap();
    driver.pumps.drain().await.unwrap();
    let listing: Vec<ApiRecord<'_>> = api
        .iter()
        .map(|((c, id), body)| ApiRecord {
            collection: c,
            id,
            body,
        })
        .collect();
    expected.extend(
        Platform::Optix
            .events_from_records(&listing, at)
            .unwrap()
            .events,
    );

    let horizon = at + Duration::days(30);
    driver.advance(horizon).await.unwrap();
    assert!(!driver.pumps.has_failures(), "optix: deliveries failed");
    let kisi = kisi_timeline(&driver.sim.timeline().await.unwrap(), horizon);
    let preview = preview_timeline(&Mappings::parse(&mapping).unwrap(), &expected, horizon);
    assert!(!preview.is_empty(), "optix: the API grants nothing");
    // Ada's allowance (group 203) from her active plan, the accepted plan (401), and, from the
    // full sync, the Acme team plan for its members (101, 102) and Ada's desk assignment (301);
    // the booking was cancelled before it began.
    let groups: std::collections::BTreeSet<u64> = preview.iter().map(|l| l.1).collect();
    assert!(
        groups.contains(&203) && groups.contains(&401),
        "{preview:?}"
    );
    assert_eq!(
        kisi, preview,
        "optix: Kisi differs from the API mapping's preview"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nexudus_webhooks_end_to_end() {
    platform_end_to_end(Platform::Nexudus).await;
}

/// TeamUp's webhooks are only nudges (issue 20): on a stack where TeamUp's API cannot be read
/// (no credentials stored), its whole native sequence — memberships created, a blocked one, a
/// class registration — is acknowledged delivery by delivery and grants nothing: each only
/// asks `platform_reread` to read records, which it cannot. (With the API, the records read
/// back decide: `events/teamup/README.md`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamup_webhooks_end_to_end() {
    let (mapping, text) = fixture(Platform::Teamup);
    let (natives, events) = deliveries(Platform::Teamup, &text).unwrap();
    assert!(natives.len() >= 8, "a realistic sequence");
    let start = natives[0].at;
    let horizon = natives.iter().map(|n| n.at).max().unwrap() + Duration::days(30);
    // What the same bodies would have granted had they been applied.
    let preview = preview_timeline(&Mappings::parse(&mapping).unwrap(), &events, horizon);
    assert!(!preview.is_empty(), "the fixture's bodies claim access");
    let (stack, driver) = common::start("teamup", &mapping, start).await;
    for n in &natives {
        driver.advance(n.at).await.unwrap();
        driver.post_native(n, n.at).await.unwrap();
        driver.pumps.drain().await.unwrap();
    }
    driver.advance(horizon).await.unwrap();
    let kisi = kisi_timeline(&driver.sim.timeline().await.unwrap(), horizon);
    assert!(kisi.is_empty(), "TeamUp bodies granted access: {kisi:?}");
    stack.stop().await;
}
