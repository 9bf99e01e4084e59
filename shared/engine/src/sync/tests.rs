//! Unit tests of the pure diff and the brake (in-memory facts: the core, no I/O).

use super::diff::*;
use access_sync_rules::{Body, EntitlementId, Event, Facts, Instant, Mappings};

fn at(s: &str) -> Instant {
    s.parse().unwrap()
}

fn ev(line: &str) -> Event {
    Event::parse(line).unwrap()
}

fn covers(id: &EntitlementId) -> bool {
    id.as_str().starts_with("p:")
}

static NOTHING_KEPT: access_sync_platforms::api::Kept = access_sync_platforms::api::Kept {
    entitlements: std::collections::BTreeSet::new(),
    members: std::collections::BTreeSet::new(),
    teams: std::collections::BTreeSet::new(),
};

fn scope() -> SyncScope<'static> {
    SyncScope {
        platform: "p",
        covers: &covers,
        kept: &NOTHING_KEPT,
    }
}

const ANN: &str = r#"{"id":"w1","at":"2026-01-01T00:00:00Z","member":{"id":"m-ann","email":"ann@x.io","name":"Ann"}}"#;
const BOB: &str = r#"{"id":"w2","at":"2026-01-01T00:00:00Z","member":{"id":"m-bob","email":"bob@x.io","name":"Bob"}}"#;
const TEAM: &str =
    r#"{"id":"w3","at":"2026-01-01T00:00:00Z","team":{"id":"t-1","members":["m-ann","m-bob"]}}"#;
const PLAN_ANN: &str = r#"{"id":"w4","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:1","kind":"plan","refs":["plan:hot"],"holder":{"member":"m-ann"}}}"#;
const PLAN_TEAM: &str = r#"{"id":"w5","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:2","kind":"plan","refs":["plan:hot"],"holder":{"team":"t-1"}}}"#;
const OTHER: &str = r#"{"id":"w6","at":"2026-01-01T00:00:00Z","entitlement":{"id":"q:plan:9","kind":"plan","refs":["plan:hot"],"holder":{"member":"m-bob"}}}"#;

fn stored() -> Facts {
    let m = Mappings::default();
    let mut f = Facts::new();
    for l in [ANN, BOB, TEAM, PLAN_ANN, PLAN_TEAM, OTHER] {
        f.apply(&ev(l), &m);
    }
    f
}

/// The stored records as a fresh listing would show them (at the sync instant).
fn listing(lines: &[&str]) -> Vec<Event> {
    lines
        .iter()
        .map(|l| {
            let mut e = ev(l);
            e.at = at("2026-02-01T00:00:00Z");
            e.id = String::new();
            e
        })
        .collect()
}

fn kinds(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.body {
            Body::Member(m) if m.removed => format!("remove {}", m.id),
            Body::Member(m) => format!("member {}", m.id),
            Body::Team(t) => format!("team {} {}", t.id, t.members.len()),
            Body::Entitlement(x) => format!("entitlement {}", x.id),
            Body::Cancel(x) => format!("cancel {x}"),
        })
        .collect()
}

/// (case, listing lines, how listed, changes, endings, unchanged)
type Case<'a> = (
    &'a str,
    Vec<&'a str>,
    Listing,
    Vec<&'a str>,
    Vec<&'a str>,
    usize,
);

#[test]
fn diff_table() {
    let now = at("2026-02-01T00:00:00Z");
    let ann_new_email = r#"{"id":"x","at":"2026-01-01T00:00:00Z","member":{"id":"m-ann","email":"ann@new.io","name":"Ann"}}"#;
    let plan_changed = r#"{"id":"x","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:1","kind":"plan","refs":["plan:gold"],"holder":{"member":"m-ann"}}}"#;
    let plan_new = r#"{"id":"x","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:3","kind":"plan","refs":["plan:hot"],"holder":{"member":"m-bob"}}}"#;
    let cancel_1 = r#"{"id":"x","at":"2026-01-01T00:00:00Z","cancel":{"entitlement":"p:plan:1"}}"#;
    let all = [ANN, BOB, TEAM, PLAN_ANN, PLAN_TEAM];
    // (case, listing lines, how listed, changes, endings, unchanged)
    let cases: Vec<Case> = vec![
        (
            "unchanged full",
            all.to_vec(),
            Listing::CompleteFull,
            vec![],
            vec![],
            5,
        ),
        (
            "unchanged incremental",
            all.to_vec(),
            Listing::Incremental,
            vec![],
            vec![],
            5,
        ),
        (
            "new entitlement",
            vec![ANN, BOB, TEAM, PLAN_ANN, PLAN_TEAM, plan_new],
            Listing::CompleteFull,
            vec!["entitlement p:plan:3"],
            vec![],
            5,
        ),
        (
            "changed entitlement",
            vec![ANN, BOB, TEAM, plan_changed, PLAN_TEAM],
            Listing::CompleteFull,
            vec!["entitlement p:plan:1"],
            vec![],
            4,
        ),
        (
            "e-mail change",
            vec![ann_new_email, BOB, TEAM, PLAN_ANN, PLAN_TEAM],
            Listing::CompleteFull,
            vec!["member m-ann"],
            vec![],
            4,
        ),
        (
            "listed cancel",
            vec![ANN, BOB, TEAM, cancel_1, PLAN_TEAM],
            Listing::Incremental,
            vec![],
            vec!["cancel p:plan:1"],
            4,
        ),
        (
            "entitlement vanished from a complete listing",
            vec![ANN, BOB, TEAM, PLAN_TEAM],
            Listing::CompleteFull,
            vec![],
            vec!["cancel p:plan:1"],
            4,
        ),
        (
            "entitlement missing from an incremental listing",
            vec![ANN, BOB, TEAM, PLAN_TEAM],
            Listing::Incremental,
            vec![],
            vec![],
            4,
        ),
        (
            "member vanished",
            vec![BOB, TEAM, PLAN_ANN, PLAN_TEAM],
            Listing::CompleteFull,
            vec![],
            vec!["remove m-ann"],
            4,
        ),
        (
            "team and its plan vanished",
            vec![ANN, BOB, PLAN_ANN],
            Listing::CompleteFull,
            vec![],
            vec!["cancel p:plan:2", "team t-1 0"],
            3,
        ),
        (
            "nothing listed, incremental",
            vec![],
            Listing::Incremental,
            vec![],
            vec![],
            0,
        ),
    ];
    let facts = stored();
    for (name, lines, how, changes, endings, unchanged) in cases {
        let d = diff(&scope(), &facts, &listing(&lines), how, now);
        assert_eq!(kinds(&d.changes), changes, "{name}: changes");
        let mut got = kinds(&d.endings);
        got.sort();
        assert_eq!(got, endings, "{name}: endings");
        assert_eq!(d.unchanged, unchanged, "{name}: unchanged");
        for e in d.changes.iter().chain(&d.endings) {
            assert_eq!(e.at, now, "{name}: at");
            assert!(e.id.starts_with("sync:p:"), "{name}: id {}", e.id);
        }
    }
}

#[test]
fn another_platforms_records_never_vanish() {
    let d = diff(
        &scope(),
        &stored(),
        &[],
        Listing::CompleteFull,
        at("2026-02-01T00:00:00Z"),
    );
    let got = kinds(&d.endings);
    assert!(!got.iter().any(|k| k.contains("q:plan:9")), "{got:?}");
    // m-bob holds q:plan:9 but is listed nowhere: he is p's through team t-1 (which holds p:plan:2).
    assert!(got.contains(&"remove m-bob".to_string()), "{got:?}");
    assert_eq!(
        d.ended_entitlements
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>(),
        ["p:plan:1", "p:plan:2"]
    );
}

#[test]
fn a_repeated_sync_yields_the_same_ids_and_applied_changes_yield_none() {
    let now = at("2026-02-01T00:00:00Z");
    let plan_changed = r#"{"id":"x","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:1","kind":"plan","refs":["plan:gold"],"holder":{"member":"m-ann"}}}"#;
    let lines = [ANN, BOB, TEAM, plan_changed, PLAN_TEAM];
    let mut facts = stored();
    let a = diff(
        &scope(),
        &facts,
        &listing(&lines),
        Listing::CompleteFull,
        now,
    );
    let b = diff(
        &scope(),
        &facts,
        &listing(&lines),
        Listing::CompleteFull,
        at("2026-02-01T00:15:00Z"),
    );
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].id, b.changes[0].id, "same content, same id");
    for e in &a.changes {
        facts.apply(e, &Mappings::default());
    }
    let c = diff(
        &scope(),
        &facts,
        &listing(&lines),
        Listing::CompleteFull,
        now,
    );
    assert!(c.changes.is_empty() && c.endings.is_empty(), "{c:?}");
    // Flipping back to the first content is a new delivery (it replaces another version).
    let back = diff(
        &scope(),
        &facts,
        &listing(&[ANN, BOB, TEAM, PLAN_ANN, PLAN_TEAM]),
        Listing::CompleteFull,
        now,
    );
    assert_eq!(back.changes.len(), 1);
    let first = diff(
        &scope(),
        &stored(),
        &listing(&[ANN, BOB, TEAM, PLAN_ANN, PLAN_TEAM, plan_changed]),
        Listing::CompleteFull,
        now,
    );
    assert_ne!(back.changes[0].id, first.changes[0].id);
}

#[test]
fn brake_threshold() {
    let b = Brake::default();
    // (ended, active, held)
    for (ended, active, held) in [
        (0, 0, false),
        (5, 5, false),   // at the floor: never held
        (6, 100, false), // 6 % of 100
        (10, 100, false),
        (11, 100, true),
        (6, 10, true),
        (60, 1000, false),
        (101, 1000, true),
    ] {
        assert_eq!(b.holds(ended, active), held, "{ended} of {active}");
    }
    let strict = Brake {
        share: 0.0,
        floor: 0,
    };
    assert!(strict.holds(1, 1000));
    assert!(!strict.holds(0, 1000));
}

/// Issue 17 review, item 4: a team list that loses members is an ending (its lost members
/// lose the team's entitlements), weighed by the brake like any other: one grant per member
/// per active entitlement of the team.
#[test]
fn a_team_shrink_is_an_ending_the_brake_weighs() {
    let now = at("2026-02-01T00:00:00Z");
    let shrunk =
        r#"{"id":"x","at":"2026-01-01T00:00:00Z","team":{"id":"t-1","members":["m-ann"]}}"#;
    let facts = stored();
    let s = scope();
    // Active: p:plan:1 (Ann's) and p:plan:2 (team t-1: Ann and Bob) → three grants.
    assert_eq!(s.active_grants(&facts), 3);
    let d = diff(
        &s,
        &facts,
        &listing(&[ANN, BOB, shrunk, PLAN_ANN, PLAN_TEAM]),
        Listing::Incremental,
        now,
    );
    assert!(d.changes.is_empty(), "{:?}", d.changes);
    assert_eq!(kinds(&d.endings), ["team t-1 1"]);
    assert_eq!(
        d.ended_grants.iter().cloned().collect::<Vec<_>>(),
        [(
            EntitlementId("p:plan:2".into()),
            Some(access_sync_rules::MemberId("m-bob".into()))
        )]
    );
    // Growing is not an ending.
    let grown = r#"{"id":"x","at":"2026-01-01T00:00:00Z","team":{"id":"t-1","members":["m-ann","m-bob","m-cat"]}}"#;
    let d = diff(
        &s,
        &facts,
        &listing(&[ANN, BOB, grown, PLAN_ANN, PLAN_TEAM]),
        Listing::Incremental,
        now,
    );
    assert_eq!(kinds(&d.changes), ["team t-1 3"]);
    assert!(d.endings.is_empty() && d.ended_grants.is_empty());
    // Cancelling the team's plan ends both members' grants.
    let cancel = r#"{"id":"x","at":"2026-01-01T00:00:00Z","cancel":{"entitlement":"p:plan:2"}}"#;
    let d = diff(&s, &facts, &listing(&[cancel]), Listing::Incremental, now);
    assert_eq!(d.ended_grants.len(), 2);
}

/// A mass shrink of a company plan's team is held: 20 members, 19 leave.
#[test]
fn a_mass_team_shrink_is_held() {
    let now = at("2026-02-01T00:00:00Z");
    let m = Mappings::default();
    let mut facts = Facts::new();
    let ids: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let team = |members: &[String]| {
        format!(
            r#"{{"id":"t","at":"2026-01-01T00:00:00Z","team":{{"id":"t-big","members":{}}}}}"#,
            serde_json::to_string(members).unwrap()
        )
    };
    let plan = r#"{"id":"p","at":"2026-01-01T00:00:00Z","entitlement":{"id":"p:plan:co","kind":"plan","refs":["plan:hot"],"holder":{"team":"t-big"}}}"#;
    for i in &ids {
        let line = format!(
            r#"{{"id":"{i}","at":"2026-01-01T00:00:00Z","member":{{"id":"{i}","email":"{i}@x.io"}}}}"#
        );
        facts.apply(&ev(&line), &m);
    }
    facts.apply(&ev(&team(&ids)), &m);
    facts.apply(&ev(plan), &m);
    let s = scope();
    assert_eq!(s.active_grants(&facts), 20);
    let d = diff(
        &s,
        &facts,
        &listing(&[&team(&ids[..1])]),
        Listing::Incremental,
        now,
    );
    assert_eq!(d.endings.len(), 1);
    assert_eq!(d.ended_grants.len(), 19);
    assert!(Brake::default().holds(d.ended_grants.len(), 20));
    // One leaving is within the floor.
    let d = diff(
        &s,
        &facts,
        &listing(&[&team(&ids[1..])]),
        Listing::Incremental,
        now,
    );
    assert_eq!(d.ended_grants.len(), 1);
    assert!(!Brake::default().holds(d.ended_grants.len(), 20));
}

/// Issue 17 review, item 3: what the listing contains but the mapping could not read is not
/// gone — neither ended nor counted by the brake — while what vanished is.
#[test]
fn what_is_listed_but_unreadable_is_neither_ended_nor_counted() {
    let now = at("2026-02-01T00:00:00Z");
    let kept = access_sync_platforms::api::Kept {
        entitlements: [EntitlementId("p:plan:2".into())].into(),
        members: [access_sync_rules::MemberId("m-bob".into())].into(),
        teams: [access_sync_rules::TeamId("t-1".into())].into(),
    };
    let s = SyncScope {
        platform: "p",
        covers: &covers,
        kept: &kept,
    };
    let facts = stored();
    // Only Ann and her plan are readable; Bob, the team and its plan were listed unreadable.
    let d = diff(
        &s,
        &facts,
        &listing(&[ANN, PLAN_ANN]),
        Listing::CompleteFull,
        now,
    );
    assert!(d.endings.is_empty(), "{:?}", kinds(&d.endings));
    assert!(d.ended_grants.is_empty() && d.ended_entitlements.is_empty());
    // A team list read without an unreadable member keeps the member.
    let without_bob =
        r#"{"id":"x","at":"2026-01-01T00:00:00Z","team":{"id":"t-1","members":["m-ann"]}}"#;
    let d = diff(
        &s,
        &facts,
        &listing(&[ANN, without_bob, PLAN_ANN]),
        Listing::CompleteFull,
        now,
    );
    assert!(d.endings.is_empty() && d.changes.is_empty(), "{d:?}");
    // Without the kept records, the same listing ends Bob, the team plan and its grants.
    let d = diff(
        &scope(),
        &facts,
        &listing(&[ANN, PLAN_ANN]),
        Listing::CompleteFull,
        now,
    );
    let mut got = kinds(&d.endings);
    got.sort();
    assert_eq!(got, ["cancel p:plan:2", "remove m-bob", "team t-1 0"]);
    assert_eq!(d.ended_grants.len(), 2);
}
