//! `access-sync erase` and `access-sync log-id`, the built binary against a local stack (moto
//! and the Kisi simulator; the demo day played through the real handlers in process), with the
//! same environment the functions get — as an operator runs it against an installation.

use access_sync_engine::ApplyOptions;
use access_sync_ports::{AuditLog, FactStore};
use access_sync_rules::time::parse_instant;
use access_sync_rules::{Email, Event};
use access_sync_runtime::redact::pseudonym_with;
use local_stack::Driver;
use local_stack::functions::InProcess;
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin(env: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_access-sync"));
    c.env_remove("LOG_HASH_KEY")
        .env_remove("TABLE_NAME")
        .envs(env.iter().cloned());
    c
}

fn run(mut c: Command, stdin: &str) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn log_id_prints_the_pseudonym_the_functions_log() {
    let env = vec![("TABLE_NAME".to_string(), "prod-access-sync".to_string())];
    let out = run(
        {
            let mut c = bin(&env);
            c.args(["log-id", " Ann@Acme.io"]);
            c
        },
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = pseudonym_with(b"access-sync-log/prod-access-sync", "ann@acme.io");
    assert_eq!(text(&out.stdout), format!("{expected}\n"));
    assert!(text(&out.stderr).contains("TABLE_NAME"));

    let mut env = env;
    env.push(("LOG_HASH_KEY".into(), "a-random-key".into()));
    let mut c = bin(&env);
    c.args(["log-id", "ann@acme.io", "bob@acme.io"]);
    let out = run(c, "");
    let lines = text(&out.stdout);
    assert!(
        lines.starts_with(&format!(
            "{}  ann@acme.io\n",
            pseudonym_with(b"a-random-key", "ann@acme.io")
        )),
        "{lines}"
    );
    assert_eq!(lines.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_refuses_while_access_lasts_asks_first_and_erases_once_it_has_ended() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mapping = std::fs::read_to_string(root.join("events/demo-day/mappings.toml")).unwrap();
    let events: Vec<Event> = std::fs::read_to_string(root.join("events/demo-day/events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::parse(l).unwrap())
        .collect();
    let groups: Vec<u64> = access_sync_rules::mapping::Mappings::parse(&mapping)
        .unwrap()
        .managed_groups()
        .iter()
        .map(|g| g.get())
        .collect();
    let opts = Options {
        root: root.clone(),
        dir: std::env::temp_dir().join(format!("access-sync-erase-{}", std::process::id())),
        moto_port: access_sync_aws::testing::free_port(),
        sim_port: access_sync_aws::testing::free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &groups).await.unwrap();
    let env = stack.names.function_env();
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    let start = events[0].at;
    stack.sim.set_clock(start).await.unwrap();
    let change = functions
        .app()
        .engine
        .apply_mapping(&mapping, start, &ApplyOptions::default())
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
    // The day: at its end Ann still has access, Cat's booking and class are long over.
    driver
        .play(&events, parse_instant("2026-12-08T00:00:00Z").unwrap())
        .await
        .unwrap();
    let store = driver.pumps.functions.app().engine.store();
    let cat = Email::parse("cat@studio.dev").unwrap();
    assert!(!store.history(cat.as_str(), 10).await.unwrap().is_empty());

    // Ann has access: refused, saying why; nothing erased.
    let mut c = bin(&env);
    c.args(["erase", "ann@acme.io", "--yes"]);
    let out = run(c, "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("access: group 101 is open until"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
    assert!(!store.history("ann@acme.io", 10).await.unwrap().is_empty());

    // Without --yes it asks; anything but yes keeps everything.
    let mut c = bin(&env);
    c.args(["erase", "cat@studio.dev"]);
    let out = run(c, "n\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not erased"),
        "{}",
        text(&out.stderr)
    );
    assert!(!store.history(cat.as_str(), 10).await.unwrap().is_empty());

    // Cat's access has ended: erased.
    let mut c = bin(&env);
    c.args(["erase", "Cat@Studio.dev"]);
    let out = run(c, "yes\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("erased cat@studio.dev:"),
        "{}",
        text(&out.stdout)
    );
    assert!(store.history(cat.as_str(), 10).await.unwrap().is_empty());
    assert!(store.facts_for_email(&cat).await.unwrap().is_empty());
    // Ann is untouched.
    let ann = Email::parse("ann@acme.io").unwrap();
    assert!(!store.facts_for_email(&ann).await.unwrap().is_empty());
    stack.stop().await;
}
