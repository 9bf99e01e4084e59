//! The facts the rules work on: the latest version of every member, team and entitlement, with
//! the few instants the semantics need from their history (when an e-mail address started, when
//! an entitlement was first seen).
//!
//! Only latest versions are kept. That is enough because nothing is granted in the past
//! (ACCESS-MODEL rule 3): a later version replaces an earlier one from its `at` onward, and the
//! live system (and `preview`, which is built from the same operations) evaluates access only at
//! or after the `at` of every fact it holds. History lives in Kisi and in the audit log.
//!
//! [`Facts::apply`] applies one event, ignoring stale versions, and returns the (e-mail, group)
//! pairs whose access it can change, so that a handler converges only those.

use crate::event::{Body, Entitlement, Event, Holder, MemberEvent, Status, TeamEvent};
use crate::ids::{Email, EntitlementId, GroupId, MemberId, Pair, TeamId};
use crate::mapping::{BlockedPolicy, Mappings};
use crate::time::Instant;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The latest state of a member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// Platform id.
    pub id: MemberId,
    /// `at` of the latest member event.
    pub at: Instant,
    /// Current address, if any.
    pub email: Option<Email>,
    /// Since when the member has had this address without a break (rule 6): access for the
    /// address starts no earlier.
    pub email_since: Instant,
    /// Removed members get nothing.
    pub removed: bool,
    /// Display name.
    pub name: Option<String>,
}

impl MemberRecord {
    /// The address access is granted to: none while removed.
    pub fn active_email(&self) -> Option<&Email> {
        if self.removed {
            None
        } else {
            self.email.as_ref()
        }
    }
}

/// The latest member list of a team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamRecord {
    /// Platform id.
    pub id: TeamId,
    /// `at` of the latest team event.
    pub at: Instant,
    /// Every current member.
    pub members: Vec<MemberId>,
}

/// The latest version of an entitlement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntitlementRecord {
    /// Stable id.
    pub id: EntitlementId,
    /// `at` of the first entitlement event that made it known: its start when it has none.
    pub first_seen: Option<Instant>,
    /// `at` of the latest version (or cancel).
    pub at: Instant,
    /// The latest version; `None` once cancelled.
    pub current: Option<Entitlement>,
}

impl EntitlementRecord {
    /// The start of the current version: its own, else when the record was first seen.
    pub fn start(&self) -> Option<Instant> {
        let e = self.current.as_ref()?;
        Some(e.start.or(self.first_seen).unwrap_or(self.at))
    }
}

/// Any stored fact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Record {
    /// A member.
    Member(MemberRecord),
    /// A team.
    Team(TeamRecord),
    /// An entitlement.
    Entitlement(EntitlementRecord),
}

/// Something worth telling the operator that is not an error (ACCESS-MODEL §3, warnings).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Warning {
    /// A member has no e-mail address and so gets nothing.
    MemberWithoutEmail(MemberId),
    /// An entitlement is held by a team no team event described: it has no members.
    TeamNeverDescribed(TeamId),
    /// A cancel named an entitlement never seen.
    CancelOfUnknown(EntitlementId),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MemberWithoutEmail(m) => {
                write!(f, "member {m:?} has no e-mail address and gets no access")
            }
            Warning::TeamNeverDescribed(t) => write!(
                f,
                "team {t:?} holds an entitlement but no team event described it: it has no members"
            ),
            Warning::CancelOfUnknown(e) => write!(f, "cancel of unknown entitlement {e:?}"),
        }
    }
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The stored record that changed; `None` when the event was stale and ignored.
    pub record: Option<Record>,
    /// The pairs whose access the event can change (before ∪ after).
    pub pairs: BTreeSet<Pair>,
    /// Warnings raised by this event.
    pub warnings: Vec<Warning>,
}

/// The facts, indexed for the questions converge asks.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    members: HashMap<MemberId, MemberRecord>,
    teams: HashMap<TeamId, TeamRecord>,
    entitlements: HashMap<EntitlementId, EntitlementRecord>,
    by_email: HashMap<Email, Vec<MemberId>>,
    teams_of: HashMap<MemberId, Vec<TeamId>>,
    held_by_member: HashMap<MemberId, Vec<EntitlementId>>,
    held_by_team: HashMap<TeamId, Vec<EntitlementId>>,
    guest_of: HashMap<Email, Vec<EntitlementId>>,
}

fn add<K: std::hash::Hash + Eq, V: PartialEq>(m: &mut HashMap<K, Vec<V>>, k: K, v: V) {
    let list = m.entry(k).or_default();
    if !list.contains(&v) {
        list.push(v);
    }
}

fn remove<K: std::hash::Hash + Eq, V: PartialEq>(m: &mut HashMap<K, Vec<V>>, k: &K, v: &V) {
    if let Some(list) = m.get_mut(k) {
        list.retain(|x| x != v);
        if list.is_empty() {
            m.remove(k);
        }
    }
}

impl Facts {
    /// Empty facts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds facts from stored records (e.g. the neighbourhood of one e-mail loaded from the
    /// store). Later records replace earlier ones with the same id.
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Self {
        let mut f = Facts::new();
        for r in records {
            f.insert(r);
        }
        f
    }

    /// Stores a record as it is, replacing any record with the same id (no staleness check).
    pub fn insert(&mut self, r: Record) {
        match r {
            Record::Member(m) => self.put_member(m),
            Record::Team(t) => self.put_team(t),
            Record::Entitlement(e) => self.put_entitlement(e),
        }
    }

    /// A member by id.
    pub fn member(&self, id: &MemberId) -> Option<&MemberRecord> {
        self.members.get(id)
    }

    /// A team by id.
    pub fn team(&self, id: &TeamId) -> Option<&TeamRecord> {
        self.teams.get(id)
    }

    /// An entitlement by id.
    pub fn entitlement(&self, id: &EntitlementId) -> Option<&EntitlementRecord> {
        self.entitlements.get(id)
    }

    /// Every entitlement record.
    pub fn entitlements_iter(&self) -> impl Iterator<Item = &EntitlementRecord> {
        self.entitlements.values()
    }

    /// Every stored record (for tests and exports), in no particular order.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.members
            .values()
            .cloned()
            .map(Record::Member)
            .chain(self.teams.values().cloned().map(Record::Team))
            .chain(self.entitlements.values().cloned().map(Record::Entitlement))
    }

    /// Active members whose address is `email`.
    pub fn members_with_email(&self, email: &Email) -> &[MemberId] {
        self.by_email.get(email).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Teams whose current list names `member`.
    pub fn teams_of(&self, member: &MemberId) -> &[TeamId] {
        self.teams_of.get(member).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Entitlements held directly by `holder`.
    pub fn held_by(&self, holder: &Holder) -> &[EntitlementId] {
        match holder {
            Holder::Member(m) => self.held_by_member(m),
            Holder::Team(t) => self.held_by_team(t),
        }
    }

    /// Entitlements held directly by a member.
    pub fn held_by_member(&self, m: &MemberId) -> &[EntitlementId] {
        self.held_by_member.get(m).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Entitlements held by a team.
    pub fn held_by_team(&self, t: &TeamId) -> &[EntitlementId] {
        self.held_by_team.get(t).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Entitlements that name `email` as a guest.
    pub fn guest_of(&self, email: &Email) -> &[EntitlementId] {
        self.guest_of.get(email).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Applies one event with the live engine's rules: an entitlement, cancel, member or team
    /// event whose `at` is earlier than the version already held is stale and changes nothing
    /// (an equal `at` replaces: the later delivery wins). Delivery-id de-duplication is the
    /// caller's (the idempotency store, or `preview`).
    pub fn apply(&mut self, ev: &Event, mappings: &Mappings) -> Applied {
        let mut pairs = BTreeSet::new();
        let mut warnings = Vec::new();
        let record = match &ev.body {
            Body::Member(m) => self.apply_member(ev.at, m, mappings, &mut pairs, &mut warnings),
            Body::Team(t) => self.apply_team(ev.at, t, mappings, &mut pairs),
            Body::Entitlement(e) => {
                self.apply_entitlement(ev.at, Some(e), &e.id, mappings, &mut pairs)
            }
            Body::Cancel(id) => {
                if !self
                    .entitlements
                    .get(id)
                    .is_some_and(|r| r.current.is_some() || r.first_seen.is_some())
                {
                    warnings.push(Warning::CancelOfUnknown(id.clone()));
                }
                self.apply_entitlement(ev.at, None, id, mappings, &mut pairs)
            }
        };
        Applied {
            record,
            pairs,
            warnings,
        }
    }

    fn apply_member(
        &mut self,
        at: Instant,
        m: &MemberEvent,
        mappings: &Mappings,
        pairs: &mut BTreeSet<Pair>,
        warnings: &mut Vec<Warning>,
    ) -> Option<Record> {
        let old = self.members.get(&m.id);
        if old.is_some_and(|o| at < o.at) {
            return None;
        }
        let keeps_address = old.is_some_and(|o| {
            !m.removed && o.active_email().is_some() && o.active_email() == m.email.as_ref()
        });
        let email_since = match old {
            Some(o) if keeps_address => o.email_since,
            _ => at,
        };
        if m.email.is_none() && !m.removed {
            warnings.push(Warning::MemberWithoutEmail(m.id.clone()));
        }
        let old_email = old.and_then(|o| o.active_email().cloned());
        let rec = MemberRecord {
            id: m.id.clone(),
            at,
            email: m.email.clone(),
            email_since,
            removed: m.removed,
            name: m.name.clone(),
        };
        let new_email = rec.active_email().cloned();
        self.put_member(rec.clone());
        let groups = self.groups_reachable_from_member(&m.id, mappings);
        for email in old_email.into_iter().chain(new_email) {
            for &group in &groups {
                pairs.insert(Pair {
                    email: email.clone(),
                    group,
                });
            }
        }
        Some(Record::Member(rec))
    }

    fn apply_team(
        &mut self,
        at: Instant,
        t: &TeamEvent,
        mappings: &Mappings,
        pairs: &mut BTreeSet<Pair>,
    ) -> Option<Record> {
        let old_members = match self.teams.get(&t.id) {
            Some(o) if at < o.at => return None,
            Some(o) => o.members.clone(),
            None => vec![],
        };
        let rec = TeamRecord {
            id: t.id.clone(),
            at,
            members: t.members.clone(),
        };
        self.put_team(rec.clone());
        let holder = Holder::Team(t.id.clone());
        let groups: BTreeSet<GroupId> = self
            .held_by(&holder)
            .iter()
            .flat_map(|id| self.groups_of(id, mappings))
            .collect();
        for mid in old_members.iter().chain(&t.members) {
            if let Some(email) = self.members.get(mid).and_then(MemberRecord::active_email) {
                for &group in &groups {
                    pairs.insert(Pair {
                        email: email.clone(),
                        group,
                    });
                }
            }
        }
        Some(Record::Team(rec))
    }

    fn apply_entitlement(
        &mut self,
        at: Instant,
        version: Option<&Entitlement>,
        id: &EntitlementId,
        mappings: &Mappings,
        pairs: &mut BTreeSet<Pair>,
    ) -> Option<Record> {
        let old = self.entitlements.get(id);
        if old.is_some_and(|o| at < o.at) {
            return None;
        }
        if let Some(o) = old.and_then(|o| o.current.as_ref()) {
            self.reach(o, mappings, pairs);
        }
        let first_seen = old.and_then(|o| o.first_seen).or(version.map(|_| at));
        let rec = EntitlementRecord {
            id: id.clone(),
            first_seen,
            at,
            current: version.cloned(),
        };
        self.put_entitlement(rec.clone());
        if let Some(v) = version {
            self.reach(v, mappings, pairs);
        }
        Some(Record::Entitlement(rec))
    }

    /// Every (e-mail, group) an entitlement version can reach now, whatever its status.
    fn reach(&self, e: &Entitlement, mappings: &Mappings, pairs: &mut BTreeSet<Pair>) {
        let groups = groups_of_version(e, mappings);
        if groups.is_empty() {
            return;
        }
        let mut emails: Vec<&Email> = e.guests.iter().collect();
        match &e.holder {
            Holder::Member(m) => {
                emails.extend(self.members.get(m).and_then(MemberRecord::active_email))
            }
            Holder::Team(t) => {
                if let Some(team) = self.teams.get(t) {
                    emails.extend(
                        team.members.iter().filter_map(|m| {
                            self.members.get(m).and_then(MemberRecord::active_email)
                        }),
                    );
                }
            }
        }
        for email in emails {
            for &group in &groups {
                pairs.insert(Pair {
                    email: email.clone(),
                    group,
                });
            }
        }
    }

    /// Groups an entitlement's current version maps to.
    fn groups_of(&self, id: &EntitlementId, mappings: &Mappings) -> BTreeSet<GroupId> {
        self.entitlements
            .get(id)
            .and_then(|r| r.current.as_ref())
            .map(|e| groups_of_version(e, mappings))
            .unwrap_or_default()
    }

    fn groups_reachable_from_member(&self, m: &MemberId, mappings: &Mappings) -> BTreeSet<GroupId> {
        let mut ids: Vec<&EntitlementId> =
            self.held_by(&Holder::Member(m.clone())).iter().collect();
        for t in self.teams_of(m) {
            ids.extend(self.held_by(&Holder::Team(t.clone())));
        }
        ids.into_iter()
            .flat_map(|id| self.groups_of(id, mappings))
            .collect()
    }

    /// Warnings about the facts as they stand: holders that were never described.
    pub fn dangling(&self) -> BTreeSet<Warning> {
        let mut out = BTreeSet::new();
        for r in self.entitlements.values() {
            let Some(e) = &r.current else { continue };
            match &e.holder {
                Holder::Team(t) if !self.teams.contains_key(t) => {
                    out.insert(Warning::TeamNeverDescribed(t.clone()));
                }
                Holder::Member(m) if !self.members.contains_key(m) => {
                    out.insert(Warning::MemberWithoutEmail(m.clone()));
                }
                _ => {}
            }
        }
        out
    }

    fn put_member(&mut self, rec: MemberRecord) {
        if let Some(old) = self.members.get(&rec.id)
            && let Some(e) = old.active_email().cloned()
        {
            remove(&mut self.by_email, &e, &rec.id);
        }
        if let Some(e) = rec.active_email() {
            add(&mut self.by_email, e.clone(), rec.id.clone());
        }
        self.members.insert(rec.id.clone(), rec);
    }

    fn put_team(&mut self, rec: TeamRecord) {
        if let Some(old) = self.teams.get(&rec.id) {
            for m in old.members.clone() {
                remove(&mut self.teams_of, &m, &rec.id);
            }
        }
        for m in &rec.members {
            add(&mut self.teams_of, m.clone(), rec.id.clone());
        }
        self.teams.insert(rec.id.clone(), rec);
    }

    fn put_entitlement(&mut self, rec: EntitlementRecord) {
        if let Some(old) = self
            .entitlements
            .get(&rec.id)
            .and_then(|o| o.current.as_ref())
        {
            match &old.holder {
                Holder::Member(m) => remove(&mut self.held_by_member, m, &rec.id),
                Holder::Team(t) => remove(&mut self.held_by_team, t, &rec.id),
            }
            for g in &old.guests {
                remove(&mut self.guest_of, g, &rec.id);
            }
        }
        if let Some(e) = &rec.current {
            match &e.holder {
                Holder::Member(m) => add(&mut self.held_by_member, m.clone(), rec.id.clone()),
                Holder::Team(t) => add(&mut self.held_by_team, t.clone(), rec.id.clone()),
            }
            for g in &e.guests {
                add(&mut self.guest_of, g.clone(), rec.id.clone());
            }
        }
        self.entitlements.insert(rec.id.clone(), rec);
    }

    /// Whether a status grants under the mapping's policy (rule 4).
    pub fn grants(status: Status, mappings: &Mappings) -> bool {
        match status {
            Status::Active => true,
            Status::Pending | Status::Exhausted => false,
            Status::Blocked => mappings.defaults.blocked == BlockedPolicy::Allow,
        }
    }
}

/// Groups a version's refs map to.
pub(crate) fn groups_of_version(e: &Entitlement, mappings: &Mappings) -> BTreeSet<GroupId> {
    e.refs
        .iter()
        .filter_map(|r| mappings.get(r.source, &r.id))
        .flat_map(|m| m.groups.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mappings() -> Mappings {
        Mappings::parse(
            "[[mapping]]\nsource = \"plan\"\nid = \"hot\"\ngroups = [1]\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [2, 3]\n",
        )
        .unwrap()
    }

    fn ev(line: &str) -> Event {
        Event::parse(line).unwrap()
    }

    fn pairs(a: &Applied) -> Vec<String> {
        a.pairs
            .iter()
            .map(|p| format!("{}/{}", p.email, p.group))
            .collect()
    }

    #[test]
    fn a_booking_event_touches_its_holder_in_every_mapped_group() {
        let (mut f, m) = (Facts::new(), mappings());
        f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#),
            &m,
        );
        let a = f.apply(&ev(r#"{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"b","kind":"booking","refs":["resource:room","plan:nope"],"holder":{"member":"m1"},"guests":["G@x.io"]}}"#), &m);
        assert_eq!(
            pairs(&a),
            vec!["a@x.io/2", "a@x.io/3", "g@x.io/2", "g@x.io/3"]
        );
    }

    #[test]
    fn an_email_change_touches_the_old_and_the_new_address() {
        let (mut f, m) = (Facts::new(), mappings());
        f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#),
            &m,
        );
        f.apply(&ev(r#"{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"p","kind":"plan","refs":["plan:hot"],"holder":{"member":"m1"}}}"#), &m);
        let a = f.apply(
            &ev(r#"{"id":"3","at":"2026-12-08T08:00:00Z","member":{"id":"m1","email":"b@x.io"}}"#),
            &m,
        );
        assert_eq!(pairs(&a), vec!["a@x.io/1", "b@x.io/1"]);
        assert_eq!(
            f.members_with_email(&Email::parse("a@x.io").unwrap()),
            &[] as &[MemberId]
        );
        assert_eq!(
            f.member(&"m1".into()).unwrap().email_since.to_rfc3339(),
            "2026-12-08T08:00:00+00:00"
        );
    }

    #[test]
    fn a_change_of_case_only_keeps_the_address_running() {
        let (mut f, m) = (Facts::new(), mappings());
        f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#),
            &m,
        );
        f.apply(&ev(r#"{"id":"2","at":"2026-12-09T08:00:00Z","member":{"id":"m1","email":"A@X.io","name":"A"}}"#), &m);
        assert_eq!(
            f.member(&"m1".into()).unwrap().email_since.to_rfc3339(),
            "2026-12-07T08:00:00+00:00"
        );
    }

    #[test]
    fn a_team_change_touches_members_who_left_and_joined() {
        let (mut f, m) = (Facts::new(), mappings());
        for l in [
            r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#,
            r#"{"id":"2","at":"2026-12-07T08:00:00Z","member":{"id":"m2","email":"b@x.io"}}"#,
            r#"{"id":"3","at":"2026-12-07T08:00:00Z","member":{"id":"m3","email":"c@x.io"}}"#,
            r#"{"id":"4","at":"2026-12-07T08:00:00Z","team":{"id":"t","members":["m1","m2"]}}"#,
            r#"{"id":"5","at":"2026-12-07T08:00:00Z","entitlement":{"id":"p","kind":"plan","refs":["plan:hot"],"holder":{"team":"t"}}}"#,
        ] {
            f.apply(&ev(l), &m);
        }
        let a = f.apply(
            &ev(
                r#"{"id":"6","at":"2026-12-08T08:00:00Z","team":{"id":"t","members":["m1","m3"]}}"#,
            ),
            &m,
        );
        assert_eq!(pairs(&a), vec!["a@x.io/1", "b@x.io/1", "c@x.io/1"]);
    }

    #[test]
    fn a_stale_version_changes_nothing() {
        let (mut f, m) = (Facts::new(), mappings());
        f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T09:00:00Z","cancel":{"entitlement":"p"}}"#),
            &m,
        );
        let a = f.apply(&ev(r#"{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"p","kind":"plan","refs":["plan:hot"],"holder":{"member":"m1"}}}"#), &m);
        assert_eq!(a.record, None);
        assert!(f.entitlement(&"p".into()).unwrap().current.is_none());
    }

    #[test]
    fn a_cancel_of_an_unknown_entitlement_warns() {
        let (mut f, m) = (Facts::new(), mappings());
        let a = f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T09:00:00Z","cancel":{"entitlement":"p"}}"#),
            &m,
        );
        assert_eq!(a.warnings, vec![Warning::CancelOfUnknown("p".into())]);
    }

    #[test]
    fn records_round_trip_through_json() {
        let (mut f, m) = (Facts::new(), mappings());
        f.apply(
            &ev(r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"a@x.io"}}"#),
            &m,
        );
        f.apply(&ev(r#"{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"p","kind":"assignment","refs":["resource:room"],"holder":{"member":"m1"},"tz":"Europe/London","blocks":[{"days":["mon"],"from":"09:00","to":"24:00"}]}}"#), &m);
        for r in f.records() {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r, "{json}");
        }
    }
}
