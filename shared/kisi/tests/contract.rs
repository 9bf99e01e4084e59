//! Contract tests: every request body the client sends and every response the simulator
//! returns validate against Kisi's published OpenAPI files in `../shared/kisi-openapi/`
//! (JSON Schema 2020-12, with format checks on), and so does every `X-Collection-Range`.
//!
//! The simulator records each exchange (`record_exchanges`); the tests drive the client through
//! every operation it has, including its error paths, then validate the recording.
//!
//! Quirks of the published spec worked around here (each is also handled in the code):
//! 1. `POST /role_assignments`: the deprecated `{user_id, group_id, role_id}` shape that Kisi's
//!    how-to guide uses does not validate (the schema's three `oneOf` variants all require
//!    `applies_to_*`/`assignee_*`). The client therefore sends the canonical shape; the
//!    simulator still accepts both, and its answer to the deprecated shape is validated.
//! 2. 409 is not documented for any endpoint (Kisi returns it for duplicate e-mails and
//!    assignments, as observed by others); 409 and 400 answers are validated against
//!    `components.schemas.Error`.
//! 3. The empty-page form `X-Collection-Range: */N` (used by Kisi's own JS client) does not match
//!    the spec's header pattern `^(?<start>\d+)-(?<end>\d+)/(?<total>\d+)$`; it is checked
//!    against `^\*/\d+$` instead.
//! 4. A group's `place` is typed as a non-nullable object but is not required; for an
//!    organisation-wide group (`place_id: null`) the simulator leaves `place` out rather than
//!    send `null`.
//! 5. `format: float` (places) is not a JSON Schema format; unknown formats are ignored.
//! 6. The documents say `openapi: 3.2.0`; their schemas are used as JSON Schema 2020-12 with
//!    `#/components/...` references resolved by embedding `components` in each schema.

mod common;

use std::path::PathBuf;

use access_sync_kisi::{
    ApiKey, Grant, GroupId, InvitePolicy, KisiClient, NewUser, RoleAssignmentId, UserId,
};
use chrono::{TimeZone, Utc};
use common::{KEY, config, sim};
use kisi_sim::Exchange;
use serde_json::{Value, json};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kisi-openapi/")
}

fn load(file: &str) -> Value {
    let path = spec_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("spec is YAML");
    serde_json::to_value(yaml).expect("spec converts to JSON")
}

struct Specs {
    users: Value,
    groups: Value,
    assignments: Value,
    places: Value,
}

impl Specs {
    fn load() -> Self {
        Self {
            users: load("kisi-users-api-openapi.yml"),
            groups: load("kisi-groups-api-openapi.yml"),
            assignments: load("kisi-role-assignments-api-openapi.yml"),
            places: load("kisi-places-api-openapi.yml"),
        }
    }

    fn doc_for(&self, route: &str) -> &Value {
        match route.split('/').nth(1) {
            Some("users") => &self.users,
            Some("groups") => &self.groups,
            Some("role_assignments") => &self.assignments,
            Some("places") => &self.places,
            _ => panic!("no spec for {route}"),
        }
    }
}

/// A schema from the document with the document's components embedded, so `#/components/...`
/// references resolve against the new root.
fn with_components(doc: &Value, schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(obj) = s.as_object_mut() {
        obj.insert("components".into(), doc["components"].clone());
    }
    s
}

fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("the published schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn operation<'a>(doc: &'a Value, e: &Exchange) -> &'a Value {
    let op = &doc["paths"][&e.route][e.method.to_lowercase()];
    assert!(op.is_object(), "the spec has no {} {}", e.method, e.route);
    op
}

fn request_problems(specs: &Specs, e: &Exchange) -> Vec<String> {
    let Some(body) = &e.request_body else {
        return vec![];
    };
    let doc = specs.doc_for(&e.route);
    let schema = &operation(doc, e)["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no request schema for {} {}",
        e.method,
        e.route
    );
    validate(&with_components(doc, schema), body)
}

fn response_problems(specs: &Specs, e: &Exchange) -> Vec<String> {
    let doc = specs.doc_for(&e.route);
    let op = operation(doc, e);
    let mut problems = Vec::new();
    let documented = &op["responses"][e.status.to_string()];
    if e.status == 204 {
        assert!(
            documented.is_object(),
            "204 not documented for {} {}",
            e.method,
            e.route
        );
        if e.response_body.is_some() {
            problems.push("a 204 answer has a body".into());
        }
        return problems;
    }
    let schema = if documented.is_object() {
        documented["content"]["application/json"]["schema"].clone()
    } else {
        // Quirk 2: undocumented 409 (and 400) answers use Kisi's Error shape.
        assert!(
            matches!(e.status, 409 | 400),
            "{} undocumented for {} {}",
            e.status,
            e.method,
            e.route
        );
        json!({"$ref": "#/components/schemas/Error"})
    };
    let body = e.response_body.clone().unwrap_or(Value::Null);
    problems.extend(validate(&with_components(doc, &schema), &body));
    if let Some(range) = &e.collection_range {
        let header = &documented["headers"]["X-Collection-Range"]["schema"];
        let is_empty_form =
            range.starts_with("*/") && range[2..].chars().all(|c| c.is_ascii_digit());
        // Quirk 3: `*/N` is Kisi's empty-page form, outside the spec's pattern.
        if !is_empty_form {
            problems.extend(validate(header, &json!(range)));
        }
    } else if e.status == 200 && body.is_array() {
        problems.push("a list answer without X-Collection-Range".into());
    }
    problems
}

fn check_all(specs: &Specs, exchanges: &[Exchange], check_requests: bool) -> usize {
    let mut failures = Vec::new();
    for e in exchanges {
        let mut p = response_problems(specs, e);
        if check_requests {
            p.extend(request_problems(specs, e));
        }
        if !p.is_empty() {
            failures.push(format!(
                "{} {} ({}) -> {}: {p:#?}",
                e.method,
                e.route,
                e.query.clone().unwrap_or_default(),
                e.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "contract violations:\n{}",
        failures.join("\n")
    );
    exchanges.len()
}

#[tokio::test]
async fn every_request_the_client_sends_and_every_answer_validate_against_the_spec() {
    let specs = Specs::load();
    let sim = sim(true).await;
    let hq = sim.seed_place("HQ", "1 Main St");
    for i in 0..3 {
        sim.seed_group(&format!("Floor {i}"), Some(hq));
    }
    let org_wide = GroupId(sim.seed_group("Everyone", None));
    sim.seed_user("joann@example.com", "Jo Ann", Some("hand-made"));
    let mut cfg = config(&sim);
    cfg.page_size = Some(2);
    let kisi = KisiClient::new(cfg).unwrap();
    let window_start = Utc.with_ymd_and_hms(2031, 3, 1, 9, 0, 0).unwrap();

    kisi.list_groups().await.unwrap();
    kisi.list_places().await.unwrap();
    let mut users = Vec::new();
    for (i, policy) in [
        InvitePolicy::KisiDefault,
        InvitePolicy::Always,
        InvitePolicy::Never,
    ]
    .into_iter()
    .enumerate()
    {
        let new = NewUser {
            email: format!("m{i}@example.com"),
            name: (i != 0).then(|| format!("Member {i}")),
        };
        let u = kisi.ensure_user(&new, policy).await.unwrap();
        let g = kisi
            .grant(&Grant {
                user: u.user.id,
                group: org_wide,
                valid_from: (i == 1).then_some(window_start),
                valid_until: (i != 2).then(|| window_start + chrono::Duration::days(7)),
                invite: policy,
            })
            .await
            .unwrap();
        users.push((u.user.id, g.assignment().id));
    }
    // 409 → adoption (listing by user), then lists by group and user, get by id.
    kisi.grant(&Grant {
        user: users[0].0,
        group: org_wide,
        valid_from: None,
        valid_until: None,
        invite: InvitePolicy::Never,
    })
    .await
    .unwrap();
    kisi.list_group_assignments(org_wide).await.unwrap();
    // A place role (Place variant: no window), its 409 → adoption, the place's listing, and a
    // user listing that holds both kinds.
    let place = access_sync_kisi::PlaceId(hq);
    let p = kisi.grant_place(users[0].0, place).await.unwrap();
    kisi.grant_place(users[0].0, place).await.unwrap();
    kisi.list_place_assignments(place).await.unwrap();
    kisi.list_user_assignments(users[0].0).await.unwrap();
    kisi.revoke(p.assignment().id).await.unwrap();
    kisi.get_user(users[0].0).await.unwrap();
    kisi.get_group(org_wide).await.unwrap();
    // Revoke twice: 204, then 404 checked with an empty `ids=` listing (`*/0`).
    kisi.revoke(users[2].1).await.unwrap();
    kisi.revoke(users[2].1).await.unwrap();
    // A lookup with no match, a fuzzy fallback, a 409 on a duplicate e-mail.
    kisi.find_user_by_email("nobody@example.com").await.unwrap();
    sim.set_faults(kisi_sim::Faults {
        email_filter_case_sensitive: true,
        ..Default::default()
    });
    kisi.ensure_user(
        &NewUser {
            email: "M1@EXAMPLE.com".into(),
            name: None,
        },
        InvitePolicy::Never,
    )
    .await
    .unwrap();
    sim.set_faults(kisi_sim::Faults::default());
    // Error answers: 404s, 422, 401.
    let _ = kisi.get_user(UserId(4242)).await.unwrap_err();
    let _ = kisi.get_group(GroupId(4242)).await.unwrap_err();
    let _ = kisi.revoke(RoleAssignmentId(4242)).await;
    let mut bad = config(&sim);
    bad.api_key = ApiKey::new("wrong");
    let _ = KisiClient::new(bad)
        .unwrap()
        .list_groups()
        .await
        .unwrap_err();

    let exchanges = sim.exchanges();
    let statuses: std::collections::BTreeSet<u16> = exchanges.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        vec![200, 204, 401, 404, 409]
    );
    let checked = check_all(&specs, &exchanges, true);
    assert!(checked >= 30, "only {checked} exchanges recorded");
}

#[tokio::test]
async fn the_simulators_answers_to_other_request_shapes_validate_too() {
    let specs = Specs::load();
    // Raw requests go out back to back: the rate limit is off here (it has its own tests).
    let sim = kisi_sim::spawn(kisi_sim::SimConfig {
        record_exchanges: true,
        rate_limit_per_sec: 0,
        ..kisi_sim::SimConfig::with_key(KEY)
    })
    .await
    .unwrap();
    let place = sim.seed_place("HQ", "1 Main St");
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", sim.base_url))
            .header("Authorization", format!("KISI-LOGIN {KEY}"))
            .json(&body)
            .send()
    };
    let group: Value = post(
        "/groups",
        json!({"group": {"name": "Made by API", "place_id": place}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let user: Value = post(
        "/users",
        json!({"user": {"email": "raw@example.com", "name": "Raw"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // The deprecated shape of the how-to guide (quirk 1): only the answer is checked.
    let r = post(
        "/role_assignments",
        json!({"role_assignment": {"user_id": user["id"], "group_id": group["id"], "role_id": "group_basic", "valid_until": "2031-01-01T00:00:00Z"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // 422s and a 400.
    assert_eq!(
        post("/users", json!({"user": {"name": "No e-mail"}}))
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        post("/groups", json!({"group": {}}))
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        post("/role_assignments", json!({"role_assignment": {"user_id": user["id"], "group_id": group["id"], "role_id": "owner"}}))
            .await
            .unwrap()
            .status(),
        422
    );
    // A 409 on a duplicate e-mail, and a PATCH (204).
    assert_eq!(
        post("/users", json!({"user": {"email": "RAW@example.com"}}))
            .await
            .unwrap()
            .status(),
        409
    );
    let patched = http
        .patch(format!("{}/users/{}", sim.base_url, user["id"]))
        .header("Authorization", format!("KISI-LOGIN {KEY}"))
        .json(&json!({"user": {"access_enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);

    let exchanges = sim.exchanges();
    let statuses: std::collections::BTreeSet<u16> = exchanges.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        vec![200, 204, 409, 422]
    );
    check_all(&specs, &exchanges, false);
}

#[tokio::test]
async fn the_contract_check_has_teeth() {
    let specs = Specs::load();
    let sim = sim(true).await;
    sim.seed_user("ann@example.com", "Ann", None);
    let kisi = KisiClient::new(config(&sim)).unwrap();
    kisi.find_user_by_email("ann@example.com").await.unwrap();
    let mut e = sim.exchanges().remove(0);
    assert!(response_problems(&specs, &e).is_empty());

    // A user without its required `email`, and one with an undocumented field, are refused.
    let mut missing = e.clone();
    missing
        .response_body
        .as_mut()
        .and_then(|b| b[0].as_object_mut())
        .map(|u| u.remove("email"));
    assert!(!response_problems(&specs, &missing).is_empty());
    e.response_body
        .as_mut()
        .and_then(|b| b[0].as_object_mut())
        .map(|u| u.insert("nickname".into(), json!("A")));
    assert!(!response_problems(&specs, &e).is_empty());
    // A malformed range header is refused.
    let mut bad_range = sim.exchanges().remove(0);
    bad_range.collection_range = Some("0-9".into());
    assert!(!response_problems(&specs, &bad_range).is_empty());
    // A role assignment request in the deprecated shape is refused (quirk 1).
    let deprecated = Exchange {
        method: "POST".into(),
        route: "/role_assignments".into(),
        query: None,
        request_body: Some(
            json!({"role_assignment": {"user_id": 1, "group_id": 2, "role_id": "group_basic"}}),
        ),
        status: 200,
        collection_range: None,
        response_body: None,
    };
    assert!(!request_problems(&specs, &deprecated).is_empty());
}
