//! `access-sync import` and `access-sync sync` against moto (DynamoDB, EventBridge, Secrets
//! Manager) and the OfficeRnD simulator over real HTTP: the dry run prints what it found and
//! who gains which group under the stored mapping, and changes nothing; the import commits (the
//! sync's progress records a complete full listing); `sync status` and `brake status` show it.
//! Nexudus, Optix and TeamUp import through the same path, from their simulators.

use access_sync_aws::testing::shared;
use access_sync_aws::{DynamoStore, create_table};
use access_sync_ports::{FactStore, HeldSync, SyncStateStore};
use access_sync_rules::Instant;
use officernd_sim::{Sim, SimConfig};
use serde_json::json;
use std::process::{Command, Output};

fn cli(env: &[(&str, String)], args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_access-sync"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_shows_what_it_found_and_who_gains_then_commits() {
    let moto = shared();
    let sdk = moto.sdk_config().await;
    let table = "cli-import";
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&dynamo, table).await.unwrap();
    let anchor: Instant = "2026-11-30T00:00:00Z".parse().unwrap();
    let sim = Sim::new(SimConfig::default());
    let fixture = officernd_sim::generate(24, 11, anchor);
    sim.load_fixture(&fixture).unwrap();
    let h = officernd_sim::spawn_sim(sim).await.unwrap();
    let prefix = "cli-import/platforms";
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("{prefix}/officernd"))
        .secret_string(
            json!({
                "client_id": "sim-client",
                "client_secret": "sim-secret",
                "org_slug": h.org_slug(),
                "token_url": h.token_url(),
                "api_url": format!("{}/api/v2/organizations", h.base_url),
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    // Every plan of the space opens group 101.
    let store = DynamoStore::new(dynamo.clone(), table);
    let plans: Vec<String> = fixture.records["plans"]
        .iter()
        .map(|p| p["_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!plans.is_empty());
    let toml: String = plans
        .iter()
        .map(|p| format!("[[mapping]]\nsource = \"plan\"\nid = \"{p}\"\ngroups = [101]\n\n"))
        .collect();
    store.put_mapping(&toml, None).await.unwrap();

    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("TABLE_NAME", table.into()),
        ("PLATFORM_SECRETS_PREFIX", prefix.into()),
    ];

    let out = cli(&env, &["import", "officernd", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("listing memberships"),
        "progress on stderr: {err}"
    );
    assert!(text.contains("found "), "{text}");
    assert!(text.contains("members: "), "{text}");
    assert!(text.contains("entitlements: "), "{text}");
    assert!(text.contains("could not map: "), "{text}");
    let gains = text
        .lines()
        .filter(|l| l.starts_with("+ ") && l.ends_with("gains group 101"))
        .count();
    assert!(gains > 0, "someone gains the mapped group: {text}");
    assert!(text.contains("dry run: nothing changed"), "{text}");
    let progress = store.progress("officernd").await.unwrap();
    assert!(
        progress.last_full.is_none() && progress.full.is_none(),
        "{progress:?}"
    );

    let out = cli(&env, &["import", "officernd"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("committed: "), "{text}");
    let progress = store.progress("officernd").await.unwrap();
    assert!(progress.last_full.is_some(), "{progress:?}");

    let out = cli(&env, &["sync", "status", "officernd"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("last full sync 20"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_access-sync"))
        .args(["sync", "confirm", "officernd"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is held"));

    // Held sync endings show in `brake status`, the one brake's view.
    let mut held = store.progress("officernd").await.unwrap();
    held.held = Some(HeldSync {
        at: anchor,
        events: 7,
        chunks: 0,
        ended: 7,
        active: 9,
    });
    store.put_progress("officernd", &held).await.unwrap();
    let mut brake_env = env.to_vec();
    brake_env.extend([
        ("SCHEDULE_GROUP", "cli-import-edges".to_string()),
        (
            "CONVERGE_FUNCTION_ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:x".into(),
        ),
        (
            "SCHEDULER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/x".into(),
        ),
        ("KISI_TOKEN_SECRET", "cli-import/kisi".into()),
    ]);
    let out = cli(&brake_env, &["brake", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("sync officernd: 7 endings held")
            && text.contains("sync confirm|discard officernd"),
        "{text}"
    );
    let out = cli(&env, &["sync", "status", "officernd"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 endings held"));
}

/// `import <platform> --dry-run` then `import <platform>` against a simulator holding a
/// generated space, every plan of which opens group 101.
async fn import_from(platform: &str, secret: serde_json::Value, plans: &[&str]) {
    let moto = shared();
    let sdk = moto.sdk_config().await;
    let table = format!("cli-import-{platform}");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&dynamo, &table).await.unwrap();
    let prefix = format!("cli-import-{platform}/platforms");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("{prefix}/{platform}"))
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let store = DynamoStore::new(dynamo.clone(), &table);
    let toml: String = plans
        .iter()
        .map(|p| format!("[[mapping]]\nsource = \"plan\"\nid = \"{p}\"\ngroups = [101]\n\n"))
        .collect();
    store.put_mapping(&toml, None).await.unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("TABLE_NAME", table.clone()),
        ("PLATFORM_SECRETS_PREFIX", prefix.clone()),
    ];
    let out = cli(&env, &["import", platform, "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("found "), "{text}");
    let gains = text
        .lines()
        .filter(|l| l.starts_with("+ ") && l.ends_with("gains group 101"))
        .count();
    assert!(
        gains > 0,
        "{platform}: someone gains the mapped group: {text}"
    );
    assert!(text.contains("dry run: nothing changed"), "{text}");
    assert!(store.progress(platform).await.unwrap().last_full.is_none());
    let out = cli(&env, &["import", platform]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("committed: "), "{text}");
    assert!(store.progress(platform).await.unwrap().last_full.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nexudus_and_optix_import_through_the_same_path() {
    // Nexudus: the generated space's contracts are on tariffs 90001..=90004.
    let anchor = chrono::Utc::now();
    let sim = nexudus_sim::Sim::new(nexudus_sim::SimConfig::default());
    sim.seed(&nexudus_sim::generate(20, 3, anchor)).unwrap();
    let config = sim.config().clone();
    let n = nexudus_sim::spawn_sim(sim).await.unwrap();
    import_from(
        "nexudus",
        json!({"username": config.username, "password": config.password, "api_url": n.api_url()}),
        &["90001", "90002", "90003", "90004"],
    )
    .await;
    // Optix: personal plans on template 70, team plans on 77.
    let sim = optix_sim::Sim::new(optix_sim::SimConfig {
        per_minute: 10_000,
        ..optix_sim::SimConfig::default()
    });
    sim.load(&optix_sim::generate::generate(20, anchor.timestamp()));
    let o = optix_sim::spawn(sim.clone()).await.unwrap();
    import_from(
        "optix",
        json!({"token": sim.token(), "organization_id": "456", "endpoint": o.endpoint}),
        &["70", "77"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamup_imports_through_the_same_path() {
    // The generated business's memberships are catalogue memberships 1, 2 and 3.
    let sim = teamup_sim::Sim::new(teamup_sim::SimConfig {
        requests_per_minute: None,
        ..teamup_sim::SimConfig::default()
    });
    sim.seed(&teamup_sim::generate(20, chrono::Utc::now()))
        .unwrap();
    let config = sim.config().clone();
    let t = teamup_sim::spawn_sim(sim).await.unwrap();
    import_from(
        "teamup",
        json!({"token": config.token, "api_url": t.api_url(), "provider_id": config.provider_id}),
        &["1", "2", "3"],
    )
    .await;
}
