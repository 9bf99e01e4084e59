//! The simulator over raw HTTP: the Kisi behaviours it promises (auth, limits and ranges,
//! status codes, error shapes, 409s, the rate limit, fuzzy search, e-mails) and its admin API.
//! Each test starts its own simulator on a free port.

use std::time::Duration;

use kisi_sim::{SimConfig, SimHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KEY: &str = "k1";

async fn start(rate_limit: u32) -> SimHandle {
    kisi_sim::spawn(SimConfig {
        rate_limit_per_sec: rate_limit,
        ..SimConfig::with_key(KEY)
    })
    .await
    .unwrap()
}

struct Reply {
    status: StatusCode,
    range: Option<String>,
    body: Value,
}

async fn call(sim: &SimHandle, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url))
        .header("Authorization", format!("KISI-LOGIN {KEY}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let range = resp
        .headers()
        .get("x-collection-range")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Reply {
        status,
        range,
        body,
    }
}

async fn get(sim: &SimHandle, path: &str) -> Reply {
    call(sim, Method::GET, path, None).await
}

async fn post(sim: &SimHandle, path: &str, body: Value) -> Reply {
    call(sim, Method::POST, path, Some(body)).await
}

#[tokio::test]
async fn requests_without_a_valid_kisi_login_are_401() {
    let sim = start(0).await;
    let http = reqwest::Client::new();
    let url = format!("{}/groups", sim.base_url);
    for auth in [
        None,
        Some("KISI-LOGIN wrong"),
        Some("Bearer k1"),
        Some("k1"),
    ] {
        let mut req = http.get(&url);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["code"].is_string() && body["error"].is_string());
    }
    assert_eq!(get(&sim, "/groups").await.status, 200);
}

#[tokio::test]
async fn limits_are_clamped_per_endpoint_and_ranges_follow_the_spec() {
    let sim = start(0).await;
    for i in 0..120 {
        sim.seed_user(&format!("u{i}@example.com"), "U", None);
    }
    for i in 0..260 {
        sim.seed_group(&format!("g{i}"), None);
    }
    for i in 0..60 {
        sim.seed_place(&format!("p{i}"), "street");
    }
    let cases = [
        ("/users", 50, "0-49/120"),
        ("/users?limit=500", 100, "0-99/120"),
        ("/users?limit=100&offset=100", 20, "100-199/120"),
        ("/groups", 10, "0-9/260"),
        ("/groups?limit=1000", 250, "0-249/260"),
        ("/places", 50, "0-49/60"),
        ("/places?limit=1000", 60, "0-249/60"),
        ("/role_assignments", 0, "*/0"),
        ("/users?offset=500", 0, "*/120"),
    ];
    for (path, len, range) in cases {
        let r = get(&sim, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body.as_array().map(Vec::len), Some(len), "{path}");
        assert_eq!(r.range.as_deref(), Some(range), "{path}");
    }
}

#[tokio::test]
async fn creates_are_200_patch_and_delete_204_unknown_ids_404() {
    let sim = start(0).await;
    let user = post(
        &sim,
        "/users",
        json!({"user": {"email": "a@example.com", "name": "A"}}),
    )
    .await;
    assert_eq!(user.status, 200);
    assert_eq!(user.body["resource_type"], "User");
    let group = post(&sim, "/groups", json!({"group": {"name": "G"}})).await;
    assert_eq!(group.status, 200);
    let (uid, gid) = (
        user.body["id"].as_u64().unwrap(),
        group.body["id"].as_u64().unwrap(),
    );

    let patch = call(
        &sim,
        Method::PATCH,
        &format!("/users/{uid}"),
        Some(json!({"user": {"access_enabled": false}})),
    )
    .await;
    assert_eq!(
        (patch.status, patch.body.clone()),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        get(&sim, &format!("/users/{uid}")).await.body["access_enabled"],
        false
    );

    let ra = post(
        &sim,
        "/role_assignments",
        json!({"role_assignment": {"applies_to_type": "Group", "applies_to_id": gid, "assignee_type": "User", "assignee_id": uid, "role_id": "group_basic", "notify": false}}),
    )
    .await;
    assert_eq!(ra.status, 200);
    assert_eq!(
        (
            ra.body["type"].clone(),
            ra.body["group_id"].clone(),
            ra.body["user_id"].clone()
        ),
        (json!("group"), json!(gid), json!(uid))
    );
    let rid = ra.body["id"].as_u64().unwrap();
    assert_eq!(
        get(&sim, &format!("/role_assignments/{rid}")).await.status,
        200
    );
    assert_eq!(
        call(
            &sim,
            Method::DELETE,
            &format!("/role_assignments/{rid}"),
            None
        )
        .await
        .status,
        204
    );

    for path in [
        format!("/role_assignments/{rid}"),
        "/users/999999".into(),
        format!("/users/{gid}"),
        "/groups/abc".into(),
    ] {
        let r = get(&sim, &path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body["code"].is_string(), "{path}");
    }
    assert_eq!(
        call(
            &sim,
            Method::DELETE,
            &format!("/role_assignments/{rid}"),
            None
        )
        .await
        .status,
        404
    );
    // Users cannot be deleted through the simulator: access-sync never does.
    assert_ne!(
        call(&sim, Method::DELETE, &format!("/users/{uid}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn invalid_input_is_422_with_field_errors() {
    let sim = start(0).await;
    let uid = sim.seed_user("a@example.com", "A", None);
    let gid = sim.seed_group("G", None);
    let cases = [
        ("/users", json!({"user": {"name": "no email"}}), "email"),
        (
            "/users",
            json!({"user": {"email": "not-an-email"}}),
            "email",
        ),
        ("/groups", json!({"group": {"name": ""}}), "name"),
        (
            "/role_assignments",
            json!({"role_assignment": {"user_id": uid, "group_id": gid, "role_id": "owner"}}),
            "role_id",
        ),
        (
            "/role_assignments",
            json!({"role_assignment": {"user_id": uid, "group_id": gid, "role_id": "group_basic", "valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}}),
            "valid_until",
        ),
        (
            "/role_assignments",
            json!({"role_assignment": {"user_id": uid, "group_id": gid, "role_id": "group_basic", "valid_until": "tomorrow"}}),
            "valid_until",
        ),
    ];
    for (path, body, field) in cases {
        let r = post(&sim, path, body.clone()).await;
        assert_eq!(r.status, 422, "{body}");
        assert!(
            r.body["errors"][field][0].is_string(),
            "{body} -> {}",
            r.body
        );
    }
}

#[tokio::test]
async fn duplicates_are_409_in_both_request_shapes() {
    let sim = start(0).await;
    let uid = sim.seed_user("Ann@Example.com", "Ann", None);
    let gid = sim.seed_group("G", None);
    assert_eq!(
        post(
            &sim,
            "/users",
            json!({"user": {"email": "ann@example.COM"}})
        )
        .await
        .status,
        409
    );

    let deprecated =
        json!({"role_assignment": {"user_id": uid, "group_id": gid, "role_id": "group_basic"}});
    let canonical = json!({"role_assignment": {"applies_to_type": "Group", "applies_to_id": gid, "assignee_type": "User", "assignee_id": uid, "role_id": "group_basic"}});
    assert_eq!(
        post(&sim, "/role_assignments", deprecated.clone())
            .await
            .status,
        200
    );
    assert_eq!(post(&sim, "/role_assignments", canonical).await.status, 409);
    assert_eq!(
        post(&sim, "/role_assignments", deprecated).await.status,
        409
    );
    // One role per user and group: another role is a duplicate too.
    let manager =
        json!({"role_assignment": {"user_id": uid, "group_id": gid, "role_id": "group_manager"}});
    assert_eq!(post(&sim, "/role_assignments", manager).await.status, 409);
    assert_eq!(sim.snapshot().role_assignments.len(), 1);
}

#[tokio::test]
async fn a_sixth_request_within_a_second_is_429_and_the_window_slides() {
    let sim = start(5).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(get(&sim, "/groups").await.status.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429]);
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(get(&sim, "/groups").await.status, 200);
    // Keys have separate windows.
    let other = kisi_sim::spawn(SimConfig {
        api_keys: vec!["a".into(), "b".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    for key in ["a", "a", "a", "a", "a", "b"] {
        let s = http
            .get(format!("{}/groups", other.base_url))
            .header("Authorization", format!("KISI-LOGIN {key}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, 200, "{key}");
    }
}

#[tokio::test]
async fn query_is_a_fuzzy_substring_search_and_email_an_exact_filter() {
    let sim = start(0).await;
    sim.seed_user("joann@example.com", "Jo Ann", None);
    sim.seed_user("bob@example.com", "Bob", Some("Ann's flatmate"));
    let emails = |r: Reply| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        emails(get(&sim, "/users?query=ann@example.com").await),
        vec!["joann@example.com"]
    );
    assert_eq!(emails(get(&sim, "/users?query=ANN").await).len(), 2);
    assert!(emails(get(&sim, "/users?email=ann@example.com").await).is_empty());
    assert_eq!(
        emails(get(&sim, "/users?email=JOANN@example.com").await),
        vec!["joann@example.com"]
    );
}

#[tokio::test]
async fn role_assignments_filter_by_user_and_group() {
    let sim = start(0).await;
    let (u1, u2) = (
        sim.seed_user("a@example.com", "A", None),
        sim.seed_user("b@example.com", "B", None),
    );
    let (g1, g2) = (sim.seed_group("G1", None), sim.seed_group("G2", None));
    for (u, g) in [(u1, g1), (u1, g2), (u2, g1)] {
        let r = post(
            &sim,
            "/role_assignments",
            json!({"role_assignment": {"user_id": u, "group_id": g, "role_id": "group_basic"}}),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let count = |r: Reply| r.body.as_array().unwrap().len();
    assert_eq!(
        count(get(&sim, &format!("/role_assignments?user_id={u1}")).await),
        2
    );
    assert_eq!(
        count(
            get(
                &sim,
                &format!("/role_assignments?assignee_type=User&assignee_id={u2}")
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(get(&sim, &format!("/role_assignments?group_id={g1}")).await),
        2
    );
    assert_eq!(
        count(
            get(
                &sim,
                &format!("/role_assignments?applies_to_type=Group&applies_to_id={g2}")
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            get(
                &sim,
                &format!("/role_assignments?user_id={u2}&group_id={g2}")
            )
            .await
        ),
        0
    );
}

#[tokio::test]
async fn emails_are_recorded_as_kisi_would_send_them() {
    let sim = start(0).await;
    let gid = sim.seed_group("G", None);
    let regular = post(&sim, "/users", json!({"user": {"email": "r@example.com"}}))
        .await
        .body["id"]
        .clone();
    let managed = post(
        &sim,
        "/users",
        json!({"user": {"email": "m@example.com", "send_emails": false, "confirm": true}}),
    )
    .await
    .body["id"]
        .clone();
    for (u, notify) in [(&regular, true), (&managed, true)] {
        let r = post(&sim, "/role_assignments", json!({"role_assignment": {"user_id": u, "group_id": gid, "role_id": "group_basic", "notify": notify}})).await;
        assert_eq!(r.status, 200);
    }
    let emails: Vec<(String, kisi_sim::EmailKind)> = sim
        .snapshot()
        .emails
        .into_iter()
        .map(|e| (e.to, e.kind))
        .collect();
    assert_eq!(
        emails,
        vec![
            ("r@example.com".into(), kisi_sim::EmailKind::Welcome),
            ("r@example.com".into(), kisi_sim::EmailKind::AccessGranted)
        ]
    );
}

#[tokio::test]
async fn the_admin_api_serves_state_seeds_resets_and_sets_faults_and_the_clock() {
    let sim = start(0).await;
    let http = reqwest::Client::new();
    let admin = |p: &str| format!("{}/__admin{p}", sim.base_url);
    let place: Value = http
        .post(admin("/places"))
        .json(&json!({"name": "HQ"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group: Value = http
        .post(admin("/groups"))
        .json(&json!({"name": "G", "place_id": place["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user: Value = http
        .post(admin("/users"))
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // A virtual clock stamps records, e-mails and the timeline.
    let now = "2030-05-01T09:00:00Z";
    http.post(admin("/clock"))
        .json(&json!({"now": now}))
        .send()
        .await
        .unwrap();
    let r = post(&sim, "/role_assignments", json!({"role_assignment": {"user_id": user["id"], "group_id": group["id"], "role_id": "group_basic", "valid_until": "2030-06-01T00:00:00Z"}})).await;
    assert_eq!(r.body["created_at"], "2030-05-01T09:00:00.000Z");
    let later = "2030-05-02T10:30:00Z";
    http.post(admin("/clock"))
        .json(&json!({"now": later}))
        .send()
        .await
        .unwrap();
    call(
        &sim,
        Method::DELETE,
        &format!("/role_assignments/{}", r.body["id"]),
        None,
    )
    .await;
    let timeline: Value = http
        .get(admin("/timeline"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (timeline[0]["action"].clone(), timeline[0]["at"].clone()),
        (json!("created"), json!(now))
    );
    assert_eq!(
        (timeline[1]["action"].clone(), timeline[1]["at"].clone()),
        (json!("deleted"), json!(later))
    );
    assert_eq!(timeline[0]["valid_until"], "2030-06-01T00:00:00Z");

    // Faults over HTTP: a storm of two 429s.
    http.post(admin("/faults"))
        .json(&json!({"storm_429_requests": 2, "retry_after_secs": 1}))
        .send()
        .await
        .unwrap();
    let resp = http
        .get(format!("{}/groups", sim.base_url))
        .header("Authorization", format!("KISI-LOGIN {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            resp.status(),
            resp.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned())
        ),
        (StatusCode::TOO_MANY_REQUESTS, Some("1".into()))
    );
    assert_eq!(get(&sim, "/groups").await.status, 429);
    assert_eq!(get(&sim, "/groups").await.status, 200);
    assert!(
        http.post(admin("/faults"))
            .json(&json!({"no_such_fault": 1}))
            .send()
            .await
            .unwrap()
            .status()
            .is_client_error(),
        "an unknown fault switch is refused"
    );

    let state: Value = http
        .get(admin("/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["groups"][0]["place_id"], place["id"]);
    assert_eq!(state["requests"]["rate_limited"], 2);
    assert_eq!(state["requests"]["by_route"]["GET /groups"], 3);
    assert_eq!(state["now"], later);

    assert_eq!(
        http.post(admin("/reset")).send().await.unwrap().status(),
        204
    );
    let state: Value = http
        .get(admin("/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            state["users"].as_array().unwrap().len(),
            state["timeline"].as_array().unwrap().len()
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn a_dropped_connection_breaks_the_read_after_the_work_is_done() {
    let sim = start(0).await;
    sim.set_faults(kisi_sim::Faults {
        drop_connection_requests: 1,
        ..Default::default()
    });
    let resp = reqwest::Client::new()
        .post(format!("{}/users", sim.base_url))
        .header("Authorization", format!("KISI-LOGIN {KEY}"))
        .json(&json!({"user": {"email": "a@example.com"}}))
        .send()
        .await;
    let read = match resp {
        Ok(r) => r.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "the read should fail");
    assert_eq!(sim.snapshot().users.len(), 1, "the create happened");
}

#[tokio::test]
async fn short_and_duplicated_pages_misreport_the_range() {
    let sim = start(0).await;
    for i in 0..4 {
        sim.seed_group(&format!("g{i}"), None);
    }
    sim.set_faults(kisi_sim::Faults {
        short_page_requests: 1,
        duplicate_page_requests: 1,
        ..Default::default()
    });
    let short = get(&sim, "/groups?limit=2").await;
    assert_eq!(
        (short.body.as_array().unwrap().len(), short.range.as_deref()),
        (1, Some("0-1/4"))
    );
    let dup = get(&sim, "/groups?limit=2&offset=2").await;
    let ids: Vec<u64> = dup
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_u64().unwrap())
        .collect();
    let first_page: Vec<u64> = get(&sim, "/groups?limit=2")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids[0], first_page[1], "the page slid back by one");
    assert_eq!(dup.range.as_deref(), Some("2-3/4"));
}

#[tokio::test]
async fn a_person_shares_access_and_deletes_a_user_through_the_admin_api() {
    let sim = start(0).await;
    let admin = |p: &str| format!("{}/__admin{p}", sim.base_url);
    let http = reqwest::Client::new();
    let group = sim.seed_group("Front door", None);
    let user = sim.seed_user("staff@example.com", "Staff", None);
    let made: Value = http
        .post(admin("/role_assignments"))
        .json(&json!({"user_id": user, "group_id": group}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = made["id"].as_u64().unwrap();
    // The API sees it like any other assignment: no end, group_basic, and a 409 on a second.
    let listed = call(
        &sim,
        Method::GET,
        &format!("/role_assignments?ids={id}"),
        None,
    )
    .await;
    assert_eq!(listed.body[0]["role_id"], "group_basic");
    assert_eq!(listed.body[0]["valid_until"], Value::Null);
    let again = http
        .post(admin("/role_assignments"))
        .json(&json!({"user_id": user, "group_id": group}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Deleting the user takes its assignments with it.
    let gone = http
        .delete(admin(&format!("/users/{user}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let user_now = call(&sim, Method::GET, &format!("/users/{user}"), None).await;
    assert_eq!(user_now.status, StatusCode::NOT_FOUND);
    assert!(sim.snapshot().role_assignments.is_empty());
    let twice = http
        .delete(admin(&format!("/users/{user}")))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn place_role_assignments_have_no_window_and_list_apart_from_groups() {
    let sim = start(0).await;
    let u = sim.seed_user("a@example.com", "A", None);
    let p = sim.seed_place("HQ", "1 Main St");
    let g = sim.seed_group("G", Some(p));
    let place = |extra: Value| {
        let mut ra = json!({"applies_to_type": "Place", "applies_to_id": p,
            "assignee_type": "User", "assignee_id": u, "role_id": "place_basic", "notify": false});
        ra.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "role_assignment": ra })
    };
    // Kisi's Place variant has no window: one is refused, not dropped.
    let r = post(
        &sim,
        "/role_assignments",
        place(json!({"valid_until": "2031-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"]["valid_until"].is_array(), "{}", r.body);
    let r = post(
        &sim,
        "/role_assignments",
        place(json!({"role_id": "group_basic"})),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = post(
        &sim,
        "/role_assignments",
        place(json!({"applies_to_id": 4242})),
    )
    .await;
    assert_eq!(r.status, 404);

    let r = post(&sim, "/role_assignments", place(json!({}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            &r.body["type"],
            &r.body["place_id"],
            &r.body["applies_to_type"]
        ),
        (&json!("place"), &json!(p), &json!("Place"))
    );
    let id = r.body["id"].as_u64().unwrap();
    // The deprecated shape is a duplicate too.
    let r = post(
        &sim,
        "/role_assignments",
        json!({"role_assignment": {"user_id": u, "place_id": p, "role_id": "place_basic"}}),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = post(
        &sim,
        "/role_assignments",
        json!({"role_assignment": {"user_id": u, "group_id": g, "role_id": "group_basic"}}),
    )
    .await;
    assert_eq!(r.status, 200);

    let count = |r: Reply| r.body.as_array().unwrap().len();
    let sim = &sim;
    let q = |s: String| async move { count(get(sim, &s).await) };
    assert_eq!(q(format!("/role_assignments?user_id={u}")).await, 2);
    assert_eq!(
        q(format!(
            "/role_assignments?applies_to_type=Place&applies_to_id={p}"
        ))
        .await,
        1
    );
    assert_eq!(q(format!("/role_assignments?place_id={p}")).await, 1);
    assert_eq!(q("/role_assignments?scope=place".to_string()).await, 1);
    assert_eq!(q(format!("/role_assignments?group_id={g}")).await, 1);
    assert_eq!(q(format!("/role_assignments?ids={id}")).await, 1);
    assert_eq!(
        get(sim, &format!("/role_assignments/{id}")).await.status,
        200
    );
    assert_eq!(
        call(
            sim,
            Method::DELETE,
            &format!("/role_assignments/{id}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(q(format!("/role_assignments?place_id={p}")).await, 0);
    // Deleting the user by hand takes its place roles with it.
    sim.assign_place_by_hand(u, p, "place_manager").unwrap();
    assert!(sim.delete_user_by_hand(u));
    assert!(sim.snapshot().place_role_assignments.is_empty());
}
