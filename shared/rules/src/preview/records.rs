//! The events as the batch reading needs them: one [`Rec`] per event, its text borrowed from the
//! event file (read by the event scanner, with the checks of the event parser) or from parsed
//! [`Event`]s, its lists in an [`Arena`]: no allocation per event.

use crate::event::scan::{Lines, count_lines, scan_event};
use crate::event::wire::{RawEntitlement, RawEvent};
use crate::event::{Body, Event, Holder, Kind, Status};
use crate::ids::Email;
use crate::source::Source;
use crate::time::{Instant, RecentInstants, parse_tz};
use chrono_tz::Tz;

/// One event as the batch reading needs it, its text borrowed from the event file (see
/// [`scan_records`]) or from parsed [`Event`]s: no allocation per event.
#[derive(Clone, Debug)]
pub(super) struct Rec<'a> {
    /// Delivery id.
    pub(super) id: &'a str,
    /// When.
    pub(super) at: Instant,
    /// What.
    pub(super) body: RecBody<'a>,
}

/// [`Body`], borrowed; lists live in an [`Arena`].
#[derive(Clone, Debug)]
pub(super) enum RecBody<'a> {
    /// A member event.
    Member {
        id: &'a str,
        email: Option<Email>,
        removed: bool,
    },
    /// A team event: its members are `arena.names[members]`.
    Team {
        id: &'a str,
        members: std::ops::Range<u32>,
    },
    /// An entitlement version (never with weekly blocks).
    Entitlement(Ent<'a>),
    /// A cancel.
    Cancel(&'a str),
}

/// An entitlement version without weekly blocks, borrowed: refs are `arena.refs[refs]`, guests
/// `arena.emails[guests]`.
#[derive(Clone, Debug)]
pub(super) struct Ent<'a> {
    pub(super) id: &'a str,
    pub(super) kind: Kind,
    pub(super) holder: RecHolder<'a>,
    pub(super) refs: std::ops::Range<u32>,
    pub(super) guests: std::ops::Range<u32>,
    pub(super) start: Option<Instant>,
    pub(super) end: Option<Instant>,
    pub(super) tz: Option<Tz>,
    pub(super) status: Status,
}

/// [`Holder`], borrowed.
#[derive(Clone, Copy, Debug)]
pub(super) enum RecHolder<'a> {
    Member(&'a str),
    Team(&'a str),
}

/// The lists of the [`Rec`]s of one file.
#[derive(Debug, Default)]
pub(super) struct Arena<'a> {
    /// Team members.
    pub(super) names: Vec<&'a str>,
    /// Refs.
    pub(super) refs: Vec<(Source, &'a str)>,
    /// Guests.
    pub(super) emails: Vec<Email>,
}

/// `xs` pushed onto `list`, as their range in it.
fn push_all<T>(list: &mut Vec<T>, xs: impl IntoIterator<Item = T>) -> std::ops::Range<u32> {
    let from = list.len() as u32;
    list.extend(xs);
    from..list.len() as u32
}

impl<'a> Rec<'a> {
    /// `e` borrowed; `None` for a version with weekly blocks.
    pub(super) fn of_event(e: &'a Event, arena: &mut Arena<'a>) -> Option<Rec<'a>> {
        let body = match &e.body {
            Body::Member(m) => RecBody::Member {
                id: m.id.as_str(),
                email: m.email.clone(),
                removed: m.removed,
            },
            Body::Team(t) => RecBody::Team {
                id: t.id.as_str(),
                members: push_all(&mut arena.names, t.members.iter().map(|m| m.as_str())),
            },
            Body::Cancel(id) => RecBody::Cancel(id.as_str()),
            Body::Entitlement(x) => {
                if !x.blocks.is_empty() {
                    return None;
                }
                RecBody::Entitlement(Ent {
                    id: x.id.as_str(),
                    kind: x.kind,
                    holder: match &x.holder {
                        Holder::Member(m) => RecHolder::Member(m.as_str()),
                        Holder::Team(t) => RecHolder::Team(t.as_str()),
                    },
                    refs: push_all(
                        &mut arena.refs,
                        x.refs.iter().map(|r| (r.source, r.id.as_str())),
                    ),
                    guests: push_all(&mut arena.emails, x.guests.iter().cloned()),
                    start: x.start,
                    end: x.end,
                    tz: x.tz,
                    status: x.status,
                })
            }
        };
        Some(Rec {
            id: e.id.as_str(),
            at: e.at,
            body,
        })
    }
}

/// The events of a JSON Lines file as records borrowing its text, for `preview`'s batch reading
/// — when every line has the common shape [`scan_event`] reads, passes every check
/// [`Event::from_raw`] makes, and no version has weekly blocks. `None` otherwise: the caller
/// then reads the file with [`parse_jsonl`](crate::event::parse_jsonl), which names the first
/// bad line. So a file read here is one `parse_jsonl` accepts, read the same way (both go
/// through [`scan_event`]).
pub(super) fn scan_records(text: &str) -> Option<(Vec<Rec<'_>>, Arena<'_>)> {
    let mut recs = Vec::with_capacity(count_lines(text) + 1);
    let mut arena = Arena::default();
    let mut instants = RecentInstants::remembering();
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
    instants: &mut RecentInstants,
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

/// [`Entitlement::from_raw`](crate::event::Entitlement::from_raw), borrowing (keep the two in
/// step): `None` where it fails, and for any `blocks` (weekly blocks run the engine; on another
/// kind they are an error).
fn entitlement_record<'a>(
    r: RawEntitlement<&'a str>,
    instants: &mut RecentInstants,
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
