//! Reading and writing the canonical JSON of an event: a line is read by the fast scanner when
//! it has the common shape and by serde otherwise, into the wire structs; then every field is
//! checked and the event types are built, or the error names the field. The serde form of an
//! [`Event`] is exactly the canonical JSON, so events can be stored and republished as they are.

use super::scan::{Lines, count_lines, scan_event};
use super::types::{
    Block, Body, Entitlement, Event, Holder, Kind, MemberEvent, Ref, Status, TeamEvent,
};
use super::wire::{RawBlock, RawCancel, RawEntitlement, RawEvent, RawHolder, RawMember, RawTeam};
use crate::error::LineError;
use crate::ids::{Email, EntitlementId, MemberId, TeamId};
use crate::time::{RecentInstants, format_instant, format_instant_exact, parse_tz};
use chrono::Weekday;
use serde::{Deserialize, Serialize};

impl Event {
    /// Parses one JSON line. The error says which field is wrong and why.
    pub fn parse(line: &str) -> Result<Event, String> {
        Event::parse_with(line, &mut RecentInstants::default())
    }

    /// [`Event::parse`], reading the instants through `instants`.
    fn parse_with(line: &str, instants: &mut RecentInstants) -> Result<Event, String> {
        // Fast path for the common shape; serde reads anything else, and only a bad line pays
        // for the field path in its message.
        if let Some(raw) = scan_event(line) {
            return Event::from_raw(raw, instants);
        }
        let de = &mut serde_json::Deserializer::from_str(line);
        let raw: RawEvent = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = strip_position(&inner.to_string());
            if path.is_empty() || path == "." {
                msg
            } else {
                format!("{path}: {msg}")
            }
        })?;
        Event::try_from(raw)
    }

    /// The canonical JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses a JSON Lines file of canonical events, skipping blank lines. Each event comes with
/// its 1-based line number; the first bad line stops parsing.
pub fn parse_jsonl(text: &str) -> Result<Vec<(usize, Event)>, LineError> {
    let mut out = Vec::with_capacity(count_lines(text) + 1);
    let mut instants = RecentInstants::remembering();
    for (i, line) in Lines(text).enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ev = Event::parse_with(line, &mut instants).map_err(|m| LineError::new(i + 1, m))?;
        out.push((i + 1, ev));
    }
    Ok(out)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

impl<S: AsRef<str> + Into<String>> TryFrom<RawEvent<S>> for Event {
    type Error = String;

    fn try_from(r: RawEvent<S>) -> Result<Event, String> {
        Event::from_raw(r, &mut RecentInstants::default())
    }
}

impl Event {
    /// Checks a raw event and builds it; the error names the field.
    pub(crate) fn from_raw<S: AsRef<str> + Into<String>>(
        r: RawEvent<S>,
        instants: &mut RecentInstants,
    ) -> Result<Event, String> {
        if r.id.as_ref().is_empty() {
            return Err("id: empty delivery id".into());
        }
        let at = instants
            .parse(r.at.as_ref())
            .map_err(|m| format!("at: {m}"))?;
        let count = r.bodies();
        if count != 1 {
            return Err(format!(
                "an event needs exactly one of \"member\", \"team\", \"entitlement\", \"cancel\" (found {count})"
            ));
        }
        let body = if let Some(m) = r.member {
            if m.id.as_ref().is_empty() {
                return Err("member.id: empty id".into());
            }
            Body::Member(MemberEvent {
                id: MemberId(m.id.into()),
                email: m.email.as_ref().and_then(|e| Email::parse(e.as_ref())),
                name: m.name.map(Into::into),
                removed: m.removed.unwrap_or(false),
            })
        } else if let Some(t) = r.team {
            if t.id.as_ref().is_empty() {
                return Err("team.id: empty id".into());
            }
            Body::Team(TeamEvent {
                id: TeamId(t.id.into()),
                members: t.members.into_iter().map(|m| MemberId(m.into())).collect(),
            })
        } else if let Some(c) = r.cancel {
            if c.entitlement.as_ref().is_empty() {
                return Err("cancel.entitlement: empty id".into());
            }
            Body::Cancel(EntitlementId(c.entitlement.into()))
        } else if let Some(e) = r.entitlement {
            Body::Entitlement(
                Entitlement::from_raw(e, instants).map_err(|m| format!("entitlement.{m}"))?,
            )
        } else {
            unreachable!("count == 1")
        };
        Ok(Event {
            id: r.id.into(),
            at,
            body,
        })
    }
}

impl From<Event> for RawEvent {
    fn from(e: Event) -> RawEvent {
        let mut r = RawEvent {
            id: e.id,
            at: format_instant_exact(e.at),
            member: None,
            team: None,
            entitlement: None,
            cancel: None,
        };
        match e.body {
            Body::Member(m) => {
                r.member = Some(RawMember {
                    id: m.id.0,
                    email: m.email.map(String::from),
                    name: m.name,
                    removed: m.removed.then_some(true),
                })
            }
            Body::Team(t) => {
                r.team = Some(RawTeam {
                    id: t.id.0,
                    members: t.members.into_iter().map(|m| m.0).collect(),
                })
            }
            Body::Cancel(id) => r.cancel = Some(RawCancel { entitlement: id.0 }),
            Body::Entitlement(e) => r.entitlement = Some(e.into()),
        }
        r
    }
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn format_hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl<S: AsRef<str> + Into<String>> TryFrom<RawEntitlement<S>> for Entitlement {
    type Error = String;

    fn try_from(r: RawEntitlement<S>) -> Result<Entitlement, String> {
        Entitlement::from_raw(r, &mut RecentInstants::default())
    }
}

impl Entitlement {
    /// Checks a raw entitlement and builds it; the error names the field.
    pub(crate) fn from_raw<S: AsRef<str> + Into<String>>(
        r: RawEntitlement<S>,
        instants: &mut RecentInstants,
    ) -> Result<Entitlement, String> {
        if r.id.as_ref().is_empty() {
            return Err("id: empty id".into());
        }
        let kind = Kind::parse(r.kind.as_ref()).ok_or_else(|| {
            format!(
                "kind: unknown kind {:?} (want one of {})",
                r.kind.as_ref(),
                Kind::NAMES.join(", ")
            )
        })?;
        // Sized exactly: collecting through Result starts at four (a 128-byte block for the one
        // ref nearly every entitlement has, kept as long as the version is).
        let mut refs = Vec::with_capacity(r.refs.len());
        for s in &r.refs {
            refs.push(Ref::parse(s.as_ref()).map_err(|m| format!("refs: {m}"))?);
        }
        let holder = match (r.holder.member, r.holder.team) {
            (Some(m), None) if !m.as_ref().is_empty() => Holder::Member(MemberId(m.into())),
            (None, Some(t)) if !t.as_ref().is_empty() => Holder::Team(TeamId(t.into())),
            _ => {
                return Err(
                    "holder: needs exactly one of {\"member\": id} or {\"team\": id}".into(),
                );
            }
        };
        let raw_guests = r.guests.unwrap_or_default();
        let mut guests = Vec::with_capacity(raw_guests.len());
        for g in raw_guests {
            let e = Email::parse(g.as_ref()).ok_or("guests: empty e-mail address")?;
            if !guests.contains(&e) {
                guests.push(e);
            }
        }
        let start = r
            .start
            .as_ref()
            .map(|s| instants.parse(s.as_ref()))
            .transpose()
            .map_err(|m| format!("start: {m}"))?;
        let end = r
            .end
            .as_ref()
            .map(|s| instants.parse(s.as_ref()))
            .transpose()
            .map_err(|m| format!("end: {m}"))?;
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err(format!(
                "end: {} is before start {}",
                format_instant(e),
                format_instant(s)
            ));
        }
        let tz =
            r.tz.as_ref()
                .map(|s| parse_tz(s.as_ref()))
                .transpose()
                .map_err(|m| format!("tz: {m}"))?;
        let status = match r.status.as_ref().map(AsRef::as_ref) {
            None => Status::Active,
            Some(s) => Status::parse(s).ok_or_else(|| {
                format!("status: unknown status {s:?} (want active, pending, blocked or exhausted)")
            })?,
        };
        let mut blocks = Vec::with_capacity(r.blocks.as_ref().map_or(0, Vec::len));
        if let Some(raw_blocks) = r.blocks {
            if kind != Kind::Assignment {
                return Err(format!(
                    "blocks: only an assignment has weekly blocks, not a {}",
                    kind.as_str()
                ));
            }
            for (i, b) in raw_blocks.into_iter().enumerate() {
                if b.days.is_empty() {
                    return Err(format!("blocks[{i}].days: empty list"));
                }
                let mut days = Vec::with_capacity(b.days.len());
                for d in &b.days {
                    let d = d.as_ref();
                    let lower = d.to_ascii_lowercase();
                    let day = DAYS
                        .iter()
                        .find(|(n, _)| lower == *n)
                        .map(|(_, w)| *w)
                        .ok_or_else(|| {
                            format!("blocks[{i}].days: unknown day {d:?} (want mon … sun)")
                        })?;
                    if !days.contains(&day) {
                        days.push(day);
                    }
                }
                let (b_from, b_to) = (b.from.as_ref(), b.to.as_ref());
                let from = parse_hhmm(b_from)
                    .filter(|&m| m < 1440)
                    .ok_or_else(|| format!("blocks[{i}].from: bad time {b_from:?} (want HH:MM)"))?;
                let to = parse_hhmm(b_to).ok_or_else(|| {
                    format!("blocks[{i}].to: bad time {b_to:?} (want HH:MM or 24:00)")
                })?;
                if to <= from {
                    return Err(format!("blocks[{i}].to: {b_to} is not after from {b_from}"));
                }
                blocks.push(Block { days, from, to });
            }
        }
        Ok(Entitlement {
            id: EntitlementId(r.id.into()),
            kind,
            refs,
            holder,
            guests,
            start,
            end,
            blocks,
            tz,
            status,
        })
    }
}

impl From<Entitlement> for RawEntitlement {
    fn from(e: Entitlement) -> RawEntitlement {
        let (member, team) = match e.holder {
            Holder::Member(m) => (Some(m.0), None),
            Holder::Team(t) => (None, Some(t.0)),
        };
        RawEntitlement {
            id: e.id.0,
            kind: e.kind.as_str().to_string(),
            refs: e.refs.iter().map(Ref::to_string).collect(),
            holder: RawHolder { member, team },
            guests: (!e.guests.is_empty())
                .then(|| e.guests.into_iter().map(String::from).collect()),
            start: e.start.map(format_instant_exact),
            end: e.end.map(format_instant_exact),
            blocks: (!e.blocks.is_empty()).then(|| {
                e.blocks
                    .iter()
                    .map(|b| RawBlock {
                        days: b
                            .days
                            .iter()
                            .filter_map(|w| {
                                DAYS.iter()
                                    .find(|(_, d)| d == w)
                                    .map(|(n, _)| n.to_string())
                            })
                            .collect(),
                        from: format_hhmm(b.from),
                        to: format_hhmm(b.to),
                    })
                    .collect()
            }),
            tz: e.tz.map(|t| t.name().to_string()),
            status: (e.status != Status::Active).then(|| e.status.as_str().to_string()),
        }
    }
}

impl Serialize for Entitlement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawEntitlement::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Entitlement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEntitlement::<String>::deserialize(d)?;
        Entitlement::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawEvent::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEvent::<String>::deserialize(d)?;
        Event::try_from(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(line: &str) -> String {
        Event::parse(line).expect_err("should be rejected")
    }

    #[test]
    fn the_documented_examples_parse() {
        for l in [
            r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"Joe@Example.com","name":"Joe"}}"#,
            r#"{"id":"e2","at":"2026-12-07T08:00:00Z","member":{"id":"m9","removed":true}}"#,
            r#"{"id":"e3","at":"2026-12-07T08:00:00Z","team":{"id":"t1","members":["m1","m2"]}}"#,
            r#"{"id":"e4","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:elephant-room"],"holder":{"member":"m1"},"guests":["guest@example.com"],"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z","status":"active"}}"#,
            r#"{"id":"e5","at":"2026-12-07T10:20:00Z","cancel":{"entitlement":"booking:b1"}}"#,
        ] {
            let e = Event::parse(l).unwrap();
            // And the canonical form round-trips.
            assert_eq!(Event::parse(&e.to_json()).unwrap(), e);
        }
    }

    #[test]
    fn the_fast_reader_reads_what_serde_reads_or_leaves_the_line_to_it() {
        let lines = [
            r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"Joe@Example.com","name":"Joe"}}"#,
            r#" { "id" : "e2" , "at":"2026-12-07T08:00:00Z","member":{"id":"m9","removed":true} } "#,
            "{\"id\":\"e\",\n\t\"at\":\"2026-12-07T08:00:00Z\",\r\"member\":{\"id\":\"m\",\"removed\":false,\"email\":null,\"name\":null}}",
            r#"{"id":"e3","at":"2026-12-07T08:00:00Z","team":{"id":"t1","members":[]}}"#,
            r#"{"id":"e3","at":"2026-12-07T08:00:00Z","team":{"id":"t1","members":["m1","m2"]},"member":null}"#,
            r#"{"id":"e4","at":"2026-12-07T08:00:00+01:00","entitlement":{"id":"b","kind":"assignment","refs":["resource:r"],"holder":{"member":"m1","team":null},"guests":["g@x.io"],"start":"2026-12-07T10:00:00Z","end":null,"status":"blocked","tz":"Europe/London","blocks":[{"days":["mon","Tue"],"from":"09:00","to":"24:00"}]}}"#,
            r#"{"id":"e5","at":"2026-12-07T10:20:00Z","cancel":{"entitlement":"booking:b1"}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z"}"#,
            r#"{}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"},"team":{"id":"t","members":[]}}"#,
            r#"{"id":"e","id":"f","at":"2026-12-07T08:00:00Z","member":{"id":"m"}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","email":null,"email":"a@x.io"}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","colour":"red"}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":5}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","removed":"yes"}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"}} x"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"},}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","team":{"id":"t","members":["a",]}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","entitlement":{"id":"x","kind":"plan","refs":[],"holder":null}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","entitlement":{"id":"x","kind":"plan","refs":[],"holder":{}}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","removed":nullx}}"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","removed":truex}}"#,
            r#"{"id":"e1","at":"2026-12-07T08:00:00Z","member":{"id":"m"}}"#,
            "{\"id\":\"e\u{1}\",\"at\":\"2026-12-07T08:00:00Z\",\"member\":{\"id\":\"m\"}}",
            r#"[{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"}}]"#,
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"}"#,
        ];
        for l in lines {
            let serde = serde_json::from_str::<RawEvent<&str>>(l)
                .ok()
                .map(Event::try_from);
            if let Some(fast) = scan_event(l).map(Event::try_from) {
                assert_eq!(Some(fast), serde, "{l}");
            }
            // And whatever it gave up on, `parse` still answers as serde does (whose general
            // path, like before, does not look past the event).
            let general =
                RawEvent::<String>::deserialize(&mut serde_json::Deserializer::from_str(l))
                    .ok()
                    .map(Event::try_from);
            assert_eq!(
                Event::parse(l).ok(),
                serde.or(general).and_then(Result::ok),
                "{l}"
            );
        }
        assert!(scan_event(lines[0]).is_some() && scan_event(lines[5]).is_some());
    }

    #[test]
    fn a_file_reads_its_instants_as_single_lines_do() {
        let mut lines = Vec::new();
        for i in 0..3_000 {
            let (d, h) = (1 + i % 28, i % 24);
            lines.push(format!(
                r#"{{"id":"b{i}","at":"2026-12-01T00:00:00Z","entitlement":{{"id":"b{i}","kind":"booking","refs":["resource:r"],"holder":{{"member":"m"}},"start":"2026-12-{d:02}T{h:02}:00:00Z","end":"2026-12-{d:02}T{h:02}:30:00+00:00"}}}}"#
            ));
        }
        let text = lines.join("\n");
        let file: Vec<Event> = parse_jsonl(&text)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let one_by_one: Vec<Event> = lines.iter().map(|l| Event::parse(l).unwrap()).collect();
        assert_eq!(file, one_by_one);
        // A bad instant of the plain form is still refused after good ones.
        let bad =
            text.clone() + "\n" + &lines[0].replace("2026-12-01T00:00:00Z", "2027-02-29T00:00:00Z");
        assert_eq!(parse_jsonl(&bad).unwrap_err().line, 3_001);
    }

    #[test]
    fn escaped_strings_parse_like_plain_ones() {
        let plain = Event::parse(r#"{"id":"e1","at":"2026-12-07T08:00:00Z","entitlement":{"id":"b/1","kind":"booking","refs":["resource:r"],"holder":{"member":"m"},"guests":["g@x.io"]}}"#).unwrap();
        let escaped = Event::parse(r#"{"id":"e\u0031","at":"2026-12-07T08:00:00Z","entitlement":{"id":"b\/1","kind":"booking","refs":["resource:\u0072"],"holder":{"member":"m"},"guests":["g\u0040x.io"]}}"#).unwrap();
        assert_eq!(escaped, plain);
    }

    #[test]
    fn member_email_is_normalised() {
        let e = Event::parse(r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","email":" Joe@Example.com "}}"#).unwrap();
        let Body::Member(m) = e.body else { panic!() };
        assert_eq!(m.email.unwrap().as_str(), "joe@example.com");
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert!(bad(r#"{"at":"2026-12-07T08:00:00Z","member":{"id":"m"}}"#).contains("`id`"));
        assert!(bad(r#"{"id":"e","member":{"id":"m"}}"#).contains("`at`"));
        let m = bad(
            r#"{"id":"e","at":"2026-12-07T08:00:00Z","entitlement":{"id":"x","refs":[],"holder":{"member":"m"}}}"#,
        );
        assert!(m.contains("entitlement") && m.contains("`kind`"), "{m}");
        assert!(
            bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","team":{"id":"t"}}"#)
                .contains("`members`")
        );
        assert!(
            bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","cancel":{}}"#).contains("`entitlement`")
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_rejected() {
        assert!(
            bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","colour":"red"}}"#)
                .contains("colour")
        );
        assert!(
            bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":5}}"#)
                .contains("member.id")
        );
        assert!(
            bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m","removed":"yes"}}"#)
                .contains("removed")
        );
    }

    #[test]
    fn exactly_one_body_is_required() {
        assert!(bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z"}"#).contains("exactly one"));
        assert!(bad(r#"{"id":"e","at":"2026-12-07T08:00:00Z","member":{"id":"m"},"team":{"id":"t","members":[]}}"#).contains("exactly one"));
    }

    #[test]
    fn bad_values_are_rejected_with_their_field() {
        let base =
            |ent: &str| format!(r#"{{"id":"e","at":"2026-12-07T08:00:00Z","entitlement":{ent}}}"#);
        for (ent, want) in [
            (
                r#"{"id":"x","kind":"lease","refs":[],"holder":{"member":"m"}}"#,
                "kind",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":["plan"],"holder":{"member":"m"}}"#,
                "refs",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":["room:1"],"holder":{"member":"m"}}"#,
                "refs",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m"},"status":"gone"}"#,
                "status",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m"},"tz":"Nowhere/Land"}"#,
                "tz",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m"},"start":"yesterday"}"#,
                "start",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T09:00:00Z"}"#,
                "end",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m"},"blocks":[{"days":["mon"],"from":"09:00","to":"10:00"}]}"#,
                "blocks",
            ),
            (
                r#"{"id":"x","kind":"assignment","refs":[],"holder":{"member":"m"},"blocks":[{"days":["mon"],"from":"10:00","to":"09:00"}]}"#,
                "blocks[0].to",
            ),
            (
                r#"{"id":"x","kind":"assignment","refs":[],"holder":{"member":"m"},"blocks":[{"days":["someday"],"from":"09:00","to":"10:00"}]}"#,
                "blocks[0].days",
            ),
            (
                r#"{"id":"x","kind":"assignment","refs":[],"holder":{"member":"m"},"blocks":[{"days":["mon"],"from":"9am","to":"10:00"}]}"#,
                "blocks[0].from",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{}}"#,
                "holder",
            ),
            (
                r#"{"id":"x","kind":"plan","refs":[],"holder":{"member":"m","team":"t"}}"#,
                "holder",
            ),
        ] {
            let m = bad(&base(ent));
            assert!(m.contains(want), "{ent}: {m}");
        }
    }

    #[test]
    fn a_block_may_end_at_24_00() {
        let e = Event::parse(r#"{"id":"e","at":"2026-12-07T08:00:00Z","entitlement":{"id":"x","kind":"assignment","refs":[],"holder":{"member":"m"},"blocks":[{"days":["Sat","sun"],"from":"18:00","to":"24:00"}]}}"#).unwrap();
        let Body::Entitlement(x) = e.body else {
            panic!()
        };
        assert_eq!(x.blocks[0].to, 1440);
        assert_eq!(x.blocks[0].days, vec![Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn blank_lines_are_skipped_and_errors_name_the_line() {
        let text = "\n{\"id\":\"e\",\"at\":\"2026-12-07T08:00:00Z\",\"member\":{\"id\":\"m\"}}\n\n{bad json\n";
        let e = parse_jsonl(text).unwrap_err();
        assert_eq!(e.line, 4);
        let ok = parse_jsonl(
            "\n{\"id\":\"e\",\"at\":\"2026-12-07T08:00:00Z\",\"member\":{\"id\":\"m\"}}\n",
        )
        .unwrap();
        assert_eq!(ok[0].0, 2);
    }
}
