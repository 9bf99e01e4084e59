//! A deterministic Optix organisation of `members` users for benches: one location, a team
//! of five for every 25 users, a personal plan per user not in a team and a team plan per
//! team, one booking per user in the window, a weekly assignment per 20 users, a check-in per
//! 4 users, and 2 % soft-deleted users. Shapes as `events/optix/api/records.json`.

use serde_json::{Value, json};

/// The organisation, as a fixture (`{collection: [records]}`), with bookings and check-ins
/// dated from `anchor` (unix seconds) on.
pub fn generate(members: usize, anchor: i64) -> Value {
    let mut users = Vec::new();
    let mut teams = Vec::new();
    let mut accounts = Vec::new();
    let mut plans = Vec::new();
    let mut bookings = Vec::new();
    let mut assignments = Vec::new();
    let mut checkins = Vec::new();
    let loc = json!({"location_id": "11", "timezone": "Europe/London"});
    for i in 0..members {
        let uid = format!("{}", 10_000 + i);
        let in_team = i % 25 < 5;
        let team = i / 25;
        let account = if in_team {
            format!("t{team}")
        } else {
            format!("a{i}")
        };
        let contract = if in_team {
            json!({"account": {"account_id": account}, "team": {"team_id": format!("{team}")}, "is_admin": i % 25 == 0})
        } else {
            json!({"account": {"account_id": account}, "team": null, "is_admin": true})
        };
        users.push(json!({"user_id": uid, "email": format!("m{i}@example.com"),
            "name": "M", "surname": format!("{i}"), "fullname": format!("M {i}"),
            "is_active": i % 50 != 49, "is_inactive": false, "is_deleted": i % 50 == 49,
            "is_pending": false, "is_lead": false, "has_plans": true, "teams": [],
            "account_contracts": [contract]}));
        if in_team && i % 25 == 0 {
            let members: Vec<Value> = (i..(i + 5).min(members))
                .map(|j| json!({"user_id": format!("{}", 10_000 + j), "email": format!("m{j}@example.com")}))
                .collect();
            teams.push(
                json!({"team_id": format!("{team}"), "name": format!("Team {team}"),
                "users_count": members.len(), "users": members, "admins": []}),
            );
            accounts.push(json!({"account_id": account, "type": "Team", "name": format!("Team {team}"), "status": "ACTIVE"}));
            plans.push(json!({"account_plan_id": format!("p{account}"), "status": "ACTIVE",
                "start_timestamp": anchor - 86_400 * 30, "end_timestamp": null,
                "payer_account": {"account_id": account, "type": "Team"}, "access_usage_user": null,
                "plan_template": {"plan_template_id": "77", "name": "Team Office"}, "accesses": []}));
        } else if !in_team {
            accounts.push(json!({"account_id": account, "type": "Member", "email": format!("m{i}@example.com"), "status": "ACTIVE"}));
            plans.push(json!({"account_plan_id": format!("p{account}"), "status": if i % 10 == 3 { "UPCOMING" } else { "ACTIVE" },
                "start_timestamp": anchor - 86_400 * 10, "end_timestamp": null,
                "payer_account": {"account_id": account, "type": "Member"},
                "access_usage_user": {"user_id": uid, "email": format!("m{i}@example.com")},
                "plan_template": {"plan_template_id": "70", "name": "Hot desk"},
                "accesses": [{"access_id": format!("x{i}"), "unlimited_allowance": false, "allowance": 10, "discount_pct": 0,
                    "unit": {"unit_id": "3", "name": "day", "type": "USES"},
                    "access_template": {"access_template_id": "12", "name": "Check-ins", "type": "CHECKINS"}}]}));
        }
        let start = anchor + 3600 * (i as i64 % 240);
        bookings.push(json!({"booking_id": format!("b{i}"), "start_timestamp": start, "end_timestamp": start + 3600,
            "is_new": false, "is_approved": i % 30 != 7, "is_canceled": i % 30 == 7, "is_rejected": false,
            "user": {"user_id": uid, "email": format!("m{i}@example.com")},
            "resource": {"resource_id": "310", "location": loc}, "invitees": []}));
        if i % 20 == 0 {
            assignments.push(json!({"assignment_id": format!("as{i}"), "status": "ACTIVE",
                "first_occurrence_start_timestamp": anchor + 9 * 3600, "last_occurrence_end_timestamp": null,
                "duration_sec": 14_400, "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO,WE", "skipped_timestamps": []},
                "resource": {"resource_id": "411", "location": loc}, "owner_account": {"account_id": account, "type": if in_team { "Team" } else { "Member" }}}));
        }
        if i % 4 == 0 {
            checkins.push(json!({"checkin_id": format!("c{i}"), "start_timestamp": anchor + 600 * (i as i64 % 100),
                "end_timestamp": null, "owner_account": {"account_id": account, "type": if in_team { "Team" } else { "Member" }},
                "location": loc}));
        }
    }
    json!({"locations": [{"location_id": "11", "name": "Main", "timezone": "Europe/London"}],
        "users": users, "teams": teams, "accounts": accounts, "accountPlans": plans,
        "bookings": bookings, "assignments": assignments, "checkins": checkins})
}
