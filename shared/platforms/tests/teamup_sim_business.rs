//! The TeamUp simulator's fixture (`tests/teamup-sim/fixtures/small-business.json`) read as an
//! import reads it (the records as the client joins them: catalogue expanded, share and
//! blocks added) and previewed: Ann's family membership reaches Ben, who is registration-
//! blocked, so Ben's door follows the mapping's `blocked` policy — per mapping line; Cat's used-up
//! pack and held plan grant nothing, her class registration opens with the line's lead and lag.

use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::preview;
use access_sync_rules::time::{format_instant, parse_instant};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("../../../tests/teamup-sim/fixtures/small-business.json");

/// The fixture's records with the joins the client makes (`shared/sources/src/teamup`).
fn records() -> Vec<(String, Value)> {
    let f: Value = serde_json::from_str(FIXTURE).unwrap();
    let cols = &f["collections"];
    let catalogue = |id: &Value| {
        cols["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| &m["id"] == id)
            .cloned()
            .unwrap()
    };
    let event = |id: &Value| {
        cols["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| &e["id"] == id)
            .cloned()
            .unwrap()
    };
    let mut out = Vec::new();
    for (name, list) in cols.as_object().unwrap() {
        for r in list.as_array().unwrap() {
            let mut r = r.clone();
            match name.as_str() {
                "customer_memberships" => {
                    r["membership"] = catalogue(&r["membership"]);
                    let shared = r["id"] == 77;
                    r["_shared_with"] = if shared {
                        json!([4312, 4313])
                    } else {
                        json!([])
                    };
                    r["_blocked_customers"] = if shared { json!([4313]) } else { json!([]) };
                }
                "attendances" => r["event"] = event(&r["event"]),
                _ => {}
            }
            out.push((name.clone(), r));
        }
    }
    out
}

fn timeline(map: &str) -> Vec<String> {
    let recs = records();
    let api: Vec<ApiRecord<'_>> = recs
        .iter()
        .map(|(c, b)| ApiRecord {
            collection: c,
            id: "",
            body: b,
        })
        .collect();
    let at = parse_instant("2026-12-01T08:00:00Z").unwrap();
    let mapped = Platform::Teamup.events_from_records(&api, at).unwrap();
    assert!(mapped.unmapped.is_empty(), "{:?}", mapped.unmapped);
    let p = preview(
        &Mappings::parse(map).unwrap(),
        mapped.events,
        Some(parse_instant("2026-12-10T00:00:00Z").unwrap()),
    );
    p.intervals
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {}",
                i.email,
                i.group,
                format_instant(i.from),
                i.until.map(format_instant).unwrap_or("null".into())
            )
        })
        .collect()
}

const MAP: &str = r#"
[defaults]
blocked = "deny"

[[mapping]]
source = "plan"
id = "274853"
groups = [101]
BLOCKED

[[mapping]]
source = "plan"
id = "274852"
groups = [101]

[[mapping]]
source = "plan"
id = "274854"
groups = [101]

[[mapping]]
source = "registration"
id = "31"
groups = [201]
lead_minutes = 30
lag_minutes = 10
"#;

#[test]
fn the_fixture_previews_as_its_records_say_and_blocked_follows_the_line() {
    let deny = timeline(&MAP.replace("BLOCKED", ""));
    assert_eq!(
        deny,
        [
            "ann@example.com 101 2026-12-01T08:00:00Z null",
            "cat@example.com 201 2026-12-07T17:30:00Z 2026-12-07T19:10:00Z",
        ]
    );
    let allow = timeline(&MAP.replace("BLOCKED", "blocked = \"allow\""));
    assert_eq!(
        allow,
        [
            "ann@example.com 101 2026-12-01T08:00:00Z null",
            "ben@example.com 101 2026-12-01T08:00:00Z null",
            "cat@example.com 201 2026-12-07T17:30:00Z 2026-12-07T19:10:00Z",
        ]
    );
}
