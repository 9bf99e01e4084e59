//! The Nexudus simulator's fixture (`tests/nexudus-sim/fixtures/small-space.json`: the
//! reference's example records, R §2.1–§2.7) read as an import would read it: every record maps,
//! and the preview of the events is the access those records describe.

use access_sync_platforms::Platform;
use access_sync_platforms::api::ApiRecord;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::preview;
use serde_json::Value;

const MAPPINGS: &str = r#"
[defaults]
timezone = "Europe/London"
lead_minutes = 15
lag_minutes = 15

[[mapping]]
source = "plan"
id = "90001"
groups = [101]

[[mapping]]
source = "pass"
id = "5001"
groups = [102]

[[mapping]]
source = "checkin"
id = "1376491116"
groups = [103]

[[mapping]]
source = "resource"
id = "3001"
groups = [201]

[[mapping]]
source = "office"
id = "77001"
groups = [301]
"#;

#[test]
fn the_simulator_fixture_maps_whole_and_previews_as_its_records_say() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/nexudus-sim/fixtures/small-space.json"
    ))
    .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let mut records = Vec::new();
    for (collection, list) in fixture["collections"].as_object().unwrap() {
        for body in list.as_array().unwrap() {
            records.push((collection.clone(), body.clone()));
        }
    }
    let api: Vec<ApiRecord<'_>> = records
        .iter()
        .map(|(c, b)| ApiRecord {
            collection: c,
            id: "",
            body: b,
        })
        .collect();
    let now = "2025-01-20T00:00:00Z".parse().unwrap();
    let mapped = Platform::Nexudus.events_from_records(&api, now).unwrap();
    assert!(mapped.unmapped.is_empty(), "{:?}", mapped.unmapped);
    let out = preview(
        &Mappings::parse(MAPPINGS).unwrap(),
        mapped.events,
        Some("2025-04-01T00:00:00Z".parse().unwrap()),
    );
    let lines: Vec<String> = out.intervals.iter().map(|i| i.to_json()).collect();
    assert_eq!(
        lines,
        vec![
            // Contract (R §2.3): open-ended, from the import (nothing is granted in the past).
            r#"{"email":"ada@example.com","group":101,"from":"2025-01-20T00:00:00Z","until":null,"reasons":["nexudus:contract:1421000"]}"#,
            // Check-in (R §2.7): open (ToTime null) until local midnight.
            r#"{"email":"ada@example.com","group":103,"from":"2025-03-01T08:55:00Z","until":"2025-03-02T00:00:00Z","reasons":["nexudus:checkin:99001"]}"#,
            // Booking (R §2.5) with the 15-minute lead and lag.
            r#"{"email":"ada@example.com","group":201,"from":"2025-03-01T08:45:00Z","until":"2025-03-01T10:15:00Z","reasons":["nexudus:booking:88001"]}"#,
            // Floor-plan office (R §2.6) linked to Ada.
            r#"{"email":"ada@example.com","group":301,"from":"2025-01-20T00:00:00Z","until":null,"reasons":["nexudus:floorplandesk:77001"]}"#,
            // Day pass (R §2.4): unknown uses, not used: until ExpireDate.
            r#"{"email":"bob@example.com","group":102,"from":"2025-01-20T00:00:00Z","until":"2025-02-28T23:59:00Z","reasons":["nexudus:timepass:87654321"]}"#,
            // The booking's visitor (R §2.5 bookingvisitors) is a guest.
            r#"{"email":"grace@client.example","group":201,"from":"2025-03-01T08:45:00Z","until":"2025-03-01T10:15:00Z","reasons":["nexudus:booking:88001"]}"#,
        ]
    );
}
