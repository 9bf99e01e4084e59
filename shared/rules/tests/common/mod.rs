//! Test support for the rules crate: an independent batch implementation of ACCESS-MODEL §3
//! (the *oracle*), and proptest generators of event sets.
//!
//! The oracle works on the full history at once — every version of every record with the period
//! it was in force — instead of the live engine's latest-version-at-`now` evaluation. Where the
//! two agree on random inputs, preview (which is the live engine on a virtual clock) implements
//! the written semantics.
#![allow(dead_code)]

use access_sync_rules::event::{Body, Entitlement, Event, Holder};
use access_sync_rules::facts::Facts;
use access_sync_rules::ids::{Email, EntitlementId, GroupId, MemberId, TeamId};
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::{Instant, format_instant, parse_instant};
use access_sync_rules::windows::{Timing, Window, windows};
use chrono::Duration;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// (email, group, from, until, reasons)
pub type Row = (String, u64, Instant, Option<Instant>, BTreeSet<String>);

/// Periods `[at_i, at_{i+1})` of a version history (sorted by `at`, ties in order).
fn periods<T>(hist: &[(Instant, T)]) -> Vec<(Instant, Option<Instant>, &T)> {
    hist.iter()
        .enumerate()
        .map(|(i, (at, v))| (*at, hist.get(i + 1).map(|n| n.0), v))
        .filter(|(f, u, _)| u.is_none_or(|u| u > *f))
        .collect()
}

fn clip(w: Window, from: Instant, until: Option<Instant>) -> Option<Window> {
    let w = w.not_before(from).not_after(until);
    (!w.is_empty()).then_some(w)
}

/// The timeline by the book, cut at `horizon`.
pub fn oracle(mappings: &Mappings, events: &[Event], until: Option<Instant>) -> Vec<Row> {
    let mut seen = HashSet::new();
    let mut evs: Vec<&Event> = events
        .iter()
        .filter(|e| seen.insert(e.id.clone()))
        .collect();
    evs.sort_by_key(|e| e.at);
    let horizon = until.unwrap_or_else(|| {
        evs.last()
            .map(|e| e.at + Duration::days(30))
            .unwrap_or_default()
    });

    let mut members: HashMap<MemberId, Vec<(Instant, Option<Email>)>> = HashMap::new();
    let mut teams: HashMap<TeamId, Vec<(Instant, Vec<MemberId>)>> = HashMap::new();
    let mut ents: BTreeMap<EntitlementId, Vec<(Instant, Option<Entitlement>)>> = BTreeMap::new();
    let mut first_seen: HashMap<EntitlementId, Instant> = HashMap::new();
    for e in &evs {
        match &e.body {
            Body::Member(m) => members
                .entry(m.id.clone())
                .or_default()
                .push((e.at, if m.removed { None } else { m.email.clone() })),
            Body::Team(t) => teams
                .entry(t.id.clone())
                .or_default()
                .push((e.at, t.members.clone())),
            Body::Entitlement(x) => {
                first_seen.entry(x.id.clone()).or_insert(e.at);
                ents.entry(x.id.clone())
                    .or_default()
                    .push((e.at, Some(x.clone())));
            }
            Body::Cancel(id) => ents.entry(id.clone()).or_default().push((e.at, None)),
        }
    }

    // Email periods of a member: [from, until) with an address.
    let email_periods = |m: &MemberId| -> Vec<(Instant, Option<Instant>, Email)> {
        members
            .get(m)
            .map(|h| {
                periods(h)
                    .into_iter()
                    .filter_map(|(f, u, e)| e.clone().map(|e| (f, u, e)))
                    .collect()
            })
            .unwrap_or_default()
    };

    let mut parts: BTreeMap<(Email, GroupId), Vec<(Window, EntitlementId)>> = BTreeMap::new();
    let hi = horizon + Duration::days(70);
    for (id, hist) in &ents {
        for (vf, vu, v) in periods(hist) {
            let Some(e) = v else { continue };
            if !Facts::may_grant(e.status) {
                continue;
            }
            let start = e.start.or(first_seen.get(id).copied()).unwrap_or(vf);
            for r in &e.refs {
                let Some(m) = mappings.get(r.source, &r.id) else {
                    continue;
                };
                if !Facts::grants_through(e.status, mappings, m) {
                    continue;
                }
                let t = Timing {
                    lead: m.lead(),
                    lag: m.lag(),
                    default_tz: mappings.defaults.timezone,
                };
                for w in windows(e, start, t, vf, hi) {
                    let Some(w) = clip(w, vf, vu) else { continue };
                    let mut hits: Vec<(Window, Email)> = Vec::new();
                    for g in &e.guests {
                        hits.push((w, g.clone()));
                    }
                    match &e.holder {
                        Holder::Member(mid) => {
                            for (pf, pu, email) in email_periods(mid) {
                                if let Some(x) = clip(w, pf, pu) {
                                    hits.push((x, email));
                                }
                            }
                        }
                        Holder::Team(tid) => {
                            for (tf, tu, list) in
                                teams.get(tid).map(|h| periods(h)).unwrap_or_default()
                            {
                                let Some(wt) = clip(w, tf, tu) else { continue };
                                for mid in list {
                                    for (pf, pu, email) in email_periods(mid) {
                                        if let Some(x) = clip(wt, pf, pu) {
                                            hits.push((x, email));
                                        }
                                    }
                                }
                            }
                        }
                    }
                    for (x, email) in hits {
                        for g in m.targets() {
                            parts
                                .entry((email.clone(), g))
                                .or_default()
                                .push((x, id.clone()));
                        }
                    }
                }
            }
        }
    }

    let mut out = Vec::new();
    for ((email, group), mut ws) in parts {
        ws.sort_by_key(|(w, _)| w.from);
        let mut merged: Vec<(Instant, Option<Instant>, BTreeSet<String>)> = Vec::new();
        for (w, id) in ws {
            match merged.last_mut() {
                Some(last) if last.1.is_none_or(|u| w.from <= u) => {
                    last.1 = match (last.1, w.until) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                    last.2.insert(id.0);
                }
                _ => merged.push((w.from, w.until, BTreeSet::from([id.0]))),
            }
        }
        for (f, u, reasons) in merged {
            if f >= horizon {
                continue;
            }
            let u = u.filter(|&u| u <= horizon);
            out.push((email.as_str().to_string(), group.get(), f, u, reasons));
        }
    }
    out
}

/// The preview's rows in the same shape.
pub fn rows(p: &access_sync_rules::preview::Preview) -> Vec<Row> {
    p.intervals
        .iter()
        .map(|i| {
            (
                i.email.as_str().to_string(),
                i.group.get(),
                i.from,
                i.until,
                i.reasons.iter().map(|r| r.0.clone()).collect(),
            )
        })
        .collect()
}

/// Human-readable rows for assertion messages.
pub fn show(rows: &[Row]) -> String {
    rows.iter()
        .map(|(e, g, f, u, r)| {
            format!(
                "{e} {g} {} {} {r:?}\n",
                format_instant(*f),
                u.map(format_instant).unwrap_or("-".into())
            )
        })
        .collect()
}

pub fn at(s: &str) -> Instant {
    parse_instant(s).unwrap()
}

/// The mapping file the generated events are written against: several sources, a group reached
/// through two mappings with different lead and lag, London as the default zone, and the places
/// of two mapped locations (one sharing place 7 with nothing else, one whose group 1 is also
/// a plan's) and of one location no mapping names (place 9: never reached).
pub fn test_mappings(blocked: &str) -> Mappings {
    Mappings::parse(&test_mappings_text(blocked, "", "")).unwrap()
}

/// [`test_mappings`] as text; `l1` and `l2` are added to the groups of the two location
/// mappings (groups that, like their places, only that location reaches).
pub fn test_mappings_text(blocked: &str, l1: &str, l2: &str) -> String {
    format!(
        r#"
[defaults]
timezone = "Europe/London"
lead_minutes = 10
lag_minutes = 5
blocked = "{blocked}"

[[mapping]]
source = "plan"
id = "p"
groups = [1, 2]

[[mapping]]
source = "resource"
id = "r"
groups = [2]
lead_minutes = 30
lag_minutes = 15

[[mapping]]
source = "desk"
id = "d"
groups = [2, 3]
lead_minutes = 0
lag_minutes = 60

[[mapping]]
source = "checkin"
id = "c"
groups = [3]

[[mapping]]
source = "registration"
id = "g"
groups = [1]

[[mapping]]
source = "location"
id = "l1"
groups = [4{l1}]
lead_minutes = 20
lag_minutes = 0

[[mapping]]
source = "location"
id = "l2"
groups = [1{l2}]

[[place]]
location = "l1"
place = 7

[[place]]
location = "l2"
place = 8

[[place]]
location = "l3"
place = 9
"#
    )
}

const BASE: &str = "2026-03-26T00:00:00Z"; // London goes to summer time on the 29th

fn instant(step: u32) -> String {
    format_instant(at(BASE) + Duration::minutes(i64::from(step) * 30))
}

/// Instants on a 30-minute grid over about five days.
fn step() -> impl Strategy<Value = u32> {
    0u32..240
}

fn email() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(Some("ann@x.io")),
        Just(Some("bob@x.io")),
        Just(Some("cat@x.io")),
        Just(Some(" ANN@x.io ")),
        Just(None),
    ]
}

fn body() -> impl Strategy<Value = String> {
    let member = (0..4u8, email(), prop::bool::weighted(0.15)).prop_map(|(m, e, removed)| {
        let email = e.map(|e| format!(r#","email":"{e}""#)).unwrap_or_default();
        let removed = if removed { r#","removed":true"# } else { "" };
        format!(r#""member":{{"id":"m{m}"{email}{removed}}}"#)
    });
    let team = (0..2u8, prop::collection::vec(0..4u8, 0..4)).prop_map(|(t, ms)| {
        let list: Vec<String> = ms.iter().map(|m| format!("\"m{m}\"")).collect();
        format!(r#""team":{{"id":"t{t}","members":[{}]}}"#, list.join(","))
    });
    let cancel = (0..6u8).prop_map(|e| format!(r#""cancel":{{"entitlement":"e{e}"}}"#));
    let kinds = prop_oneof![
        Just("plan"),
        Just("allowance"),
        Just("pass"),
        Just("booking"),
        Just("assignment"),
        Just("occupancy"),
        Just("checkin"),
        Just("registration"),
    ];
    let refs = prop::collection::vec(
        prop_oneof![
            Just("plan:p"),
            Just("resource:r"),
            Just("desk:d"),
            Just("checkin:c"),
            Just("registration:g"),
            Just("location:l1"),
            Just("location:l2"),
            Just("location:l3"),
            Just("resource:unmapped"),
        ],
        1..3,
    );
    let holder = prop_oneof![
        (0..4u8).prop_map(|m| format!(r#"{{"member":"m{m}"}}"#)),
        (0..3u8).prop_map(|t| format!(r#"{{"team":"t{t}"}}"#)),
    ];
    let status = prop_oneof![
        6 => Just(None),
        1 => Just(Some("pending")),
        1 => Just(Some("blocked")),
        1 => Just(Some("exhausted")),
        1 => Just(Some("active")),
    ];
    let blocks = prop::option::weighted(
        0.5,
        (
            prop::collection::btree_set(0..7usize, 1..3),
            0u32..46,
            1u32..8,
        ),
    );
    let tz = prop_oneof![
        Just(None),
        Just(Some("America/New_York")),
        Just(Some("UTC"))
    ];
    let ent = (
        0..6u8,
        kinds,
        refs,
        holder,
        prop::option::of(email()),
        prop::option::of(step()),
        prop::option::of(0u32..60),
        status,
        blocks,
        tz,
    )
        .prop_map(
            |(id, kind, refs, holder, guest, start, len, status, blocks, tz)| {
                let refs: Vec<String> = refs.iter().map(|r| format!("\"{r}\"")).collect();
                let mut s = format!(
                    r#""entitlement":{{"id":"e{id}","kind":"{kind}","refs":[{}],"holder":{holder}"#,
                    refs.join(",")
                );
                if let Some(Some(g)) = guest {
                    s += &format!(r#","guests":["{g}"]"#);
                }
                if let Some(st) = start {
                    s += &format!(r#","start":"{}""#, instant(st));
                    if let Some(l) = len {
                        s += &format!(r#","end":"{}""#, instant(st + l));
                    }
                }
                if let Some(st) = status {
                    s += &format!(r#","status":"{st}""#);
                }
                if kind == "assignment"
                    && let Some((days, from, dur)) = blocks
                {
                    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                    let days: Vec<String> =
                        days.iter().map(|d| format!("\"{}\"", DAYS[*d])).collect();
                    let to = (from + dur).min(48);
                    let hhmm = |h: u32| {
                        if h == 48 {
                            "24:00".to_string()
                        } else {
                            format!("{:02}:{:02}", h / 2, (h % 2) * 30)
                        }
                    };
                    s += &format!(
                        r#","blocks":[{{"days":[{}],"from":"{}","to":"{}"}}]"#,
                        days.join(","),
                        hhmm(from),
                        hhmm(to)
                    );
                }
                if let Some(z) = tz {
                    s += &format!(r#","tz":"{z}""#);
                }
                s + "}"
            },
        );
    prop_oneof![2 => member, 1 => team, 1 => cancel, 5 => ent]
}

/// A random event set: up to `n` events on the grid, with unique delivery ids.
pub fn event_set(n: usize) -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((step(), body()), 1..n).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (s, b))| {
                Event::parse(&format!(r#"{{"id":"d{i}","at":"{}",{b}}}"#, instant(s)))
                    .unwrap_or_else(|e| panic!("generator made a bad event: {e}: {b}"))
            })
            .collect()
    })
}
