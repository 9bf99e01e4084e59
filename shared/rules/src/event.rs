//! Canonical events (ACCESS-MODEL §2): what every platform adapter produces and what the core
//! consumes. Parsing validates fully; an [`Event`] that exists is well-formed. The serde form of
//! an [`Event`] is exactly the canonical JSON, so events can be stored and republished as-is.

use crate::batch::{Arena, Ent, Rec, RecBody, RecHolder, push_all};
use crate::error::LineError;
use crate::ids::{Email, EntitlementId, MemberId, TeamId};
use crate::source::Source;
use crate::time::{Instant, format_instant, parse_instant, parse_tz};
use chrono::Weekday;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// One canonical event: a delivery with a unique `id`, the instant it happened, and its body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawEvent", into = "RawEvent")]
pub struct Event {
    /// Unique delivery id: a second delivery with the same id has no effect.
    pub id: String,
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub body: Body,
}

/// The four kinds of canonical event.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A member's full state.
    Member(MemberEvent),
    /// A team's full member list.
    Team(TeamEvent),
    /// A new version of an entitlement.
    Entitlement(Entitlement),
    /// The end of an entitlement.
    Cancel(EntitlementId),
}

/// A member's full state: an event without `email` leaves the member without an address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberEvent {
    /// Platform id.
    pub id: MemberId,
    /// Normalised address, if any.
    pub email: Option<Email>,
    /// Display name.
    pub name: Option<String>,
    /// The member is gone: all their access ends.
    pub removed: bool,
}

/// A team's full list of member ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamEvent {
    /// Platform id.
    pub id: TeamId,
    /// Every current member.
    pub members: Vec<MemberId>,
}

/// What kind of entitlement; decides how windows are computed (ACCESS-MODEL §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A membership plan.
    Plan,
    /// An allowance (credits, hours).
    Allowance,
    /// A day pass or pass pack.
    Pass,
    /// A resource booking.
    Booking,
    /// A resource assignment, optionally in weekly blocks.
    Assignment,
    /// A desk or office occupancy.
    Occupancy,
    /// A check-in (until checkout or local midnight).
    Checkin,
    /// A class, appointment or course registration.
    Registration,
}

impl Kind {
    const NAMES: [&'static str; 8] = [
        "plan",
        "allowance",
        "pass",
        "booking",
        "assignment",
        "occupancy",
        "checkin",
        "registration",
    ];

    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "plan" => Kind::Plan,
            "allowance" => Kind::Allowance,
            "pass" => Kind::Pass,
            "booking" => Kind::Booking,
            "assignment" => Kind::Assignment,
            "occupancy" => Kind::Occupancy,
            "checkin" => Kind::Checkin,
            "registration" => Kind::Registration,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plan => "plan",
            Kind::Allowance => "allowance",
            Kind::Pass => "pass",
            Kind::Booking => "booking",
            Kind::Assignment => "assignment",
            Kind::Occupancy => "occupancy",
            Kind::Checkin => "checkin",
            Kind::Registration => "registration",
        }
    }

    /// Whether lead and lag apply (booking, registration, assignment).
    pub fn uses_lead_lag(self) -> bool {
        match self {
            Kind::Booking | Kind::Registration | Kind::Assignment => true,
            Kind::Plan | Kind::Allowance | Kind::Pass | Kind::Occupancy | Kind::Checkin => false,
        }
    }
}

/// An entitlement's status (ACCESS-MODEL §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Grants.
    Active,
    /// Not accepted yet: grants nothing.
    Pending,
    /// Unpaid: grants only when `defaults.blocked = "allow"`.
    Blocked,
    /// Passes or pack used up: grants nothing.
    Exhausted,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "pending" => Status::Pending,
            "blocked" => Status::Blocked,
            "exhausted" => Status::Exhausted,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Blocked => "blocked",
            Status::Exhausted => "exhausted",
        }
    }
}

/// A mapping key `"<source>:<id>"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// What kind of platform thing.
    pub source: Source,
    /// The platform's id of it.
    pub id: String,
}

impl Ref {
    /// Parses `"<source>:<id>"`.
    pub fn parse(s: &str) -> Result<Ref, String> {
        let (src, id) = s
            .split_once(':')
            .ok_or_else(|| format!("ref {s:?} has no ':' (want \"<source>:<id>\")"))?;
        let source = Source::parse(src).ok_or_else(|| {
            format!(
                "ref {s:?} has unknown source {src:?} (want one of {})",
                Source::NAMES.join(", ")
            )
        })?;
        if id.is_empty() {
            return Err(format!("ref {s:?} has an empty id"));
        }
        Ok(Ref {
            source,
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source.as_str(), self.id)
    }
}

/// Who holds an entitlement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// One member.
    Member(MemberId),
    /// Every current member of a team.
    Team(TeamId),
}

/// A weekly block of an assignment, in local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Days of the week it recurs on.
    pub days: Vec<Weekday>,
    /// Local start, minutes after midnight (0..1440).
    pub from: u32,
    /// Local end, minutes after midnight (from < to ≤ 1440; 1440 is "24:00").
    pub to: u32,
}

/// One version of an entitlement record.
#[derive(Clone, Debug, PartialEq)]
pub struct Entitlement {
    /// Stable id of the source record.
    pub id: EntitlementId,
    /// Kind.
    pub kind: Kind,
    /// Mapping keys.
    pub refs: Vec<Ref>,
    /// Holder.
    pub holder: Holder,
    /// Guests who get the same windows.
    pub guests: Vec<Email>,
    /// Start; `None` means the `at` of the first event that made the record known.
    pub start: Option<Instant>,
    /// End; `None` is open-ended (checkin: until local midnight).
    pub end: Option<Instant>,
    /// Weekly blocks (assignment only).
    pub blocks: Vec<Block>,
    /// Zone for blocks and check-in day end; `None` uses the mapping default.
    pub tz: Option<Tz>,
    /// Status.
    pub status: Status,
}

impl Event {
    /// Parses one JSON line. The error says which field is wrong and why.
    pub fn parse(line: &str) -> Result<Event, String> {
        Event::parse_with(line, &mut Instants::default())
    }

    /// [`Event::parse`], reading the instants through `instants`.
    fn parse_with(line: &str, instants: &mut Instants) -> Result<Event, String> {
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
    let mut instants = Instants::remembering();
    for (i, line) in Lines(text).enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ev = Event::parse_with(line, &mut instants).map_err(|m| LineError::new(i + 1, m))?;
        out.push((i + 1, ev));
    }
    Ok(out)
}

/// The number of `\n` in `text`, counted in blocks of 255 bytes with a byte-sized count, which
/// compiles to vector code.
fn count_lines(text: &str) -> usize {
    text.as_bytes()
        .chunks(255)
        .map(|block| usize::from(block.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>()))
        .sum()
}

/// The events of a JSON Lines file as records borrowing its text, for `preview`'s batch reading
/// — when every line has the common shape [`scan_event`] reads, passes every check
/// [`Event::from_raw`] makes, and no version has weekly blocks. `None` otherwise: the caller
/// then reads the file with [`parse_jsonl`], which names the first bad line. So a file read here
/// is one `parse_jsonl` accepts, read the same way (both go through [`scan_event`]).
pub(crate) fn scan_records(text: &str) -> Option<(Vec<Rec<'_>>, Arena<'_>)> {
    let mut recs = Vec::with_capacity(count_lines(text) + 1);
    let mut arena = Arena::default();
    let mut instants = Instants::remembering();
    for line in Lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        recs.push(record(scan_event(line)?, &mut instants, &mut arena)?);
    }
    Some((recs, arena))
}

/// [`Event::from_raw`], borrowing (keep the two in step): `None` where it fails.
fn record<'a>(
    r: RawEvent<&'a str>,
    instants: &mut Instants,
    arena: &mut Arena<'a>,
) -> Option<Rec<'a>> {
    if r.id.is_empty() {
        return None;
    }
    let at = instants.parse(r.at).ok()?;
    if r.bodies() != 1 {
        return None;
    }
    let body = if let Some(m) = r.member {
        if m.id.is_empty() {
            return None;
        }
        RecBody::Member {
            id: m.id,
            email: m.email.and_then(Email::parse),
            removed: m.removed.unwrap_or(false),
        }
    } else if let Some(t) = r.team {
        if t.id.is_empty() {
            return None;
        }
        RecBody::Team {
            id: t.id,
            members: push_all(&mut arena.names, t.members),
        }
    } else if let Some(c) = r.cancel {
        if c.entitlement.is_empty() {
            return None;
        }
        RecBody::Cancel(c.entitlement)
    } else {
        RecBody::Entitlement(entitlement_record(r.entitlement?, instants, arena)?)
    };
    Some(Rec { id: r.id, at, body })
}

/// [`Entitlement::from_raw`], borrowing (keep the two in step): `None` where it fails, and for
/// any `blocks` (weekly blocks run the engine; on another kind they are an error).
fn entitlement_record<'a>(
    r: RawEntitlement<&'a str>,
    instants: &mut Instants,
    arena: &mut Arena<'a>,
) -> Option<Ent<'a>> {
    if r.id.is_empty() || r.blocks.is_some() {
        return None;
    }
    let kind = Kind::parse(r.kind)?;
    let refs_from = arena.refs.len() as u32;
    for s in &r.refs {
        // `Ref::parse`.
        let (src, id) = s.split_once(':')?;
        let source = Source::parse(src)?;
        if id.is_empty() {
            return None;
        }
        arena.refs.push((source, id));
    }
    let refs = refs_from..arena.refs.len() as u32;
    let holder = match (r.holder.member, r.holder.team) {
        (Some(m), None) if !m.is_empty() => RecHolder::Member(m),
        (None, Some(t)) if !t.is_empty() => RecHolder::Team(t),
        _ => return None,
    };
    let guests_from = arena.emails.len();
    for g in r.guests.unwrap_or_default() {
        let e = Email::parse(g)?;
        if !arena.emails[guests_from..].contains(&e) {
            arena.emails.push(e);
        }
    }
    let guests = guests_from as u32..arena.emails.len() as u32;
    let start = r.start.map(|s| instants.parse(s)).transpose().ok()?;
    let end = r.end.map(|s| instants.parse(s)).transpose().ok()?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return None;
    }
    let tz = r.tz.map(parse_tz).transpose().ok()?;
    let status = match r.status {
        None => Status::Active,
        Some(s) => Status::parse(s)?,
    };
    Some(Ent {
        id: r.id,
        kind,
        holder,
        refs,
        guests,
        start,
        end,
        tz,
        status,
    })
}

/// [`parse_instant`], in a file remembering the instants of the plain form
/// (`YYYY-MM-DDTHH:MM:SSZ`) it read last: the events of a file repeat a few instants (their
/// `at`, bookings on the hour). The default remembers nothing (one line).
#[derive(Default)]
struct Instants {
    recent: Vec<Option<([u8; 20], Instant)>>,
}

impl Instants {
    fn remembering() -> Self {
        Instants {
            recent: vec![None; 1024],
        }
    }

    fn parse(&mut self, s: &str) -> Result<Instant, String> {
        let Ok(key) = <[u8; 20]>::try_from(s.as_bytes()) else {
            return parse_instant(s);
        };
        if self.recent.is_empty() {
            return parse_instant(s);
        }
        let mut h = rustc_hash::FxHasher::default();
        key.hash(&mut h);
        let slot = &mut self.recent[(h.finish() >> 54) as usize];
        match slot {
            Some((text, t)) if *text == key => Ok(*t),
            _ => {
                let t = parse_instant(s)?;
                *slot = Some((key, t));
                Ok(t)
            }
        }
    }
}

/// [`str::lines`], finding each `\n` eight bytes at a time (lines of events are long).
struct Lines<'a>(&'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let b = self.0.as_bytes();
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut at = 0;
        // The lowest flagged byte of the has-zero-byte test is the first newline of the word.
        while let Some(chunk) = b.get(at..at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
            let hits = w.wrapping_sub(ONES) & !w & HIGH;
            if hits != 0 {
                at += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        while at < b.len() && b[at] != b'\n' {
            at += 1;
        }
        if at == b.len() {
            let line = self.0;
            self.0 = "";
            return Some(line);
        }
        let (line, rest) = (&self.0[..at], &self.0[at + 1..]);
        self.0 = rest;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

// ---- wire format ------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent<S = String> {
    id: S,
    at: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<RawMember<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<RawTeam<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entitlement: Option<RawEntitlement<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancel: Option<RawCancel<S>>,
}

impl<S> RawEvent<S> {
    /// How many of `member`, `team`, `entitlement`, `cancel` the line has (an event needs one).
    fn bodies(&self) -> usize {
        usize::from(self.member.is_some())
            + usize::from(self.team.is_some())
            + usize::from(self.entitlement.is_some())
            + usize::from(self.cancel.is_some())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember<S = String> {
    id: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removed: Option<bool>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam<S = String> {
    id: S,
    members: Vec<S>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCancel<S = String> {
    entitlement: S,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHolder<S = String> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<S>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock<S = String> {
    days: Vec<S>,
    from: S,
    to: S,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntitlement<S = String> {
    id: S,
    kind: S,
    refs: Vec<S>,
    holder: RawHolder<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    guests: Option<Vec<S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocks: Option<Vec<RawBlock<S>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tz: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<S>,
}

impl<S: AsRef<str> + Into<String>> TryFrom<RawEvent<S>> for Event {
    type Error = String;

    fn try_from(r: RawEvent<S>) -> Result<Event, String> {
        Event::from_raw(r, &mut Instants::default())
    }
}

impl Event {
    fn from_raw<S: AsRef<str> + Into<String>>(
        r: RawEvent<S>,
        instants: &mut Instants,
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

// ---- fast path --------------------------------------------------------------------------------

/// A reader for the common shape of an event line: objects, arrays, strings without escapes,
/// booleans and `null`. It reads exactly what serde reads into the raw structs, and gives up
/// (`None`) on anything else — an escape, a number, an unknown or repeated field, a missing
/// required one, bad JSON — so that serde decides such a line, with its error message.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn skip_ws(&mut self) {
        let b = self.text.as_bytes();
        // Lines written by a program have no whitespace between tokens: one test then.
        while let Some(&c) = b.get(self.at)
            && c <= b' '
            && matches!(c, b' ' | b'\t' | b'\n' | b'\r')
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn word(&mut self, w: &str) -> bool {
        self.skip_ws();
        let hit = self.text.as_bytes()[self.at..].starts_with(w.as_bytes());
        if hit {
            self.at += w.len();
        }
        hit
    }

    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let b = self.text.as_bytes();
        let start = self.at;
        // Eight bytes at a time up to the first quote, backslash or control character, then
        // byte by byte.
        while let Some(chunk) = b.get(self.at..self.at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let hits = string_stops(u64::from_le_bytes(word));
            if hits != 0 {
                self.at += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            self.at += 8;
        }
        loop {
            match *b.get(self.at)? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.at += 1,
            }
        }
        let s = &self.text[start..self.at];
        self.at += 1;
        Some(s)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.word("true") {
            Some(true)
        } else if self.word("false") {
            Some(false)
        } else {
            None
        }
    }

    /// `null` as `None`, anything else through `f`.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek() == Some(b'n') && self.word("null") {
            Some(None)
        } else {
            f(self).map(Some)
        }
    }

    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn strs(&mut self) -> Option<Vec<&'a str>> {
        self.array(Self::str)
    }

    /// An object whose fields `field` reads (it answers `None` for an unknown or repeated one).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The bytes of `w` (eight, little-endian) that end a plain JSON string — `"`, `\\` or a control
/// character — as the high bit of each such byte. Bytes above the lowest one flagged may be
/// flagged wrongly (a borrow carries), so only the lowest one is to be read.
fn string_stops(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_in(w ^ (ONES * u64::from(b'"')))
        | zero_in(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

/// Stores a field's value, refusing a repeated field.
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(v))
}

fn scan_event(line: &str) -> Option<RawEvent<&str>> {
    let mut s = Scan { text: line, at: 0 };
    let (mut id, mut at, mut member, mut team, mut entitlement, mut cancel) =
        (None, None, None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "at" => once(&mut at, s.str()?),
        "member" => once(&mut member, s.opt(scan_member)?),
        "team" => once(&mut team, s.opt(scan_team)?),
        "entitlement" => once(&mut entitlement, s.opt(scan_entitlement)?),
        "cancel" => once(&mut cancel, s.opt(scan_cancel)?),
        _ => None,
    })?;
    s.skip_ws();
    if s.at != line.len() {
        return None;
    }
    Some(RawEvent {
        id: id?,
        at: at?,
        member: member.flatten(),
        team: team.flatten(),
        entitlement: entitlement.flatten(),
        cancel: cancel.flatten(),
    })
}

fn scan_member<'a>(s: &mut Scan<'a>) -> Option<RawMember<&'a str>> {
    let (mut id, mut email, mut name, mut removed) = (None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "email" => once(&mut email, s.opt(Scan::str)?),
        "name" => once(&mut name, s.opt(Scan::str)?),
        "removed" => once(&mut removed, s.opt(Scan::bool)?),
        _ => None,
    })?;
    Some(RawMember {
        id: id?,
        email: email.flatten(),
        name: name.flatten(),
        removed: removed.flatten(),
    })
}

fn scan_team<'a>(s: &mut Scan<'a>) -> Option<RawTeam<&'a str>> {
    let (mut id, mut members) = (None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "members" => once(&mut members, s.strs()?),
        _ => None,
    })?;
    Some(RawTeam {
        id: id?,
        members: members?,
    })
}

fn scan_cancel<'a>(s: &mut Scan<'a>) -> Option<RawCancel<&'a str>> {
    let mut entitlement = None;
    s.object(|s, key| match key {
        "entitlement" => once(&mut entitlement, s.str()?),
        _ => None,
    })?;
    Some(RawCancel {
        entitlement: entitlement?,
    })
}

fn scan_entitlement<'a>(s: &mut Scan<'a>) -> Option<RawEntitlement<&'a str>> {
    let (mut id, mut kind, mut refs, mut holder, mut guests) = (None, None, None, None, None);
    let (mut start, mut end, mut blocks, mut tz, mut status) = (None, None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "kind" => once(&mut kind, s.str()?),
        "refs" => once(&mut refs, s.strs()?),
        "holder" => once(&mut holder, scan_holder(s)?),
        "guests" => once(&mut guests, s.opt(Scan::strs)?),
        "start" => once(&mut start, s.opt(Scan::str)?),
        "end" => once(&mut end, s.opt(Scan::str)?),
        "blocks" => once(&mut blocks, s.opt(|s| s.array(scan_block))?),
        "tz" => once(&mut tz, s.opt(Scan::str)?),
        "status" => once(&mut status, s.opt(Scan::str)?),
        _ => None,
    })?;
    Some(RawEntitlement {
        id: id?,
        kind: kind?,
        refs: refs?,
        holder: holder?,
        guests: guests.flatten(),
        start: start.flatten(),
        end: end.flatten(),
        blocks: blocks.flatten(),
        tz: tz.flatten(),
        status: status.flatten(),
    })
}

fn scan_holder<'a>(s: &mut Scan<'a>) -> Option<RawHolder<&'a str>> {
    let (mut member, mut team) = (None, None);
    s.object(|s, key| match key {
        "member" => once(&mut member, s.opt(Scan::str)?),
        "team" => once(&mut team, s.opt(Scan::str)?),
        _ => None,
    })?;
    Some(RawHolder {
        member: member.flatten(),
        team: team.flatten(),
    })
}

fn scan_block<'a>(s: &mut Scan<'a>) -> Option<RawBlock<&'a str>> {
    let (mut days, mut from, mut to) = (None, None, None);
    s.object(|s, key| match key {
        "days" => once(&mut days, s.strs()?),
        "from" => once(&mut from, s.str()?),
        "to" => once(&mut to, s.str()?),
        _ => None,
    })?;
    Some(RawBlock {
        days: days?,
        from: from?,
        to: to?,
    })
}

impl From<Event> for RawEvent {
    fn from(e: Event) -> RawEvent {
        let mut r = RawEvent {
            id: e.id,
            at: crate::time::format_instant_exact(e.at),
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
        Entitlement::from_raw(r, &mut Instants::default())
    }
}

impl Entitlement {
    fn from_raw<S: AsRef<str> + Into<String>>(
        r: RawEntitlement<S>,
        instants: &mut Instants,
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
            start: e.start.map(crate::time::format_instant_exact),
            end: e.end.map(crate::time::format_instant_exact),
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
    fn the_fast_string_reader_stops_where_the_byte_loop_does() {
        // Each stop (and none) at every position of strings around the eight-byte steps, among
        // bytes that are close to the stops or not ASCII.
        for len in 0..20 {
            for at in 0..=len {
                for stop in ["\"", "\\", "\u{1}", "\u{1f}", "\n", ""] {
                    for filler in ["a", "!", "#", "[", "]", " ", "\u{7f}", "é"] {
                        let body: String = (0..len)
                            .map(|i| if i == at { stop } else { filler })
                            .collect();
                        let text = format!("\"{body}\"x");
                        let plain = body.find(['"', '\\']).map_or(body.len(), |i| i);
                        let ctrl = body.find(|c: char| c < ' ').map_or(body.len(), |i| i);
                        let escaped = body.as_bytes().get(plain) == Some(&b'\\');
                        let want = (ctrl >= plain && !escaped).then(|| &body[..plain]);
                        let mut s = Scan { text: &text, at: 0 };
                        assert_eq!(s.str(), want, "{text:?}");
                    }
                }
            }
        }
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
    fn lines_are_split_as_str_lines_splits_them() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "a\r\rb\r\n\r\nc",
            "\n\nabc\n",
            "first line of several words\nsecond line, still fairly long\r\nthird\n",
            "é\nü\r\n\u{2028}x\n\n",
            "0123456\n01234567\n012345678\n0123456789abcdef\n",
        ] {
            assert_eq!(
                Lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
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
