//! Nexudus records → canonical events (`nexudus::records`) and the normaliser's fidelity fixes
//! of issue 18, each from records whose fields are cited (`R` =
//! `../shared/reference/platform-apis/nexudus.md`, `K` = `../shared/reference/kisi-api.md`).

use access_sync_platforms::api::ApiRecord;
use access_sync_platforms::{Delivery, Nothing, Platform};
use access_sync_rules::event::Event;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::preview;
use access_sync_rules::{Body, Entitlement, EntitlementId, Holder, Instant, Kind, Status};
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-03T12:00:00Z";

fn read(records: &[(&str, Value)]) -> access_sync_platforms::api::Mapped {
    read_at(records, NOW)
}

/// Records read by a sync at `at` (every event's `at`).
fn read_at(records: &[(&str, Value)], at: &str) -> access_sync_platforms::api::Mapped {
    let refs: Vec<ApiRecord<'_>> = records
        .iter()
        .map(|(collection, body)| ApiRecord {
            collection,
            id: "x",
            body,
        })
        .collect();
    Platform::Nexudus.events_from_records(&refs, t(at)).unwrap()
}

fn hook(action: Option<&str>, dto: &Value) -> Result<Vec<Event>, access_sync_platforms::Rejection> {
    let body = serde_json::to_string(&json!([dto])).unwrap();
    Platform::Nexudus.normalize(
        &Delivery {
            body: body.as_bytes(),
            action,
            ..Delivery::default()
        },
        &Nothing,
    )
}

fn entitlements(evs: &[Event]) -> Vec<&Entitlement> {
    evs.iter()
        .filter_map(|e| match &e.body {
            Body::Entitlement(x) => Some(x),
            _ => None,
        })
        .collect()
}

fn timeline(mappings: &str, events: Vec<Event>, until: &str) -> Vec<String> {
    let m = Mappings::parse(mappings).unwrap();
    preview(&m, events, Some(t(until)))
        .intervals
        .iter()
        .map(|i| i.to_json())
        .collect()
}

/// R §2.1 example (abridged GET by id).
fn ada(active: bool, archived: bool, updated: &str) -> Value {
    json!({"Id":1415604543,"UniqueId":"4539cf82-ad6b-4832-90dc-83d1e8b43404","CoworkerType":1,
     "FullName":"Ada Lovelace","Email":"ada@example.com","Active":active,"Archived":archived,
     "Teams":[1419001],"InvoicingBusinessId":1376491116,
     "CreatedOn":"2025-01-10T08:00:00Z","UpdatedOn":updated})
}

/// R §2.3 example.
fn contract() -> Value {
    json!({"Id":1421000,"CoworkerId":1415604543,"CoworkerEmail":"ada@example.com","CoworkerActive":true,
     "TariffId":90001,"TariffName":"Dedicated desk","Quantity":1,"MainContract":true,
     "Active":true,"Cancelled":false,"StartDate":"2025-01-01T00:00:00Z",
     "CancellationDate":null,"ContractTerm":"2025-07-01T00:00:00Z","RenewalDate":"2025-02-01T00:00:00Z",
     "Desks":[77001],"PricePlanTermsAccepted":true,"UpdatedOn":"2026-11-01T00:00:00Z"})
}

const PLAN: &str = "[[mapping]]\nsource = \"plan\"\nid = \"90001\"\ngroups = [101]\n";

/// Fix: "a suspended or archived coworker loses access; a restored one gets it back" —
/// R §2.1 (`Active` false = suspended, `Archived`), HELP-CUST.
#[test]
fn suspended_or_archived_coworkers_lose_access_and_restored_ones_get_it_back() {
    let mut events = read_at(
        &[
            ("coworkers", ada(true, false, "2026-11-01T00:00:00Z")),
            ("coworkercontracts", contract()),
        ],
        "2026-11-01T00:00:00Z",
    )
    .events;
    events.extend(
        hook(
            Some("CoworkerUpdate"),
            &ada(false, false, "2026-12-05T10:00:00Z"),
        )
        .unwrap(),
    );
    events.extend(hook(Some("2"), &ada(true, false, "2026-12-06T10:00:00Z")).unwrap());
    events.extend(
        read_at(
            &[("coworkers", ada(true, true, "2026-12-08T09:00:00Z"))],
            "2026-12-08T09:00:00Z",
        )
        .events,
    );
    let lines = timeline(PLAN, events, "2026-12-31T00:00:00Z");
    assert_eq!(
        lines,
        vec![
            r#"{"email":"ada@example.com","group":101,"from":"2026-11-01T00:00:00Z","until":"2026-12-05T10:00:00Z","reasons":["nexudus:contract:1421000"]}"#,
            r#"{"email":"ada@example.com","group":101,"from":"2026-12-06T10:00:00Z","until":"2026-12-08T09:00:00Z","reasons":["nexudus:contract:1421000"]}"#,
        ]
    );
}

/// Fix: "unknown actions are acknowledged, never a 4xx" — R §5.1 (the whole enum; WH-RETRY: 10
/// failures disable the webhook).
#[test]
fn every_other_action_and_an_uninferable_dto_give_no_events_not_an_error() {
    for action in [
        "BlogPostCreate",
        "CoworkerInvoicePaid",
        "HelDeskMessageCreated",
        "TariffUpdate",
        "VisitorRegistered",
        "90",
        "Frobnicate",
    ] {
        assert_eq!(
            hook(Some(action), &ada(true, false, NOW)).unwrap(),
            vec![],
            "{action}"
        );
    }
    // Even a body we could not read: nothing for an action we do not act on.
    let r = Platform::Nexudus.normalize(
        &Delivery {
            body: b"not json",
            action: Some("CoworkerInvoiceCreate"),
            ..Delivery::default()
        },
        &Nothing,
    );
    assert_eq!(r.unwrap(), vec![]);
    // No action and nothing in the DTO tells: acknowledged too.
    assert_eq!(
        hook(None, &json!({"Id": 5, "UpdatedOn": NOW})).unwrap(),
        vec![]
    );
}

/// Fix: "CheckinCreated/CheckinUpdated are understood" — R §5.1 (47, 48, 49), §2.7 fields.
#[test]
fn check_in_actions_open_until_check_out_or_local_midnight() {
    let open = json!({"Id":99001,"CoworkerId":1415604543,"BusinessId":1376491116,"Source":2,
     "FromTime":"2026-12-07T08:55:00Z","ToTime":null,"FromTimeLocal":"2026-12-07T08:55:00",
     "UpdatedOn":"2026-12-07T08:55:00Z"});
    let created = hook(Some("CheckinCreated"), &open).unwrap();
    let e = entitlements(&created)[0];
    assert_eq!(e.id, EntitlementId("nexudus:checkin:99001".into()));
    assert_eq!(e.kind, Kind::Checkin);
    assert_eq!(e.refs[0].to_string(), "checkin:1376491116");
    assert_eq!(e.end, None);
    let mut closed = open.clone();
    closed["ToTime"] = json!("2026-12-07T12:00:00Z");
    closed["UpdatedOn"] = json!("2026-12-07T12:00:00Z");
    let updated = hook(Some("48"), &closed).unwrap();
    assert_eq!(
        entitlements(&updated)[0].end,
        Some(t("2026-12-07T12:00:00Z"))
    );
    let deleted = hook(Some("CheckinDeleted"), &closed).unwrap();
    assert!(matches!(&deleted[0].body, Body::Cancel(id) if id.as_str() == "nexudus:checkin:99001"));
}

/// Fix: "AccessControlUpdate as a re-read hint" — R §5.2 (body `[ {coworker…} ]`, LOWELL reads
/// only `[0].Id`).
#[test]
fn access_control_update_applies_the_coworker_it_carries_or_is_acknowledged() {
    let evs = hook(Some("AccessControlUpdate"), &ada(false, false, NOW)).unwrap();
    assert!(matches!(&evs[0].body, Body::Member(m) if m.removed && m.id.0 == "1415604543"));
    assert_eq!(
        hook(Some("61"), &json!({"Id": 1415604543})).unwrap(),
        vec![]
    );
}

/// Contracts: R §2.3 (`Active`, `Cancelled`, `CancellationDate`), actions 60/62/77/11.
#[test]
fn contracts_pending_cancelled_running_to_their_date_and_deleted() {
    let mut c = contract();
    let e = &entitlements(&hook(Some("CoworkerContractCreate"), &c).unwrap())[0].clone();
    assert_eq!((e.kind, e.status), (Kind::Plan, Status::Active));
    assert_eq!(e.refs[0].to_string(), "plan:90001");
    c["Active"] = json!(false);
    let p = hook(Some("60"), &c).unwrap();
    assert_eq!(entitlements(&p)[0].status, Status::Pending);
    c["Cancelled"] = json!(true);
    c["CancellationDate"] = json!("2026-12-31T00:00:00Z");
    let running = read(&[("coworkercontracts", c.clone())]).events;
    assert_eq!(entitlements(&running)[0].status, Status::Active);
    assert_eq!(
        entitlements(&running)[0].end,
        Some(t("2026-12-31T00:00:00Z"))
    );
    c["CancellationDate"] = Value::Null;
    assert!(matches!(
        &read(&[("coworkercontracts", c.clone())]).events[0].body,
        Body::Cancel(_)
    ));
    assert!(matches!(
        &hook(Some("CoworkerContractDelete"), &c).unwrap()[0].body,
        Body::Cancel(_)
    ));
}

/// The pass rule — R §2.4 (`RemainingUses`, `Used`, `UsedDate`, `ExpireDate`; a day pass is
/// "unlimited check-ins that calendar day"), K §4.3 / §5 ("keys deleted once all time passes
/// expire"). Europe/London across both DST changes: the used-up pass opens until local midnight.
#[test]
fn time_passes_grant_while_uses_remain_and_a_pass_used_up_today_lasts_the_local_day() {
    let pass = |remaining: Option<i64>, used: Option<&str>, updated: &str| {
        json!({"Id":87654321,"CoworkerId":1415604543,"BusinessId":1376491116,"TimePassId":5001,
         "TimePassName":"Day pass","Used":used.is_some(),"CheckedIn":used.is_some(),"UsedDate":used,
         "RemainingUses":remaining,"TotalUses":remaining.map(|_| 1),"ExpireDate":"2027-02-28T23:59:00Z",
         "IsFromTariff":true,"IsPayAsYouGo":false,"UpdatedOn":updated})
    };
    let maps = "[defaults]\ntimezone = \"Europe/London\"\n[[mapping]]\nsource = \"pass\"\nid = \"5001\"\ngroups = [101]\n";
    let person = read_at(
        &[("coworkers", ada(true, false, "2026-01-01T00:00:00Z"))],
        "2026-01-01T00:00:00Z",
    )
    .events;
    // Summer time (BST, UTC+1): used at 08:00 local on 2026-03-30, the day after the spring change.
    for (bought, used_at, updated, want_until) in [
        (
            "2026-03-28T10:00:00Z",
            "2026-03-30T07:00:00Z",
            "2026-03-30T07:00:00Z",
            "2026-03-30T23:00:00Z",
        ),
        // Winter (GMT): the day after the autumn change.
        (
            "2026-10-24T10:00:00Z",
            "2026-10-26T08:00:00Z",
            "2026-10-26T08:00:00Z",
            "2026-10-27T00:00:00Z",
        ),
        // Used on the change day itself (23 h day in March, 25 h in October).
        (
            "2026-03-28T10:00:00Z",
            "2026-03-29T09:00:00Z",
            "2026-03-29T09:00:00Z",
            "2026-03-29T23:00:00Z",
        ),
        (
            "2026-10-24T10:00:00Z",
            "2026-10-25T09:00:00Z",
            "2026-10-25T09:00:00Z",
            "2026-10-26T00:00:00Z",
        ),
    ] {
        let mut events = person.clone();
        events.extend(
            read_at(
                &[("coworkertimepasses", pass(Some(1), None, bought))],
                bought,
            )
            .events,
        );
        events.extend(
            read_at(
                &[("coworkertimepasses", pass(Some(0), Some(used_at), updated))],
                updated,
            )
            .events,
        );
        let lines = timeline(maps, events, "2027-03-31T00:00:00Z");
        assert_eq!(
            lines,
            vec![format!(
                r#"{{"email":"ada@example.com","group":101,"from":"{bought}","until":"{want_until}","reasons":["nexudus:timepass:87654321"]}}"#
            )],
            "{used_at}"
        );
    }
    // Used up, no UsedDate: exhausted at once; unknown uses and not used: valid to ExpireDate.
    let ex = read(&[("coworkertimepasses", pass(Some(0), None, NOW))]).events;
    assert_eq!(entitlements(&ex)[0].status, Status::Exhausted);
    let day = read(&[("coworkertimepasses", pass(None, None, NOW))]).events;
    assert_eq!(entitlements(&day)[0].status, Status::Active);
    assert_eq!(entitlements(&day)[0].end, Some(t("2027-02-28T23:59:00Z")));
}

/// Times per field — R §2.5 (`FromTime` read as UTC, `…Local` location wall-clock; FloorPlanDesk
/// documents UTC with derived Local), §6. America/New_York across both DST changes: the twins
/// differ by -4 h / -5 h and the UTC reading is kept; a twin no zone explains is refused; a
/// record with only the local time is refused.
#[test]
fn booking_times_are_utc_checked_against_their_local_twins_across_dst() {
    let booking = |from: &str, to: &str, from_l: &str, to_l: &str| {
        json!({"Id":88001,"ResourceId":3001,"ResourceName":"Room 1","FloorPlanDeskId":null,
         "CoworkerId":1415604543,"FromTime":from,"ToTime":to,
         "FromTimeLocal":from_l,"ToTimeLocal":to_l,
         "Tentative":false,"Online":true,"Invoiced":false,"UpdatedOn":"2026-03-01T00:00:00Z"})
    };
    for (from, to, fl, tl) in [
        // Before the spring change (EST, UTC-5) and after it (EDT, UTC-4).
        (
            "2026-03-07T14:00:00Z",
            "2026-03-07T15:00:00Z",
            "2026-03-07T09:00:00",
            "2026-03-07T10:00:00",
        ),
        (
            "2026-03-09T13:00:00Z",
            "2026-03-09T14:00:00Z",
            "2026-03-09T09:00:00",
            "2026-03-09T10:00:00",
        ),
        // Spanning the autumn change night (EDT → EST): 01:30 EDT to 01:30 EST.
        (
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T01:30:00",
            "2026-11-01T01:30:00",
        ),
    ] {
        let evs = read(&[("bookings", booking(from, to, fl, tl))]);
        assert!(evs.unmapped.is_empty(), "{:?}", evs.unmapped);
        let e = entitlements(&evs.events)[0];
        assert_eq!((e.start, e.end), (Some(t(from)), Some(t(to))));
    }
    let odd = read(&[(
        "bookings",
        booking(
            "2026-03-07T14:00:00Z",
            "2026-03-07T15:00:00Z",
            "2026-03-07T09:07:00",
            "2026-03-07T10:00:00",
        ),
    )]);
    assert!(odd.events.is_empty());
    assert!(
        odd.unmapped[0].reason.contains("FromTimeLocal"),
        "{:?}",
        odd.unmapped
    );
    let mut local_only = booking("x", "y", "2026-03-07T09:00:00", "2026-03-07T10:00:00");
    local_only.as_object_mut().unwrap().remove("FromTime");
    local_only.as_object_mut().unwrap().remove("ToTime");
    let lo = read(&[("bookings", local_only)]);
    assert!(
        lo.unmapped[0].reason.contains("FromTime"),
        "{:?}",
        lo.unmapped
    );
}

/// Booking visitors (API only) and cancelled bookings — R §2.5 (`bookingvisitors` `BookingId`,
/// `VisitorEmail`; `cancelledbookings` `OriginalBookingId`), `Tentative`.
#[test]
fn visitors_are_guests_and_cancelled_bookings_cancel() {
    let b = json!({"Id":88001,"ResourceId":3001,"CoworkerId":1415604543,
      "FromTime":"2026-12-07T09:00:00Z","ToTime":"2026-12-07T10:00:00Z","Tentative":true,
      "UpdatedOn":"2026-12-01T00:00:00Z"});
    let m = read(&[
        ("bookings", b.clone()),
        (
            "bookingvisitors",
            json!({"Id":1,"BookingId":88001,"VisitorId":5,"VisitorFullName":"V","VisitorEmail":"Guest@Client.co"}),
        ),
        (
            "bookingvisitors",
            json!({"Id":2,"BookingId":99999,"VisitorId":6,"VisitorEmail":"x@y.z"}),
        ),
        (
            "cancelledbookings",
            json!({"Id":4,"OriginalBookingId":"88002","CancelledOn":"2026-12-02T00:00:00Z","CancellationReason":1,"UpdatedOn":"2026-12-02T00:00:00Z"}),
        ),
        (
            "cancelledbookings",
            json!({"Id":5,"OriginalBookingId":"88001","UpdatedOn":"2026-12-02T00:00:00Z"}),
        ),
    ]);
    let e = entitlements(&m.events)[0];
    assert_eq!(e.guests[0].as_str(), "guest@client.co");
    assert_eq!(e.status, Status::Pending);
    let cancels: Vec<&str> = m
        .events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Cancel(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(cancels, vec!["nexudus:booking:88002"]);
    assert_eq!(m.unmapped.len(), 1);
}

/// Floor-plan units linked to a coworker — R §2.6 (`ItemType` 1 Office, `CoworkerId`), teams
/// — R §2.2 (`TeamMembers`, `CoworkerIds`).
#[test]
fn desks_offices_and_teams() {
    let unit = |item: i64, coworker: Value| {
        json!({"Id":77001,"FloorPlanId":7001,"Name":"Office 3","ItemType":item,
         "CoworkerId":coworker,"CoworkerContractIds":"1421000","UpdatedOn":"2026-12-01T00:00:00Z"})
    };
    let office = read(&[("floorplandesks", unit(1, json!(1415604543)))]).events;
    let e = entitlements(&office)[0];
    assert_eq!(
        (e.kind, e.refs[0].to_string()),
        (Kind::Occupancy, "office:77001".into())
    );
    assert_eq!(e.holder, Holder::Member("1415604543".into()));
    let desk = read(&[("floorplandesks", unit(2, json!(1415604543)))]).events;
    assert_eq!(entitlements(&desk)[0].refs[0].to_string(), "desk:77001");
    assert!(
        read(&[("floorplandesks", unit(2, Value::Null))])
            .events
            .is_empty()
    );
    let freed = hook(Some("FloorPlanDeskUpdate"), &unit(2, Value::Null)).unwrap();
    assert!(
        matches!(&freed[0].body, Body::Cancel(id) if id.as_str() == "nexudus:floorplandesk:77001")
    );
    let team =
        json!({"Id":1419001,"Name":"Acme","TeamMembers":[1415604543,1415604544],"UpdatedOn":NOW});
    let t1 = read(&[("teams", team)]).events;
    assert!(matches!(&t1[0].body, Body::Team(t) if t.members.len() == 2));
    let t2 = hook(
        Some("TeamUpdated"),
        &json!({"Id":1419001,"CoworkerIds":"1, 2,3","UpdatedOn":NOW}),
    )
    .unwrap();
    assert!(matches!(&t2[0].body, Body::Team(t) if t.members.len() == 3));
    assert!(Platform::Nexudus.covers(&EntitlementId("nexudus:contract:1".into())));
    assert!(!Platform::Nexudus.covers(&EntitlementId("nexudus:booking:1".into())));
}

/// The webhook and the API agree on the same record (the one mapping).
#[test]
fn a_record_means_the_same_by_webhook_and_by_api() {
    let c = contract();
    let by_hook = hook(Some("CoworkerContractUpdate"), &c).unwrap();
    let by_api = read(&[("coworkercontracts", c)]).events;
    assert_eq!(by_hook[0].body, by_api[0].body);
    // A webhook happens at its record's stamp; a sync's events at the sync's instant.
    assert_eq!(by_hook[0].at, t("2026-11-01T00:00:00Z"));
    assert_eq!(by_api[0].at, t(NOW));
}

/// What the ingest route logs of an acknowledged delivery: the action, and only an action.
#[test]
fn the_logged_event_type_is_the_action_name_only() {
    let spec = Platform::Nexudus.spec();
    let line = |word| access_sync_platforms::FixtureLine {
        word,
        payload: "[]",
    };
    assert_eq!(
        spec.event_type(line(Some("CoworkerInvoicePaid")))
            .as_deref(),
        Some("CoworkerInvoicePaid")
    );
    assert_eq!(spec.event_type(line(Some("90"))).as_deref(), Some("90"));
    assert_eq!(spec.event_type(line(Some("ann@example.com"))), None);
    assert_eq!(spec.event_type(line(None)), None);
}
