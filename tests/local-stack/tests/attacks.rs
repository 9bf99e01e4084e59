//! The attack suite (issue 15, "trust at the door"): requests an attacker (or a broken sender)
//! could make, through the real ingest route of one local stack (moto, the Kisi simulator,
//! the handlers in process, the pumps). Each must get its documented status (README,
//! "Security model"), and after each refused one — once the pumps have delivered whatever
//! was queued — the whole DynamoDB table, the Kisi simulator (users, role assignments, the
//! e-mails Kisi would have sent, its assignment timeline) and the pumps' deliveries must be
//! exactly as before: nothing granted, revoked, invited, published or stored.
//!
//! Controls: a rightly signed canonical batch and each platform's first fixture delivery are
//! accepted and do change the store (and Kisi, for the batch), so the snapshots can see a
//! change when there is one.
//!
//! | attack | status |
//! |---|---|
//! | canonical batch unsigned / signed with another secret / signed 10 minutes ago / signature for another body | 401 |
//! | far-future `at`: canonical, OfficeRnD `createdAt`, Nexudus `UpdatedOn` (TeamUp's deliveries are nudges: no time is read from them) | 400, field `at` |
//! | far-future Optix `created_timestamp` (it is the signed timestamp) | 401 |
//! | a replayed signed delivery: canonical, OfficeRnD, Optix, Nexudus, TeamUp | 200 `duplicate` |
//! | a Nexudus body re-sent under another action | 200 `duplicate` |
//! | an Optix signature reused with another body | 202: a hint only (re-reads what it names from the API); Kisi unchanged |
//! | at every limit / one over it (events per request — set to 20 here through `MAX_EVENTS_PER_REQUEST` — guests, refs, weekly blocks, team members, id, e-mail, name length) | 202 / 400 naming field and limit |
//! | a booking with 51 guests | 400, `entitlement.guests`, limit 50 |
//! | a body over 256 KiB | 413 |
//! | a wrong TeamUp secret in the path | 401 |
//! | the right TeamUp secret in the path, trace logging on | 202, and the secret is nowhere in the captured log ([`teamup_path_secret_is_not_logged`], the hook the log scan joins) |

mod common;

use access_sync_platforms::Platform;
use access_sync_platforms::canonical::{CANONICAL_HEADER, sign};
use access_sync_rules::Instant;
use access_sync_rules::time::parse_instant;
use local_stack::Driver;
use local_stack::functions::{Functions, InProcess};
use local_stack::names::{LOCAL_CANONICAL_SECRET, local_webhook_secret};
use local_stack::native::{Native, deliveries};
use local_stack::stack::LocalStack;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::instrument::WithSubscriber;

const T0: &str = "2026-12-01T10:00:00Z";

fn t0() -> Instant {
    parse_instant(T0).unwrap()
}

/// What the suite compares before and after a refused request.
#[derive(Debug, PartialEq)]
struct Snapshot {
    store: Vec<String>,
    kisi: Value,
    delivered: BTreeMap<String, u64>,
}

struct World {
    stack: LocalStack,
    driver: Driver<InProcess>,
    ddb: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
}

impl World {
    async fn snapshot(&self) -> Snapshot {
        let mut store = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .ddb
                .scan()
                .table_name(self.stack.names.table())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let sorted: BTreeMap<_, _> = item.iter().collect();
                store.push(format!("{sorted:?}"));
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        store.sort();
        let mut kisi: Value = self
            .http
            .get(format!("{}/__admin/state", self.stack.names.sim_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kisi = json!({
            "users": kisi["users"].take(),
            "role_assignments": kisi["role_assignments"].take(),
            "emails": kisi["emails"].take(),
            "timeline": kisi["timeline"].take(),
        });
        let delivered = self.driver.pumps.stats.lock().unwrap().delivered.clone();
        Snapshot {
            store,
            kisi,
            delivered,
        }
    }

    async fn send(&self, path: &str, headers: &[(String, String)], body: Vec<u8>) -> (u16, String) {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = self
            .driver
            .pumps
            .functions
            .post(path, &headers, body)
            .await
            .unwrap();
        self.driver.pumps.drain().await.unwrap();
        r
    }

    /// Sends a request that must get `want` and change nothing; answers its JSON body.
    async fn refused(
        &self,
        what: &str,
        want: u16,
        (path, headers, body): (String, Vec<(String, String)>, Vec<u8>),
    ) -> Value {
        let before = self.snapshot().await;
        let (status, text) = self.send(&path, &headers, body).await;
        assert_eq!(status, want, "{what}: {text}");
        let after = self.snapshot().await;
        assert_eq!(
            before.delivered, after.delivered,
            "{what}: events were published"
        );
        assert_eq!(before.kisi, after.kisi, "{what}: Kisi changed");
        assert_eq!(before.store, after.store, "{what}: the store changed");
        eprintln!("ok {want} {what}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Sends a request that must be accepted (202) and change the store.
    async fn accepted(
        &self,
        what: &str,
        (path, headers, body): (String, Vec<(String, String)>, Vec<u8>),
    ) {
        let before = self.snapshot().await;
        let (status, text) = self.send(&path, &headers, body).await;
        assert_eq!(status, 202, "{what}: {text}");
        let after = self.snapshot().await;
        assert_ne!(
            before.store, after.store,
            "{what}: accepted but nothing stored"
        );
        eprintln!("ok 202 {what}");
    }
}

type Request = (String, Vec<(String, String)>, Vec<u8>);

/// A canonical batch signed with `secret` at unix time `t`.
fn canonical_signed(secret: &str, body: &str, t: i64) -> Request {
    (
        "/events".into(),
        vec![
            ("content-type".into(), "application/x-ndjson".into()),
            (
                CANONICAL_HEADER.into(),
                sign(secret.as_bytes(), body.as_bytes(), t),
            ),
        ],
        body.as_bytes().to_vec(),
    )
}

/// A canonical batch signed as the local stack's sender would, now.
fn canonical(body: &str) -> Request {
    canonical_signed(LOCAL_CANONICAL_SECRET, body, t0().timestamp())
}

fn member(id: &str, email: &str, name: &str) -> String {
    format!(
        r#"{{"id":"ev-{id}","at":"{T0}","member":{{"id":"{id}","email":"{email}","name":"{name}"}}}}"#
    )
}

/// A booking of the Elephant room (mapped to group 201) from now for an hour.
fn booking(id: &str, guests: usize, refs: usize) -> String {
    let guests: Vec<String> = (0..guests)
        .map(|i| format!("\"g{i}-{id}@guest.dev\""))
        .collect();
    let mut r = vec!["\"resource:elephant-room\"".to_string()];
    r.extend((1..refs).map(|i| format!("\"resource:other-{i}\"")));
    format!(
        r#"{{"id":"ev-{id}","at":"{T0}","entitlement":{{"id":"{id}","kind":"booking","refs":[{}],"holder":{{"member":"m-zed"}},"guests":[{}],"start":"2026-12-01T10:00:00Z","end":"2026-12-01T11:00:00Z"}}}}"#,
        r.join(","),
        guests.join(",")
    )
}

fn assignment(id: &str, blocks: usize) -> String {
    let b: Vec<&str> = (0..blocks)
        .map(|_| r#"{"days":["mon"],"from":"09:00","to":"10:00"}"#)
        .collect();
    format!(
        r#"{{"id":"ev-{id}","at":"{T0}","entitlement":{{"id":"{id}","kind":"assignment","refs":["resource:desk-7"],"holder":{{"member":"m-zed"}},"blocks":[{}],"start":"2026-12-01T00:00:00Z"}}}}"#,
        b.join(",")
    )
}

fn team(id: &str, members: usize) -> String {
    let m: Vec<String> = (0..members).map(|i| format!("\"{id}-m{i}\"")).collect();
    format!(
        r#"{{"id":"ev-{id}","at":"{T0}","team":{{"id":"{id}","members":[{}]}}}}"#,
        m.join(",")
    )
}

/// The value of form field `key` in `body`, as written (not decoded).
fn field<'a>(body: &'a str, key: &str) -> &'a str {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_default()
}

fn fixture(p: Platform) -> Vec<Native> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(p.as_str())
        .join(p.spec().fixture().file);
    let text = std::fs::read_to_string(path).unwrap();
    let mut natives = deliveries(p, &text).unwrap().0;
    for n in &mut natives {
        // Optix's `created_timestamp` is the signed timestamp: deliver as of now.
        if let Some(created) =
            Some(field(&n.payload, "created_timestamp")).filter(|c| !c.is_empty())
        {
            n.payload = n.payload.replace(
                &format!("created_timestamp={created}"),
                &format!("created_timestamp={}", t0().timestamp()),
            );
        }
    }
    natives
}

fn request(n: &Native) -> Request {
    n.request(t0())
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// The hook the log scan (issue 15's logs and personal data part) joins: `log` is everything
/// ingest logged at TRACE while handling a delivery that carried the TeamUp secret in its path.
fn teamup_path_secret_is_not_logged(log: &str, secret: &str) {
    assert!(
        !log.is_empty(),
        "nothing was captured: the hook sees no logs"
    );
    assert!(
        !log.contains(secret),
        "the TeamUp secret is in the log:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_at_the_door_get_their_status_and_change_nothing() {
    let mapping = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/demo-day/mappings.toml"
    ))
    .unwrap();
    let (stack, driver) = common::start_with(
        "attacks",
        &mapping,
        t0(),
        &[("MAX_EVENTS_PER_REQUEST", "20")],
    )
    .await;
    let w = World {
        ddb: aws_sdk_dynamodb::Client::new(&stack.sdk),
        stack,
        driver,
        http: reqwest::Client::new(),
    };
    let t = t0().timestamp();

    // ---- controls: accepted, and seen by the snapshots ----
    let control = format!(
        "{}\n{}",
        member("m-zed", "zed@studio.dev", "Zed"),
        booking("bk-control", 1, 1)
    );
    let before = w.snapshot().await;
    w.accepted("a rightly signed canonical batch", canonical(&control))
        .await;
    assert_ne!(
        before.kisi,
        w.snapshot().await.kisi,
        "the control batch granted nothing in Kisi"
    );

    // ---- the canonical route is authenticated ----
    let grant = format!(
        "{}\n{}",
        member("m-mal", "mal@evil.dev", "Mal"),
        booking("bk-mal", 0, 1).replace("m-zed", "m-mal")
    );
    let mut unsigned = canonical(&grant);
    unsigned.1.retain(|(k, _)| k != CANONICAL_HEADER);
    w.refused("an unsigned canonical batch", 401, unsigned)
        .await;
    w.refused(
        "a canonical batch signed with another secret",
        401,
        canonical_signed("guessed", &grant, t),
    )
    .await;
    w.refused(
        "a canonical batch signed 10 minutes ago",
        401,
        canonical_signed(LOCAL_CANONICAL_SECRET, &grant, t - 600),
    )
    .await;
    let mut swapped = canonical(&control);
    swapped.2 = grant.clone().into_bytes();
    w.refused("a canonical signature over another body", 401, swapped)
        .await;

    // ---- time is sane: a far-future `at` on each route ----
    let future = format!(
        "{}\n{}",
        member("m-fut", "fut@x.dev", "F"),
        member("m-fut2", "fut2@x.dev", "F").replace(T0, "9999-01-01T00:00:00Z")
    );
    let b = w
        .refused("a canonical event dated 9999", 400, canonical(&future))
        .await;
    assert_eq!(
        (b["field"].clone(), b["line"].clone()),
        (json!("at"), json!(2)),
        "{b}"
    );
    let natives: BTreeMap<Platform, Vec<Native>> =
        Platform::ALL.iter().map(|p| (*p, fixture(*p))).collect();
    for (p, from, to) in [
        (
            Platform::Officernd,
            "\"createdAt\":\"2026-12-01T08:00:00.000Z\"}",
            "\"createdAt\":\"9999-12-01T08:00:00.000Z\"}",
        ),
        (
            Platform::Nexudus,
            "\"UpdatedOn\":\"2026-12-01T08:00:00Z\"",
            "\"UpdatedOn\":\"9999-12-01T08:00:00Z\"",
        ),
        // Not TeamUp: its deliveries are only nudges (issue 20). Ingest reads no time from them
        // (nothing in the body is applied; the re-read record from TeamUp's API decides), so a
        // far-future `timestamp` has nothing to bound (functions/ingest tests: a TeamUp body
        // publishes only re-read requests).
    ] {
        let mut n = natives[&p][0].clone();
        assert!(n.payload.contains(from), "{p:?}: {}", n.payload);
        n.payload = n.payload.replace(from, to);
        let b = w
            .refused(&format!("a {p} delivery dated 9999"), 400, request(&n))
            .await;
        assert_eq!(b["field"], json!("at"), "{p:?}: {b}");
    }
    let mut optix = natives[&Platform::Optix][0].clone();
    optix.payload = optix.payload.replace(
        &format!("created_timestamp={t}"),
        "created_timestamp=253402214400",
    );
    w.refused(
        "an Optix delivery dated 9999 (its signed timestamp)",
        401,
        request(&optix),
    )
    .await;

    // ---- replays change nothing ----
    let b = w
        .refused(
            "the control canonical batch replayed",
            200,
            canonical(&control),
        )
        .await;
    assert_eq!(b["duplicate"], json!(true));
    for p in Platform::ALL {
        let first = &natives[&p][0];
        w.accepted(&format!("{p}'s first fixture delivery"), request(first))
            .await;
        let b = w
            .refused(&format!("{p}'s delivery replayed"), 200, request(first))
            .await;
        assert_eq!(b["duplicate"], json!(true), "{p:?}");
    }
    let mut other_action = natives[&Platform::Nexudus][0].clone();
    other_action.word = Some("BookingDelete".into());
    let b = w
        .refused(
            "a Nexudus body re-sent under another action",
            200,
            request(&other_action),
        )
        .await;
    assert_eq!(b["duplicate"], json!(true));
    let mut reused = natives[&Platform::Optix][0].clone();
    let first_optix = request(&reused);
    reused.payload = reused.payload.replace("ann%40acme.io", "mal%40evil.dev");
    let mut forged = request(&reused);
    // Keep the captured signature: the body changes, the signature does not.
    let sig =
        |body: &[u8]| field(std::str::from_utf8(body).unwrap(), "request_signature").to_string();
    assert_eq!(sig(&first_optix.2), sig(&forged.2));
    assert_ne!(first_optix.2, forged.2);
    forged.0 = "/optix".into();
    // Optix's webhooks are only hints (issue 19): the hint ledger keys on the signature *and*
    // the body (`replay::hint_key`), so a forged body under a captured signature is one more
    // hint, acknowledged — it can only ask for the records it names to be re-read from Optix's
    // API (which this stack cannot read), never grant, revoke or invite anything.
    let before = w.snapshot().await;
    let (status, text) = w.send(&forged.0, &forged.1, forged.2).await;
    assert_eq!(
        status, 202,
        "an Optix signature reused with another body: {text}"
    );
    let after = w.snapshot().await;
    assert_eq!(before.kisi, after.kisi, "a forged Optix body changed Kisi");
    eprintln!("ok 202 an Optix signature reused with another body: a hint only, Kisi unchanged");

    // ---- everything is bounded: at each limit accepted, one over refused ----
    let members: Vec<String> = (0..20)
        .map(|i| member(&format!("m-n{i}"), &format!("n{i}@x.dev"), "N"))
        .collect();
    w.accepted(
        "20 events (MAX_EVENTS_PER_REQUEST=20)",
        canonical(&members.join("\n")),
    )
    .await;
    let mut more = members.clone();
    more.push(member("m-n20", "n20@x.dev", "N"));
    let more: Vec<String> = more
        .iter()
        .map(|m| m.replace("ev-m-n", "ev2-m-n"))
        .collect();
    let b = w
        .refused("21 events", 400, canonical(&more.join("\n")))
        .await;
    assert_eq!(
        (b["line"].clone(), b["limit"].clone()),
        (json!(21), json!(20)),
        "{b}"
    );
    let cases: Vec<(&str, String, String, &str, usize)> = vec![
        (
            "guests",
            booking("bk-g50", 50, 1),
            booking("bk-g51", 51, 1),
            "entitlement.guests",
            50,
        ),
        (
            "refs",
            booking("bk-r50", 0, 50),
            booking("bk-r51", 0, 51),
            "entitlement.refs",
            50,
        ),
        (
            "weekly blocks",
            assignment("as-100", 100),
            assignment("as-101", 101),
            "entitlement.blocks",
            100,
        ),
        (
            "team members",
            team("t-200", 200),
            team("t-201", 201),
            "team.members",
            200,
        ),
        (
            "id length",
            member(&"i".repeat(128), "id@x.dev", "I")
                .replace(&format!("ev-{}", "i".repeat(128)), "ev-id128"),
            member(&"j".repeat(129), "id@x.dev", "J")
                .replace(&format!("ev-{}", "j".repeat(129)), "ev-id129"),
            "member.id",
            128,
        ),
        (
            "e-mail length",
            member("m-e254", &format!("{}@x.dev", "e".repeat(248)), "E"),
            member("m-e255", &format!("{}@x.dev", "e".repeat(249)), "E"),
            "member.email",
            254,
        ),
        (
            "name length",
            member("m-n128", "nm@x.dev", &"n".repeat(128)),
            member("m-n129", "nm@x.dev", &"n".repeat(129)),
            "member.name",
            128,
        ),
    ];
    for (what, at, over, field, limit) in cases {
        w.accepted(&format!("{what} at the limit"), canonical(&at))
            .await;
        let b = w
            .refused(&format!("{what} over the limit"), 400, canonical(&over))
            .await;
        assert_eq!(
            (b["field"].clone(), b["limit"].clone()),
            (json!(field), json!(limit)),
            "{what}: {b}"
        );
    }
    let b = w
        .refused(
            "a booking with 51 guests",
            400,
            canonical(&booking("bk-crowd", 51, 1)),
        )
        .await;
    assert_eq!(b["field"], json!("entitlement.guests"));
    let huge = member("m-huge", "h@x.dev", "H").repeat(256 * 1024 / 60 + 1);
    w.refused("a body over 256 KiB", 413, canonical(&huge))
        .await;

    // ---- the TeamUp secret in the path ----
    let secret = local_webhook_secret(Platform::Teamup);
    let mut n = request(&natives[&Platform::Teamup][1]);
    n.1.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    let mut wrong = n.clone();
    wrong.0 = "/teamup/guessed-secret".into();
    w.refused("a wrong TeamUp secret in the path", 401, wrong)
        .await;
    n.0 = format!("/teamup/{secret}");
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let before = w.snapshot().await;
    let (status, text) = w
        .send(&n.0, &n.1, n.2.clone())
        .with_subscriber(subscriber)
        .await;
    assert_eq!(status, 202, "the right TeamUp secret in the path: {text}");
    assert_ne!(before.store, w.snapshot().await.store);
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    teamup_path_secret_is_not_logged(&log, &secret);

    // Only re-reads may fail: the Optix and TeamUp hints ask for records from APIs this stack
    // cannot read (no credentials), so `platform_reread` fails them and they wait (in AWS:
    // retried, then dead-lettered; the next sync reads everything anyway). Nothing else fails.
    let reread = w
        .stack
        .queues
        .routes
        .iter()
        .find(|(f, _)| *f == "platform_reread")
        .map(|(_, u)| u.clone())
        .unwrap();
    let failed = w.driver.pumps.failed_queues();
    assert!(
        failed.iter().all(|u| *u == reread) && !w.driver.pumps.has_failed_edges(),
        "a delivery failed: {failed:?}"
    );
    w.stack.stop().await;
}
