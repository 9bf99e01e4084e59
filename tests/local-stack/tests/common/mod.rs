//! A local stack for one test: moto and the Kisi simulator on free ports, the handlers in
//! process, the mapping applied at `start`.
#![allow(dead_code)]

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use access_sync_rules::Instant;
use access_sync_rules::mapping::Mappings;
use local_stack::Driver;
use local_stack::functions::InProcess;
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};

pub async fn start(name: &str, mapping: &str, start: Instant) -> (LocalStack, Driver<InProcess>) {
    start_with(name, mapping, start, &[]).await
}

/// [`start`], with more variables in the functions' environment.
pub async fn start_with(
    name: &str,
    mapping: &str,
    start: Instant,
    extra_env: &[(&str, &str)],
) -> (LocalStack, Driver<InProcess>) {
    let (stack, driver, _optix) = start_with_optix(name, mapping, start, extra_env).await;
    (stack, driver)
}

/// [`start_with`], also answering the stack's Optix simulator (to change its records and
/// have it sign webhooks with the stack's Optix webhook secret).
pub async fn start_with_optix(
    name: &str,
    mapping: &str,
    start: Instant,
    extra_env: &[(&str, &str)],
) -> (LocalStack, Driver<InProcess>, optix_sim::Sim) {
    let mappings = Mappings::parse(mapping).unwrap();
    let groups: Vec<u64> = mappings.managed_groups().iter().map(|g| g.get()).collect();
    let dir = std::env::temp_dir().join(format!("local-stack-test-{}-{name}", std::process::id()));
    let opts = Options {
        root: std::env::current_dir().unwrap(),
        dir,
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &groups).await.unwrap();
    let optix = start_optix(&stack).await;
    // One try per Kisi call: an outage fails the delivery at once (SQS redelivers it) instead
    // of retrying for 30 s inside the invocation.
    let mut env = stack.names.function_env();
    env.push(("KISI_MAX_ATTEMPTS".into(), "1".into()));
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    stack.sim.set_clock(start).await.unwrap();
    let change = functions
        .app()
        .engine
        .apply_mapping(mapping, start, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(change.applied, "{name}: mapping not applied: {change:?}");
    let driver = Driver::new(
        Pumps::new(
            functions,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        ),
        stack.sim.clone(),
    );
    (stack, driver, optix)
}

/// The Optix simulator beside the stack (Optix webhooks are only hints: the `reread` queue's
/// function reads each named record from this API), seeded with `events/optix/api/records.json`,
/// its token, organization and endpoint in the secret `<prefix>/platforms/optix`; it signs
/// webhooks with the stack's Optix webhook secret (what ingest's `/optix` route checks). It serves
/// until the test's runtime ends.
async fn start_optix(stack: &LocalStack) -> optix_sim::Sim {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/optix/api");
    let records: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("records.json")).unwrap()).unwrap();
    let config = optix_sim::SimConfig {
        secret: local_stack::names::local_webhook_secret(access_sync_platforms::Platform::Optix),
        ..optix_sim::SimConfig::default()
    };
    let organization = config.organization_id.clone();
    let sim = optix_sim::Sim::new(config);
    sim.load(&records);
    let running = optix_sim::spawn(sim.clone()).await.unwrap();
    let secret = serde_json::json!({"token": sim.token(), "organization_id": organization,
        "endpoint": running.endpoint});
    aws_sdk_secretsmanager::Client::new(&stack.sdk)
        .create_secret()
        .name(
            stack
                .names
                .platform_secret(access_sync_platforms::Platform::Optix),
        )
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    tokio::spawn(async move {
        let _serving = running;
        std::future::pending::<()>().await
    });
    sim
}
pub mod officernd;
