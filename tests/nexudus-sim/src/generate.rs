//! A deterministic space of `n` coworkers for tests and benches, with every record kind the
//! sync reads, in the shapes of the reference's examples (R §2): one business, four tariffs,
//! five resources; per coworker a contract (80 %), teams of ten, time passes (20 %), a booking
//! in the coming week (50 %, a tenth of them with a visitor), a desk or office (10 %), a
//! check-in today (10 %); 3 % suspended, 2 % archived.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::{Fixture, stamp};

/// Ids: each kind in its own range, so a record's kind is visible from its id.
pub const COWORKER_BASE: i64 = 1_000_000;
/// Contracts.
pub const CONTRACT_BASE: i64 = 2_000_000;
/// Teams.
pub const TEAM_BASE: i64 = 3_000_000;
/// Time passes.
pub const PASS_BASE: i64 = 4_000_000;
/// Bookings.
pub const BOOKING_BASE: i64 = 5_000_000;
/// Booking visitors.
pub const VISITOR_BASE: i64 = 6_000_000;
/// Floor-plan units.
pub const DESK_BASE: i64 = 7_000_000;
/// Check-ins.
pub const CHECKIN_BASE: i64 = 8_000_000;
/// The one business.
pub const BUSINESS: i64 = 1_376_491_116;

struct Mix(u64);

impl Mix {
    /// splitmix64: deterministic, no dependency.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn local(t: DateTime<Utc>) -> String {
    // The business is in a UTC+0 zone in the generated data: the twins are equal.
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A space of `n` coworkers; `anchor` is "today 00:00 UTC" of the data.
pub fn generate(n: usize, seed: u64, anchor: DateTime<Utc>) -> Fixture {
    let mut r = Mix(seed);
    let mut f = Fixture::default();
    let mut push =
        |path: &str, v: Value| f.collections.entry(path.to_string()).or_default().push(v);
    let old = stamp(anchor - Duration::days(60));
    push(
        "sys/businesses",
        json!({"Id": BUSINESS, "Name": "Sim Space", "SimpleTimeZoneId": 1, "UpdatedOn": old}),
    );
    for t in 0..4 {
        push(
            "billing/tariffs",
            json!({"Id": 90001 + t, "Name": format!("Tariff {t}"), "Archived": false, "UpdatedOn": old}),
        );
    }
    for res in 0..5 {
        push(
            "spaces/resources",
            json!({"Id": 3001 + res, "Name": format!("Room {res}"), "BusinessId": BUSINESS, "UpdatedOn": old}),
        );
    }
    for i in 0..n as i64 {
        let id = COWORKER_BASE + i;
        let team = TEAM_BASE + i / 10;
        let updated = stamp(anchor - Duration::days(1 + r.below(50) as i64));
        let roll = r.below(100);
        push(
            "spaces/coworkers",
            json!({"Id": id, "UniqueId": format!("00000000-0000-4000-8000-{id:012}"), "CoworkerType": 1,
                "FullName": format!("Coworker {i}"), "Email": format!("c{i}@gen.example"),
                "Active": roll >= 3, "Archived": (3..5).contains(&roll),
                "Teams": [team], "Businesses": [BUSINESS], "TeamNames": format!("Team {}", i / 10),
                "InvoicingBusinessId": BUSINESS, "AccessPincode": format!("{:05}", i % 100_000),
                "CreatedOn": old, "UpdatedOn": updated}),
        );
        if i % 10 == 0 {
            let members: Vec<i64> = (i..(i + 10).min(n as i64))
                .map(|m| COWORKER_BASE + m)
                .collect();
            let ids: Vec<String> = members.iter().map(i64::to_string).collect();
            push(
                "spaces/teams",
                json!({"Id": team, "BusinessId": BUSINESS, "Name": format!("Team {}", i / 10),
                    "PayingMemberId": id, "TeamMembers": members, "TeamAdministrators": [id],
                    "CoworkerIds": ids.join(","), "ShareTimePasses": false, "UpdatedOn": old}),
            );
        }
        if r.below(100) < 80 {
            let tariff = 90001 + r.below(4) as i64;
            push(
                "billing/coworkercontracts",
                json!({"Id": CONTRACT_BASE + i, "CoworkerId": id, "CoworkerEmail": format!("c{i}@gen.example"),
                    "CoworkerActive": roll >= 3, "TariffId": tariff, "TariffName": format!("Tariff {}", tariff - 90001),
                    "Quantity": 1, "MainContract": true, "Active": true, "Cancelled": false,
                    "StartDate": stamp(anchor - Duration::days(90)), "CancellationDate": null,
                    "Desks": [], "UpdatedOn": updated}),
            );
        }
        if r.below(100) < 20 {
            let remaining = r.below(4) as i64;
            push(
                "billing/coworkertimepasses",
                json!({"Id": PASS_BASE + i, "CoworkerId": id, "BusinessId": BUSINESS, "TimePassId": 5001,
                    "TimePassName": "Day pass", "Used": remaining == 0, "CheckedIn": false,
                    "UsedDate": if remaining == 0 { json!(stamp(anchor - Duration::days(2))) } else { Value::Null },
                    "RemainingUses": remaining, "TotalUses": 3,
                    "ExpireDate": stamp(anchor + Duration::days(30)),
                    "IsFromTariff": false, "IsPayAsYouGo": false, "UpdatedOn": updated}),
            );
        }
        if r.below(100) < 50 {
            let from = anchor + Duration::hours(24 * r.below(7) as i64 + 8 + r.below(9) as i64);
            let to = from + Duration::hours(1);
            let bid = BOOKING_BASE + i;
            push(
                "spaces/bookings",
                json!({"Id": bid, "ResourceId": 3001 + r.below(5) as i64, "CoworkerId": id,
                    "FromTime": stamp(from), "ToTime": stamp(to),
                    "FromTimeLocal": local(from), "ToTimeLocal": local(to),
                    "Tentative": false, "Online": true, "Invoiced": false, "UpdatedOn": updated}),
            );
            if r.below(10) == 0 {
                push(
                    "spaces/bookingvisitors",
                    json!({"Id": VISITOR_BASE + i, "BookingId": bid, "VisitorId": VISITOR_BASE + i,
                        "VisitorFullName": format!("Visitor {i}"), "VisitorEmail": format!("v{i}@guest.example"),
                        "UpdatedOn": updated}),
                );
            }
        }
        if r.below(100) < 10 {
            push(
                "sys/floorplandesks",
                json!({"Id": DESK_BASE + i, "FloorPlanId": 7001, "FloorPlanBusinessId": BUSINESS,
                    "Name": format!("Unit {i}"), "ItemType": if i % 2 == 0 { 1 } else { 2 },
                    "CoworkerId": id, "CoworkerContractIds": (CONTRACT_BASE + i).to_string(),
                    "Available": false, "UpdatedOn": updated}),
            );
        }
        if r.below(100) < 10 {
            let from = anchor + Duration::minutes(8 * 60 + r.below(120) as i64);
            push(
                "spaces/checkins",
                json!({"Id": CHECKIN_BASE + i, "CoworkerId": id, "BusinessId": BUSINESS, "Source": 2,
                    "FromTime": stamp(from), "ToTime": null, "FromTimeLocal": local(from),
                    "UpdatedOn": stamp(from)}),
            );
        }
    }
    f
}
