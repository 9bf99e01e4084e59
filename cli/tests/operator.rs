//! `access-sync explain | audit | status` against the local stack (moto, the Kisi simulator,
//! the real handlers in process): a member with a plan and a booking tomorrow, a member whose
//! door access was given by hand in Kisi (held by hand), a member whose Kisi user a person
//! deleted (excluded), an entitlement whose member was never described (a held event) and a
//! dead-lettered message. Each command is run as the operator runs it: the binary, with the
//! stack's settings in the environment.

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use access_sync_operator::AwsOperator;
use access_sync_rules::time::parse_instant;
use access_sync_rules::{Email, Event, Instant};
use local_stack::Driver;
use local_stack::functions::{Functions, InProcess};
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use serde_json::{Value, json};
use std::process::{Command, Output};

const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n\n\
                   [[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [102]\n";

fn at(s: &str) -> Instant {
    parse_instant(s).unwrap()
}

fn ev(s: &str) -> Event {
    Event::parse(s).unwrap()
}

fn cli(env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_access-sync"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap()
}

fn ok(env: &[(String, String)], args: &[&str]) -> String {
    let out = cli(env, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(env: &[(String, String)], args: &[&str]) -> Value {
    let text = ok(env, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

/// The group of an explanation.
fn group(x: &Value, g: u64) -> &Value {
    x["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["group"] == json!(g))
        .unwrap_or_else(|| panic!("no group {g} in {x:#}"))
}

async fn admin(stack: &LocalStack, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method, format!("{}/__admin{path}", stack.names.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_audit_and_status_show_held_by_hand_excluded_held_events_and_dead_letters() {
    let start = at("2026-12-07T08:00:00Z");
    let opts = Options {
        root: std::env::current_dir().unwrap(),
        dir: std::env::temp_dir().join(format!("cli-operator-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
    };
    let stack = LocalStack::start(&opts, &[101, 102]).await.unwrap();
    let mut env = stack.names.function_env();
    env.push(("DEAD_LETTER_QUEUES".into(), stack.names.dlq()));
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    stack.sim.set_clock(start).await.unwrap();
    let engine = &functions.app().engine;
    assert!(
        engine
            .apply_mapping(MAP, start, &ApplyOptions::default())
            .await
            .unwrap()
            .applied
    );
    let operator = AwsOperator::from_pairs(&env, &stack.sdk).unwrap();

    // Ann's front-door access was given by hand in Kisi before access-sync knew her.
    let ann = admin(
        &stack,
        reqwest::Method::POST,
        "/users",
        json!({"email": "ann@example.com", "name": "Ann"}),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let by_hand = admin(
        &stack,
        reqwest::Method::POST,
        "/role_assignments",
        json!({"user_id": ann, "group_id": 101}),
    )
    .await["id"]
        .as_u64()
        .unwrap();

    let events: Vec<Event> = [
        r#"{"id":"m1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com","name":"Joe Bloggs"}}"#,
        r#"{"id":"p1","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:1","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m1"}}}"#,
        r#"{"id":"p9","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:9","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m1"},"status":"pending"}}"#,
        r#"{"id":"b1","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-08T10:00:00Z","end":"2026-12-08T11:00:00Z"}}"#,
        r#"{"id":"m2","at":"2026-12-07T08:00:00Z","member":{"id":"m2","email":"ann@example.com","name":"Ann"}}"#,
        r#"{"id":"p2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:2","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m2"}}}"#,
        r#"{"id":"m3","at":"2026-12-07T08:00:00Z","member":{"id":"m3","email":"carol@example.com","name":"Carol"}}"#,
        r#"{"id":"p3","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:3","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m3"}}}"#,
        // Member m9 is never described: the plan is stored and held.
        r#"{"id":"p5","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:5","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m9"}}}"#,
    ]
    .into_iter()
    .map(ev)
    .collect();
    let driver = Driver {
        pumps: Pumps::new(
            functions,
            &stack.sdk,
            stack.queues.clone(),
            stack.names.schedule_group(),
            stack.sim.clone(),
        ),
        sim: stack.sim.clone(),
    };
    driver
        .post(&events.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    driver.advance(at("2026-12-07T08:30:00Z")).await.unwrap();

    // A person deletes Carol's Kisi user; the next reconcile notices and converge excludes her.
    let carol = Email::parse("carol@example.com").unwrap();
    let carol_user = operator
        .explain(&carol, None, at("2026-12-07T08:30:00Z"))
        .await
        .unwrap()
        .kisi
        .expect("carol has a Kisi user")
        .user_id;
    admin(
        &stack,
        reqwest::Method::DELETE,
        &format!("/users/{carol_user}"),
        Value::Null,
    )
    .await;
    let now = at("2026-12-07T08:45:00Z");
    driver.advance(now).await.unwrap();
    let reconciler = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    let report = reconciler.invoke("reconcile_15m", json!({})).await.unwrap();
    assert_eq!(report["missing_in_kisi"], json!(1), "{report}");
    driver.advance(now).await.unwrap();

    // A message that failed five times waits in the dead-letter queue.
    aws_sdk_sqs::Client::new(&stack.sdk)
        .send_message()
        .queue_url(&stack.queues.dlq)
        .message_body(
            json!({"id": "evt-dead-1", "detail-type": "converge", "source": "access-sync",
                   "detail": {"email": "joe@example.com", "groups": [101], "trigger": "event"}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();

    // explain: Joe's door is open by his plan; the room opens tomorrow for his booking.
    let joe = json_of(&env, &["explain", "joe@example.com", "--json"]);
    assert_eq!(joe["at"], json!("2026-12-07T08:45:00Z"), "{joe:#}");
    assert_eq!(joe["name"], json!("Joe Bloggs"));
    let door = group(&joe, 101);
    assert_eq!(door["open"], json!(true), "{door:#}");
    assert_eq!(door["reasons"], json!(["plan:1"]));
    assert_eq!(door["kisi"][0]["kind"], json!("ours"), "{door:#}");
    let room = group(&joe, 102);
    assert_eq!(room["open"], json!(false));
    assert_eq!(room["next_open"], json!("2026-12-08T09:55:00Z"), "{room:#}");
    assert_eq!(
        room["changes"],
        json!([{"at": "2026-12-08T09:55:00Z", "open": true}, {"at": "2026-12-08T11:05:00Z", "open": false}])
    );
    let pending = joe["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!("plan:9"))
        .unwrap();
    assert_eq!(pending["status"], json!("pending"));
    assert_eq!(pending["grants"], json!(false));
    assert_eq!(pending["mappings"][0]["line"], json!(1), "{pending:#}");
    // --at and --group: the booking's hour tomorrow, one group.
    let later = json_of(
        &env,
        &[
            "explain",
            "JOE@example.com",
            "--group",
            "102",
            "--at",
            "2026-12-08T10:30:00Z",
            "--json",
        ],
    );
    assert_eq!(later["groups"].as_array().unwrap().len(), 1);
    assert_eq!(group(&later, 102)["open"], json!(true));
    assert_eq!(group(&later, 102)["until"], json!("2026-12-08T11:05:00Z"));
    let text = ok(&env, &["explain", "joe@example.com"]);
    assert!(
        text.contains("group 101 (mapped): OPEN until") && text.contains("because plan:1"),
        "{text}"
    );
    assert!(
        text.contains("group 102 (mapped): CLOSED, opens 2026-12-08T09:55:00Z"),
        "{text}"
    );
    assert!(
        text.contains("plan:9 plan member:m1: pending (gives nothing)"),
        "{text}"
    );

    // Ann: the rules open the door, and the hand-made assignment is left as it is.
    let ann_x = json_of(&env, &["explain", "ann@example.com", "--json"]);
    let door = group(&ann_x, 101);
    assert_eq!(door["open"], json!(true));
    assert_eq!(door["by_hand"]["assignment_id"], json!(by_hand), "{door:#}");
    assert_eq!(door["kisi"].as_array().unwrap().len(), 1, "{door:#}");
    assert_eq!(door["kisi"][0]["kind"], json!("by_hand"));
    assert!(door["ours"].is_null());
    let text = ok(&env, &["explain", "ann@example.com"]);
    assert!(
        text.contains("held by hand (left exactly as it is)"),
        "{text}"
    );

    // Carol: excluded; the rules would open the door, Kisi has no user.
    let carol_x = json_of(&env, &["explain", "carol@example.com", "--json"]);
    assert_eq!(
        carol_x["excluded"]["user_id"],
        json!(carol_user),
        "{carol_x:#}"
    );
    assert!(carol_x["kisi"].is_null());
    let text = ok(&env, &["explain", "carol@example.com"]);
    assert!(text.contains("EXCLUDED since"), "{text}");
    assert!(
        text.contains("the rules open it, but the address is excluded"),
        "{text}"
    );

    // audit: Joe's grant with its cause; the group filter; the system-wide held event.
    let joe_audit = json_of(&env, &["audit", "joe@example.com", "--json"]);
    let entries = joe_audit.as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == json!("grant") && e["pair"]["group"] == json!(101)),
        "{joe_audit:#}"
    );
    let text = ok(&env, &["audit", "joe@example.com", "--group", "102"]);
    assert!(text.ends_with("0 entries\n"), "{text}");
    let text = ok(&env, &["audit", "ann@example.com"]);
    assert!(text.contains("\tby_hand\tann@example.com\t101\t"), "{text}");
    let text = ok(
        &env,
        &[
            "audit",
            "carol@example.com",
            "--since",
            "2026-12-07T08:40:00Z",
        ],
    );
    assert!(text.contains("\texclude\tcarol@example.com\t"), "{text}");
    assert!(!text.contains("\tgrant\t"), "{text}");
    let system = ok(&env, &["audit"]);
    assert!(
        system.contains("\thold\t-\t-\tentitlement plan:5 held"),
        "{system}"
    );

    // status: the held event, the dead letter, the exclusion, the Kisi key; problems first.
    let s = json_of(&env, &["status", "--json"]);
    assert_eq!(
        s["held_events"],
        json!([{"at": "2026-12-07T08:00:00Z", "entitlement": "plan:5", "waiting_for": "member:m9"}]),
        "{s:#}"
    );
    let dlq = &s["dead_letters"][0];
    assert_eq!(dlq["name"], json!(stack.names.dlq()));
    assert_eq!(dlq["depth"], json!(1));
    assert_eq!(
        dlq["first"][0]["reason"],
        json!("converge message; id evt-dead-1")
    );
    assert_eq!(s["exclusions"][0]["email"], json!("carol@example.com"));
    assert_eq!(s["kisi"]["state"], json!("ok"));
    assert_eq!(s["brake"]["holds"], json!([]));
    assert_eq!(s["last_reconcile"]["at"], json!("2026-12-07T08:45:00Z"));
    assert_eq!(s["last_reconcile"]["outcome"], json!("ok"));
    let problems: Vec<&str> = s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            "1 event(s) held for a member not yet described",
            "1 dead-lettered message(s)"
        ]
    );
    let text = ok(&env, &["status"]);
    assert!(
        text.contains("held events (waiting for a member): 1"),
        "{text}"
    );
    assert!(text.contains("plan:5\twaiting for member:m9"), "{text}");
    assert!(text.contains("dead letters: 1 in 1 queue(s)"), "{text}");
    assert!(text.contains("Kisi key: ok"), "{text}");
    assert!(
        text.contains("last reconcile: 2026-12-07T08:45:00Z ok {"),
        "{text}"
    );

    // Usage mistakes exit 2 and name the problem.
    let bad = cli(&env, &["explain", "not-an-address"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an e-mail"));
    let bad = cli(&env, &["audit", "--since", "yesterday"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    stack.stop().await;
}
