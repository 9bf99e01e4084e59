//! A person's page: the doors open now and until when, a 14-day timeline per group with what
//! opens it, what Kisi actually holds (ours, held by hand, excluded), the audit history, and
//! the actions (converge now, exclude, include).
//!
//! What it shows is the operator crate's [`Operator::explain`](access_sync_operator::Operator::explain)
//! (the same answer as `access-sync explain`): the person's facts (one query), the stored
//! mapping (the engine's cache), the ownership view and the repair notes (one query each), the
//! audit history (one query) and Kisi's user and assignments (two calls). Nothing scans the
//! whole table, so the page costs the same with 10 or 10k members stored (BENCHMARKS.md).
//! This module only renders it.

use crate::html::{csrf_field, esc, table, url_enc};
use crate::svg::{Bar, Row, timeline};
use access_sync_operator::explain::AUDIT_LINES;
use access_sync_operator::{EntitlementStatus, Explanation, GroupExplanation, HoldingKind};
use access_sync_ports::AuditAction;
use access_sync_rules::Instant;
use access_sync_rules::time::format_instant;
use chrono::Duration;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Days the timeline shows.
pub const TIMELINE_DAYS: i64 = 14;

/// Whether the page lists a group: the rules open it now or in the timeline's days, or
/// access-sync or Kisi holds something for the person in it.
pub fn shown(g: &GroupExplanation) -> bool {
    g.open
        || !g.windows.is_empty()
        || g.ours.is_some()
        || g.by_hand.is_some()
        || g.held_revoke.is_some()
        || !g.kisi.is_empty()
}

/// The open intervals of a group from `now` on, as timeline bars.
pub fn bars(g: &GroupExplanation, now: Instant) -> Vec<Bar> {
    g.windows
        .iter()
        .map(|w| Bar {
            from: w.from.max(now),
            until: w.until,
            label: w.reasons.join(", "),
        })
        .collect()
}

/// Everything the page shows.
pub struct PersonPage<'a> {
    /// The operator crate's explanation, over [`TIMELINE_DAYS`] days from now.
    pub explained: &'a Explanation,
    /// Kisi group names by id.
    pub group_names: &'a BTreeMap<u64, String>,
    /// The CSRF token.
    pub csrf: &'a str,
}

/// `101 · Members` (or the id alone when Kisi's name is unknown).
pub fn group_label(names: &BTreeMap<u64, String>, g: u64) -> String {
    match names.get(&g) {
        Some(n) => format!("{g} · {n}"),
        None => format!("{g}"),
    }
}

fn when(t: Option<Instant>, none: &str) -> String {
    t.map(format_instant).unwrap_or_else(|| none.to_string())
}

/// An audit action as shown.
pub fn action_word(a: AuditAction) -> &'static str {
    match a {
        AuditAction::Grant => "grant",
        AuditAction::Revoke => "revoke",
        AuditAction::Adopt => "adopt",
        AuditAction::Skip => "skip",
        AuditAction::Hold => "hold",
        AuditAction::Brake => "brake",
        AuditAction::ByHand => "by hand",
        AuditAction::Exclude => "exclude",
        AuditAction::Include => "include",
    }
}

impl PersonPage<'_> {
    /// The page body.
    pub fn render(&self) -> String {
        let x = self.explained;
        let now = x.at;
        let mut s = String::new();
        let who = if x.members.is_empty() {
            "No member with this address is stored (a guest, or unknown).".to_string()
        } else {
            let ids = x
                .members
                .iter()
                .map(|id| format!("member {}", esc(id)))
                .collect::<Vec<_>>()
                .join("; ");
            match &x.name {
                Some(n) => format!("{} ({ids})", esc(n)),
                None => ids,
            }
        };
        let _ = write!(
            s,
            "<p class=\"lead\">{who}. Times are UTC; the clock says {}.</p>",
            format_instant(now)
        );
        if let Some(e) = &x.excluded {
            let _ = write!(
                s,
                "<div class=\"notice warn\" role=\"status\"><strong>Excluded:</strong> a person deleted this Kisi user (id {}) on {}; access-sync leaves them alone until you include them again.</div>",
                e.user_id,
                format_instant(e.since)
            );
        }
        let groups: Vec<&GroupExplanation> = x.groups.iter().filter(|g| shown(g)).collect();

        // Doors now.
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                vec![
                    esc(&group_label(self.group_names, g.group.get())),
                    if g.open {
                        "<span class=\"badge open\">open</span>".into()
                    } else {
                        "<span class=\"badge closed\">closed</span>".into()
                    },
                    if g.open {
                        esc(&when(g.until, "no end"))
                    } else {
                        "—".into()
                    },
                    esc(&when(g.changes.first().map(|c| c.at), "none known")),
                    esc(&g.reasons.join(", ")),
                ]
            })
            .collect();
        s.push_str("<section aria-labelledby=\"doors\"><h2 id=\"doors\">Doors now</h2>");
        s.push_str(&table(
            "Groups this person reaches or holds",
            &["Group", "Now", "Until", "Next change", "Because of"],
            &rows,
        ));
        s.push_str("</section>");

        // Timeline.
        let timeline_rows: Vec<(String, Vec<Bar>)> = groups
            .iter()
            .map(|g| (group_label(self.group_names, g.group.get()), bars(g, now)))
            .collect();
        let rows: Vec<Row> = timeline_rows
            .iter()
            .map(|(label, bars)| Row {
                label: label.clone(),
                bars: bars.clone(),
            })
            .collect();
        let days = (x.horizon - now).num_days().clamp(1, TIMELINE_DAYS);
        let _ = write!(
            s,
            "<section aria-labelledby=\"tl\"><h2 id=\"tl\">Next {days} days</h2>{}",
            timeline("timeline", now, days, &rows)
        );
        let mut list = Vec::new();
        for (label, bars) in &timeline_rows {
            for b in bars {
                list.push(vec![
                    esc(label),
                    esc(&format_instant(b.from)),
                    esc(&when(b.until, "no end")),
                    esc(&b.label),
                ]);
            }
        }
        s.push_str(&table(
            "When the doors open",
            &["Group", "Opens", "Closes", "Because of"],
            &list,
        ));
        s.push_str("</section>");

        // Entitlements.
        let rows: Vec<Vec<String>> = x
            .entitlements
            .iter()
            .map(|e| {
                let status = match e.status {
                    EntitlementStatus::Active => "active",
                    EntitlementStatus::Pending => "pending",
                    EntitlementStatus::Blocked => "blocked (unpaid)",
                    EntitlementStatus::UsedUp => "used up",
                    EntitlementStatus::Cancelled => "cancelled",
                };
                let maps = e
                    .mappings
                    .iter()
                    .map(|m| match m.line {
                        Some(l) => format!(
                            "{} → line {l}, groups {}",
                            m.reference,
                            m.groups
                                .iter()
                                .map(|g| g.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        None => format!("{} → no mapping", m.reference),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                vec![
                    esc(&e.id),
                    esc(&format!(
                        "{}{}",
                        e.holder.as_deref().unwrap_or(""),
                        if e.guest { " (as guest)" } else { "" }
                    )),
                    if e.grants {
                        esc(status)
                    } else {
                        format!("{} <strong>(gives nothing)</strong>", esc(status))
                    },
                    esc(&format!(
                        "{} → {}",
                        when(e.start, "—"),
                        when(e.end, "open-ended")
                    )),
                    esc(&maps),
                ]
            })
            .collect();
        s.push_str("<section aria-labelledby=\"ent\"><h2 id=\"ent\">Entitlements</h2>");
        s.push_str(&table(
            "What the platform says this person has",
            &[
                "Entitlement",
                "Held by",
                "Status",
                "From → until",
                "Mapping lines",
            ],
            &rows,
        ));
        s.push_str("</section>");

        // Kisi.
        s.push_str("<section aria-labelledby=\"kisi\"><h2 id=\"kisi\">In Kisi now</h2>");
        match (&x.kisi, &x.kisi_error) {
            (_, Some(e)) => {
                let _ = write!(
                    s,
                    "<p class=\"bad\">Kisi could not be asked: {}</p>",
                    esc(e)
                );
            }
            (None, None) => s.push_str("<p>Kisi has no user with this address.</p>"),
            (Some(user), None) => {
                let _ = write!(
                    s,
                    "<p>Kisi user {}{}.</p>",
                    user.user_id,
                    if user.access_enabled {
                        ""
                    } else {
                        ", <strong>access switched off in Kisi</strong>"
                    }
                );
                let rows: Vec<Vec<String>> = x
                    .groups
                    .iter()
                    .flat_map(|g| g.kisi.iter().map(move |h| (g.group, h)))
                    .map(|(group, h)| {
                        vec![
                            esc(&group_label(self.group_names, group.get())),
                            esc(&when(h.valid_until, "no end")),
                            match h.kind {
                                HoldingKind::Ours => "ours",
                                HoldingKind::ByHand => "held by hand (left alone)",
                                HoldingKind::NotOurs => "not ours (unmapped or manual)",
                            }
                            .into(),
                        ]
                    })
                    .collect();
                s.push_str(&table(
                    "Kisi's group assignments of this user",
                    &["Group", "Valid until", "Whose"],
                    &rows,
                ));
            }
        }
        s.push_str("</section>");

        // Actions.
        let e = esc(x.email.as_str());
        let token = csrf_field(self.csrf);
        let _ = write!(
            s,
            "<section aria-labelledby=\"act\"><h2 id=\"act\">Actions</h2><div class=\"actions\">\
<form method=\"post\" action=\"/people/converge\">{token}<input type=\"hidden\" name=\"email\" value=\"{e}\">\
<button type=\"submit\">Converge now</button> <span class=\"hint\">make Kisi match the rules for this person in every mapped group</span></form>"
        );
        if x.excluded.is_some() {
            let _ = write!(
                s,
                "<form method=\"post\" action=\"/people/include\">{token}<input type=\"hidden\" name=\"email\" value=\"{e}\">\
<button type=\"submit\">Include again</button> <span class=\"hint\">lift the exclusion; the Kisi user is found or created again</span></form>"
            );
        } else {
            let _ = write!(
                s,
                "<form method=\"post\" action=\"/people/exclude\">{token}<input type=\"hidden\" name=\"email\" value=\"{e}\">\
<button type=\"submit\" class=\"danger\">Exclude</button> <span class=\"hint\">access-sync grants this person nothing and takes back what it granted (hand-made access stays)</span></form>"
            );
        }
        s.push_str("</div></section>");

        // Audit.
        let rows: Vec<Vec<String>> = x
            .audit
            .iter()
            .map(|a| {
                vec![
                    esc(&format_instant(a.at)),
                    action_word(a.action).into(),
                    a.pair
                        .as_ref()
                        .map(|p| esc(&group_label(self.group_names, p.group.get())))
                        .unwrap_or_default(),
                    esc(&a.cause),
                ]
            })
            .collect();
        let _ = write!(
            s,
            "<section aria-labelledby=\"hist\"><h2 id=\"hist\">History</h2>{}<p><a href=\"/activity?email={}\">All of this person's activity</a></p></section>",
            table(
                &format!("The newest {AUDIT_LINES} audit entries"),
                &["When", "What", "Group", "Why"],
                &rows
            ),
            url_enc(x.email.as_str())
        );
        s
    }
}

/// The horizon of a person's page from `now`.
pub fn horizon(now: Instant) -> Instant {
    now + Duration::days(TIMELINE_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_operator::{Holding, TimelineWindow};
    use access_sync_rules::time::parse_instant;
    use access_sync_rules::{Email, GroupId};

    fn t(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn group(id: i64) -> GroupExplanation {
        GroupExplanation {
            group: GroupId::new(id).unwrap(),
            managed: true,
            open: false,
            until: None,
            next_open: None,
            reasons: Vec::new(),
            windows: Vec::new(),
            changes: Vec::new(),
            ours: None,
            by_hand: None,
            held_revoke: None,
            wanted: None,
            kisi: Vec::new(),
        }
    }

    #[test]
    fn the_page_shows_the_groups_reached_their_bars_from_now_and_kisi_by_whose() {
        let now = t("2026-12-07T09:00:00Z");
        let mut open = group(101);
        open.open = true;
        open.until = Some(t("2026-12-10T00:00:00Z"));
        open.reasons = vec!["plan:<p1>".into()];
        open.windows = vec![TimelineWindow {
            from: t("2026-12-07T08:00:00Z"),
            until: Some(t("2026-12-10T00:00:00Z")),
            reasons: vec!["plan:<p1>".into()],
        }];
        open.changes = vec![access_sync_operator::Change {
            at: t("2026-12-10T00:00:00Z"),
            open: false,
        }];
        open.kisi = vec![Holding {
            assignment: 7,
            role: "group_basic".into(),
            valid_until: None,
            kind: HoldingKind::ByHand,
        }];
        let nothing = group(202);
        assert!(shown(&open));
        assert!(!shown(&nothing));
        assert_eq!(
            bars(&open, now),
            vec![Bar {
                from: now,
                until: Some(t("2026-12-10T00:00:00Z")),
                label: "plan:<p1>".into()
            }]
        );
        let x = Explanation {
            email: Email::parse("joe@example.com").unwrap(),
            name: Some("Joe <Bloggs>".into()),
            members: vec!["m1".into()],
            at: now,
            horizon: horizon(now),
            excluded: None,
            kisi_user: Some(5),
            kisi: Some(access_sync_operator::KisiPerson {
                user_id: 5,
                access_enabled: true,
                assignments: Vec::new(),
            }),
            kisi_error: None,
            groups: vec![open, nothing],
            entitlements: Vec::new(),
            audit: Vec::new(),
        };
        let names = BTreeMap::from([(101, "Members".to_string())]);
        let html = PersonPage {
            explained: &x,
            group_names: &names,
            csrf: "tok",
        }
        .render();
        assert!(html.contains("Joe &lt;Bloggs&gt; (member m1)"), "{html}");
        assert!(html.contains("101 · Members"), "{html}");
        assert!(html.contains("<td>101 · Members</td>"), "{html}");
        assert!(!html.contains("<td>202</td>"), "{html}");
        assert!(html.contains("plan:&lt;p1&gt;"), "{html}");
        assert!(html.contains("2026-12-10T00:00:00Z"), "{html}");
        assert!(html.contains("held by hand (left alone)"), "{html}");
        assert!(html.contains("/people/exclude"), "{html}");
    }
}
