//! The Kisi client against the Kisi simulator over real HTTP: paging, retries, faults, 409
//! adoption, e-mail matching and invite policies. Each test starts its own simulator.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use access_sync_kisi::{
    Grant, GrantOutcome, GroupId, InvitePolicy, KisiClient, KisiError, NewUser, OWNERSHIP_MARKER,
    RevokeOutcome, UserId, UserOrigin,
};
use chrono::{TimeZone, Utc};
use common::{client, config, sim};
use kisi_sim::{EmailKind, Faults};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: Some("Test Member".into()),
    }
}

fn grant(user: UserId, group: GroupId, invite: InvitePolicy) -> Grant {
    Grant {
        user,
        group,
        valid_from: None,
        valid_until: Some(Utc.with_ymd_and_hms(2031, 1, 31, 18, 0, 0).unwrap()),
        invite,
    }
}

#[tokio::test]
async fn a_three_page_listing_returns_every_group_exactly_once() {
    let sim = sim(false).await;
    let place = sim.seed_place("HQ", "1 Main St");
    let seeded: HashSet<u64> = (0..5)
        .map(|i| sim.seed_group(&format!("G{i}"), Some(place)))
        .collect();
    let mut cfg = config(&sim);
    cfg.page_size = Some(2);
    let kisi = KisiClient::new(cfg).unwrap();

    let groups = kisi.list_groups().await.unwrap();

    let got: HashSet<u64> = groups.iter().map(|g| g.id.0).collect();
    assert_eq!(got, seeded);
    assert_eq!(groups.len(), 5);
    assert_eq!(
        sim.snapshot().requests.by_route.get("GET /groups"),
        Some(&3)
    );
    assert_eq!(
        groups[0].place.as_ref().map(|p| p.name.as_str()),
        Some("HQ")
    );
}

#[tokio::test]
async fn a_429_storm_is_waited_out_then_the_call_succeeds() {
    let sim = sim(false).await;
    sim.seed_group("Members", None);
    sim.set_faults(Faults {
        storm_429_requests: 3,
        ..Faults::default()
    });
    let kisi = client(&sim);

    let groups = kisi.list_groups().await.unwrap();

    assert_eq!(groups.len(), 1);
    let stats = kisi.stats();
    assert_eq!(stats.rate_limited, 3);
    assert_eq!(stats.requests, 4);
    assert_eq!(sim.snapshot().requests.rate_limited, 3);
}

#[tokio::test]
async fn a_429_storm_longer_than_the_deadline_is_a_rate_limited_error() {
    let sim = sim(false).await;
    sim.set_faults(Faults {
        storm_429_for_ms: Some(60_000),
        ..Faults::default()
    });
    let mut cfg = config(&sim);
    cfg.retry.deadline = Duration::from_millis(800);
    let kisi = KisiClient::new(cfg).unwrap();

    let err = kisi.list_groups().await.unwrap_err();

    assert!(matches!(err, KisiError::RateLimited { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn twenty_percent_5xx_still_completes_every_grant_once() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    sim.set_faults(Faults {
        error_rate: 0.2,
        ..Faults::default()
    });
    let kisi = client(&sim);

    for i in 0..12 {
        let user = kisi
            .ensure_user(&new_user(&format!("m{i}@example.com")), InvitePolicy::Never)
            .await
            .unwrap();
        kisi.grant(&grant(user.user.id, group, InvitePolicy::Never))
            .await
            .unwrap();
    }

    let state = sim.snapshot();
    assert_eq!(state.users.len(), 12);
    assert_eq!(state.role_assignments.len(), 12);
    let injected = state.requests.injected_errors;
    assert!(
        injected > 0,
        "the fault switch should have fired in ~36 requests"
    );
    assert_eq!(kisi.stats().server_errors, injected);
}

#[tokio::test]
async fn a_kisi_that_never_answers_in_time_is_a_timeout_error() {
    let sim = sim(false).await;
    sim.set_faults(Faults {
        latency_ms: 1_500,
        ..Faults::default()
    });
    let mut cfg = config(&sim);
    cfg.request_timeout = Duration::from_millis(150);
    cfg.retry.deadline = Duration::from_millis(700);
    let kisi = KisiClient::new(cfg).unwrap();
    let started = Instant::now();

    let err = kisi.list_groups().await.unwrap_err();

    assert!(matches!(err, KisiError::Timeout { .. }), "{err}");
    assert!(kisi.stats().timeouts >= 2, "{:?}", kisi.stats());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn one_slow_answer_is_retried_and_succeeds() {
    let sim = sim(false).await;
    sim.seed_group("Members", None);
    sim.set_faults(Faults {
        latency_ms: 1_500,
        latency_requests: Some(1),
        ..Faults::default()
    });
    let mut cfg = config(&sim);
    cfg.request_timeout = Duration::from_millis(300);
    let kisi = KisiClient::new(cfg).unwrap();

    let groups = kisi.list_groups().await.unwrap();

    assert_eq!(groups.len(), 1);
    assert_eq!(kisi.stats().timeouts, 1);
}

#[tokio::test]
async fn a_short_page_is_an_error_never_an_empty_group() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let user = UserId(sim.seed_user("only@example.com", "Only Member", None));
    let kisi = client(&sim);
    kisi.grant(&grant(user, group, InvitePolicy::Never))
        .await
        .unwrap();
    sim.set_faults(Faults {
        short_page_requests: 1,
        ..Faults::default()
    });

    let err = kisi.list_group_assignments(group).await.unwrap_err();

    assert!(matches!(err, KisiError::IncompleteRead { .. }), "{err}");
    // Once the fault is spent, the same read is complete.
    assert_eq!(kisi.list_group_assignments(group).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_short_middle_page_is_an_error() {
    let sim = sim(false).await;
    for i in 0..5 {
        sim.seed_group(&format!("G{i}"), None);
    }
    let mut cfg = config(&sim);
    cfg.page_size = Some(2);
    let kisi = KisiClient::new(cfg).unwrap();
    sim.set_faults(Faults {
        short_page_requests: 1,
        ..Faults::default()
    });

    let err = kisi.list_groups().await.unwrap_err();
    assert!(matches!(err, KisiError::IncompleteRead { .. }), "{err}");
}

#[tokio::test]
async fn a_duplicated_item_across_pages_is_an_error() {
    let sim = sim(false).await;
    for i in 0..5 {
        sim.seed_group(&format!("G{i}"), None);
    }
    let mut cfg = config(&sim);
    cfg.page_size = Some(2);
    let kisi = KisiClient::new(cfg).unwrap();
    // The first page is read cleanly; the second slides back by one.
    let first = kisi.list_groups().await.unwrap();
    assert_eq!(first.len(), 5);
    sim.set_faults(Faults {
        duplicate_page_requests: 1,
        ..Faults::default()
    });
    let err = kisi.list_groups().await.unwrap_err();
    assert!(
        matches!(err, KisiError::IncompleteRead { ref reason, .. } if reason.contains("twice")),
        "{err}"
    );
}

#[tokio::test]
async fn a_409_on_grant_adopts_the_same_assignment() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let user = UserId(sim.seed_user("ann@example.com", "Ann", None));
    let kisi = client(&sim);

    let first = kisi
        .grant(&grant(user, group, InvitePolicy::Never))
        .await
        .unwrap();
    let second = kisi
        .grant(&grant(user, group, InvitePolicy::Never))
        .await
        .unwrap();

    assert!(matches!(first, GrantOutcome::Created(_)));
    match second {
        GrantOutcome::Adopted(a) => {
            assert_eq!(a.id, first.assignment().id);
            assert_eq!(
                (a.user, a.group, a.role_id.as_str()),
                (user, group, "group_basic")
            );
        }
        other => panic!("expected adoption, got {other:?}"),
    }
    assert_eq!(sim.snapshot().role_assignments.len(), 1);
    assert_eq!(sim.snapshot().requests.by_status.get(&409), Some(&1));
}

#[tokio::test]
async fn a_409_for_another_role_in_the_group_is_reported_as_such_not_as_an_adoption() {
    let sim = sim(false).await;
    let group = sim.seed_group("Members", None);
    let user = sim.seed_user("ann@example.com", "Ann", None);
    // Someone made Ann a group manager by hand.
    let resp = reqwest::Client::new()
        .post(format!("{}/role_assignments", sim.base_url))
        .header("Authorization", format!("KISI-LOGIN {}", common::KEY))
        .json(&serde_json::json!({"role_assignment": {"user_id": user, "group_id": group, "role_id": "group_manager"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let kisi = client(&sim);

    let outcome = kisi
        .grant(&grant(UserId(user), GroupId(group), InvitePolicy::Never))
        .await
        .unwrap();

    match outcome {
        GrantOutcome::OtherRole(a) => assert_eq!(a.role_id, "group_manager"),
        other => panic!("expected the other role, got {other:?}"),
    }
    assert_eq!(sim.snapshot().role_assignments.len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_after_the_create_is_retried_and_adopted() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let user = UserId(sim.seed_user("ann@example.com", "Ann", None));
    sim.set_faults(Faults {
        drop_connection_requests: 1,
        ..Faults::default()
    });
    let kisi = client(&sim);

    let outcome = kisi
        .grant(&grant(user, group, InvitePolicy::Never))
        .await
        .unwrap();

    assert!(matches!(outcome, GrantOutcome::Adopted(_)), "{outcome:?}");
    let state = sim.snapshot();
    assert_eq!(state.role_assignments.len(), 1);
    assert_eq!(state.requests.dropped_connections, 1);
    assert_eq!(kisi.stats().transport_errors, 1);
}

#[tokio::test]
async fn a_fuzzy_query_hit_for_joann_never_matches_ann() {
    let sim = sim(false).await;
    let joann = sim.seed_user("joann@example.com", "Jo Ann", None);
    let kisi = client(&sim);

    // With the e-mail filter honoured...
    assert_eq!(
        kisi.find_user_by_email("ann@example.com").await.unwrap(),
        None
    );
    // ...and with it ignored, which forces the fuzzy `query=` fallback that does return Jo Ann.
    sim.set_faults(Faults {
        email_filter_ignored: true,
        ..Faults::default()
    });
    assert_eq!(
        kisi.find_user_by_email("ann@example.com").await.unwrap(),
        None
    );
    let by_query = sim.snapshot().requests.by_route.get("GET /users").copied();
    assert!(
        by_query >= Some(3),
        "the fallback query should have run: {by_query:?}"
    );

    let ann = kisi
        .ensure_user(&new_user("ann@example.com"), InvitePolicy::Never)
        .await
        .unwrap();
    assert_eq!(ann.origin, UserOrigin::Created);
    assert_ne!(ann.user.id.0, joann);
    assert_eq!(ann.user.email, "ann@example.com");
}

#[tokio::test]
async fn an_existing_user_is_found_whatever_the_case_of_the_email() {
    let sim = sim(false).await;
    let id = sim.seed_user("Ann.Lee@Example.com", "Ann Lee", None);
    let kisi = client(&sim);

    let found = kisi
        .ensure_user(&new_user(" ann.lee@example.COM "), InvitePolicy::Always)
        .await
        .unwrap();

    assert_eq!((found.user.id.0, found.origin), (id, UserOrigin::Found));
    assert!(
        !found.user.is_managed_by_access_sync(),
        "we did not create this user"
    );
    assert!(sim.snapshot().emails.is_empty());
}

#[tokio::test]
async fn a_case_sensitive_email_filter_is_caught_by_the_409_and_the_user_adopted() {
    let sim = sim(false).await;
    let id = sim.seed_user("Ann@Example.com", "Ann", None);
    sim.set_faults(Faults {
        email_filter_case_sensitive: true,
        ..Faults::default()
    });
    let kisi = client(&sim);

    let got = kisi
        .ensure_user(&new_user("ann@example.com"), InvitePolicy::Never)
        .await
        .unwrap();

    assert_eq!(
        (got.user.id.0, got.origin),
        (id, UserOrigin::AdoptedAfterConflict)
    );
    assert_eq!(sim.snapshot().users.len(), 1);
}

#[tokio::test]
async fn users_we_create_carry_the_ownership_marker() {
    let sim = sim(false).await;
    let kisi = client(&sim);

    let created = kisi
        .ensure_user(&new_user("new@example.com"), InvitePolicy::Never)
        .await
        .unwrap();

    assert_eq!(created.origin, UserOrigin::Created);
    assert!(created.user.is_managed_by_access_sync());
    let stored = &sim.snapshot().users[0];
    assert_eq!(stored.notes.as_deref(), Some(OWNERSHIP_MARKER));
    // Found again, not re-created.
    let again = kisi
        .ensure_user(&new_user("NEW@example.com"), InvitePolicy::Never)
        .await
        .unwrap();
    assert_eq!(
        (again.user.id, again.origin),
        (created.user.id, UserOrigin::Found)
    );
}

async fn emails_for(
    policy: InvitePolicy,
) -> (
    Vec<EmailKind>,
    kisi_sim::StateSnapshot,
    Vec<kisi_sim::Exchange>,
) {
    let sim = sim(true).await;
    let group = GroupId(sim.seed_group("Members", None));
    let kisi = client(&sim);
    let user = kisi
        .ensure_user(&new_user("member@example.com"), policy)
        .await
        .unwrap();
    kisi.grant(&grant(user.user.id, group, policy))
        .await
        .unwrap();
    let state = sim.snapshot();
    (
        state.emails.iter().map(|e| e.kind).collect(),
        state,
        sim.exchanges(),
    )
}

fn posted(exchanges: &[kisi_sim::Exchange], route: &str) -> serde_json::Value {
    exchanges
        .iter()
        .find(|e| e.method == "POST" && e.route == route)
        .and_then(|e| e.request_body.clone())
        .expect("a POST was recorded")
}

#[tokio::test]
async fn invite_policy_never_makes_a_managed_user_and_kisi_sends_nothing() {
    let (emails, state, exchanges) = emails_for(InvitePolicy::Never).await;
    assert_eq!(emails, vec![]);
    assert!(!state.users[0].send_emails);
    assert!(state.users[0].confirmed);
    assert!(!state.role_assignments[0].notify);
    let user_body = posted(&exchanges, "/users");
    assert_eq!(user_body["user"]["send_emails"], false);
    assert_eq!(user_body["user"]["confirm"], true);
    assert_eq!(
        posted(&exchanges, "/role_assignments")["role_assignment"]["notify"],
        false
    );
}

#[tokio::test]
async fn invite_policy_always_sends_the_welcome_and_the_access_email() {
    let (emails, state, exchanges) = emails_for(InvitePolicy::Always).await;
    assert_eq!(emails, vec![EmailKind::Welcome, EmailKind::AccessGranted]);
    assert_eq!(state.emails[1].group_id, Some(state.groups[0].id));
    assert_eq!(posted(&exchanges, "/users")["user"]["send_emails"], true);
    assert_eq!(
        posted(&exchanges, "/role_assignments")["role_assignment"]["notify"],
        true
    );
}

#[tokio::test]
async fn invite_policy_kisi_default_leaves_the_choice_to_kisi() {
    let (emails, _state, exchanges) = emails_for(InvitePolicy::KisiDefault).await;
    // The simulator's stand-in for Kisi's default is to e-mail, as Kisi's UI does.
    assert_eq!(emails, vec![EmailKind::Welcome, EmailKind::AccessGranted]);
    assert!(
        posted(&exchanges, "/users")["user"]
            .get("send_emails")
            .is_none()
    );
    assert!(
        posted(&exchanges, "/role_assignments")["role_assignment"]
            .get("notify")
            .is_none()
    );
}

#[tokio::test]
async fn a_grant_carries_its_window_to_kisi() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let user = UserId(sim.seed_user("ann@example.com", "Ann", None));
    let kisi = client(&sim);
    let from = Utc.with_ymd_and_hms(2030, 6, 1, 8, 55, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2030, 6, 1, 17, 5, 0).unwrap();

    let out = kisi
        .grant(&Grant {
            valid_from: Some(from),
            valid_until: Some(until),
            ..grant(user, group, InvitePolicy::Never)
        })
        .await
        .unwrap();

    assert_eq!(
        (out.assignment().valid_from, out.assignment().valid_until),
        (Some(from), Some(until))
    );
    let stored = &sim.snapshot().role_assignments[0];
    assert_eq!(
        (stored.valid_from, stored.valid_until),
        (Some(from), Some(until))
    );
}

#[tokio::test]
async fn revoking_twice_is_deleted_then_already_gone() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let user = UserId(sim.seed_user("ann@example.com", "Ann", None));
    let kisi = client(&sim);
    let a = kisi
        .grant(&grant(user, group, InvitePolicy::Never))
        .await
        .unwrap();

    assert_eq!(
        kisi.revoke(a.assignment().id).await.unwrap(),
        RevokeOutcome::Deleted
    );
    assert_eq!(
        kisi.revoke(a.assignment().id).await.unwrap(),
        RevokeOutcome::AlreadyGone
    );

    let timeline = sim.snapshot().timeline;
    assert_eq!(timeline.len(), 2);
    // The user stays: access-sync never deletes Kisi users.
    assert_eq!(sim.snapshot().users.len(), 1);
}

#[tokio::test]
async fn a_404_from_a_wrong_base_url_is_not_taken_for_already_gone() {
    let sim = sim(false).await;
    let mut cfg = config(&sim);
    cfg.base_url = format!("{}/wrong-prefix", sim.base_url);
    let kisi = KisiClient::new(cfg).unwrap();

    let err = kisi
        .revoke(access_sync_kisi::RoleAssignmentId(50_001))
        .await
        .unwrap_err();

    assert!(matches!(err, KisiError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn a_rejected_key_says_so() {
    let sim = sim(false).await;
    let mut cfg = config(&sim);
    cfg.api_key = access_sync_kisi::ApiKey::new("wrong");
    let kisi = KisiClient::new(cfg).unwrap();

    let err = kisi.list_groups().await.unwrap_err();

    assert!(matches!(err, KisiError::Unauthorized));
    assert!(
        err.to_string().starts_with("Kisi rejected the API key"),
        "{err}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn concurrent_tasks_share_the_budget_and_never_hit_the_limit() {
    let sim = sim(false).await;
    let group = GroupId(sim.seed_group("Members", None));
    let kisi = Arc::new(client(&sim));
    let started = Instant::now();

    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let kisi = kisi.clone();
            tokio::spawn(async move { kisi.get_group(group).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }

    assert_eq!(sim.snapshot().requests.rate_limited, 0);
    assert_eq!(kisi.stats().requests, 12);
    // At most 5 in any second: the 6th to 10th wait for the first window, the 11th and 12th
    // for the second, so 12 requests span at least two seconds.
    assert!(
        started.elapsed() >= Duration::from_millis(2_000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_users_and_groups_are_not_found() {
    let sim = sim(false).await;
    let kisi = client(&sim);
    assert!(matches!(
        kisi.get_user(UserId(4242)).await,
        Err(KisiError::NotFound { .. })
    ));
    assert!(matches!(
        kisi.get_group(GroupId(4242)).await,
        Err(KisiError::NotFound { .. })
    ));
    let err = kisi
        .grant(&grant(UserId(4242), GroupId(4242), InvitePolicy::Never))
        .await
        .unwrap_err();
    assert!(matches!(err, KisiError::NotFound { .. }), "{err}");
}

/// A place role: created without a window, adopted on 409, another role given by hand is
/// reported as such, listings keep places and groups apart, and revoke deletes it.
#[tokio::test]
async fn a_place_role_is_granted_listed_adopted_and_revoked_apart_from_groups() {
    let sim = sim(false).await;
    let hq = sim.seed_place("HQ", "1 Main St");
    let annex = sim.seed_place("Annex", "2 Main St");
    let group = GroupId(sim.seed_group("Front door", Some(hq)));
    let kisi = client(&sim);
    let ann = kisi
        .ensure_user(&new_user("ann@example.com"), InvitePolicy::Never)
        .await
        .unwrap()
        .user
        .id;
    let bob = kisi
        .ensure_user(&new_user("bob@example.com"), InvitePolicy::Never)
        .await
        .unwrap()
        .user
        .id;
    kisi.grant(&grant(ann, group, InvitePolicy::Never))
        .await
        .unwrap();

    let place = access_sync_kisi::PlaceId(hq);
    let created = match kisi.grant_place(ann, place).await.unwrap() {
        GrantOutcome::Created(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (
            created.user,
            created.place,
            created.role_id.as_str(),
            created.notify
        ),
        (ann, place, access_sync_kisi::ROLE_PLACE_BASIC, false)
    );
    // Granting again finds the same assignment.
    assert_eq!(
        kisi.grant_place(ann, place).await.unwrap(),
        GrantOutcome::Adopted(created.clone())
    );
    // A place manager given by hand is another role.
    sim.assign_place_by_hand(bob.0, hq, "place_manager")
        .unwrap();
    match kisi.grant_place(bob, place).await.unwrap() {
        GrantOutcome::OtherRole(a) => assert_eq!(a.role_id, "place_manager"),
        other => panic!("{other:?}"),
    }
    // The place's listing holds place roles only; the group's, group roles only.
    let listed = kisi.list_place_assignments(place).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|a| a.place == place));
    assert_eq!(kisi.list_group_assignments(group).await.unwrap().len(), 1);
    assert!(
        kisi.list_place_assignments(access_sync_kisi::PlaceId(annex))
            .await
            .unwrap()
            .is_empty()
    );
    let state = sim.snapshot();
    assert_eq!(state.place_role_assignments.len(), 2);
    assert_eq!(state.role_assignments.len(), 1);

    assert_eq!(
        kisi.revoke(created.id).await.unwrap(),
        RevokeOutcome::Deleted
    );
    assert_eq!(
        kisi.revoke(created.id).await.unwrap(),
        RevokeOutcome::AlreadyGone
    );
    assert_eq!(kisi.list_place_assignments(place).await.unwrap().len(), 1);
    // An unknown place is Kisi's 404, not a retry.
    let err = kisi
        .grant_place(ann, access_sync_kisi::PlaceId(999))
        .await
        .unwrap_err();
    assert!(matches!(err, KisiError::NotFound { .. }), "{err:?}");
}
