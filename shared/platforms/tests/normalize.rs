//! Normalisers one payload at a time: malformed payloads are refused with a reason naming the
//! field (400 later), redeliveries give the same ids, member-id-only holders are kept, and the
//! fields that decide access map as documented.

use access_sync_platforms::{Delivery, Nothing, Platform, Rejection, Seen};
use access_sync_rules::{Body, Entitlement, Event, Holder, Kind, Status};

fn run(p: Platform, body: &str) -> Result<Vec<Event>, Rejection> {
    p.normalize(
        &Delivery {
            body: body.as_bytes(),
            ..Delivery::default()
        },
        &Nothing,
    )
}

fn with(p: Platform, body: &str, action: Option<&str>, id: Option<&str>) -> Vec<Event> {
    p.normalize(
        &Delivery {
            body: body.as_bytes(),
            action,
            delivery_id: id,
            ..Delivery::default()
        },
        &Nothing,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The field a malformed payload's rejection names.
fn field(r: Result<Vec<Event>, Rejection>) -> String {
    match r {
        Err(Rejection::Malformed { field, reason }) => {
            assert!(!reason.is_empty());
            field
        }
        other => panic!("want a 400, got {other:?}"),
    }
}

fn entitlements(evs: &[Event]) -> Vec<&Entitlement> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Entitlement(x) => Some(x),
            _ => None,
        })
        .collect()
}

const ORN_BOOKING: &str = r#"{"event":"ev1","eventType":"booking.created","data":{"object":{"_id":"b1","resourceId":"r1","member":"m1","start":{"dateTime":"2026-12-07T10:00:00Z"},"end":{"dateTime":"2026-12-07T11:00:00Z"}}},"createdAt":"2026-12-01T00:00:00Z"}"#;

#[test]
fn officernd_malformed_payloads_name_the_field() {
    let cases = [
        ("not json", "body"),
        ("[]", "body"),
        (
            r#"{"eventType":"member.created","data":{"object":{}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "event",
        ),
        (
            r#"{"event":"e","data":{"object":{}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "eventType",
        ),
        (
            r#"{"event":"e","eventType":"member.created","data":{"object":{"_id":"m"}}}"#,
            "createdAt",
        ),
        (
            r#"{"event":"e","eventType":"member.created","data":{"object":{"_id":"m"}},"createdAt":"yesterday"}"#,
            "createdAt",
        ),
        (
            r#"{"event":"e","eventType":"member.created","createdAt":"2026-12-01T00:00:00Z"}"#,
            "data",
        ),
        (
            r#"{"event":"e","eventType":"member.created","data":{"object":[]},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object",
        ),
        (
            r#"{"event":"e","eventType":"member.created","data":{"object":{"email":"a@b.c"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object._id",
        ),
        (
            r#"{"event":"e","eventType":"member.created","data":{"object":{"_id":"m","email":5}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.email",
        ),
        (
            r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","member":"m"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.plan",
        ),
        (
            r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","plan":"p"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.member",
        ),
        (
            r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","plan":"p","member":"m","calculatedStatus":"sleeping"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.calculatedStatus",
        ),
        (
            r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","plan":"p","member":"m","startDate":"2026-12-10","endDate":"2026-12-01"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.endDate",
        ),
        (
            r#"{"event":"e","eventType":"booking.created","data":{"object":{"_id":"b","member":"m","start":{"dateTime":"2026-12-07T10:00:00Z"},"end":{"dateTime":"2026-12-07T11:00:00Z"}}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.resourceId",
        ),
        (
            r#"{"event":"e","eventType":"booking.created","data":{"object":{"_id":"b","resourceId":"r","member":"m","start":{},"end":{"dateTime":"2026-12-07T11:00:00Z"}}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.start.dateTime",
        ),
        (
            r#"{"event":"e","eventType":"booking.created","data":{"object":{"_id":"b","resourceId":"r","member":"m","start":{"dateTime":"2026-12-07T10:00:00Z"},"end":{"dateTime":"2026-12-07T09:00:00Z"}}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.end.dateTime",
        ),
        (
            r#"{"event":"e","eventType":"booking.created","data":{"object":{"_id":"b","resourceId":"r","member":"m","members":[true],"start":{"dateTime":"2026-12-07T10:00:00Z"},"end":{"dateTime":"2026-12-07T11:00:00Z"}}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.members[0]",
        ),
        (
            r#"{"event":"e","eventType":"pass.created","data":{"object":{"_id":"p","member":"m"}},"createdAt":"2026-12-01T00:00:00Z"}"#,
            "data.object.plan",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(field(run(Platform::Officernd, body)), want, "{body}");
    }
}

#[test]
fn officernd_membership_without_member_goes_to_the_team_and_a_member_id_alone_is_kept() {
    let team = r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","plan":"p","member":null,"team":"t1"}},"createdAt":"2026-12-01T00:00:00Z"}"#;
    let evs = run(Platform::Officernd, team).unwrap();
    assert_eq!(entitlements(&evs)[0].holder, Holder::Team("t1".into()));
    // A member nobody has described yet: emitted all the same, held by the engine.
    let member = r#"{"event":"e","eventType":"membership.created","data":{"object":{"_id":"x","plan":"p","member":"m-unknown","team":"t1","status":"not_approved"}},"createdAt":"2026-12-01T00:00:00Z"}"#;
    let evs = run(Platform::Officernd, member).unwrap();
    let e = entitlements(&evs)[0];
    assert_eq!(e.holder, Holder::Member("m-unknown".into()));
    assert_eq!(e.status, Status::Pending);
}

#[test]
fn officernd_redelivery_gives_the_same_ids_and_other_event_types_give_nothing() {
    let a = run(Platform::Officernd, ORN_BOOKING).unwrap();
    assert_eq!(a, run(Platform::Officernd, ORN_BOOKING).unwrap());
    assert!(a.iter().all(|e| e.id.starts_with("officernd:ev1")));
    let invoice = ORN_BOOKING.replace("booking.created", "invoice.created");
    assert_eq!(run(Platform::Officernd, &invoice).unwrap(), vec![]);
}

#[test]
fn officernd_member_team_change_uses_the_known_list() {
    let mut seen = Seen::new();
    for line in [
        r#"{"id":"a","at":"2026-12-01T00:00:00Z","team":{"id":"t1","members":["m1","m2"]}}"#,
        r#"{"id":"b","at":"2026-12-01T00:00:00Z","team":{"id":"t2","members":["m3"]}}"#,
    ] {
        seen.observe(&Event::parse(line).unwrap());
    }
    let body = r#"{"event":"e","eventType":"member.updated","data":{"object":{"_id":"m2","email":"b@x.io","team":"t2"},"previousAttributes":{"team":"t1"}},"createdAt":"2026-12-02T00:00:00Z"}"#;
    let evs = Platform::Officernd
        .normalize(
            &Delivery {
                body: body.as_bytes(),
                ..Delivery::default()
            },
            &seen,
        )
        .unwrap();
    let teams: Vec<String> = evs
        .iter()
        .filter_map(|e| match &e.body {
            Body::Team(t) => Some(format!(
                "{}={}",
                t.id,
                t.members
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            _ => None,
        })
        .collect();
    assert_eq!(teams, vec!["t2=m3,m2", "t1=m1"]);
    // Without `team` in the payload the team lists are left alone.
    let no_team = body.replace(r#","team":"t2""#, "");
    let evs = run(Platform::Officernd, &no_team).unwrap();
    assert!(evs.iter().all(|e| matches!(e.body, Body::Member(_))));
}

const OPTIX_BOOKING: &str = "client_id=c&created_timestamp=1796025600&organization_id=1&event=new_member_booking&booking_id=9&workspace_id=310&check_in_timestamp=1796637600&check_out_timestamp=1796641200&member_email=Cat%40Studio.dev&member_name=Cat";

#[test]
fn optix_malformed_payloads_name_the_field() {
    let cases = [
        ("", "event"),
        ("event=new_member_booking", "created_timestamp"),
        (
            "event=new_member_booking&created_timestamp=soon",
            "created_timestamp",
        ),
        (&OPTIX_BOOKING.replace("&booking_id=9", ""), "booking_id"),
        (
            &OPTIX_BOOKING.replace("&workspace_id=310", ""),
            "workspace_id",
        ),
        (
            &OPTIX_BOOKING.replace("check_in_timestamp=1796637600", "check_in_timestamp=x"),
            "check_in_timestamp",
        ),
        (
            &OPTIX_BOOKING.replace("1796641200", "1796630000"),
            "check_out_timestamp",
        ),
        (
            &OPTIX_BOOKING.replace("&member_email=Cat%40Studio.dev", ""),
            "member_email",
        ),
        (
            "event=new_plan_subscription&created_timestamp=1796025600&account_plan_id=5&subscribers[0][email]=a%40b.c",
            "plan_template_id",
        ),
        (
            "event=new_plan_subscription&created_timestamp=1796025600&account_plan_id=5&plan_template_id=7&subscribers[x][email]=a%40b.c",
            "subscribers[x][email]",
        ),
        (
            "event=new_plan_subscription&created_timestamp=1796025600&account_plan_id=5&plan_template_id=7&subscribers[0][user_fullname]=Ann",
            "subscribers[0][email]",
        ),
        (
            "event=member_check_in&created_timestamp=1796025600&location_id=3&member_email=a%40b.c&timezone=Mars%2FBase",
            "timezone",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(field(run(Platform::Optix, body)), want, "{body}");
    }
}

#[test]
fn optix_person_known_by_email_keeps_their_id_and_redelivery_repeats_ids() {
    let evs = run(Platform::Optix, OPTIX_BOOKING).unwrap();
    // Unknown address: the address is the member id, and a member event introduces it.
    assert!(matches!(&evs[0].body, Body::Member(m) if m.id.as_str() == "cat@studio.dev"));
    assert_eq!(
        entitlements(&evs)[0].holder,
        Holder::Member("cat@studio.dev".into())
    );
    assert_eq!(evs, run(Platform::Optix, OPTIX_BOOKING).unwrap());
    // Known address: the known id, no new member event.
    let mut seen = Seen::new();
    seen.observe(
        &Event::parse(r#"{"id":"a","at":"2026-12-01T00:00:00Z","member":{"id":"2103","email":"cat@studio.dev"}}"#)
            .unwrap(),
    );
    let evs = Platform::Optix
        .normalize(
            &Delivery {
                body: OPTIX_BOOKING.as_bytes(),
                ..Delivery::default()
            },
            &seen,
        )
        .unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(entitlements(&evs)[0].holder, Holder::Member("2103".into()));
}

#[test]
fn optix_subscribers_may_come_as_a_json_field() {
    let body = "event=new_plan_subscription&created_timestamp=1796025600&account_plan_id=5&plan_template_name=Team&subscribers=%5B%7B%22email%22%3A%22a%40b.c%22%2C%22user_fullname%22%3A%22A%22%7D%5D";
    let evs = run(Platform::Optix, body).unwrap();
    let e = entitlements(&evs)[0];
    assert_eq!(e.holder, Holder::Team("optix:subscription:5".into()));
    assert_eq!(e.refs[0].to_string(), "plan:Team");
}

const NX_BOOKING: &str = r#"[{"Id":7001,"ResourceId":41,"CoworkerId":1002,"FromTime":"2026-12-07T10:00:00Z","ToTime":"2026-12-07T11:00:00Z","UpdatedOn":"2026-12-02T09:00:00Z"}]"#;

#[test]
fn nexudus_malformed_payloads_name_the_field() {
    let cases = [
        ("{}", None, "body"),
        ("[]", None, "body[0]"),
        ("[1]", None, "[0]"),
        (
            &NX_BOOKING.replace(r#","UpdatedOn":"2026-12-02T09:00:00Z""#, ""),
            None,
            "[0].UpdatedOn",
        ),
        (&NX_BOOKING.replace(r#""Id":7001,"#, ""), None, "[0].Id"),
        (
            &NX_BOOKING.replace(r#""CoworkerId":1002,"#, ""),
            None,
            "[0].CoworkerId",
        ),
        (
            &NX_BOOKING.replace("2026-12-07T11", "2026-12-07T09"),
            None,
            "[0].ToTime",
        ),
        (
            &NX_BOOKING.replace(r#""FromTime":"2026-12-07T10:00:00Z""#, r#""FromTime":true"#),
            None,
            "[0].FromTime",
        ),
        (
            r#"[{"Id":6001,"CoworkerId":1,"TimePassId":21,"RemainingUses":"many","UpdatedOn":"2026-12-02T09:00:00Z"}]"#,
            None,
            "[0].RemainingUses",
        ),
        (
            r#"[{"Id":8001,"CoworkerId":1,"FromTime":"2026-12-02T09:00:00Z","UpdatedOn":"2026-12-02T09:00:00Z"}]"#,
            Some("CoworkerCheckin"),
            "[0].BusinessId",
        ),
    ];
    for (body, action, want) in cases {
        let r = Platform::Nexudus.normalize(
            &Delivery {
                body: body.as_bytes(),
                action,
                ..Delivery::default()
            },
            &Nothing,
        );
        assert_eq!(field(r), want, "{body}");
    }
}

#[test]
fn nexudus_action_comes_from_the_url_or_the_record_and_numbers_work() {
    let inferred = with(Platform::Nexudus, NX_BOOKING, None, None);
    assert_eq!(entitlements(&inferred)[0].kind, Kind::Booking);
    let deleted = with(Platform::Nexudus, NX_BOOKING, Some("8"), None);
    assert!(matches!(&deleted[0].body, Body::Cancel(id) if id.as_str() == "nexudus:booking:7001"));
    assert_eq!(
        with(Platform::Nexudus, NX_BOOKING, Some("BlogPostCreate"), None),
        vec![]
    );
    // Same payload, other action: other ids (a delete is not a duplicate of the create).
    assert_ne!(inferred[0].id, deleted[0].id);
}

#[test]
fn nexudus_time_pass_with_no_uses_left_is_exhausted() {
    let pass = |n: i64| {
        format!(
            r#"[{{"Id":6001,"CoworkerId":1003,"TimePassId":21,"RemainingUses":{n},"ExpireDate":"2026-12-31","UpdatedOn":"2026-12-09T08:00:00Z"}}]"#
        )
    };
    let one = with(Platform::Nexudus, &pass(1), None, None);
    assert_eq!(entitlements(&one)[0].status, Status::Active);
    assert_eq!(
        entitlements(&one)[0].end.map(|t| t.to_rfc3339()),
        Some("2027-01-01T00:00:00+00:00".to_string())
    );
    let none = with(Platform::Nexudus, &pass(0), None, None);
    assert_eq!(entitlements(&none)[0].status, Status::Exhausted);
}

const TU_REG: &str = r#"{"feed_items":[{"object":"feed_item","id":13553027,"timestamp":"2026-12-02T09:00:00Z","type":"event_registration.created","data":{"id":7001,"customer":502,"event":{"id":4401,"starts_at":"2026-12-07T18:00:00Z","ends_at":"2026-12-07T18:45:00Z","offering_type":55}}}]}"#;

#[test]
fn teamup_malformed_payloads_name_the_field() {
    let cases = [
        ("[]", "body"),
        ("{}", "feed_items"),
        (r#"{"feed_items":{}}"#, "feed_items"),
        (r#"{"feed_items":[7]}"#, "feed_items[0]"),
        (&TU_REG.replace(r#""id":13553027,"#, ""), "feed_items[0].id"),
        (
            &TU_REG.replace(r#""timestamp":"2026-12-02T09:00:00Z","#, ""),
            "feed_items[0].timestamp",
        ),
        (
            &TU_REG.replace(r#""type":"event_registration.created","#, ""),
            "feed_items[0].type",
        ),
        (
            &TU_REG.replace(r#""offering_type":55"#, r#""name":"x""#),
            "feed_items[0].data.event.offering_type",
        ),
        (
            &TU_REG.replace(r#""customer":502,"#, ""),
            "feed_items[0].data.customer",
        ),
        (
            &TU_REG.replace("18:45", "17:45"),
            "feed_items[0].data.event.ends_at",
        ),
        (
            r#"{"feed_items":[{"id":1,"timestamp":"2026-12-02T09:00:00Z","type":"customer_membership.updated","data":{"id":9,"customer":1,"membership":3,"status":"dormant"}}]}"#,
            "feed_items[0].data.status",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(field(run(Platform::Teamup, body)), want, "{body}");
    }
}

#[test]
fn teamup_webhook_id_header_makes_the_ids_and_retries_repeat_them() {
    let a = with(Platform::Teamup, TU_REG, None, Some("whk-1"));
    let retry = with(Platform::Teamup, TU_REG, None, Some("whk-1"));
    assert_eq!(a, retry);
    assert!(a[0].id.starts_with("teamup:whk-1/13553027"));
    let no_header = with(Platform::Teamup, TU_REG, None, None);
    assert!(no_header[0].id.starts_with("teamup:item:13553027"));
    let e = entitlements(&a)[0];
    assert_eq!(e.kind, Kind::Registration);
    assert_eq!(e.refs[0].to_string(), "registration:55");
}

#[test]
fn teamup_membership_statuses_map() {
    let m = |status: &str| {
        format!(
            r#"{{"feed_items":[{{"id":1,"timestamp":"2026-12-02T09:00:00Z","type":"customer_membership.updated","data":{{"id":9,"customer":1,"membership":{{"id":3}},"status":"{status}"}}}}]}}"#
        )
    };
    for (status, want) in [
        ("active", Some(Status::Active)),
        ("blocked", Some(Status::Blocked)),
        ("inactive", Some(Status::Exhausted)),
        ("expired", None),
    ] {
        let evs = with(Platform::Teamup, &m(status), None, None);
        assert_eq!(
            entitlements(&evs).first().map(|e| e.status),
            want,
            "{status}"
        );
        if want.is_none() {
            assert!(matches!(evs[0].body, Body::Cancel(_)));
        }
    }
}

#[test]
fn the_cores_facts_serve_as_what_is_known() {
    use access_sync_rules::{Facts, Mappings};
    let mappings = Mappings::parse("").unwrap();
    let mut facts = Facts::new();
    for line in [
        r#"{"id":"a","at":"2026-12-01T00:00:00Z","member":{"id":"2103","email":"Cat@Studio.dev"}}"#,
        r#"{"id":"b","at":"2026-12-01T00:00:00Z","team":{"id":"t2","members":["m3"]}}"#,
    ] {
        facts.apply(&Event::parse(line).unwrap(), &mappings);
    }
    let evs = Platform::Optix
        .normalize(
            &Delivery {
                body: OPTIX_BOOKING.as_bytes(),
                ..Delivery::default()
            },
            &facts,
        )
        .unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(entitlements(&evs)[0].holder, Holder::Member("2103".into()));
    let body = r#"{"event":"e","eventType":"member.created","data":{"object":{"_id":"m4","email":"d@x.io","team":"t2"}},"createdAt":"2026-12-02T00:00:00Z"}"#;
    let evs = Platform::Officernd
        .normalize(
            &Delivery {
                body: body.as_bytes(),
                ..Delivery::default()
            },
            &facts,
        )
        .unwrap();
    assert!(matches!(&evs[1].body, Body::Team(t) if t.members == vec!["m3".into(), "m4".into()]));
}
