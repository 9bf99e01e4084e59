//! A person's page: the doors open now and until when, a 14-day timeline per group with what
//! opens it, what Kisi actually holds (ours, held by hand, excluded), the audit history, and
//! the actions (converge now, exclude, include).
//!
//! Everything is read for one address: the person's facts (one query), the stored mapping (the
//! engine's cache), the ownership view (one query), the audit history (one query) and Kisi's
//! user and assignments (two calls). Nothing scans the whole table, so the page costs the same
//! with 10 or 10k members stored (BENCHMARKS.md).

use crate::html::{csrf_field, esc, table, url_enc};
use crate::svg::{Bar, Row, timeline};
use access_sync_kisi::{RoleAssignment, User};
use access_sync_operator::{EntitlementLine, EntitlementStatus};
use access_sync_ports::{AuditAction, AuditEntry, OwnerView};
use access_sync_rules::access::merge;
use access_sync_rules::facts::{Facts, Record};
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, GroupId, Instant, Pair};
use chrono::Duration;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Days the timeline shows.
pub const TIMELINE_DAYS: i64 = 14;
/// Audit entries shown.
pub const AUDIT_LIMIT: u32 = 50;

/// One managed group as it stands for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNow {
    /// The group.
    pub group: GroupId,
    /// Open now.
    pub open: bool,
    /// When open: until when (`None`: no end).
    pub until: Option<Instant>,
    /// The next change after now, if any.
    pub next_change: Option<Instant>,
    /// What opens it now.
    pub reasons: Vec<String>,
    /// The open intervals over the timeline's days.
    pub bars: Vec<Bar>,
}

/// What the rules say for one address over the next days: one entry per managed group that
/// the person is open in now or at some time in the window (or that any fact reaches).
pub fn doors(
    records: Vec<Record>,
    mappings: &Mappings,
    email: &Email,
    now: Instant,
) -> Vec<GroupNow> {
    let facts = Facts::from_records(records);
    let hi = now + Duration::days(TIMELINE_DAYS);
    let mut out = Vec::new();
    for group in mappings.managed_groups() {
        let pair = Pair {
            email: email.clone(),
            group,
        };
        let (parts, _) = facts.contributions(mappings, &pair, now, hi);
        let access = facts.access(mappings, &pair, now);
        if parts.is_empty() && !access.open {
            continue;
        }
        let bars = merge(parts)
            .into_iter()
            .filter(|m| m.window.until.is_none_or(|u| u > now) && m.window.from < hi)
            .map(|m| Bar {
                from: m.window.from.max(now),
                until: m.window.until,
                label: m
                    .reasons
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect();
        out.push(GroupNow {
            group,
            open: access.open,
            until: access.until,
            next_change: access.next_change,
            reasons: access
                .reasons
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            bars,
        });
    }
    out
}

/// The member names and ids the facts hold for the address.
pub fn names(records: &[Record], email: &Email) -> Vec<(String, Option<String>)> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Member(m) if m.email.as_ref() == Some(email) => {
                Some((m.id.as_str().to_string(), m.name.clone()))
            }
            _ => None,
        })
        .collect()
}

/// What Kisi holds for the person, as read for the page.
pub enum KisiState {
    /// No Kisi user has the address.
    NoUser,
    /// The user and its group assignments.
    User(User, Vec<RoleAssignment>),
    /// Kisi could not be asked (the message).
    Unavailable(String),
}

/// Everything the page shows.
pub struct PersonPage<'a> {
    /// The address.
    pub email: &'a Email,
    /// Member ids and names with the address.
    pub members: Vec<(String, Option<String>)>,
    /// Managed groups reached.
    pub groups: Vec<GroupNow>,
    /// Kisi group names by id.
    pub group_names: &'a BTreeMap<u64, String>,
    /// The ownership view.
    pub owner: OwnerView,
    /// Kisi.
    pub kisi: KisiState,
    /// The entitlements that reach the address, with status and mapping lines.
    pub entitlements: Vec<EntitlementLine>,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
    /// The clock.
    pub now: Instant,
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
        let mut s = String::new();
        let who = if self.members.is_empty() {
            "No member with this address is stored (a guest, or unknown).".to_string()
        } else {
            self.members
                .iter()
                .map(|(id, name)| match name {
                    Some(n) => format!("{} (member {})", esc(n), esc(id)),
                    None => format!("member {}", esc(id)),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = write!(
            s,
            "<p class=\"lead\">{who}. Times are UTC; the clock says {}.</p>",
            format_instant(self.now)
        );
        if let Some(x) = &self.owner.excluded {
            let _ = write!(
                s,
                "<div class=\"notice warn\" role=\"status\"><strong>Excluded:</strong> a person deleted this Kisi user (id {}) on {}; access-sync leaves them alone until you include them again.</div>",
                x.user_id,
                format_instant(x.since)
            );
        }

        // Doors now.
        let rows: Vec<Vec<String>> = self
            .groups
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
                    esc(&when(g.next_change, "none known")),
                    esc(&g.reasons.join(", ")),
                ]
            })
            .collect();
        s.push_str("<section aria-labelledby=\"doors\"><h2 id=\"doors\">Doors now</h2>");
        s.push_str(&table(
            "Managed groups this person reaches",
            &["Group", "Now", "Until", "Next change", "Because of"],
            &rows,
        ));
        s.push_str("</section>");

        // Timeline.
        let rows: Vec<Row> = self
            .groups
            .iter()
            .map(|g| Row {
                label: group_label(self.group_names, g.group.get()),
                bars: g.bars.clone(),
            })
            .collect();
        let _ = write!(
            s,
            "<section aria-labelledby=\"tl\"><h2 id=\"tl\">Next {TIMELINE_DAYS} days</h2>{}",
            timeline("timeline", self.now, TIMELINE_DAYS, &rows)
        );
        let mut list = Vec::new();
        for g in &self.groups {
            for b in &g.bars {
                list.push(vec![
                    esc(&group_label(self.group_names, g.group.get())),
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
        let rows: Vec<Vec<String>> = self
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
        match &self.kisi {
            KisiState::NoUser => s.push_str("<p>Kisi has no user with this address.</p>"),
            KisiState::Unavailable(e) => {
                let _ = write!(
                    s,
                    "<p class=\"bad\">Kisi could not be asked: {}</p>",
                    esc(e)
                );
            }
            KisiState::User(user, assignments) => {
                let _ = write!(
                    s,
                    "<p>Kisi user {} ({}){}.</p>",
                    user.id.0,
                    esc(&user.email),
                    if user.access_enabled {
                        ""
                    } else {
                        ", <strong>access switched off in Kisi</strong>"
                    }
                );
                let rows: Vec<Vec<String>> = assignments
                    .iter()
                    .map(|a| {
                        let ours = self
                            .owner
                            .owned
                            .iter()
                            .any(|o| o.value.assignment_id == a.id.0);
                        let by_hand = self.owner.by_hand.iter().any(|h| h.assignment_id == a.id.0);
                        let whose = if ours {
                            "ours"
                        } else if by_hand {
                            "held by hand (left alone)"
                        } else {
                            "not ours (unmapped or manual)"
                        };
                        vec![
                            esc(&group_label(self.group_names, a.group.0)),
                            esc(&when(a.valid_until, "no end")),
                            whose.into(),
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
        let e = esc(self.email.as_str());
        let token = csrf_field(self.csrf);
        let _ = write!(
            s,
            "<section aria-labelledby=\"act\"><h2 id=\"act\">Actions</h2><div class=\"actions\">\
<form method=\"post\" action=\"/people/converge\">{token}<input type=\"hidden\" name=\"email\" value=\"{e}\">\
<button type=\"submit\">Converge now</button> <span class=\"hint\">make Kisi match the rules for this person in every mapped group</span></form>"
        );
        if self.owner.excluded.is_some() {
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
        let rows: Vec<Vec<String>> = self
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
                &format!("The newest {AUDIT_LIMIT} audit entries"),
                &["When", "What", "Group", "Why"],
                &rows
            ),
            url_enc(self.email.as_str())
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::event::parse_jsonl;
    use access_sync_rules::time::parse_instant;

    const MAPPINGS: &str = r#"
[defaults]
lead_minutes = 15
lag_minutes = 5
[[mapping]]
source = "plan"
id = "hot"
groups = [101]
[[mapping]]
source = "resource"
id = "room"
groups = [201]
"#;

    fn facts_of(events: &str, mappings: &Mappings) -> Vec<Record> {
        let mut facts = Facts::new();
        for (_, ev) in parse_jsonl(events).unwrap() {
            facts.apply(&ev, mappings);
        }
        facts.records().collect()
    }

    #[test]
    fn doors_show_what_is_open_now_and_each_booking_in_the_next_days() {
        let m = Mappings::parse(MAPPINGS).unwrap();
        let events = r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com","name":"Joe"}}
{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:p1","kind":"plan","refs":["plan:hot"],"holder":{"member":"m1"},"start":"2026-12-07T08:00:00Z","end":"2026-12-10T00:00:00Z"}}
{"id":"3","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-09T10:00:00Z","end":"2026-12-09T11:00:00Z"}}
"#;
        let records = facts_of(events, &m);
        let email = Email::parse("joe@example.com").unwrap();
        let now = parse_instant("2026-12-07T09:00:00Z").unwrap();
        let g = doors(records.clone(), &m, &email, now);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].group.get(), 101);
        assert!(g[0].open);
        assert_eq!(
            g[0].until,
            Some(parse_instant("2026-12-10T00:00:00Z").unwrap())
        );
        assert_eq!(g[0].reasons, vec!["plan:p1".to_string()]);
        assert_eq!(g[1].group.get(), 201);
        assert!(!g[1].open);
        assert_eq!(
            g[1].bars,
            vec![Bar {
                from: parse_instant("2026-12-09T09:45:00Z").unwrap(),
                until: Some(parse_instant("2026-12-09T11:05:00Z").unwrap()),
                label: "booking:b1".into()
            }]
        );
        assert_eq!(
            names(&records, &email),
            vec![("m1".to_string(), Some("Joe".to_string()))]
        );
    }

    #[test]
    fn a_person_nothing_reaches_has_no_doors() {
        let m = Mappings::parse(MAPPINGS).unwrap();
        let email = Email::parse("nobody@example.com").unwrap();
        let now = parse_instant("2026-12-07T09:00:00Z").unwrap();
        assert!(doors(Vec::new(), &m, &email, now).is_empty());
    }
}
