//! No e-mail address, name or secret in any log line, at `RUST_LOG=trace`.
//!
//! A day on the local stack with the handlers in process, logging through the functions' own
//! subscriber (same filter, same scrubbing writer) into a file: the demo day's canonical events
//! (members with addresses and names, a team, bookings with a guest, a check-in, a pass),
//! TeamUp's native webhooks with the secret **in the URL path**, a TeamUp request with a wrong
//! path secret and an OfficeRnD one with a bad signature (both refused and logged), a Kisi
//! outage in the middle (errors logged, then redelivered), and a reconcile at the end. Then no
//! line may contain an address-shaped string, any address or name of the fixtures, the Kisi
//! key or any webhook secret. The log must also show the people it is about, by pseudonym.

mod common;

use access_sync_platforms::Platform;
use access_sync_rules::Event;
use access_sync_runtime::redact::pseudonym;
use chrono::Duration;
use local_stack::functions::Functions;
use local_stack::logs::{assert_logs_clean, capture};
use local_stack::names::local_webhook_secret;
use local_stack::native::deliveries;
use serde_json::json;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The demo day's mapping plus TeamUp's mappings (their sources and ids do not overlap).
fn mapping() -> String {
    let teamup = fixture("../../events/teamup/mappings.toml");
    let blocks = &teamup[teamup.find("[[mapping]]").unwrap()..];
    format!(
        "{}\n{blocks}",
        fixture("../../events/demo-day/mappings.toml")
    )
}

/// Every address and name in the fixtures (what the check looks for besides the pattern).
fn people(texts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in texts {
        for line in t.lines() {
            let Some(start) = line.find('{') else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line[start..]) else {
                continue;
            };
            collect(&v, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if let Some(s) = v.as_str()
                    // Addresses, and the full names of people (objects with an address; a
                    // lone first name like "Ann" is part of words such as "planned").
                    && (k.contains("email") || k == "name" && m.contains_key("email"))
                {
                    out.push(s.to_string());
                }
                if k.contains("guest") {
                    let guests = v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|g| g.as_str());
                    out.extend(guests.map(str::to_string));
                }
                collect(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

enum Step {
    Canonical(Event),
    Native(local_stack::native::Native),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_at_trace_contains_an_address_a_name_or_a_secret() {
    let dir = std::env::temp_dir().join(format!("local-stack-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = capture(&dir.join("functions.log"), "trace").unwrap();

    let demo = fixture("../../events/demo-day/events.jsonl");
    let teamup = fixture("../../events/teamup/webhooks.jsonl");
    let canonical: Vec<Event> = demo
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::parse(l).unwrap())
        .collect();
    let (natives, _) = deliveries(Platform::Teamup, &teamup).unwrap();
    let mut steps: Vec<(access_sync_rules::Instant, Step)> = canonical
        .into_iter()
        .map(|e| (e.at, Step::Canonical(e)))
        .chain(natives.into_iter().map(|n| (n.at, Step::Native(n))))
        .collect();
    steps.sort_by_key(|(at, _)| *at);
    let start = steps[0].0;
    let end = steps.last().unwrap().0 + Duration::days(2);

    let (stack, driver) = common::start("logs", &mapping(), start).await;
    let teamup_secret = local_webhook_secret(Platform::Teamup);
    let middle = steps.len() / 2;
    let (mut outage_on, mut outage_bit) = (false, false);
    for (i, (at, step)) in steps.iter().enumerate() {
        if i == middle {
            // Kisi goes down until a converge has failed (logged), then comes back and the
            // failed deliveries are redelivered.
            let outage = json!({"error_rate": 1.0, "error_status": 503});
            driver.sim.set_faults(outage).await.unwrap();
            outage_on = true;
        }
        driver.advance(*at).await.unwrap();
        match step {
            Step::Canonical(e) => driver.post(&[e]).await.unwrap(),
            Step::Native(n) => {
                // TeamUp's secret in the path, not in a header.
                let (_, mut headers, body) = n.request(*at);
                headers.retain(|(k, _)| k != "authorization");
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let path = format!("/teamup/{teamup_secret}");
                let (status, text) = driver.pumps.functions.post(&path, &h, body).await.unwrap();
                assert_eq!(status, 202, "{text}");
            }
        }
        driver.pumps.drain().await.unwrap();
        if outage_on && driver.pumps.has_failures() {
            outage_on = false;
            outage_bit = true;
            driver.sim.set_faults(json!({})).await.unwrap();
            driver.pumps.redeliver_failed().await.unwrap();
            driver.pumps.drain().await.unwrap();
        }
    }
    assert!(outage_bit, "the Kisi outage failed no converge");
    // Refused requests are logged too: a wrong TeamUp path secret, a bad OfficeRnD signature.
    let f = &driver.pumps.functions;
    let body = br#"{"feed_items":[{"object":"feed_item","id":1,"timestamp":"2026-12-07T08:00:00Z","type":"customer.created","data":{"id":9,"email":"eve@example.com"}}]}"#.to_vec();
    let wrong = f
        .post("/teamup/not-the-secret-at-all-0000", &[], body.clone())
        .await
        .unwrap();
    assert_eq!(wrong.0, 401, "{wrong:?}");
    let bad_sig = [("officernd-signature", "t=1,v1=00")];
    let refused = f.post("/officernd", &bad_sig, body).await.unwrap();
    assert_eq!(refused.0, 401, "{refused:?}");
    driver.advance(end).await.unwrap();
    f.invoke("reconcile_15m", json!({})).await.unwrap();
    driver.pumps.drain().await.unwrap();
    let secrets = local_stack::logs::stack_secrets(&stack.names);
    stack.stop().await;

    let text = std::fs::read_to_string(&log).unwrap();
    // The log is real: many lines, at debug and trace too, naming people by pseudonym.
    assert!(text.lines().count() > 100, "{} lines", text.lines().count());
    assert!(
        text.contains(r#""level":"WARN""#),
        "the outage and refusals were logged"
    );
    assert!(
        text.contains(&pseudonym("ann@acme.io")),
        "the log follows Ann by pseudonym"
    );

    let words = people(&[&demo, &teamup]);
    assert!(words.iter().any(|w| w == "Ann Archer"), "{words:?}");
    assert!(!words.iter().any(|w| w == "Yoga basics"), "{words:?}");
    assert!(words.iter().any(|w| w == "visitor@client.co"), "{words:?}");
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_logs_clean(&log, &words, &secrets);
}
