//! Kisi's access timeline as the simulator recorded it, in the shape `preview` prints, so the
//! two can be compared line for line.

use crate::sim::State;
use access_sync_rules::Event;
use access_sync_rules::Instant;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use access_sync_rules::time::parse_instant;
use kisi_sim::TimelineEntry;
use std::collections::{BTreeMap, BTreeSet};

/// One open interval: (e-mail, group, from, until); `until = None` still open.
pub type Line = (String, u64, String, Option<String>);

/// Intervals per (e-mail, group) from the simulator's assignment history
/// ([`kisi_sim::access_intervals`]), cut at `horizon` like `preview`.
pub fn kisi_timeline(changes: &[TimelineEntry], horizon: Instant) -> Vec<Line> {
    kisi_sim::access_intervals(changes, horizon)
        .into_iter()
        .map(|(e, g, f, u)| (e, g, format_instant(f), u.map(format_instant)))
        .collect()
}

/// `preview`'s timeline for the same events, in the same shape.
pub fn preview_timeline(mappings: &Mappings, events: &[Event], horizon: Instant) -> Vec<Line> {
    access_sync_rules::preview::preview(mappings, events.to_vec(), Some(horizon))
        .intervals
        .iter()
        .map(|i| {
            (
                i.email.as_str().to_string(),
                i.group.get(),
                format_instant(i.from),
                i.until.map(format_instant),
            )
        })
        .collect()
}

/// What Kisi grants now: (e-mail, group, valid until).
pub fn kisi_state(state: &State) -> BTreeSet<(String, u64, Option<String>)> {
    let emails: BTreeMap<u64, String> = state
        .users
        .iter()
        .map(|u| (u.id, u.email.to_lowercase()))
        .collect();
    state
        .role_assignments
        .iter()
        .map(|a| {
            (
                emails.get(&a.user_id).cloned().unwrap_or_default(),
                a.group_id,
                a.valid_until.map(format_instant),
            )
        })
        .collect()
}

/// What preview says is open at `horizon`: (e-mail, group, until).
pub fn preview_state(lines: &[Line]) -> BTreeSet<(String, u64)> {
    lines
        .iter()
        .filter(|l| l.3.is_none())
        .map(|l| (l.0.clone(), l.1))
        .collect()
}

/// An (e-mail, group) pair.
pub type Key = (String, u64);

/// The intervals of `lines` per pair, an open one ending at `end`.
pub fn intervals(lines: &[Line], end: Instant) -> BTreeMap<Key, Vec<(Instant, Instant)>> {
    let mut out: BTreeMap<Key, Vec<(Instant, Instant)>> = BTreeMap::new();
    for (email, group, from, until) in lines {
        let (Ok(from), until) = (
            parse_instant(from),
            until.as_deref().map(parse_instant).transpose(),
        ) else {
            continue;
        };
        out.entry((email.clone(), *group))
            .or_default()
            .push((from, until.ok().flatten().unwrap_or(end)));
    }
    out
}

/// The stretches of `a` that `b` does not cover: (pair, start, minutes). Excess access is
/// `uncovered(actual, wanted)`, denied access `uncovered(wanted, actual)`.
pub fn uncovered(
    a: &BTreeMap<Key, Vec<(Instant, Instant)>>,
    b: &BTreeMap<Key, Vec<(Instant, Instant)>>,
) -> Vec<(Key, Instant, i64)> {
    let mut out = Vec::new();
    for (k, spans) in a {
        let other = b.get(k).cloned().unwrap_or_default();
        for &(from, until) in spans {
            let mut pieces = vec![(from, until)];
            for &(of, ou) in &other {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(f, u)| {
                        if of >= u || ou <= f {
                            return vec![(f, u)];
                        }
                        let mut keep = Vec::new();
                        if f < of {
                            keep.push((f, of));
                        }
                        if ou < u {
                            keep.push((ou, u));
                        }
                        keep
                    })
                    .collect();
            }
            out.extend(
                pieces
                    .into_iter()
                    .filter(|(f, u)| u > f)
                    .map(|(f, u)| (k.clone(), f, (u - f).num_minutes())),
            );
        }
    }
    out
}
