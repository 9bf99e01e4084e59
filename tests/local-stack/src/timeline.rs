//! Kisi's access timeline as the simulator recorded it, in the shape `preview` prints, so the
//! two can be compared line for line.

use crate::sim::{Change, State};
use access_sync_rules::Event;
use access_sync_rules::Instant;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use std::collections::{BTreeMap, BTreeSet};

/// One open interval: (e-mail, group, from, until); `until = None` still open.
pub type Line = (String, u64, String, Option<String>);

/// Intervals per (e-mail, group) from the simulator's assignment history: a replacement
/// (deleted and created at the same instant) continues the interval; cut at `horizon` like
/// `preview`.
pub fn kisi_timeline(changes: &[Change], horizon: Instant) -> Vec<Line> {
    type Spans = Vec<(Instant, Option<Instant>)>;
    let mut open: BTreeMap<(String, u64), Spans> = BTreeMap::new();
    for c in changes {
        let spans = open
            .entry((c.email.to_lowercase(), c.group_id))
            .or_default();
        if c.action == "created" {
            match spans.last_mut() {
                Some(last) if last.1 == Some(c.at) => last.1 = None,
                Some(last) if last.1.is_none() => {}
                _ => spans.push((c.at, None)),
            }
        } else if let Some(last) = spans.last_mut()
            && last.1.is_none()
        {
            if last.0 == c.at {
                spans.pop();
            } else {
                last.1 = Some(c.at);
            }
        }
    }
    let mut out = Vec::new();
    for ((email, group), spans) in open {
        for (from, until) in spans {
            if from >= horizon {
                continue;
            }
            let until = until.filter(|&u| u <= horizon);
            out.push((
                email.clone(),
                group,
                format_instant(from),
                until.map(format_instant),
            ));
        }
    }
    out
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
