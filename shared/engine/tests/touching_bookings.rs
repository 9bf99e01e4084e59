//! Issue 16's live bench, seed 1 at 200 members, once measured `member134` (a hot-desk plan,
//! and two room-b bookings made at midnight, 10:00–12:00 and 12:00–12:30, which with the
//! 10-minute lead and lag are one interval 09:50–12:40 in groups 103 and 104) denied the whole
//! 170 minutes. Its facts, replayed here through the real engine (moto, the Kisi simulator,
//! Scheduler edges) without faults, open both groups exactly as preview says: touching
//! bookings made together are not the cause (a second run of the bench, with the crashes
//! landing elsewhere, granted that pair on time; see BENCHMARKS.md).

mod common;

use access_sync_rules::Event;
use common::*;

const MAP: &str = r#"
[defaults]
timezone = "Europe/London"
lead_minutes = 10
lag_minutes = 10
blocked = "deny"

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [101]

[[mapping]]
source = "resource"
id = "room-b"
groups = [103, 104]
"#;

fn events() -> Vec<Event> {
    [
        r#"{"id":"d1","at":"2026-03-28T00:00:00Z","member":{"id":"m134","email":"member134@example.com","name":"M 134"}}"#,
        r#"{"id":"d2","at":"2026-03-28T00:00:00Z","entitlement":{"id":"plan:134","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m134"},"start":"2026-03-28T00:00:00Z"}}"#,
        r#"{"id":"d3","at":"2026-03-28T00:00:00Z","entitlement":{"id":"booking:134-0","kind":"booking","refs":["resource:room-b"],"holder":{"member":"m134"},"start":"2026-03-28T10:00:00Z","end":"2026-03-28T12:00:00Z"}}"#,
        r#"{"id":"d4","at":"2026-03-28T00:00:00Z","entitlement":{"id":"booking:134-1","kind":"booking","refs":["resource:room-b"],"holder":{"member":"m134"},"start":"2026-03-28T12:00:00Z","end":"2026-03-28T12:30:00Z"}}"#,
    ]
    .iter()
    .map(|l| Event::parse(l).unwrap())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_touching_bookings_made_together_open_the_room_at_the_first_ones_lead() {
    let mut stack = Stack::new(MAP).await;
    let evs = events();
    let horizon = at("2026-03-29T00:00:00Z");
    stack.play(&evs, horizon).await;
    assert!(
        stack.retry.is_empty(),
        "converges failed: {:?}",
        stack.retry
    );
    assert_eq!(
        stack.kisi_timeline(horizon),
        preview_timeline(&stack.mappings, &evs, horizon),
        "Kisi's timeline differs from preview"
    );
}
