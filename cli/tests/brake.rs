//! `access-sync brake` against the local stack (moto, the Kisi simulator, the real handlers in
//! process): a storm of cancels for every plan, posted to ingest, goes through the event path
//! and is held at the one brake past its budget; `brake status` lists the holds; `brake release`
//! carries them out, one pair and then all.

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use access_sync_rules::time::parse_instant;
use access_sync_rules::{Event, Instant};
use local_stack::Driver;
use local_stack::functions::InProcess;
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use local_stack::timeline::kisi_state;
use std::process::{Command, Output};

const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n";
const MEMBERS: usize = 12;

fn at(s: &str) -> Instant {
    parse_instant(s).unwrap()
}

fn ev(s: String) -> Event {
    Event::parse(&s).unwrap()
}

fn brake(env: &[(String, String)], args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_access-sync"))
        .arg("brake")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "brake {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

async fn open(stack: &LocalStack) -> usize {
    kisi_state(&stack.sim.state().await.unwrap()).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_cancels_for_every_plan_is_held_at_the_brake_and_released_by_the_cli() {
    let start = at("2026-12-07T08:00:00Z");
    let opts = Options {
        root: std::env::current_dir().unwrap(),
        dir: std::env::temp_dir().join(format!("cli-brake-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &[101]).await.unwrap();
    // The deployment's brake, made small: 2 revokes an hour while the managed pairs are not
    // counted yet (no reconcile has run).
    let mut env = stack.names.function_env();
    env.push(("BRAKE_FLOOR".into(), "2".into()));
    env.push(("BRAKE_SHARE_PER_HOUR".into(), "0.1".into()));
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    stack.sim.set_clock(start).await.unwrap();
    let change = (functions.app().engine)
        .apply_mapping(MAP, start, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(change.applied);
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

    let mut plans = Vec::new();
    for i in 0..MEMBERS {
        plans.push(ev(format!(
            r#"{{"id":"m{i}","at":"2026-12-07T08:00:00Z","member":{{"id":"m{i}","email":"member{i}@example.com"}}}}"#
        )));
        plans.push(ev(format!(
            r#"{{"id":"p{i}","at":"2026-12-07T08:00:00Z","entitlement":{{"id":"plan:{i}","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m{i}"}}}}}}"#
        )));
    }
    driver
        .post(&plans.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    driver.advance(at("2026-12-07T08:30:00Z")).await.unwrap();
    assert_eq!(open(&stack).await, MEMBERS);

    // A platform bug cancels every plan at 09:00.
    let cancels: Vec<Event> = (0..MEMBERS)
        .map(|i| {
            ev(format!(
                r#"{{"id":"c{i}","at":"2026-12-07T09:00:00Z","cancel":{{"entitlement":"plan:{i}"}}}}"#
            ))
        })
        .collect();
    driver.advance(at("2026-12-07T09:00:00Z")).await.unwrap();
    driver
        .post(&cancels.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    driver.advance(at("2026-12-07T09:05:00Z")).await.unwrap();
    assert!(
        !driver.pumps.has_failures(),
        "a held revoke must not fail its delivery"
    );
    assert_eq!(open(&stack).await, MEMBERS - 2, "only the budget went out");

    let status = String::from_utf8(brake(&env, &["status"]).stdout).unwrap();
    assert!(
        status.starts_with(&format!("{} held, 0 discarded", MEMBERS - 2)),
        "{status}"
    );
    assert_eq!(status.lines().count(), 1 + MEMBERS - 2, "{status}");
    assert!(status.contains("revoke"), "{status}");

    // The operator looks, releases one pair, then the rest.
    let first = status.lines().nth(1).unwrap();
    let mut cols = first.split('\t');
    let (email, group) = (cols.next().unwrap(), cols.next().unwrap());
    let one = String::from_utf8(brake(&env, &["release", email, group]).stdout).unwrap();
    assert_eq!(one.trim(), format!("{email}\t{group}\trevoked"));
    assert_eq!(open(&stack).await, MEMBERS - 3);
    let rest = String::from_utf8(brake(&env, &["release", "--all"]).stdout).unwrap();
    assert_eq!(rest.lines().count(), MEMBERS - 3, "{rest}");
    assert!(rest.lines().all(|l| l.ends_with("\trevoked")), "{rest}");
    assert_eq!(open(&stack).await, 0);
    let status = String::from_utf8(brake(&env, &["status"]).stdout).unwrap();
    assert!(status.starts_with("0 held"), "{status}");

    // Usage errors name what to give.
    let bad = Command::new(env!("CARGO_BIN_EXE_access-sync"))
        .args(["brake", "release"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--all"));
    stack.stop().await;
}
