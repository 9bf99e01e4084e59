//! "Joe is at the door and it won't open — why?": one person's access, explained from live
//! data.
//!
//! The timeline is the rules core's own answer (pure: [`timeline`] over `Facts` and the
//! mapping, the same code converge and `preview` run), so what is shown is what the doors do.
//! Beside it: the entitlements that reach the address with their status and the mapping lines
//! that turn them into groups, what access-sync recorded (ours, held by hand, excluded, held
//! revokes, the repair index) and what Kisi actually holds.

use crate::kisi::{KisiAssignment, KisiLookup, KisiPerson};
use crate::{DeadLetters, Operator, OperatorError};
use access_sync_engine::Store;
use access_sync_ports::{
    AccessControl, AuditEntry, EdgeScheduler, Exclusion, ExclusionList, HeldByHand, Hold,
    Ownership, RunLog, SyncStateStore, Wanted, holder_key,
};
use access_sync_rules::access::merge;
use access_sync_rules::event::Status as EventStatus;
use access_sync_rules::facts::Record;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::{Email, Facts, GroupId, Instant, Pair};
use chrono::Duration;
use serde::Serialize;
use std::collections::BTreeSet;

/// How far ahead [`Operator::explain`] looks by default.
pub const DEFAULT_HORIZON_DAYS: i64 = 14;
/// How many audit entries an explanation carries.
pub const AUDIT_LINES: u32 = 20;

/// One merged open interval of a pair, with the entitlements behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineWindow {
    /// Opens (may lie before the instant asked about, for the interval open then).
    pub from: Instant,
    /// Closes; `None`: open-ended.
    pub until: Option<Instant>,
    /// Entitlement ids.
    pub reasons: Vec<String>,
}

/// A change of a pair's access ahead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// When.
    pub at: Instant,
    /// Opens (`true`) or closes.
    pub open: bool,
}

/// Whose a Kisi assignment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldingKind {
    /// access-sync created it and changes or removes it.
    Ours,
    /// Made by hand in Kisi: left exactly as it is.
    ByHand,
    /// In a group access-sync does not manage, or not (yet) recorded either way.
    NotOurs,
}

/// A Kisi assignment of the person in one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// Kisi's id of the assignment.
    pub assignment: u64,
    /// Kisi's role.
    pub role: String,
    /// When Kisi stops honouring it.
    pub valid_until: Option<Instant>,
    /// Whose it is.
    pub kind: HoldingKind,
}

/// One group of the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupExplanation {
    /// The Kisi group.
    pub group: GroupId,
    /// Whether the mapping names the group.
    pub managed: bool,
    /// Open at the instant asked about, by the rules.
    pub open: bool,
    /// When open: until when (`None`: open-ended).
    pub until: Option<Instant>,
    /// When closed: the next opening, if one is known.
    pub next_open: Option<Instant>,
    /// The entitlements behind the current open interval.
    pub reasons: Vec<String>,
    /// The open intervals from the instant asked about to the horizon.
    pub windows: Vec<TimelineWindow>,
    /// The opens and closes strictly after the instant asked about, before the horizon.
    pub changes: Vec<Change>,
    /// The assignment access-sync recorded as its own, if any.
    pub ours: Option<Ownership>,
    /// The hand-made assignment access-sync leaves alone, if any.
    pub by_hand: Option<HeldByHand>,
    /// A revoke the brake holds (or the operator discarded), if any.
    pub held_revoke: Option<Hold>,
    /// The repair index's entry (what reconcile repairs towards), if any.
    pub wanted: Option<Wanted>,
    /// What Kisi holds for the person in this group (empty when Kisi was not read).
    pub kisi: Vec<Holding>,
}

/// An entitlement's status as the operator reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementStatus {
    /// Grants.
    Active,
    /// Not accepted yet: grants nothing.
    Pending,
    /// Unpaid: grants only with `blocked = "allow"`.
    Blocked,
    /// Passes used up: grants nothing.
    UsedUp,
    /// Cancelled: grants nothing.
    Cancelled,
}

/// A mapping key of an entitlement and the mapping line it meets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappingLine {
    /// `source:id` as the entitlement names it.
    pub reference: String,
    /// The line of the mapping entry; `None` when no mapping names it.
    pub line: Option<usize>,
    /// The groups that line opens.
    pub groups: Vec<GroupId>,
}

/// One entitlement that reaches the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntitlementLine {
    /// Its id.
    pub id: String,
    /// Its kind (`None` once cancelled: the cancel removed the version).
    pub kind: Option<String>,
    /// `member:<id>` or `team:<id>` (`None` once cancelled).
    pub holder: Option<String>,
    /// Whether the person is a guest of it rather than (a member of) its holder.
    pub guest: bool,
    /// Status.
    pub status: EntitlementStatus,
    /// Whether the status grants under the mapping's policy.
    pub grants: bool,
    /// Start and end of the current version.
    pub start: Option<Instant>,
    /// End (`None`: open-ended).
    pub end: Option<Instant>,
    /// When the latest version (or the cancel) happened.
    pub changed: Instant,
    /// Its mapping keys and the lines they meet.
    pub mappings: Vec<MappingLine>,
}

/// One person's access, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The address.
    pub email: Email,
    /// The display name, from the platform's member record.
    pub name: Option<String>,
    /// The platform member ids with this address.
    pub members: Vec<String>,
    /// The instant asked about.
    pub at: Instant,
    /// The end of the timeline.
    pub horizon: Instant,
    /// Set when a person deleted the Kisi user: access-sync leaves the address alone.
    pub excluded: Option<Exclusion>,
    /// The Kisi user id access-sync remembers.
    pub kisi_user: Option<u64>,
    /// What Kisi holds (`None` when Kisi has no such user or was not read).
    pub kisi: Option<KisiPerson>,
    /// Why Kisi was not read, if it was not.
    pub kisi_error: Option<String>,
    /// Per group: the mapped groups (or the one asked about) and any other group where
    /// access-sync or Kisi holds something for the person.
    pub groups: Vec<GroupExplanation>,
    /// Every entitlement that reaches the address.
    pub entitlements: Vec<EntitlementLine>,
    /// The newest audit entries, newest first.
    pub audit: Vec<AuditEntry>,
}

/// The open intervals, the current answer and the changes of one pair over `[at, horizon)`,
/// computed by the rules core (pure).
pub fn timeline(
    facts: &Facts,
    mappings: &Mappings,
    pair: &Pair,
    at: Instant,
    horizon: Instant,
) -> (
    access_sync_rules::access::Access,
    Vec<TimelineWindow>,
    Vec<Change>,
) {
    let access = facts.access(mappings, pair, at);
    let (parts, _cut) = facts.contributions(mappings, pair, at, horizon);
    let windows: Vec<TimelineWindow> = merge(parts)
        .into_iter()
        .filter(|m| m.window.until.is_none_or(|u| u > at) && m.window.from < horizon)
        .map(|m| TimelineWindow {
            from: m.window.from,
            until: m.window.until,
            reasons: m.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        })
        .collect();
    let mut changes = Vec::new();
    for w in &windows {
        if w.from > at {
            changes.push(Change {
                at: w.from,
                open: true,
            });
        }
        if let Some(u) = w.until
            && u > at
            && u < horizon
        {
            changes.push(Change { at: u, open: false });
        }
    }
    changes.sort_by_key(|c| c.at);
    (access, windows, changes)
}

/// The entitlements among `records` that reach `email`, with their status and mapping lines
/// (pure).
pub fn entitlement_lines(
    records: &[Record],
    facts: &Facts,
    mappings: &Mappings,
    email: &Email,
) -> Vec<EntitlementLine> {
    let guest_of: BTreeSet<&str> = facts.guest_of(email).iter().map(|i| i.as_str()).collect();
    let mut out: Vec<EntitlementLine> = records
        .iter()
        .filter_map(|r| match r {
            Record::Entitlement(e) => Some(e),
            Record::Member(_) | Record::Team(_) => None,
        })
        .map(|rec| {
            let (status, grants) = match &rec.current {
                None => (EntitlementStatus::Cancelled, false),
                Some(v) => (
                    match v.status {
                        EventStatus::Active => EntitlementStatus::Active,
                        EventStatus::Pending => EntitlementStatus::Pending,
                        EventStatus::Blocked => EntitlementStatus::Blocked,
                        EventStatus::Exhausted => EntitlementStatus::UsedUp,
                    },
                    // Per mapping line where a line sets its own `blocked` (README "Mapping
                    // file"): granted through at least one of its mapped refs.
                    {
                        let mut mapped = v
                            .refs
                            .iter()
                            .filter_map(|r| mappings.get(r.source, &r.id))
                            .peekable();
                        if mapped.peek().is_some() {
                            mapped.any(|m| Facts::grants_through(v.status, mappings, m))
                        } else {
                            Facts::grants(v.status, mappings)
                        }
                    },
                ),
            };
            let lines = rec.current.as_ref().map_or_else(Vec::new, |v| {
                v.refs
                    .iter()
                    .map(|r| {
                        let entry = mappings.get(r.source, &r.id);
                        MappingLine {
                            reference: format!("{}:{}", r.source, r.id),
                            line: entry.map(|m| m.line),
                            groups: entry.map(|m| m.groups.clone()).unwrap_or_default(),
                        }
                    })
                    .collect()
            });
            EntitlementLine {
                id: rec.id.as_str().to_string(),
                kind: rec.current.as_ref().map(|v| v.kind.as_str().to_string()),
                holder: rec.current.as_ref().map(|v| holder_key(&v.holder)),
                guest: guest_of.contains(rec.id.as_str()),
                status,
                grants,
                start: rec.start(),
                end: rec.current.as_ref().and_then(|v| v.end),
                changed: rec.at,
                mappings: lines,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn holdings(
    kisi: Option<&KisiPerson>,
    group: GroupId,
    ours: Option<&Ownership>,
    by_hand: Option<&HeldByHand>,
) -> Vec<Holding> {
    let Some(p) = kisi else { return Vec::new() };
    p.assignments
        .iter()
        .filter(|a: &&KisiAssignment| a.group == group)
        .map(|a| Holding {
            assignment: a.id,
            role: a.role.clone(),
            valid_until: a.valid_until,
            kind: if ours.is_some_and(|o| o.assignment_id == a.id) {
                HoldingKind::Ours
            } else if by_hand.is_some_and(|h| h.assignment_id == a.id) {
                HoldingKind::ByHand
            } else {
                HoldingKind::NotOurs
            },
        })
        .collect()
}

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// [`Operator::explain_until`] over the next [`DEFAULT_HORIZON_DAYS`] days.
    ///
    /// # Errors
    /// As [`Operator::explain_until`].
    pub async fn explain(
        &self,
        email: &Email,
        group: Option<GroupId>,
        at: Instant,
    ) -> Result<Explanation, OperatorError> {
        self.explain_until(email, group, at, at + Duration::days(DEFAULT_HORIZON_DAYS))
            .await
    }

    /// One person's access at `at` and until `horizon`: every mapped group (or only `group`)
    /// plus any group where access-sync or Kisi holds something for them. Kisi is read for
    /// what it actually holds; when it cannot be read, `kisi_error` says why and the rest is
    /// still answered.
    ///
    /// # Errors
    /// Store failures; no mapping stored yet.
    pub async fn explain_until(
        &self,
        email: &Email,
        group: Option<GroupId>,
        at: Instant,
        horizon: Instant,
    ) -> Result<Explanation, OperatorError> {
        let engine = self.engine();
        let store = engine.store();
        let mappings = engine.mapping(at).await?;
        let records = store.facts_for_email(email).await?;
        let facts = Facts::from_records(records.iter().cloned());
        let view = store.owner_view(email.as_str()).await?;
        let notes = store.notes(email.as_str()).await?;
        let audit = store.history(email.as_str(), AUDIT_LINES).await?;
        let (kisi, kisi_error) = match engine.kisi().person(email).await {
            Ok(p) => (p, None),
            Err(e) => (None, Some(e)),
        };
        let managed = mappings.managed_groups();
        let groups: BTreeSet<GroupId> = match group {
            Some(g) => BTreeSet::from([g]),
            None => {
                let mut g = managed.clone();
                g.extend(view.owned.iter().map(|o| o.value.pair.group));
                g.extend(view.by_hand.iter().map(|h| h.pair.group));
                g.extend(notes.holds.iter().map(|h| h.pair.group));
                g.extend(
                    kisi.iter()
                        .flat_map(|p| p.assignments.iter().map(|a| a.group)),
                );
                g
            }
        };
        let mut out = Vec::new();
        for g in groups {
            let pair = Pair {
                email: email.clone(),
                group: g,
            };
            let (access, windows, changes) = timeline(&facts, &mappings, &pair, at, horizon);
            let ours = view
                .owned
                .iter()
                .find(|o| o.value.pair.group == g)
                .map(|o| o.value.clone());
            let by_hand = view.by_hand.iter().find(|h| h.pair.group == g).cloned();
            out.push(GroupExplanation {
                group: g,
                managed: managed.contains(&g),
                open: access.open,
                until: access.until,
                next_open: access.next_open,
                reasons: access.reasons.iter().map(|r| r.as_str().into()).collect(),
                windows,
                changes,
                kisi: holdings(kisi.as_ref(), g, ours.as_ref(), by_hand.as_ref()),
                ours,
                by_hand,
                held_revoke: notes.holds.iter().find(|h| h.pair.group == g).cloned(),
                wanted: notes
                    .wanted
                    .iter()
                    .find(|(p, _)| p.group == g)
                    .map(|(_, w)| *w),
            });
        }
        let mut members = Vec::new();
        let mut name = None;
        for r in &records {
            if let Record::Member(m) = r
                && m.email.as_ref() == Some(email)
            {
                members.push(m.id.as_str().to_string());
                if name.is_none() {
                    name.clone_from(&m.name);
                }
            }
        }
        Ok(Explanation {
            email: email.clone(),
            name,
            members,
            at,
            horizon,
            excluded: view.excluded.clone(),
            kisi_user: view.kisi_user,
            kisi,
            kisi_error,
            groups: out,
            entitlements: entitlement_lines(&records, &facts, &mappings, email),
            audit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::Event;
    use access_sync_rules::time::parse_instant;

    const MAP: &str = "[[mapping]]\nsource = \"plan\"\nid = \"hot-desk\"\ngroups = [101]\n\n\
                       [[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [102]\n";

    fn t(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn facts(mappings: &Mappings) -> Facts {
        let mut f = Facts::new();
        for line in [
            r#"{"id":"m1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com","name":"Joe"}}"#,
            r#"{"id":"b1","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-08T10:00:00Z","end":"2026-12-08T11:00:00Z"}}"#,
            r#"{"id":"b2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b2","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-08T11:05:00Z","end":"2026-12-08T12:00:00Z"}}"#,
            r#"{"id":"p9","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:9","kind":"plan","refs":["plan:hot-desk","plan:gym"],"holder":{"member":"m1"},"status":"exhausted"}}"#,
            r#"{"id":"c9","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:8","kind":"plan","refs":["plan:hot-desk"],"holder":{"member":"m1"}}}"#,
            r#"{"id":"x8","at":"2026-12-07T09:00:00Z","cancel":{"entitlement":"plan:8"}}"#,
        ] {
            f.apply(&Event::parse(line).unwrap(), mappings);
        }
        f
    }

    fn room() -> Pair {
        Pair {
            email: Email::parse("joe@example.com").unwrap(),
            group: GroupId::new(102).unwrap(),
        }
    }

    #[test]
    fn the_timeline_merges_touching_bookings_and_lists_the_changes_ahead() {
        let m = Mappings::parse(MAP).unwrap();
        let f = facts(&m);
        let (access, windows, changes) = timeline(
            &f,
            &m,
            &room(),
            t("2026-12-07T10:00:00Z"),
            t("2026-12-21T10:00:00Z"),
        );
        assert!(!access.open);
        assert_eq!(access.next_open, Some(t("2026-12-08T09:55:00Z")));
        assert_eq!(
            windows,
            [TimelineWindow {
                from: t("2026-12-08T09:55:00Z"),
                until: Some(t("2026-12-08T12:05:00Z")),
                reasons: vec!["booking:b1".into(), "booking:b2".into()],
            }]
        );
        assert_eq!(
            changes,
            [
                Change {
                    at: t("2026-12-08T09:55:00Z"),
                    open: true
                },
                Change {
                    at: t("2026-12-08T12:05:00Z"),
                    open: false
                }
            ]
        );
    }

    #[test]
    fn inside_a_window_only_its_close_is_ahead_and_nothing_past_the_horizon_is() {
        let m = Mappings::parse(MAP).unwrap();
        let f = facts(&m);
        let (access, windows, changes) = timeline(
            &f,
            &m,
            &room(),
            t("2026-12-08T10:30:00Z"),
            t("2026-12-08T12:00:00Z"),
        );
        assert!(access.open);
        assert_eq!(access.until, Some(t("2026-12-08T12:05:00Z")));
        assert_eq!(windows.len(), 1);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn entitlement_lines_give_status_and_the_mapping_line_of_each_key() {
        let m = Mappings::parse(MAP).unwrap();
        let f = facts(&m);
        let email = Email::parse("joe@example.com").unwrap();
        let records: Vec<Record> = f.records().collect();
        let lines = entitlement_lines(&records, &f, &m, &email);
        let line = |id: &str| lines.iter().find(|l| l.id == id).unwrap();
        let used_up = line("plan:9");
        assert_eq!(
            (used_up.status, used_up.grants),
            (EntitlementStatus::UsedUp, false)
        );
        assert_eq!(
            used_up.mappings,
            [
                MappingLine {
                    reference: "plan:hot-desk".into(),
                    line: Some(1),
                    groups: vec![GroupId::new(101).unwrap()],
                },
                MappingLine {
                    reference: "plan:gym".into(),
                    line: None,
                    groups: vec![],
                }
            ]
        );
        assert_eq!(line("plan:8").status, EntitlementStatus::Cancelled);
        let b1 = line("booking:b1");
        assert_eq!((b1.status, b1.grants), (EntitlementStatus::Active, true));
        assert_eq!(b1.holder.as_deref(), Some("member:m1"));
        assert_eq!(b1.mappings[0].line, Some(6));
    }
}
