//! One test per rule of ACCESS-MODEL §3, through `preview`, with fixed timestamps. Each test
//! reads as the sentence it proves; the timeline is shown as `email group from until`.

use access_sync_rules::event::parse_jsonl;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::{Preview, preview};
use access_sync_rules::time::{format_instant, parse_instant};

const MAP: &str = r#"
[defaults]
timezone = "Europe/London"
lead_minutes = 5
lag_minutes = 5

[[mapping]]
source = "plan"
id = "hot-desk"
groups = [101]

[[mapping]]
source = "resource"
id = "room"
groups = [201]

[[mapping]]
source = "resource"
id = "suite"
groups = [201]
lead_minutes = 15
lag_minutes = 0

[[mapping]]
source = "checkin"
id = "london"
groups = [401]

[[mapping]]
source = "resource"
id = "desk-7"
groups = [301]
lead_minutes = 0
lag_minutes = 0

[[mapping]]
source = "pass"
id = "day"
groups = [501]
"#;

fn run_with(map: &str, events: &str, until: Option<&str>) -> Preview {
    let m = Mappings::parse(map).unwrap();
    let evs = parse_jsonl(events)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    preview(&m, evs, until.map(|u| parse_instant(u).unwrap()))
}

fn lines(p: &Preview) -> Vec<String> {
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

fn run(events: &str, until: &str) -> Vec<String> {
    lines(&run_with(MAP, events, Some(until)))
}

const JOE: &str =
    r#"{"id":"m","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"Joe@Example.com"}}"#;

fn ev(id: &str, at: &str, body: &str) -> String {
    format!(r#"{{"id":"{id}","at":"{at}",{body}}}"#)
}

fn booking(id: &str, holder: &str, refs: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        r#""entitlement":{{"id":"{id}","kind":"booking","refs":[{refs}],"holder":{holder},"start":"{start}","end":"{end}"{extra}}}"#
    )
}

fn join(lines: &[String]) -> String {
    lines.join("\n")
}

#[test]
fn a_booking_opens_lead_minutes_before_and_closes_lag_minutes_after() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:room""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["joe@example.com 201 2026-12-07T09:55:00Z 2026-12-07T11:05:00Z"]
    );
}

#[test]
fn a_mappings_own_lead_and_lag_override_the_defaults() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:suite""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["joe@example.com 201 2026-12-07T09:45:00Z 2026-12-07T11:00:00Z"]
    );
}

#[test]
fn one_booking_through_two_mappings_of_a_group_unites_their_windows() {
    // room: 5/5, suite: 15/0 → [09:45, 11:05)
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:room","resource:suite""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["joe@example.com 201 2026-12-07T09:45:00Z 2026-12-07T11:05:00Z"]
    );
}

#[test]
fn back_to_back_bookings_merge_into_one_interval_with_both_reasons() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
        ev(
            "c",
            "2026-12-07T08:05:00Z",
            &booking(
                "b2",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T11:00:00Z",
                "2026-12-07T12:00:00Z",
                "",
            ),
        ),
    ]);
    let p = run_with(MAP, &evs, Some("2026-12-08T00:00:00Z"));
    assert_eq!(
        lines(&p),
        ["joe@example.com 301 2026-12-07T10:00:00Z 2026-12-07T12:00:00Z"]
    );
    assert_eq!(
        p.intervals[0]
            .reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        ["b1", "b2"]
    );
}

#[test]
fn bookings_a_minute_apart_stay_two_intervals() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
        ev(
            "c",
            "2026-12-07T08:05:00Z",
            &booking(
                "b2",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T11:01:00Z",
                "2026-12-07T12:00:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        [
            "joe@example.com 301 2026-12-07T10:00:00Z 2026-12-07T11:00:00Z",
            "joe@example.com 301 2026-12-07T11:01:00Z 2026-12-07T12:00:00Z"
        ]
    );
}

const TEAM: [&str; 4] = [
    r#"{"id":"m1","at":"2026-12-01T00:00:00Z","member":{"id":"m1","email":"ann@x.io"}}"#,
    r#"{"id":"m2","at":"2026-12-01T00:00:00Z","member":{"id":"m2","email":"bob@x.io"}}"#,
    r#"{"id":"t1","at":"2026-12-01T00:00:00Z","team":{"id":"t","members":["m1","m2"]}}"#,
    r#"{"id":"p1","at":"2026-12-01T00:00:00Z","entitlement":{"id":"plan:s","kind":"plan","refs":["plan:hot-desk"],"holder":{"team":"t"},"start":"2026-12-01T00:00:00Z"}}"#,
];

#[test]
fn a_team_plan_grants_every_member_of_the_team() {
    assert_eq!(
        run(&TEAM.join("\n"), "2026-12-10T00:00:00Z"),
        [
            "ann@x.io 101 2026-12-01T00:00:00Z null",
            "bob@x.io 101 2026-12-01T00:00:00Z null"
        ]
    );
}

#[test]
fn a_team_member_leaving_loses_access_when_the_team_changes() {
    let evs = format!(
        "{}\n{}",
        TEAM.join("\n"),
        r#"{"id":"t2","at":"2026-12-05T12:00:00Z","team":{"id":"t","members":["m1"]}}"#
    );
    assert_eq!(
        run(&evs, "2026-12-10T00:00:00Z"),
        [
            "ann@x.io 101 2026-12-01T00:00:00Z null",
            "bob@x.io 101 2026-12-01T00:00:00Z 2026-12-05T12:00:00Z"
        ]
    );
}

#[test]
fn a_member_joining_a_team_gains_access_from_the_team_event_only() {
    let evs = format!(
        "{}\n{}\n{}",
        TEAM.join("\n"),
        r#"{"id":"m3","at":"2026-12-01T00:00:00Z","member":{"id":"m3","email":"cat@x.io"}}"#,
        r#"{"id":"t2","at":"2026-12-06T09:00:00Z","team":{"id":"t","members":["m1","m2","m3"]}}"#
    );
    assert!(
        run(&evs, "2026-12-10T00:00:00Z")
            .contains(&"cat@x.io 101 2026-12-06T09:00:00Z null".to_string())
    );
}

#[test]
fn a_team_never_described_has_no_members_and_is_warned_about() {
    let p = run_with(MAP, &TEAM[3].replace("\"t\"", "\"ghost\""), None);
    assert!(p.intervals.is_empty());
    assert!(
        p.warnings.iter().any(|w| w.contains("ghost")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn guests_get_the_booking_window_whatever_the_holders_state() {
    let evs = join(&[
        r#"{"id":"m","at":"2026-12-07T08:00:00Z","member":{"id":"m1","removed":true}}"#.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:room""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                r#","guests":[" Guest@Example.com"]"#,
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["guest@example.com 201 2026-12-07T09:55:00Z 2026-12-07T11:05:00Z"]
    );
}

#[test]
fn a_member_and_a_guest_with_the_same_address_share_one_timeline() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
        ev(
            "c",
            "2026-12-07T08:05:00Z",
            &booking(
                "b2",
                r#"{"member":"m9"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:30:00Z",
                "2026-12-07T12:00:00Z",
                r#","guests":["JOE@example.com"]"#,
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["joe@example.com 301 2026-12-07T10:00:00Z 2026-12-07T12:00:00Z"]
    );
}

#[test]
fn a_member_without_an_email_gets_nothing_and_is_warned_about() {
    let evs = join(&[
        r#"{"id":"m","at":"2026-12-07T08:00:00Z","member":{"id":"m1","name":"No Mail"}}"#.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:room""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
    ]);
    let p = run_with(MAP, &evs, Some("2026-12-08T00:00:00Z"));
    assert!(p.intervals.is_empty());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("m1") && w.contains("e-mail")),
        "{:?}",
        p.warnings
    );
}

fn plan_version(id: &str, at: &str, status: &str) -> String {
    ev(
        id,
        at,
        &format!(
            r#""entitlement":{{"id":"plan:s","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m1"}},"start":"2026-12-01T00:00:00Z","status":"{status}"}}"#
        ),
    )
}

#[test]
fn a_pending_plan_grants_nothing_until_it_is_accepted() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "pending"),
        plan_version("2", "2026-12-09T10:00:00Z", "active"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-09T10:00:00Z null"]
    );
}

#[test]
fn a_blocked_membership_is_denied_by_default() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        plan_version("2", "2026-12-09T10:00:00Z", "blocked"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T08:00:00Z 2026-12-09T10:00:00Z"]
    );
}

#[test]
fn a_blocked_membership_keeps_access_when_the_policy_allows_it() {
    let map = MAP.replace(
        "lag_minutes = 5\n",
        "lag_minutes = 5\nblocked = \"allow\"\n",
    );
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        plan_version("2", "2026-12-09T10:00:00Z", "blocked"),
    ]);
    assert_eq!(
        lines(&run_with(&map, &evs, Some("2026-12-20T00:00:00Z"))),
        ["joe@example.com 101 2026-12-07T08:00:00Z null"]
    );
}

#[test]
fn an_exhausted_pass_closes_when_the_pass_is_used_up() {
    let pass = |id: &str, at: &str, status: &str| {
        ev(
            id,
            at,
            &format!(
                r#""entitlement":{{"id":"pass:1","kind":"pass","refs":["pass:day"],"holder":{{"member":"m1"}},"start":"2026-12-07T00:00:00Z","end":"2026-12-14T00:00:00Z","status":"{status}"}}"#
            ),
        )
    };
    let evs = join(&[
        JOE.into(),
        pass("1", "2026-12-07T08:00:00Z", "active"),
        pass("2", "2026-12-09T18:00:00Z", "exhausted"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 501 2026-12-07T08:00:00Z 2026-12-09T18:00:00Z"]
    );
}

#[test]
fn a_cancel_closes_at_its_at_and_a_later_version_grants_again() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        r#"{"id":"2","at":"2026-12-08T08:00:00Z","cancel":{"entitlement":"plan:s"}}"#.into(),
        plan_version("3", "2026-12-10T08:00:00Z", "active"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        [
            "joe@example.com 101 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 101 2026-12-10T08:00:00Z null"
        ]
    );
}

#[test]
fn a_later_version_replaces_from_its_at_and_never_retroactively() {
    // The booking is moved to start earlier while it is already running: the past stays.
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
        ev(
            "c",
            "2026-12-07T10:30:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T09:00:00Z",
                "2026-12-07T10:45:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-08T00:00:00Z"),
        ["joe@example.com 301 2026-12-07T10:00:00Z 2026-12-07T10:45:00Z"]
    );
}

#[test]
fn nothing_is_granted_in_the_past() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:30:00Z", "active"),
    ]);
    // The plan started on the 1st, but it became known on the 7th.
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T08:30:00Z null"]
    );
}

#[test]
fn a_missing_start_means_when_the_record_was_first_seen_not_its_latest_version() {
    let plan = |id: &str, at: &str, end: &str| {
        ev(
            id,
            at,
            &format!(
                r#""entitlement":{{"id":"plan:s","kind":"plan","refs":["plan:hot-desk"],"holder":{{"member":"m1"}},"end":"{end}"}}"#
            ),
        )
    };
    let evs = join(&[
        JOE.into(),
        plan("1", "2026-12-07T09:00:00Z", "2026-12-31T00:00:00Z"),
        plan("2", "2026-12-09T09:00:00Z", "2026-12-15T00:00:00Z"),
    ]);
    assert_eq!(
        run(&evs, "2027-01-10T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T09:00:00Z 2026-12-15T00:00:00Z"]
    );
}

#[test]
fn a_removed_member_loses_everything_and_a_returning_one_starts_afresh() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        r#"{"id":"r","at":"2026-12-08T08:00:00Z","member":{"id":"m1","removed":true}}"#.into(),
        r#"{"id":"b","at":"2026-12-09T08:00:00Z","member":{"id":"m1","email":"joe@example.com"}}"#
            .into(),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        [
            "joe@example.com 101 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 101 2026-12-09T08:00:00Z null"
        ]
    );
}

#[test]
fn an_email_change_ends_the_old_address_and_starts_the_new_one() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        r#"{"id":"c","at":"2026-12-08T08:00:00Z","member":{"id":"m1","email":"joseph@example.com"}}"#.into(),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        [
            "joe@example.com 101 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joseph@example.com 101 2026-12-08T08:00:00Z null"
        ]
    );
}

#[test]
fn a_change_of_case_only_is_no_change() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        r#"{"id":"c","at":"2026-12-08T08:00:00Z","member":{"id":"m1","email":"JOE@EXAMPLE.COM"}}"#
            .into(),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T08:00:00Z null"]
    );
}

#[test]
fn a_redelivered_id_has_no_effect_and_the_first_line_wins() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        plan_version("1", "2026-12-08T08:00:00Z", "exhausted"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T08:00:00Z null"]
    );
}

#[test]
fn of_two_versions_with_the_same_at_the_later_line_wins() {
    let evs = join(&[
        JOE.into(),
        plan_version("1", "2026-12-07T08:00:00Z", "active"),
        plan_version("2", "2026-12-07T08:00:00Z", "pending"),
    ]);
    assert!(run(&evs, "2026-12-20T00:00:00Z").is_empty());
}

#[test]
fn a_check_in_lasts_until_local_midnight_in_a_non_utc_zone() {
    let evs = join(&[
        JOE.into(),
        r#"{"id":"c","at":"2026-12-07T20:00:00Z","entitlement":{"id":"checkin:1","kind":"checkin","refs":["checkin:london"],"holder":{"member":"m1"},"tz":"America/New_York"}}"#.into(),
    ]);
    // 15:00 in New York; its midnight is 05:00Z.
    assert_eq!(
        run(&evs, "2026-12-10T00:00:00Z"),
        ["joe@example.com 401 2026-12-07T20:00:00Z 2026-12-08T05:00:00Z"]
    );
}

#[test]
fn a_check_in_at_2330_london_time_in_summer_ends_at_local_midnight() {
    let evs = join(&[
        r#"{"id":"m","at":"2026-07-01T00:00:00Z","member":{"id":"m1","email":"joe@example.com"}}"#.into(),
        r#"{"id":"c","at":"2026-07-01T22:30:00Z","entitlement":{"id":"checkin:1","kind":"checkin","refs":["checkin:london"],"holder":{"member":"m1"}}}"#.into(),
    ]);
    // 23:30 BST; midnight BST is 23:00Z.
    assert_eq!(
        run(&evs, "2026-07-03T00:00:00Z"),
        ["joe@example.com 401 2026-07-01T22:30:00Z 2026-07-01T23:00:00Z"]
    );
}

#[test]
fn a_checkout_closes_the_check_in() {
    let c = |id: &str, at: &str, end: &str| {
        ev(
            id,
            at,
            &format!(
                r#""entitlement":{{"id":"checkin:1","kind":"checkin","refs":["checkin:london"],"holder":{{"member":"m1"}},"start":"2026-12-08T08:00:00Z"{end}}}"#
            ),
        )
    };
    let evs = join(&[
        JOE.into(),
        c("1", "2026-12-08T08:00:00Z", ""),
        c(
            "2",
            "2026-12-08T12:00:00Z",
            r#","end":"2026-12-08T12:00:00Z""#,
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-10T00:00:00Z"),
        ["joe@example.com 401 2026-12-08T08:00:00Z 2026-12-08T12:00:00Z"]
    );
}

fn assignment(tz: &str, start: &str, end: &str, days: &str) -> String {
    format!(
        r#"{{"id":"a","at":"{start}","entitlement":{{"id":"asg:1","kind":"assignment","refs":["resource:desk-7"],"holder":{{"member":"m1"}},"tz":"{tz}","start":"{start}","end":"{end}","blocks":[{{"days":[{days}],"from":"09:00","to":"17:00"}}]}}}}"#
    )
}

#[test]
fn weekly_blocks_keep_local_nine_to_five_across_the_spring_dst_change() {
    let evs = join(&[
        r#"{"id":"m","at":"2027-03-20T00:00:00Z","member":{"id":"m1","email":"joe@example.com"}}"#
            .into(),
        assignment(
            "Europe/London",
            "2027-03-26T00:00:00Z",
            "2027-03-30T00:00:00Z",
            r#""fri","mon""#,
        ),
    ]);
    assert_eq!(
        run(&evs, "2027-04-10T00:00:00Z"),
        [
            "joe@example.com 301 2027-03-26T09:00:00Z 2027-03-26T17:00:00Z",
            "joe@example.com 301 2027-03-29T08:00:00Z 2027-03-29T16:00:00Z"
        ]
    );
}

#[test]
fn weekly_blocks_keep_local_nine_to_five_across_the_autumn_dst_change() {
    let evs = join(&[
        r#"{"id":"m","at":"2026-10-20T00:00:00Z","member":{"id":"m1","email":"joe@example.com"}}"#
            .into(),
        assignment(
            "America/New_York",
            "2026-10-30T00:00:00Z",
            "2026-11-03T00:00:00Z",
            r#""fri","mon""#,
        ),
    ]);
    // New York leaves summer time on 2026-11-01: 09:00 is 13:00Z before, 14:00Z after.
    assert_eq!(
        run(&evs, "2026-11-10T00:00:00Z"),
        [
            "joe@example.com 301 2026-10-30T13:00:00Z 2026-10-30T21:00:00Z",
            "joe@example.com 301 2026-11-02T14:00:00Z 2026-11-02T22:00:00Z"
        ]
    );
}

#[test]
fn an_interval_still_open_at_the_horizon_prints_null_and_one_ending_on_it_prints_the_horizon() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "",
            ),
        ),
    ]);
    assert_eq!(
        run(&evs, "2026-12-07T10:30:00Z"),
        ["joe@example.com 301 2026-12-07T10:00:00Z null"]
    );
    assert_eq!(
        run(&evs, "2026-12-07T11:00:00Z"),
        ["joe@example.com 301 2026-12-07T10:00:00Z 2026-12-07T11:00:00Z"]
    );
    assert!(
        run(&evs, "2026-12-07T10:00:00Z").is_empty(),
        "an interval starting at the horizon is not printed"
    );
}

#[test]
fn the_default_horizon_is_thirty_days_after_the_latest_event() {
    let evs = join(&[
        JOE.into(),
        ev(
            "b",
            "2026-12-07T08:05:00Z",
            &booking(
                "b1",
                r#"{"member":"m1"}"#,
                r#""resource:desk-7""#,
                "2027-01-06T08:00:00Z",
                "2027-01-06T09:00:00Z",
                "",
            ),
        ),
    ]);
    let p = run_with(MAP, &evs, None);
    assert_eq!(format_instant(p.horizon), "2027-01-06T08:05:00Z");
    assert_eq!(lines(&p), ["joe@example.com 301 2027-01-06T08:00:00Z null"]);
}

#[test]
fn an_unmapped_plan_touches_nothing() {
    let evs = join(&[
        JOE.into(),
        r#"{"id":"p","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:v","kind":"plan","refs":["plan:virtual-office"],"holder":{"member":"m1"}}}"#.into(),
    ]);
    assert!(run(&evs, "2026-12-20T00:00:00Z").is_empty());
}

#[test]
fn fractions_of_a_second_are_truncated_in_the_output() {
    let evs = join(&[
        r#"{"id":"m","at":"2026-12-07T08:00:00.900Z","member":{"id":"m1","email":"joe@example.com"}}"#.into(),
        plan_version("1", "2026-12-07T08:00:00.900Z", "active"),
    ]);
    assert_eq!(
        run(&evs, "2026-12-20T00:00:00Z"),
        ["joe@example.com 101 2026-12-07T08:00:00Z null"]
    );
}

/// An extension of the contract (README "Mapping file"): `blocked` on a `[[mapping]]` line
/// overrides `defaults.blocked` for that line. One membership reaching two groups through two
/// lines with different policies: while it is blocked, the "allow" line's group stays open and
/// the other closes; a file without the key behaves as the contract says.
#[test]
fn two_mappings_of_one_membership_with_different_blocked_policies_behave_differently() {
    let map = r#"
[defaults]
blocked = "deny"

[[mapping]]
source = "plan"
id = "gym"
groups = [501]
blocked = "allow"

[[mapping]]
source = "plan"
id = "gym-classes"
groups = [502]
"#;
    let plan = |id: &str, at: &str, status: &str| {
        ev(
            id,
            at,
            &format!(
                r#""entitlement":{{"id":"teamup:membership:77","kind":"plan","refs":["plan:gym","plan:gym-classes"],"holder":{{"member":"m1"}},"start":"2026-12-07T08:00:00Z","status":"{status}"}}"#
            ),
        )
    };
    let evs = join(&[
        JOE.into(),
        plan("v1", "2026-12-07T08:00:00Z", "active"),
        plan("v2", "2026-12-08T08:00:00Z", "blocked"),
        plan("v3", "2026-12-09T08:00:00Z", "active"),
    ]);
    let until = Some("2026-12-10T00:00:00Z");
    assert_eq!(
        lines(&run_with(map, &evs, until)),
        [
            "joe@example.com 501 2026-12-07T08:00:00Z null",
            "joe@example.com 502 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 502 2026-12-09T08:00:00Z null",
        ]
    );
    // The same file with both lines on the default: both close while blocked.
    let plain = map.replace("blocked = \"allow\"\n", "");
    assert_eq!(
        lines(&run_with(&plain, &evs, until)),
        [
            "joe@example.com 501 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 501 2026-12-09T08:00:00Z null",
            "joe@example.com 502 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 502 2026-12-09T08:00:00Z null",
        ]
    );
    // And a line that denies under an "allow" default.
    let inverted = map
        .replace("blocked = \"deny\"", "blocked = \"allow\"")
        .replace(
            "groups = [501]\nblocked = \"allow\"",
            "groups = [501]\nblocked = \"deny\"",
        );
    assert_eq!(
        lines(&run_with(&inverted, &evs, until)),
        [
            "joe@example.com 501 2026-12-07T08:00:00Z 2026-12-08T08:00:00Z",
            "joe@example.com 501 2026-12-09T08:00:00Z null",
            "joe@example.com 502 2026-12-07T08:00:00Z null",
        ]
    );
}
