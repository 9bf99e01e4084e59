//! The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`), driven
//! through chromedriver, against the local stack (moto, the Kisi simulator, the real handlers in
//! process) with the demo day (`events/demo-day`) played until 12:30:
//!
//! - search a person by name, open their page, read their doors and their timeline;
//! - preview a mapping change (hot-desk no longer opens group 102) and apply it;
//! - the revoke it causes is held by the brake (the console's installation has a budget of
//!   0): release it on Problems, and Kisi no longer has the assignment;
//! - the Activity page shows the release; every page is screenshotted.
//!
//! Screenshots go to `$CONSOLE_SCREENSHOTS` (default `<workspace>/ci-artifacts/console-screenshots`),
//! which CI keeps. Without chromedriver the test says so and passes only outside CI.

use access_sync_aws::testing::free_port;
use access_sync_console::{Options, Running, start};
use access_sync_engine::ApplyOptions;
use access_sync_operator::AwsOperator;
use access_sync_rules::Event;
use access_sync_rules::time::parse_instant;
use fantoccini::{Client, ClientBuilder, Locator};
use local_stack::Driver;
use local_stack::functions::{Functions, InProcess};
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options as StackOptions};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shots_dir() -> PathBuf {
    let dir = std::env::var_os("CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("ci-artifacts/console-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver in its own process group, stopped with the Chromium it started (the whole
/// group, by its id) when dropped.
struct Chromedriver(Child);

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

async fn browser() -> Option<(Chromedriver, Client)> {
    if !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CHROMEDRIVER} not found: install chromium and chromium-driver (.ci/run does)"
        );
        eprintln!("skipped: {CHROMEDRIVER} not found (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("starting chromedriver");
    let driver = Chromedriver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!("console-chromium-{}", std::process::id()));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session through chromedriver");
    Some((driver, client))
}

async fn shot(c: &Client, name: &str) {
    // The whole page: widen the window to the document's height first.
    let h = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(1000.0)
        .clamp(600.0, 4000.0);
    let _ = c.set_window_size(1280, h as u32 + 120).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
    let _ = c.set_window_size(1280, 1000).await;
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn body(c: &Client) -> String {
    text(c, "main").await
}

fn events() -> Vec<Event> {
    let text = std::fs::read_to_string(root().join("events/demo-day/events.jsonl")).unwrap();
    access_sync_rules::event::parse_jsonl(&text)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

async fn kisi_groups_of(stack: &LocalStack, email: &str) -> Vec<u64> {
    let state: serde_json::Value = reqwest::get(format!("{}/__admin/state", stack.names.sim_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users = state["users"].as_array().cloned().unwrap_or_default();
    let Some(user) = users.iter().find(|u| {
        u["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }) else {
        return Vec::new();
    };
    let mut groups: Vec<u64> = state["role_assignments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["user_id"] == user["id"])
        .filter_map(|a| a["group_id"].as_u64())
        .collect();
    groups.sort_unstable();
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_person_changes_the_mapping_and_releases_the_held_revoke() {
    let Some((_driver, browser)) = browser().await else {
        return;
    };
    let mapping_path = root().join("events/demo-day/mappings.toml");
    let mapping = std::fs::read_to_string(&mapping_path).unwrap();
    let groups: Vec<u64> = access_sync_rules::mapping::Mappings::parse(&mapping)
        .unwrap()
        .managed_groups()
        .iter()
        .map(|g| g.get())
        .collect();
    let opts = StackOptions {
        root: root(),
        dir: std::env::temp_dir().join(format!("console-browser-{}", std::process::id())),
        moto_port: free_port(),
        sim_port: free_port(),
        lambda_port: None,
        kisi_rate_limit: 0,
        function_log: None,
        platforms: Vec::new(),
    };
    let stack = LocalStack::start(&opts, &groups).await.unwrap();
    let mut env = stack.names.function_env();
    env.push(("DEAD_LETTER_QUEUES".into(), stack.names.dlq()));
    let functions = InProcess::from_pairs(&env, &stack.sdk).unwrap();
    let start_at = parse_instant("2026-12-07T07:00:00Z").unwrap();
    stack.sim.set_clock(start_at).await.unwrap();
    assert!(
        functions
            .app()
            .engine
            .apply_mapping(&mapping, start_at, &ApplyOptions::default())
            .await
            .unwrap()
            .applied
    );
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
    let noon = parse_instant("2026-12-07T12:30:00Z").unwrap();
    driver.play(&events(), noon).await.unwrap();
    // The 15-minute reconcile once, as the deployment runs it: the Overview reports it.
    let report = driver
        .pumps
        .functions
        .invoke("reconcile_15m", json!({}))
        .await
        .unwrap();
    assert_eq!(report["missing_in_kisi"], json!(0), "{report}");
    assert_eq!(kisi_groups_of(&stack, "ann@acme.io").await, vec![101, 102]);

    // The console's installation: the same stack, with a brake that holds every revoke.
    let mut console_env = env.clone();
    console_env.push(("BRAKE_FLOOR".into(), "0".into()));
    console_env.push(("BRAKE_SHARE_PER_HOUR".into(), "0".into()));
    let ops = AwsOperator::from_pairs(&console_env, &stack.sdk).unwrap();
    let console: Running = start(ops, &Options::default()).await.unwrap();
    let base = format!("http://{}", console.addr);

    // Without the login token nothing is served.
    browser.goto(&format!("{base}/people")).await.unwrap();
    assert!(body_or_all(&browser).await.contains("Not logged in"));

    // Overview: status figures and the chart.
    browser.goto(&console.login_url).await.unwrap();
    assert_eq!(text(&browser, "h1").await, "Overview");
    let overview = body(&browser).await;
    assert!(overview.contains("Managed accesses"), "{overview}");
    assert!(overview.contains("2026-12-07T12:30:00Z"), "{overview}");
    assert!(!overview.contains("reconcile has not run"), "{overview}");
    browser
        .find(Locator::Css("svg#hourly rect.grant"))
        .await
        .expect("grant bars in the hourly chart");
    shot(&browser, "1-overview").await;

    // People: search by name with the keyboard, open the person.
    browser
        .find(Locator::LinkText("People"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let q = browser.find(Locator::Id("q")).await.unwrap();
    q.send_keys("dan diaz\u{E007}").await.unwrap();
    browser
        .wait()
        .for_element(Locator::LinkText("dan@example.com"))
        .await
        .unwrap();
    shot(&browser, "2-people-search").await;
    browser
        .find(Locator::LinkText("dan@example.com"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&browser, "h1").await, "dan@example.com");
    // Doors: desk 7's Monday block is open until 17:35; Wednesday's opens at 08:55.
    let doors = text(&browser, "section[aria-labelledby=doors] table").await;
    assert!(doors.contains("102 · group 102"), "{doors}");
    assert!(doors.contains("301 · group 301"), "{doors}");
    assert!(doors.contains("asg:desk-7"), "{doors}");
    assert!(doors.contains("2026-12-07T17:35:00Z"), "{doors}");
    // The timeline: Monday's and Wednesday's blocks (the assignment ends on Saturday) in each
    // of the two groups.
    let bars = browser
        .find_all(Locator::Css("svg#timeline rect.open"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 4);
    let listed = text(&browser, "section[aria-labelledby=tl] table").await;
    assert!(listed.contains("2026-12-09T08:55:00Z"), "{listed}");
    assert!(listed.contains("2026-12-09T17:35:00Z"), "{listed}");
    let ents = text(&browser, "section[aria-labelledby=ent] table").await;
    assert!(ents.contains("asg:desk-7"), "{ents}");
    assert!(
        ents.contains("resource:desk-7 → line 27, groups 102, 301"),
        "{ents}"
    );
    let kisi = text(&browser, "section[aria-labelledby=kisi]").await;
    assert!(kisi.contains("ours"), "{kisi}");
    shot(&browser, "3-person").await;

    // Mappings: hot-desk members no longer get the coworking floor (102).
    browser
        .find(Locator::LinkText("Mappings"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let current = body(&browser).await;
    assert!(current.contains("hot-desk"), "{current}");
    shot(&browser, "4-mappings").await;
    let area = browser.find(Locator::Id("text")).await.unwrap();
    area.clear().await.unwrap();
    // A mistake first: the error names its line.
    area.send_keys("[[mapping]]\nsource = \"plan\"\nid = \"x\"\ngroups = []\n")
        .await
        .unwrap();
    submit(&browser, "form[action='/mappings/preview'] button").await;
    let err = match browser.find(Locator::Css("#map-err")).await {
        Ok(e) => e.text().await.unwrap(),
        Err(_) => panic!("no error shown: {}", body_or_all(&browser).await),
    };
    assert!(err.contains("line 4: mapping.groups: empty list"), "{err}");
    let changed = mapping.replacen("groups = [101, 102]", "groups = [101]", 1);
    assert_ne!(changed, mapping);
    let area = browser.find(Locator::Id("text")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(&changed).await.unwrap();
    browser
        .find(Locator::Css("form[action='/mappings/preview'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..300 {
        let h1 = match browser.find(Locator::Css("h1")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if h1 == "Preview of the new mapping" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&browser, "h1").await, "Preview of the new mapping");
    let preview = body(&browser).await;
    assert!(
        preview.contains("0 gain and 1 lose a group now"),
        "{preview}"
    );
    assert!(preview.contains("ann@acme.io"), "{preview}");
    shot(&browser, "5-mappings-preview").await;
    browser
        .find(Locator::Id("confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&browser, "form[action='/mappings/apply'] button").await;
    let applied = body(&browser).await;
    assert!(
        applied.contains("applied: stored and converged"),
        "{applied}"
    );
    // The brake held the revoke: Kisi still has it.
    assert_eq!(kisi_groups_of(&stack, "ann@acme.io").await, vec![101, 102]);

    // Problems: the held revoke, released.
    browser
        .find(Locator::LinkText("Problems"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let held = text(&browser, "section[aria-labelledby=hr] table").await;
    assert!(held.contains("ann@acme.io"), "{held}");
    assert!(held.contains("102"), "{held}");
    shot(&browser, "6-problems").await;
    submit(
        &browser,
        "button[aria-label='Release the held revoke of ann@acme.io in group 102']",
    )
    .await;
    let after = body(&browser).await;
    assert!(after.contains("released"), "{after}");
    assert!(after.contains("0 held revokes"), "{after}");
    assert_eq!(kisi_groups_of(&stack, "ann@acme.io").await, vec![101]);

    // Activity: Ann's revoke is in the feed.
    browser
        .goto(&format!("{base}/activity?email=ann%40acme.io&hours=24"))
        .await
        .unwrap();
    let feed = text(&browser, "main table").await;
    assert!(feed.contains("revoke"), "{feed}");
    shot(&browser, "7-activity").await;

    browser.close().await.unwrap();

    // The guards, over plain HTTP: no session, another Host, a wrong CSRF token, another Origin.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!(
        "{}={}",
        access_sync_console::COOKIE,
        console.console.session.expose()
    );
    let csrf = console.console.csrf.expose().to_string();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(http.get(format!("{base}/")).send().await.unwrap()),
        401
    );
    assert_eq!(
        status(
            http.get(format!("{base}/login?token=0"))
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(
            http.get(format!("{base}/"))
                .header("cookie", &cookie)
                .header("host", "attacker.example")
                .send()
                .await
                .unwrap()
        ),
        421
    );
    let converge = |csrf: String, origin: Option<&'static str>| {
        let mut r = http
            .post(format!("{base}/people/converge"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&email=ann%40acme.io"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    assert_eq!(status(converge("0".repeat(64), None).await.unwrap()), 403);
    assert_eq!(
        status(
            converge(csrf.clone(), Some("http://attacker.example"))
                .await
                .unwrap()
        ),
        403
    );
    assert_eq!(
        status(converge(csrf.clone(), Some("null")).await.unwrap()),
        403
    );
    assert_eq!(status(converge(csrf, None).await.unwrap()), 303);
    // Nothing but loopback listens.
    assert!(console.addr.ip().is_loopback());

    console.stop().await;
    drop(driver);
    stack.stop().await;
}

/// Clicks and waits until the browser is on another address (a form's answer).
async fn submit(c: &Client, css: &str) {
    let before = c.current_url().await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    for _ in 0..300 {
        if c.current_url().await.unwrap() != before {
            // And the new page is there.
            let _ = c.find(Locator::Css("h1")).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: still on {before} after 30 s");
}

async fn body_or_all(c: &Client) -> String {
    c.source().await.unwrap_or_default()
}
