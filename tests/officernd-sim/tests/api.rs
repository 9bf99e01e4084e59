//! The simulator over real HTTP: the token flow and its expiry, cursor paging, filters,
//! deletions, OfficeRnD's error quirks, every fault switch, occurrences, the request log and
//! the admin API's input checks. Each test starts its own simulator on a free loopback port.

mod common;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use common::*;
use officernd_sim::{Faults, Readings, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn the_token_endpoint_issues_client_credentials_tokens_and_refuses_bad_requests() {
    let sim = start(Some(&small_org())).await;
    let ok = token_request(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            (
                "scope",
                "flex.community.members.read flex.community.companies.read",
            ),
        ],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 3599);
    assert_eq!(
        ok.body["scope"],
        "flex.community.members.read flex.community.companies.read"
    );
    assert!(ok.body.get("refresh_token").is_none());

    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: [(Form, u16, &str); 5] = [
        (base.to_vec(), 400, "invalid_scope"),
        (
            [&base[..], &[("scope", "flex.community.members.write")]].concat(),
            400,
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
                ("scope", "flex.community.members.read"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("scope", "flex.community.members.read"),
            ],
            400,
            "unsupported_grant_type",
        ),
        (vec![], 400, "unsupported_grant_type"),
    ];
    for (form, status, error) in cases {
        let r = token_request(&sim, &form).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"].as_str()),
            (status, Some(error)),
            "{form:?}"
        );
    }
    // A JSON body is not the documented form encoding.
    let json_body = http()
        .post(sim.token_url())
        .json(
            &json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": SECRET, "scope": "flex.community.members.read"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    let c = sim.counters();
    assert_eq!((c.token_requests, c.tokens_issued), (7, 1));
}

#[tokio::test]
async fn a_token_works_until_it_expires_or_is_expired_and_a_new_one_works_again() {
    let sim = start(Some(&small_org())).await;
    let now = t("2026-03-02T09:00:00Z");
    sim.set_now(Some(now));
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "/members").await.status, 200);

    // No token, a made-up token, a wrong scheme: 401 with the NestJS body.
    for auth in [
        None,
        Some("Bearer nope"),
        Some(format!("Basic {tok}").as_str()),
    ] {
        let mut req = http().get(format!("{}/members", sim.api_base()));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = reply(req.send().await.unwrap()).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"statusCode": 401, "message": "Unauthorized access", "error": "Unauthorized"})
        );
    }

    sim.set_now(Some(now + Duration::seconds(3599)));
    assert_eq!(get(&sim, &tok, "/members").await.status, 200);
    sim.set_now(Some(now + Duration::seconds(3600)));
    assert_eq!(
        get(&sim, &tok, "/members").await.status,
        401,
        "lifetime is 3600 s"
    );
    let tok2 = token(&sim).await;
    assert_eq!(get(&sim, &tok2, "/members").await.status, 200);

    // The fault switch expires every token now; a fresh one works.
    sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    assert!(!sim.faults().expire_tokens_now, "one-shot");
    assert_eq!(get(&sim, &tok2, "/members").await.status, 401);
    assert_eq!(get(&sim, &tok2, "/companies").await.status, 401);
    let tok3 = token(&sim).await;
    assert_eq!(get(&sim, &tok3, "/members").await.status, 200);
    // The same through the admin API.
    assert_eq!(
        admin(&sim, Method::POST, "/tokens/expire", None)
            .await
            .status,
        204
    );
    assert_eq!(get(&sim, &tok3, "/members").await.status, 401);
}

#[tokio::test]
async fn a_token_without_the_endpoint_scope_is_401_not_403() {
    let sim = start(Some(&small_org())).await;
    let tok = token_with(&sim, "flex.community.companies.read").await;
    assert_eq!(get(&sim, &tok, "/companies").await.status, 200);
    for path in [
        "/members",
        "/memberships",
        "/bookings/occurrences?start=2026-03-01&end=2026-03-31",
    ] {
        assert_eq!(get(&sim, &tok, path).await.status, 401, "{path}");
    }
}

#[tokio::test]
async fn the_token_endpoint_allows_five_requests_a_minute_per_client() {
    let sim = start_with(SimConfig::default(), None).await;
    for _ in 0..5 {
        token(&sim).await;
    }
    let sixth = token_request(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "flex.community.members.read"),
        ],
    )
    .await;
    assert_eq!(sixth.status, 429);
    let wait: u64 = sixth.retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn paging_500_members_at_limit_50_returns_each_exactly_once() {
    let sim = start(None).await;
    sim.load_fixture(&officernd_sim::generate(500, 1, t("2026-03-02T00:00:00Z")))
        .unwrap();
    let tok = token(&sim).await;
    let (ids, pages) = scan(&sim, &tok, "/members?$limit=50").await;
    assert_eq!(ids.len(), 500);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
    assert_eq!(pages.len(), 10);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["results"].as_array().unwrap().len(), 50);
        assert_eq!(p["rangeStart"], 50 * i + 1);
        assert_eq!(p["rangeEnd"], 50 * i + 50);
        assert_eq!(p.get("cursorPrev").is_some(), i > 0, "page {i}");
    }
    // The last page omits cursorNext (observed), or carries null under the other reading.
    assert!(pages[9].get("cursorNext").is_none());
    sim.set_readings(Readings {
        null_cursor_keys: true,
        ..Readings::default()
    });
    let first = get(&sim, &tok, "/members").await.body;
    assert_eq!(first["cursorPrev"], Value::Null);
    assert!(first.get("cursorPrev").is_some());
    let (again, _) = scan(&sim, &tok, "/members").await;
    assert_eq!(again, ids, "default page size 50, same order");

    // cursorPrev from page 3 gives page 2 back.
    let p3 = &pages[2];
    let prev = get(
        &sim,
        &tok,
        &format!(
            "/members?$cursorPrev={}",
            p3["cursorPrev"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(prev.body["results"], pages[1]["results"]);
    assert_eq!(prev.body["rangeStart"], 51);
}

#[tokio::test]
async fn limit_and_cursor_parameters_behave_as_observed() {
    let sim = start(None).await;
    sim.load_fixture(&officernd_sim::generate(60, 2, t("2026-03-02T00:00:00Z")))
        .unwrap();
    let tok = token(&sim).await;
    let r = get(&sim, &tok, "/members?$limit=51").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["message"], "$limit must not be greater than 50");
    assert_eq!(r.body["statusCode"], 400);
    let zero = get(&sim, &tok, "/members?$limit=0").await;
    assert_eq!(zero.body["results"].as_array().unwrap().len(), 20);
    assert_eq!(get(&sim, &tok, "/members?$limit=-1").await.status, 400);
    assert_eq!(get(&sim, &tok, "/members?$cursorNext=zz").await.status, 500);
    let c = get(&sim, &tok, "/members?$limit=5").await.body["cursorNext"]
        .as_str()
        .unwrap()
        .to_owned();
    let both = get(
        &sim,
        &tok,
        &format!("/members?$cursorNext={c}&$cursorPrev={c}"),
    )
    .await;
    assert_eq!(both.status, 504);
    let empty = get(&sim, &tok, "/members?email=nobody@example.com").await;
    assert_eq!(
        empty.body,
        json!({"results": [], "rangeStart": 0, "rangeEnd": 0})
    );
    // $select keeps _id.
    let sel = get(&sim, &tok, "/members?$select=email&$limit=1").await;
    let rec = sel.body["results"][0].as_object().unwrap();
    assert_eq!(rec.keys().collect::<Vec<_>>(), vec!["_id", "email"]);
}

#[tokio::test]
async fn filters_are_the_documented_ones_and_undeclared_parameters_are_400() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    let ids = |r: &Reply| -> Vec<String> {
        r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["_id"].as_str().unwrap()[20..].to_owned())
            .collect()
    };
    let cases = [
        (
            "/members?company=64b1a0c0e4b0c0c0c0c0c001",
            vec!["a101", "a102"],
        ),
        ("/members?status[$in]=drop-in,former", vec!["a105", "a106"]),
        ("/members?email=ann@acme.example", vec!["a101"]),
        ("/members?email=ANN@acme.example", vec![]),
        ("/members?properties[keyfob]=A-17", vec!["a101"]),
        (
            "/memberships?member=64b1a0c0e4b0a1a1a1a1a103",
            vec!["ee03", "ee06"],
        ),
        (
            "/memberships?company=64b1a0c0e4b0c0c0c0c0c002",
            vec!["ee02", "ee07"],
        ),
        ("/passes?member=64b1a0c0e4b0a1a1a1a1a105", vec!["0052"]),
        (
            "/assignments?membership=6600aa00bb00cc00dd00ee04",
            vec!["ee01"],
        ),
        ("/checkins?start[$gte]=2026-03-01", vec!["ee02"]),
        (
            "/checkins/visitors?visitor=603d00000000000000000036",
            vec!["ee01"],
        ),
        ("/locations?isOpen=true", vec!["5601"]),
        ("/plans?code=DESK", vec!["0002"]),
    ];
    for (path, want) in cases {
        let r = get(&sim, &tok, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(ids(&r), want, "{path}");
    }
    sim.set_readings(Readings {
        email_case_insensitive: true,
        ..Readings::default()
    });
    assert_eq!(
        ids(&get(&sim, &tok, "/members?email=ANN@acme.example").await),
        vec!["a101"]
    );

    // Sorting where documented.
    let desc = get(&sim, &tok, "/members?$sort={\"name\":-1}&$select=name").await;
    assert_eq!(desc.body["results"][0]["name"], "Fay Fox");
    assert_eq!(get(&sim, &tok, "/members?$sort=phone").await.status, 400);

    for path in [
        "/memberships?modifiedAt[$gte]=2026-01-01T00:00:00Z",
        "/memberships?createdAt[$gte]=2026-01-01T00:00:00Z",
        "/memberships?$sort=name",
        "/memberships?plan=5e0000000000000000000001",
        "/members?nickname=x",
        "/passes?modifiedAt[$gte]=2026-01-01T00:00:00Z",
        "/bookings?modifiedAt[$gte]=2026-01-01T00:00:00Z",
        "/members?modifiedAt[$gte]=not-a-date",
    ] {
        let r = get(&sim, &tok, path).await;
        assert_eq!(r.status, 400, "{path}");
    }
    let r = get(
        &sim,
        &tok,
        "/memberships?modifiedAt[$gte]=2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        r.body["message"],
        "property modifiedAt[$gte] should not exist"
    );
    // Single-record GETs ignore parameters.
    let one = get(
        &sim,
        &tok,
        "/memberships/6600aa00bb00cc00dd00ee01?whatever=1",
    )
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["isPersonal"], false);
    assert!(one.body.get("member").is_none());
    // The other readings: unknown parameters ignored, modifiedAt everywhere.
    sim.set_readings(Readings {
        ignore_unknown_params: true,
        modified_at_everywhere: true,
        ..Readings::default()
    });
    assert_eq!(get(&sim, &tok, "/members?nickname=x").await.status, 200);
    let since = get(
        &sim,
        &tok,
        "/memberships?modifiedAt[$gte]=2026-02-20T00:00:00Z",
    )
    .await;
    assert_eq!(ids(&since), vec!["ee06", "ee07"]);
}

#[tokio::test]
async fn a_modified_at_filter_returns_only_the_records_changed_since() {
    let sim = start(None).await;
    sim.load_fixture(&officernd_sim::generate(300, 3, t("2026-03-02T00:00:00Z")))
        .unwrap();
    let tok = token(&sim).await;
    let changed_at = t("2026-03-02T10:00:00Z");
    sim.set_now(Some(changed_at));
    let members = sim.fixture().records["members"].clone();
    let picked: Vec<String> = [5usize, 77, 250]
        .iter()
        .map(|i| members[*i]["_id"].as_str().unwrap().to_owned())
        .collect();
    for id in &picked {
        let r = admin(
            &sim,
            Method::PATCH,
            &format!("/records/members/{id}"),
            Some(json!({"phone": "+44 20 0000 0000"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["record"]["modifiedAt"], "2026-03-02T10:00:00.000Z");
        let prev = r.body["previousAttributes"].as_object().unwrap();
        assert_eq!(prev.keys().collect::<Vec<_>>(), vec!["modifiedAt", "phone"]);
        assert_ne!(prev["phone"], "+44 20 0000 0000");
    }
    let since = "2026-03-02T10:00:00.000Z";
    let (ids, _) = scan(&sim, &tok, &format!("/members?modifiedAt[$gte]={since}")).await;
    let mut want = picked.clone();
    want.sort();
    assert_eq!(ids, want);
    let (none, _) = scan(&sim, &tok, &format!("/members?modifiedAt[$gt]={since}")).await;
    assert!(none.is_empty());
    // Companies have the filter too.
    let (cos, _) = scan(&sim, &tok, &format!("/companies?modifiedAt[$gte]={since}")).await;
    assert!(cos.is_empty());
}

#[tokio::test]
async fn a_deleted_record_404s_by_id_and_vanishes_from_lists() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    let id = "6600aa00bb00cc00dd00ee03";
    assert_eq!(
        get(&sim, &tok, &format!("/memberships/{id}")).await.status,
        200
    );
    let del = admin(
        &sim,
        Method::DELETE,
        &format!("/records/memberships/{id}"),
        None,
    )
    .await;
    assert_eq!(del.status, 200);
    assert_eq!(del.body["eventType"], "membership.removed");
    let gone = get(&sim, &tok, &format!("/memberships/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["statusCode"], 404);
    assert_eq!(gone.body["error"], "Not Found");
    let (ids, _) = scan(&sim, &tok, "/memberships").await;
    assert_eq!(ids.len(), 6);
    assert!(!ids.contains(&id.to_owned()));
    assert_eq!(
        get(&sim, &tok, "/memberships/count").await.body,
        json!({"total": 6})
    );
    assert_eq!(
        get(&sim, &tok, "/members/not-an-object-id").await.status,
        404
    );
    let again = admin(
        &sim,
        Method::DELETE,
        &format!("/records/memberships/{id}"),
        None,
    )
    .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn an_unknown_organisation_is_500_and_an_unknown_path_404() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    let r = reply(
        http()
            .get(format!(
                "{}/api/v2/organizations/other-org/members",
                sim.base_url
            ))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["message"], "Organization not found");
    let r = get(&sim, &tok, "/invoices").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["message"],
        "Cannot GET /api/v2/organizations/sim-coworking/invoices"
    );
}

#[tokio::test]
async fn server_error_faults_hit_the_next_n_requests_or_a_share_of_them() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    sim.set_faults(Faults {
        error_requests: 2,
        error_status: 502,
        ..Faults::default()
    });
    let statuses = [
        get(&sim, &tok, "/members").await.status,
        get(&sim, &tok, "/members").await.status,
        get(&sim, &tok, "/members").await.status,
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [502, 502, 200]);
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let r = get(&sim, &tok, "/companies").await;
    assert_eq!(
        (r.status.as_u16(), r.body["statusCode"].as_u64()),
        (503, Some(503))
    );
    sim.set_faults(Faults::default());
    assert_eq!(get(&sim, &tok, "/companies").await.status, 200);
    assert_eq!(sim.counters().injected_errors, 3);

    // The token endpoint has its own switch.
    sim.set_faults(Faults {
        token_error_requests: 1,
        ..Faults::default()
    });
    let r = token_request(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "flex.community.members.read"),
        ],
    )
    .await;
    assert_eq!(r.status, 503);
    token(&sim).await;
}

#[tokio::test]
async fn rate_limit_faults_answer_429_with_or_without_retry_after() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    sim.set_faults(Faults {
        storm_429_requests: 1,
        retry_after_secs: Some(7),
        ..Faults::default()
    });
    let r = get(&sim, &tok, "/members").await;
    assert_eq!(
        (r.status.as_u16(), r.retry_after.as_deref()),
        (429, Some("7"))
    );
    assert_eq!(r.body["statusCode"], 429);
    assert_eq!(get(&sim, &tok, "/members").await.status, 200);
    sim.set_faults(Faults {
        storm_429_for_ms: Some(60_000),
        ..Faults::default()
    });
    for _ in 0..3 {
        let r = get(&sim, &tok, "/members").await;
        assert_eq!((r.status.as_u16(), r.retry_after), (429, None));
    }
    sim.set_faults(Faults::default());
    assert_eq!(get(&sim, &tok, "/members").await.status, 200);
    assert_eq!(sim.counters().rate_limited, 4);
}

#[tokio::test]
async fn a_configured_read_limit_answers_429_and_counts_writes_apart() {
    let sim = start_with(
        SimConfig {
            token_limit_per_min: 0,
            read_limit_per_min: 3,
            write_limit_per_min: 1,
            ..SimConfig::default()
        },
        Some(&small_org()),
    )
    .await;
    let tok = token(&sim).await;
    for _ in 0..3 {
        assert_eq!(get(&sim, &tok, "/locations").await.status, 200);
    }
    let r = get(&sim, &tok, "/locations").await;
    assert_eq!(r.status, 429);
    assert!(r.retry_after.is_some());
    // Writes have their own window.
    let hook = http()
        .post(format!("{}/webhooks", sim.api_base()))
        .bearer_auth(&tok)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["member.updated"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201);
    sim.set_readings(Readings {
        limiter_without_retry_after: true,
        ..Readings::default()
    });
    let r = get(&sim, &tok, "/locations").await;
    assert_eq!((r.status.as_u16(), r.retry_after), (429, None));
}

#[tokio::test]
async fn a_short_page_has_fewer_records_than_the_limit_and_a_cursor_that_loses_nothing() {
    let sim = start(None).await;
    sim.load_fixture(&officernd_sim::generate(120, 4, t("2026-03-02T00:00:00Z")))
        .unwrap();
    let tok = token(&sim).await;
    sim.set_faults(Faults {
        short_page_requests: 2,
        ..Faults::default()
    });
    let (ids, pages) = scan(&sim, &tok, "/members?$limit=50").await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["results"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![25, 25, 50, 20]);
    assert!(pages[0]["cursorNext"].is_string());
    assert_eq!(pages[1]["rangeStart"], 26);
    assert_eq!(ids.len(), 120);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 120);
    assert_eq!(sim.counters().short_pages, 2);
}

#[tokio::test]
async fn occurrences_expand_recurring_bookings_in_a_window_of_at_most_a_year() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    let (bookings, _) = scan(&sim, &tok, "/bookings").await;
    assert_eq!(bookings.len(), 3, "a series is one entry in /bookings");
    let (occ, pages) = scan(
        &sim,
        &tok,
        "/bookings/occurrences?start=2026-03-01&end=2026-04-30&$limit=4",
    )
    .await;
    // 10 stand-ups, the board meeting and the cancelled call.
    assert_eq!(occ.len(), 12);
    let starts: Vec<String> = pages
        .iter()
        .flat_map(|p| p["results"].as_array().unwrap().clone())
        .map(|o| o["start"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "ordered by start");
    assert_eq!(starts[0], "2026-03-02T09:00:00.000Z");
    // COUNT=10 on Mondays, Wednesdays and Fridays from 2 March ends on Monday 23 March.
    assert_eq!(starts.last().unwrap(), "2026-03-23T09:00:00.000Z");
    let only_dan = get(
        &sim,
        &tok,
        "/bookings/occurrences?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z&member=64b1a0c0e4b0a1a1a1a1a104",
    )
    .await;
    assert_eq!(only_dan.body["results"].as_array().unwrap().len(), 3);
    for bad in [
        "/bookings/occurrences",
        "/bookings/occurrences?start=2026-01-01&end=2027-06-01",
        "/bookings/occurrences?start=2026-03-01&end=yesterday",
    ] {
        assert_eq!(get(&sim, &tok, bad).await.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn resource_status_follows_assignments() {
    let sim = start(Some(&small_org())).await;
    sim.set_now(Some(t("2026-03-02T12:00:00Z")));
    let tok = token(&sim).await;
    let desk = get(&sim, &tok, "/resources/5f0000000000000000000102/status").await;
    assert_eq!(desk.body["status"], "occupied");
    let room = get(&sim, &tok, "/resources/5f0000000000000000000101/status").await;
    assert_eq!(room.body["status"], "available");
}

#[tokio::test]
async fn the_request_log_and_counters_record_every_api_request() {
    let sim = start(Some(&small_org())).await;
    let tok = token(&sim).await;
    get(&sim, &tok, "/members").await;
    get(&sim, &tok, "/members/64b1a0c0e4b0a1a1a1a1a101").await;
    get(&sim, &tok, "/members?$limit=51").await;
    admin(&sim, Method::GET, "/state", None).await;
    let log = admin(&sim, Method::GET, "/requests", None).await.body;
    let routes: Vec<(&str, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["route"].as_str().unwrap(), e["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("POST /oauth/token", 200),
            ("GET /members", 200),
            ("GET /members/{id}", 200),
            ("GET /members", 400),
        ]
    );
    assert_eq!(log[1]["clientId"], CLIENT_ID);
    let c = admin(&sim, Method::GET, "/counters", None).await.body;
    assert_eq!(c["total"], 4);
    assert_eq!(c["byRoute"]["GET /members"], 2);
    assert_eq!(c["byStatus"]["400"], 1);
    assert_eq!(
        admin(&sim, Method::DELETE, "/requests", None).await.status,
        204
    );
    assert_eq!(sim.counters().total, 0);
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn the_admin_api_seeds_generates_and_refuses_bad_input_without_changing_anything() {
    let sim = start(None).await;
    let put = http()
        .put(format!("{}/__admin/fixture", sim.base_url))
        .body(serde_json::to_string(&small_org()).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    assert_eq!(sim.count(officernd_sim::Collection::Members), 6);
    let bad_fixtures = [
        json!({"members": [{"_id": "short"}]}),
        json!({"members": [{"name": "no id"}]}),
        json!({"memberz": []}),
        json!({"members": [{"_id": "64b1a0c0e4b0a1a1a1a1a101", "modifiedAt": "yesterday"}]}),
        json!({"bookings": [{"_id": "603d00000000000000000099", "start": "2026-03-02T09:00:00Z",
            "end": "2026-03-02T10:00:00Z", "recurrence": {"rrule": "FREQ=YEARLY"}}]}),
        json!({"members": [{"_id": "64b1a0c0e4b0a1a1a1a1a101"}, {"_id": "64b1a0c0e4b0a1a1a1a1a101"}]}),
    ];
    for f in bad_fixtures {
        let r = admin(&sim, Method::PUT, "/fixture", Some(f.clone())).await;
        assert_eq!(r.status, 400, "{f}");
        assert!(r.body["error"].is_string());
        assert_eq!(sim.count(officernd_sim::Collection::Members), 6, "{f}");
    }
    let bad_changes = [
        (Method::POST, "/records/members", json!({"_id": "nope"})),
        (
            Method::POST,
            "/records/members",
            json!({"_id": "64b1a0c0e4b0a1a1a1a1a101"}),
        ),
        (Method::POST, "/records/nothing", json!({})),
        (
            Method::PATCH,
            "/records/members/64b1a0c0e4b0a1a1a1a1a101",
            json!({"_id": "64b1a0c0e4b0a1a1a1a1a102"}),
        ),
        (
            Method::PATCH,
            "/records/members/64b1a0c0e4b0a1a1a1a1a101?webhook=loud",
            json!({"name": "X"}),
        ),
        (Method::POST, "/faults", json!({"no_such_fault": 1})),
        (Method::POST, "/readings", json!({"no_such_reading": true})),
    ];
    for (m, path, body) in bad_changes {
        let r = admin(&sim, m.clone(), path, Some(body)).await;
        assert!(
            r.status == 400 || r.status == 404,
            "{m} {path}: {}",
            r.status
        );
    }
    assert_eq!(
        sim.record(
            officernd_sim::Collection::Members,
            "64b1a0c0e4b0a1a1a1a1a101"
        )
        .unwrap()["name"],
        "Ann Archer"
    );
    // A created record gets an ObjectId and the clock's timestamps.
    sim.set_now(Some(t("2026-03-05T08:00:00Z")));
    let made = admin(
        &sim,
        Method::POST,
        "/records/members",
        Some(json!({"name": "New One", "status": "active"})),
    )
    .await;
    assert_eq!(made.status, 200);
    let id = made.body["record"]["_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert_eq!(made.body["record"]["createdAt"], "2026-03-05T08:00:00.000Z");
    assert_eq!(made.body["eventType"], "member.created");

    let g = admin(
        &sim,
        Method::POST,
        "/generate",
        Some(json!({"members": 40, "seed": 9})),
    )
    .await;
    assert_eq!(g.body["members"], 40);
    assert_eq!(
        admin(
            &sim,
            Method::POST,
            "/generate",
            Some(json!({"members": 1_000_000}))
        )
        .await
        .status,
        400
    );
    let state = admin(&sim, Method::GET, "/state", None).await.body;
    assert_eq!(state["fixture"]["members"].as_array().unwrap().len(), 40);
}
