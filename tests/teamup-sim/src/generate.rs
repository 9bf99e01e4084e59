//! A deterministic TeamUp business of N customers, for tests and benches.
//!
//! - Catalogue (`memberships`): 1 "Unlimited" (`recurring_plan`), 2 "10 Class Pack" (`pack`),
//!   3 "Family Unlimited" (`recurring_plan`, `shareable`).
//! - Customers `100000 + i` (`c<i>@example.com`); customers with `i % 20` in {0, 1} form the
//!   family `700000 + i / 20` (0 the manager).
//! - One customer membership `200000 + i` each, by `i % 20`: 0 the family plan, shared with the
//!   family; 1 cancelled; 2 on hold (with its hold `600000 + i`); 3 a used-up pack
//!   (`completed`); 4 cancelled; 5 an active pack; otherwise active "Unlimited".
//! - One venue (1, `Europe/London`), one class a day for 14 days from the anchor's day
//!   (`300000 + d`, 18:00–19:00 UTC, offering type 31), and a registration `400000 + i` for
//!   every tenth customer on the class of day `i % 14`.
//! - An active registration block `500000 + i` for every fiftieth customer (from 7).
//! - One course (1, offering type 32), a session a week (`800000 + w`, 4 weeks) and a session
//!   attendance `900000 + i` for every 25th customer.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::{Fixture, stamp};

/// The business of `customers` customers around `anchor`.
pub fn generate(customers: usize, anchor: DateTime<Utc>) -> Fixture {
    let day = |d: i64| (anchor + Duration::days(d)).format("%Y-%m-%d").to_string();
    let midnight = anchor
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(anchor, |n| n.and_utc());
    let mut f = Fixture::default();
    let mut put = |c: &str, v: Value| f.collections.entry(c.into()).or_default().push(v);
    put(
        "providers",
        json!({"id": 123, "name": "Sim Gym", "address": {"timezone": "Europe/London"}}),
    );
    put(
        "venues",
        json!({"id": 1, "name": "Main", "timezone": "Europe/London", "venue_type": "physical", "archived": false}),
    );
    put(
        "memberships",
        json!({"id": 1, "name": "Unlimited", "type": "recurring_plan", "shareable": false, "is_dropin": false}),
    );
    put(
        "memberships",
        json!({"id": 2, "name": "10 Class Pack", "type": "pack", "shareable": false, "is_dropin": false}),
    );
    put(
        "memberships",
        json!({"id": 3, "name": "Family Unlimited", "type": "recurring_plan", "shareable": true, "is_dropin": false}),
    );
    for d in 0..14i64 {
        let s = midnight + Duration::days(d) + Duration::hours(18);
        put(
            "events",
            json!({"id": 300000 + d, "name": "Boxfit", "starts_at": stamp(s),
            "ends_at": stamp(s + Duration::hours(1)), "status": "active", "venue": 1,
            "offering_type": 31, "is_appointment": "false", "max_occupancy": 30}),
        );
    }
    put(
        "courses",
        json!({"id": 1, "name": "Beginners", "offering_type": 32, "published": true}),
    );
    for w in 0..4i64 {
        let s = midnight + Duration::days(7 * w) + Duration::hours(10);
        put(
            "course_sessions",
            json!({"id": 800000 + w, "name": "Beginners", "course": 1,
            "starts_at": stamp(s), "ends_at": stamp(s + Duration::hours(2)), "status": "active", "venue": 1}),
        );
    }
    let mut shares = Vec::new();
    for i in 0..customers as i64 {
        let cid = 100000 + i;
        let family = (i % 20 <= 1).then_some(700000 + i / 20);
        put(
            "customers",
            json!({"id": cid, "object": "customer", "email": format!("c{i}@example.com"),
            "first_name": "Cust", "last_name": format!("{i}"), "family": family,
            "family_role": family.map(|_| if i % 20 == 0 { "manager" } else { "child" }),
            "is_lead": false, "provider": 123, "visibility": "visible"}),
        );
        let mid = 200000 + i;
        let (membership, status) = match i % 20 {
            0 => (3, "active"),
            1 | 4 => (1, "cancelled"),
            2 => (1, "hold"),
            3 => (2, "completed"),
            5 => (2, "active"),
            _ => (1, "active"),
        };
        let expiration = (membership == 2).then(|| day(60));
        let name = ["", "Unlimited", "10 Class Pack", "Family Unlimited"][membership as usize];
        put(
            "customer_memberships",
            json!({"id": mid, "object": "customermembership",
            "name": name,
            "start_date": day(-30), "expiration_date": expiration, "renewal_date": day(1),
            "status": status, "membership": membership, "customer": cid,
            "active_hold": if status == "hold" { json!(600000 + i) } else { Value::Null },
            "is_set_for_cancellation": false, "cancellation_reason": null}),
        );
        if status == "hold" {
            put(
                "customer_membership_holds",
                json!({"id": 600000 + i, "customer_membership": mid,
                "active": true, "start_date": day(-2), "end_date": day(12), "days_to_add": 14, "prorate_usage": false}),
            );
        }
        if let (0, Some(fam)) = (i % 20, family) {
            shares.push((
                mid.to_string(),
                json!({"customer": cid, "family": fam, "shared": true}),
            ));
        }
        if i % 10 == 0 {
            put(
                "attendances",
                json!({"id": 400000 + i, "object": "attendance", "customer": cid,
                "event": 300000 + (i / 10) % 14, "status": "registered", "customer_membership": mid,
                "booking_source": {"id": 1, "name": "App"}}),
            );
        }
        if i % 50 == 7 {
            put(
                "customer_registration_blocks",
                json!({"id": 500000 + i, "customer": cid,
                "is_active": true, "created_at": stamp(anchor - Duration::days(3)), "deactivated_at": null}),
            );
        }
        if i % 25 == 0 {
            put(
                "course_session_attendances",
                json!({"id": 900000 + i, "course_session": 800000 + (i / 25) % 4,
                "customer": cid, "status": "registered"}),
            );
        }
    }
    f.shares = shares.into_iter().collect();
    f
}
