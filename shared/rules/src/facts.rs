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

use crate::event::{Body, Entitlement, Event, Holder, MemberEvent, Ref, Status, TeamEvent};
use crate::ids::{Email, EntitlementId, GroupId, MemberId, Pair, TeamId};
use crate::mapping::{BlockedPolicy, MappingEntry, Mappings};
use crate::short_list::ShortList;
use crate::time::Instant;
use crate::windows::{Timing, Window, for_each_window};
use rustc_hash::{FxHashMap as HashMap, FxHasher};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

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

/// Looks up the mapping of an interned ref. The live path asks the [`Mappings`] each time;
/// `preview`, whose mapping never changes, caches the answer per interned ref.
pub(crate) trait Resolve {
    /// The mapping file.
    fn mappings(&self) -> &Mappings;
    /// The mapping entry of interned ref `r` (`refs` is [`Facts`]' ref table).
    fn entry(&self, refs: &[Ref], r: u32) -> Option<&MappingEntry>;
}

/// Asks the mapping every time.
pub(crate) struct Direct<'a>(pub(crate) &'a Mappings);

impl Resolve for Direct<'_> {
    fn mappings(&self) -> &Mappings {
        self.0
    }

    fn entry(&self, refs: &[Ref], r: u32) -> Option<&MappingEntry> {
        lookup(self.0, refs, r)
    }
}

/// The mapping entry of interned ref `r`, asked of the mapping.
pub(crate) fn lookup<'m>(mappings: &'m Mappings, refs: &[Ref], r: u32) -> Option<&'m MappingEntry> {
    let x = &refs[r as usize];
    mappings.get(x.source, &x.id)
}

/// Who holds an entitlement, as dense indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HolderIx {
    Member(u32),
    Team(u32),
}

/// A member id that has been seen (as a member, in a team list or as a holder).
#[derive(Clone, Debug)]
struct MemberSlot {
    id: MemberId,
    rec: Option<MemberRecord>,
    /// The active address of `rec`.
    email: Option<u32>,
    /// Teams whose current list names the member.
    teams: ShortList<u32>,
    /// Entitlements held directly.
    held: ShortList<u32>,
}

/// A team id that has been seen.
#[derive(Clone, Debug)]
struct TeamSlot {
    id: TeamId,
    rec: Option<TeamRecord>,
    /// `rec.members`, as member indices.
    members: Vec<u32>,
    /// Entitlements held by the team.
    held: ShortList<u32>,
}

/// An entitlement record, with its current holder and guests as indices.
#[derive(Clone, Debug)]
struct EntitlementSlot {
    rec: EntitlementRecord,
    holder: Option<HolderIx>,
    guests: ShortList<u32>,
}

/// What a converge must know about an entitlement before reading its record: which refs the
/// current version names, and whether it has weekly blocks (which make every pair it reaches be
/// re-checked, whatever the group). Kept apart from the records so the check stays in cache.
#[derive(Clone, Debug, Default)]
struct Reach {
    refs: RefIds,
    weekly: bool,
}

/// Interned refs of one version, inline when there is just one.
#[derive(Clone, Debug, Default)]
enum RefIds {
    #[default]
    None,
    One(u32),
    Many(Box<[u32]>),
}

impl RefIds {
    fn as_slice(&self) -> &[u32] {
        match self {
            RefIds::None => &[],
            RefIds::One(r) => std::slice::from_ref(r),
            RefIds::Many(rs) => rs,
        }
    }
}

/// An address that has been seen (of a member, or as a guest).
#[derive(Clone, Debug)]
struct EmailSlot {
    email: Email,
    /// Members whose active address it is.
    members: ShortList<u32>,
    /// Entitlements that name it as a guest.
    guests: ShortList<u32>,
}

/// The id lists behind the slice-returning accessors, built on first use after a change.
#[derive(Clone, Debug, Default)]
struct Lists {
    members_with_email: Vec<Vec<MemberId>>,
    guest_of: Vec<Vec<EntitlementId>>,
    teams_of: Vec<Vec<TeamId>>,
    held_by_member: Vec<Vec<EntitlementId>>,
    held_by_team: Vec<Vec<EntitlementId>>,
}

/// Which stored record an event changed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Changed {
    Member(u32),
    Team(u32),
    Entitlement(u32),
}

/// The facts, indexed for the questions converge asks.
///
/// Every member, team, entitlement, address and ref is interned to a dense `u32` index when first
/// seen, and records and links live in `Vec`s indexed by it: ids are hashed once, at the
/// boundary, and a converge follows indices.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    member_ix: Index,
    team_ix: Index,
    entitlement_ix: Index,
    email_ix: Index,
    ref_ix: HashMap<Ref, u32>,
    members: Vec<MemberSlot>,
    teams: Vec<TeamSlot>,
    entitlements: Vec<EntitlementSlot>,
    reach: Vec<Reach>,
    emails: Vec<EmailSlot>,
    refs: Vec<Ref>,
    lists: OnceLock<Lists>,
}

/// Dense indices of ids whose text lives in the slots: the table keeps each id's hash rather than
/// a second copy of the id, and the slot confirms the match.
#[derive(Clone, Debug, Default)]
struct Index {
    by_hash: HashMap<u64, u32>,
    /// Ids whose hash an earlier id already has (practically never).
    clashes: HashMap<String, u32>,
}

impl Index {
    fn hash(key: &str) -> u64 {
        let mut h = FxHasher::default();
        key.hash(&mut h);
        h.finish()
    }

    /// The index of `key`; `text` gives the id at an index.
    fn get<'a>(&self, key: &str, text: impl Fn(u32) -> &'a str) -> Option<u32> {
        self.get_hashed(Self::hash(key), key, text)
    }

    fn get_hashed<'a>(&self, h: u64, key: &str, text: impl Fn(u32) -> &'a str) -> Option<u32> {
        let &i = self.by_hash.get(&h)?;
        if text(i) == key {
            Some(i)
        } else {
            self.clashes.get(key).copied()
        }
    }

    /// The index of `key`, or `next` (recorded as its index) if it has none; and whether it
    /// is new. One hash and, nearly always, one probe.
    fn intern<'a>(&mut self, key: &str, next: u32, text: impl Fn(u32) -> &'a str) -> (u32, bool) {
        self.intern_hashed(Self::hash(key), key, next, text)
    }

    fn intern_hashed<'a>(
        &mut self,
        h: u64,
        key: &str,
        next: u32,
        text: impl Fn(u32) -> &'a str,
    ) -> (u32, bool) {
        match self.by_hash.entry(h) {
            Entry::Vacant(v) => {
                v.insert(next);
                (next, true)
            }
            Entry::Occupied(o) if text(*o.get()) == key => (*o.get(), false),
            Entry::Occupied(_) => match self.clashes.get(key) {
                Some(&i) => (i, false),
                None => {
                    self.clashes.insert(key.to_string(), next);
                    (next, true)
                }
            },
        }
    }
}

fn add(list: &mut ShortList<u32>, v: u32) {
    if !list.contains(&v) {
        list.push(v);
    }
}

fn remove(list: &mut ShortList<u32>, v: u32) {
    list.retain(|&x| x != v);
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
            Record::Member(m) => {
                self.put_member(m);
            }
            Record::Team(t) => {
                self.put_team(t);
            }
            Record::Entitlement(e) => {
                self.put_entitlement(e);
            }
        }
    }

    /// A member by id.
    pub fn member(&self, id: &MemberId) -> Option<&MemberRecord> {
        let i = self.member_index(id)?;
        self.members[i as usize].rec.as_ref()
    }

    /// A team by id.
    pub fn team(&self, id: &TeamId) -> Option<&TeamRecord> {
        let i = self.team_index(id)?;
        self.teams[i as usize].rec.as_ref()
    }

    /// An entitlement by id.
    pub fn entitlement(&self, id: &EntitlementId) -> Option<&EntitlementRecord> {
        let i = self.entitlement_index(id)?;
        Some(&self.entitlements[i as usize].rec)
    }

    /// Every entitlement record.
    pub fn entitlements_iter(&self) -> impl Iterator<Item = &EntitlementRecord> {
        self.entitlements.iter().map(|s| &s.rec)
    }

    /// Every stored record (for tests and exports), in no particular order.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.members
            .iter()
            .filter_map(|s| s.rec.clone().map(Record::Member))
            .chain(
                self.teams
                    .iter()
                    .filter_map(|s| s.rec.clone().map(Record::Team)),
            )
            .chain(
                self.entitlements
                    .iter()
                    .map(|s| Record::Entitlement(s.rec.clone())),
            )
    }

    fn lists(&self) -> &Lists {
        self.lists.get_or_init(|| {
            let ents = |l: &[u32]| -> Vec<EntitlementId> {
                l.iter()
                    .map(|&e| self.entitlements[e as usize].rec.id.clone())
                    .collect()
            };
            Lists {
                members_with_email: self
                    .emails
                    .iter()
                    .map(|s| {
                        s.members
                            .iter()
                            .map(|&m| self.members[m as usize].id.clone())
                            .collect()
                    })
                    .collect(),
                guest_of: self.emails.iter().map(|s| ents(&s.guests)).collect(),
                teams_of: self
                    .members
                    .iter()
                    .map(|s| {
                        s.teams
                            .iter()
                            .map(|&t| self.teams[t as usize].id.clone())
                            .collect()
                    })
                    .collect(),
                held_by_member: self.members.iter().map(|s| ents(&s.held)).collect(),
                held_by_team: self.teams.iter().map(|s| ents(&s.held)).collect(),
            }
        })
    }

    /// Active members whose address is `email`.
    pub fn members_with_email(&self, email: &Email) -> &[MemberId] {
        match self.email_index(email) {
            Some(i) => &self.lists().members_with_email[i as usize],
            None => &[],
        }
    }

    /// Teams whose current list names `member`.
    pub fn teams_of(&self, member: &MemberId) -> &[TeamId] {
        match self.member_index(member) {
            Some(i) => &self.lists().teams_of[i as usize],
            None => &[],
        }
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
        match self.member_index(m) {
            Some(i) => &self.lists().held_by_member[i as usize],
            None => &[],
        }
    }

    /// Entitlements held by a team.
    pub fn held_by_team(&self, t: &TeamId) -> &[EntitlementId] {
        match self.team_index(t) {
            Some(i) => &self.lists().held_by_team[i as usize],
            None => &[],
        }
    }

    /// Entitlements that name `email` as a guest.
    pub fn guest_of(&self, email: &Email) -> &[EntitlementId] {
        match self.email_index(email) {
            Some(i) => &self.lists().guest_of[i as usize],
            None => &[],
        }
    }

    /// Applies one event with the live engine's rules: an entitlement, cancel, member or team
    /// event whose `at` is earlier than the version already held is stale and changes nothing
    /// (an equal `at` replaces: the later delivery wins). Delivery-id de-duplication is the
    /// caller's (the idempotency store, or `preview`).
    pub fn apply(&mut self, ev: &Event, mappings: &Mappings) -> Applied {
        let mut touched = Vec::new();
        let mut warnings = Vec::new();
        let changed = self.apply_with(ev.clone(), &Direct(mappings), &mut touched, &mut warnings);
        let record = changed.map(|c| match c {
            Changed::Member(i) => Record::Member(self.members[i as usize].rec.clone().unwrap()),
            Changed::Team(i) => Record::Team(self.teams[i as usize].rec.clone().unwrap()),
            Changed::Entitlement(i) => {
                Record::Entitlement(self.entitlements[i as usize].rec.clone())
            }
        });
        let pairs = touched
            .into_iter()
            .map(|(e, group)| Pair {
                email: self.email(e).clone(),
                group,
            })
            .collect();
        Applied {
            record,
            pairs,
            warnings,
        }
    }

    /// [`Facts::apply`] on an owned event: the touched pairs go to `touched` as (address index,
    /// group), possibly repeated and in no order.
    pub(crate) fn apply_with<R: Resolve>(
        &mut self,
        ev: Event,
        res: &R,
        touched: &mut Vec<(u32, GroupId)>,
        warnings: &mut Vec<Warning>,
    ) -> Option<Changed> {
        match ev.body {
            Body::Member(m) => self.apply_member(ev.at, m, res, touched, warnings),
            Body::Team(t) => self.apply_team(ev.at, t, res, touched),
            Body::Entitlement(e) => {
                let id = e.id.clone();
                self.apply_entitlement(ev.at, Some(e), id, res, touched)
            }
            Body::Cancel(id) => {
                if !self
                    .entitlement(&id)
                    .is_some_and(|r| r.current.is_some() || r.first_seen.is_some())
                {
                    warnings.push(Warning::CancelOfUnknown(id.clone()));
                }
                self.apply_entitlement(ev.at, None, id, res, touched)
            }
        }
    }

    fn apply_member<R: Resolve>(
        &mut self,
        at: Instant,
        m: MemberEvent,
        res: &R,
        touched: &mut Vec<(u32, GroupId)>,
        warnings: &mut Vec<Warning>,
    ) -> Option<Changed> {
        let slot = self.member_index(&m.id).map(|i| &self.members[i as usize]);
        let old = slot.and_then(|s| s.rec.as_ref());
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
        let old_email = slot.and_then(|s| s.email);
        let i = self.put_member(MemberRecord {
            id: m.id,
            at,
            email: m.email,
            email_since,
            removed: m.removed,
            name: m.name,
        });
        let new_email = self.members[i as usize].email;
        let mut groups = ShortList::Zero;
        let slot = &self.members[i as usize];
        for &e in slot.held.as_slice() {
            self.groups_of(e, res, &mut groups);
        }
        for &t in slot.teams.as_slice() {
            for &e in &self.teams[t as usize].held {
                self.groups_of(e, res, &mut groups);
            }
        }
        for email in old_email.into_iter().chain(new_email) {
            touched.extend(groups.iter().map(|&g| (email, g)));
        }
        Some(Changed::Member(i))
    }

    fn apply_team<R: Resolve>(
        &mut self,
        at: Instant,
        t: TeamEvent,
        res: &R,
        touched: &mut Vec<(u32, GroupId)>,
    ) -> Option<Changed> {
        let old_members = match self.team_index(&t.id).map(|i| &self.teams[i as usize]) {
            Some(s) if s.rec.as_ref().is_some_and(|o| at < o.at) => return None,
            Some(s) => s.members.clone(),
            None => vec![],
        };
        let i = self.put_team(TeamRecord {
            id: t.id,
            at,
            members: t.members,
        });
        let slot = &self.teams[i as usize];
        let mut groups = ShortList::Zero;
        for &e in slot.held.as_slice() {
            self.groups_of(e, res, &mut groups);
        }
        if !groups.is_empty() {
            for &m in old_members.iter().chain(&slot.members) {
                if let Some(email) = self.members[m as usize].email {
                    touched.extend(groups.iter().map(|&g| (email, g)));
                }
            }
        }
        Some(Changed::Team(i))
    }

    fn apply_entitlement<R: Resolve>(
        &mut self,
        at: Instant,
        version: Option<Entitlement>,
        id: EntitlementId,
        res: &R,
        touched: &mut Vec<(u32, GroupId)>,
    ) -> Option<Changed> {
        let ents = &self.entitlements;
        let (i, new) = self
            .entitlement_ix
            .intern(id.as_str(), ents.len() as u32, |j| {
                ents[j as usize].rec.id.as_str()
            });
        let old = (!new).then_some(i);
        if let Some(o) = old {
            let rec = &self.entitlements[o as usize].rec;
            if at < rec.at {
                return None;
            }
            if rec.current.is_some() {
                self.reach(o, res, touched);
            }
        }
        let first_seen = old
            .and_then(|o| self.entitlements[o as usize].rec.first_seen)
            .or(version.as_ref().map(|_| at));
        let has_version = version.is_some();
        self.put_entitlement_at(
            i,
            new,
            EntitlementRecord {
                id,
                first_seen,
                at,
                current: version,
            },
        );
        if has_version {
            self.reach(i, res, touched);
        }
        Some(Changed::Entitlement(i))
    }

    /// Every (address, group) the current version of entitlement `i` can reach now, whatever its
    /// status.
    fn reach<R: Resolve>(&self, i: u32, res: &R, touched: &mut Vec<(u32, GroupId)>) {
        // Nearly always one group: kept inline.
        let mut groups = ShortList::Zero;
        self.groups_of(i, res, &mut groups);
        if groups.is_empty() {
            return;
        }
        let slot = &self.entitlements[i as usize];
        let mut push = |email: u32| touched.extend(groups.iter().map(|&g| (email, g)));
        for &g in slot.guests.as_slice() {
            push(g);
        }
        match slot.holder {
            Some(HolderIx::Member(m)) => {
                if let Some(e) = self.members[m as usize].email {
                    push(e);
                }
            }
            Some(HolderIx::Team(t)) => {
                for &m in &self.teams[t as usize].members {
                    if let Some(e) = self.members[m as usize].email {
                        push(e);
                    }
                }
            }
            None => {}
        }
    }

    /// Adds the groups entitlement `i`'s current version maps to (no repeats).
    fn groups_of<R: Resolve>(&self, i: u32, res: &R, out: &mut ShortList<GroupId>) {
        for &r in self.reach[i as usize].refs.as_slice() {
            if let Some(m) = res.entry(&self.refs, r) {
                for g in m.targets() {
                    if !out.contains(&g) {
                        out.push(g);
                    }
                }
            }
        }
    }

    /// Warnings about the facts as they stand: holders that were never described.
    pub fn dangling(&self) -> BTreeSet<Warning> {
        let mut out = BTreeSet::new();
        // The slot's holder is the current version's holder, as an index: no id is looked up.
        for slot in &self.entitlements {
            match slot.holder {
                Some(HolderIx::Team(t)) if self.teams[t as usize].rec.is_none() => {
                    out.insert(Warning::TeamNeverDescribed(
                        self.teams[t as usize].id.clone(),
                    ));
                }
                Some(HolderIx::Member(m)) if self.members[m as usize].rec.is_none() => {
                    out.insert(Warning::MemberWithoutEmail(
                        self.members[m as usize].id.clone(),
                    ));
                }
                _ => {}
            }
        }
        out
    }

    fn member_slot(&mut self, id: &MemberId) -> u32 {
        let members = &self.members;
        let (i, new) = self
            .member_ix
            .intern(id.as_str(), members.len() as u32, |j| {
                members[j as usize].id.as_str()
            });
        if !new {
            return i;
        }
        self.members.push(MemberSlot {
            id: id.clone(),
            rec: None,
            email: None,
            teams: ShortList::Zero,
            held: ShortList::Zero,
        });
        i
    }

    fn team_slot(&mut self, id: &TeamId) -> u32 {
        let teams = &self.teams;
        let (i, new) = self.team_ix.intern(id.as_str(), teams.len() as u32, |j| {
            teams[j as usize].id.as_str()
        });
        if new {
            self.teams.push(TeamSlot {
                id: id.clone(),
                rec: None,
                members: Vec::new(),
                held: ShortList::Zero,
            });
        }
        i
    }

    /// Makes room for the facts of about `events` more events (a capacity hint).
    /// Most events are entitlements; members and addresses are fewer, and a table sized for
    /// every event would spread them out.
    pub(crate) fn reserve(&mut self, events: usize) {
        self.entitlements.reserve(events);
        self.reach.reserve(events);
        self.entitlement_ix.by_hash.reserve(events);
    }

    /// The index of an address, interning it if new (an address nothing refers to is invisible).
    pub(crate) fn intern_email(&mut self, email: &Email) -> u32 {
        let emails = &self.emails;
        let (i, new) = self
            .email_ix
            .intern(email.as_str(), emails.len() as u32, |j| {
                emails[j as usize].email.as_str()
            });
        if new {
            self.lists.take();
            self.emails.push(EmailSlot {
                email: email.clone(),
                members: ShortList::Zero,
                guests: ShortList::Zero,
            });
        }
        i
    }

    /// The index of an address, if it has been seen.
    pub(crate) fn email_index(&self, email: &Email) -> Option<u32> {
        self.email_ix
            .get(email.as_str(), |j| self.emails[j as usize].email.as_str())
    }

    fn member_index(&self, id: &MemberId) -> Option<u32> {
        self.member_ix
            .get(id.as_str(), |j| self.members[j as usize].id.as_str())
    }

    fn team_index(&self, id: &TeamId) -> Option<u32> {
        self.team_ix
            .get(id.as_str(), |j| self.teams[j as usize].id.as_str())
    }

    fn entitlement_index(&self, id: &EntitlementId) -> Option<u32> {
        self.entitlement_ix.get(id.as_str(), |j| {
            self.entitlements[j as usize].rec.id.as_str()
        })
    }

    /// The address with index `i`.
    pub(crate) fn email(&self, i: u32) -> &Email {
        &self.emails[i as usize].email
    }

    /// The id of the entitlement with index `i`.
    pub(crate) fn entitlement_id(&self, i: u32) -> &EntitlementId {
        &self.entitlements[i as usize].rec.id
    }

    /// The interned refs, indexed by ref index.
    pub(crate) fn refs(&self) -> &[Ref] {
        &self.refs
    }

    fn intern_ref(&mut self, r: &Ref) -> u32 {
        if let Some(&i) = self.ref_ix.get(r) {
            return i;
        }
        let i = self.refs.len() as u32;
        self.refs.push(r.clone());
        self.ref_ix.insert(r.clone(), i);
        i
    }

    fn put_member(&mut self, rec: MemberRecord) -> u32 {
        self.lists.take();
        let i = self.member_slot(&rec.id);
        if let Some(e) = self.members[i as usize].email.take() {
            remove(&mut self.emails[e as usize].members, i);
        }
        if let Some(email) = rec.active_email() {
            let e = self.intern_email(email);
            add(&mut self.emails[e as usize].members, i);
            self.members[i as usize].email = Some(e);
        }
        self.members[i as usize].rec = Some(rec);
        i
    }

    fn put_team(&mut self, rec: TeamRecord) -> u32 {
        self.lists.take();
        let i = self.team_slot(&rec.id);
        for m in std::mem::take(&mut self.teams[i as usize].members) {
            remove(&mut self.members[m as usize].teams, i);
        }
        let mut members = Vec::with_capacity(rec.members.len());
        for m in &rec.members {
            let mi = self.member_slot(m);
            add(&mut self.members[mi as usize].teams, i);
            members.push(mi);
        }
        let slot = &mut self.teams[i as usize];
        slot.members = members;
        slot.rec = Some(rec);
        i
    }

    fn put_entitlement(&mut self, rec: EntitlementRecord) -> u32 {
        let ents = &self.entitlements;
        let (i, new) = self
            .entitlement_ix
            .intern(rec.id.as_str(), ents.len() as u32, |j| {
                ents[j as usize].rec.id.as_str()
            });
        self.put_entitlement_at(i, new, rec);
        i
    }

    /// Stores `rec` at index `i` of its id, `new` if the index was just made (and the slot is
    /// still to be pushed).
    fn put_entitlement_at(&mut self, i: u32, new: bool, rec: EntitlementRecord) {
        self.lists.take();
        if !new {
            let slot = &mut self.entitlements[i as usize];
            match slot.holder.take() {
                Some(HolderIx::Member(m)) => remove(&mut self.members[m as usize].held, i),
                Some(HolderIx::Team(t)) => remove(&mut self.teams[t as usize].held, i),
                None => {}
            }
            for &g in &std::mem::take(&mut slot.guests) {
                remove(&mut self.emails[g as usize].guests, i);
            }
        }
        let mut reach = Reach::default();
        let mut holder = None;
        let mut guests = ShortList::Zero;
        if let Some(e) = &rec.current {
            holder = Some(match &e.holder {
                Holder::Member(m) => {
                    let m = self.member_slot(m);
                    add(&mut self.members[m as usize].held, i);
                    HolderIx::Member(m)
                }
                Holder::Team(t) => {
                    let t = self.team_slot(t);
                    add(&mut self.teams[t as usize].held, i);
                    HolderIx::Team(t)
                }
            });
            for g in &e.guests {
                let g = self.intern_email(g);
                add(&mut self.emails[g as usize].guests, i);
                guests.push(g);
            }
            reach.refs = match e.refs.as_slice() {
                [] => RefIds::None,
                [r] => RefIds::One(self.intern_ref(r)),
                rs => RefIds::Many(rs.iter().map(|r| self.intern_ref(r)).collect()),
            };
            reach.weekly = !e.blocks.is_empty();
        }
        let slot = EntitlementSlot {
            rec,
            holder,
            guests,
        };
        if new {
            self.entitlements.push(slot);
            self.reach.push(reach);
        } else {
            self.entitlements[i as usize] = slot;
            self.reach[i as usize] = reach;
        }
    }

    /// Whether a status grants under the mapping's policy (rule 4), with the global
    /// `defaults.blocked`.
    pub fn grants(status: Status, mappings: &Mappings) -> bool {
        match status {
            Status::Active => true,
            Status::Pending | Status::Exhausted => false,
            Status::Blocked => mappings.defaults.blocked == BlockedPolicy::Allow,
        }
    }

    /// Whether a status may grant through some mapping: `blocked` may, where a mapping allows
    /// it ([`Facts::grants_through`] decides per mapping).
    pub fn may_grant(status: Status) -> bool {
        !matches!(status, Status::Pending | Status::Exhausted)
    }

    /// Whether a status grants through one mapping: rule 4 with the mapping's own `blocked`
    /// when it sets one (an extension, README "Mapping file"), else the default.
    pub fn grants_through(status: Status, mappings: &Mappings, entry: &MappingEntry) -> bool {
        match status {
            Status::Blocked => entry.blocked_policy(&mappings.defaults) == BlockedPolicy::Allow,
            other => Facts::grants(other, mappings),
        }
    }

    /// Every window that reaches address `email` through `group`, clipped by what it depends on,
    /// that may intersect `[lo, hi)`, pushed to `out` with its entitlement's index; returns
    /// whether any was cut off at `hi` (weekly blocks that go on).
    pub(crate) fn parts_into<R: Resolve>(
        &self,
        res: &R,
        email: Option<u32>,
        group: GroupId,
        lo: Instant,
        hi: Instant,
        out: &mut Vec<(Window, u32)>,
    ) -> bool {
        let Some(email) = email else { return false };
        let slot = &self.emails[email as usize];
        let mut cut = false;
        // Each entitlement comes with the latest `at` of the facts that connect it to this
        // address.
        for &mi in &slot.members {
            let m = &self.members[mi as usize];
            let Some(rec) = &m.rec else { continue };
            for &e in m.held.as_slice() {
                if self.may_open(res, e, group) {
                    cut |= self.part(res, e, Some(rec.email_since), group, lo, hi, out);
                }
            }
            for &ti in m.teams.as_slice() {
                let t = &self.teams[ti as usize];
                let team_at = t.rec.as_ref().map(|t| t.at);
                let dep = team_at.map_or(rec.email_since, |t| t.max(rec.email_since));
                for &e in t.held.as_slice() {
                    if self.may_open(res, e, group) {
                        cut |= self.part(res, e, Some(dep), group, lo, hi, out);
                    }
                }
            }
        }
        for &e in slot.guests.as_slice() {
            if self.may_open(res, e, group) {
                cut |= self.part(res, e, None, group, lo, hi, out);
            }
        }
        cut
    }

    /// Whether entitlement `i` can matter to `group` at all: a ref of its current version maps
    /// to it, or it has weekly blocks (which make every pair it reaches be re-checked). Checked
    /// before [`Facts::part`], without reading the record: most entitlements of an address map
    /// to other groups.
    #[inline]
    fn may_open<R: Resolve>(&self, res: &R, i: u32, group: GroupId) -> bool {
        let reach = &self.reach[i as usize];
        reach.weekly
            || reach
                .refs
                .as_slice()
                .iter()
                .any(|&r| res.entry(&self.refs, r).is_some_and(|m| m.opens(group)))
    }

    /// The windows entitlement `i` opens in `group` (see [`Facts::parts_into`]; only asked when
    /// [`Facts::may_open`]); returns whether its weekly blocks go on past `hi`.
    #[allow(clippy::too_many_arguments)]
    fn part<R: Resolve>(
        &self,
        res: &R,
        i: u32,
        dep: Option<Instant>,
        group: GroupId,
        lo: Instant,
        hi: Instant,
        out: &mut Vec<(Window, u32)>,
    ) -> bool {
        let refs = self.reach[i as usize].refs.as_slice();
        let rec = &self.entitlements[i as usize].rec;
        let (Some(e), Some(start)) = (&rec.current, rec.start()) else {
            return false;
        };
        let mappings = res.mappings();
        if !Facts::may_grant(e.status) {
            return false;
        }
        let not_before = dep.map_or(rec.at, |d| d.max(rec.at));
        let cut = !e.blocks.is_empty() && e.end.is_none_or(|end| end > hi);
        for &r in refs {
            let Some(m) = res.entry(&self.refs, r) else {
                continue;
            };
            if !m.opens(group) || !Facts::grants_through(e.status, mappings, m) {
                continue;
            }
            let timing = Timing {
                lead: m.lead(),
                lag: m.lag(),
                default_tz: mappings.defaults.timezone,
            };
            for_each_window(e, start, timing, lo, hi, |w| {
                let w = w.not_before(not_before);
                if !w.is_empty() {
                    out.push((w, i));
                }
            });
        }
        cut
    }
}

/// Groups a version's refs map to.
pub(crate) fn groups_of_version(e: &Entitlement, mappings: &Mappings) -> BTreeSet<GroupId> {
    e.refs
        .iter()
        .filter_map(|r| mappings.get(r.source, &r.id))
        .flat_map(|m| m.targets())
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
    fn ids_whose_hashes_clash_keep_their_own_indices() {
        let ids = ["a", "b", "c"];
        let mut ix = Index::default();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get_hashed(7, id, |j| ids[j as usize]), None);
            let i = i as u32;
            assert_eq!(ix.intern_hashed(7, id, i, |j| ids[j as usize]), (i, true));
            assert_eq!(ix.intern_hashed(7, id, 9, |j| ids[j as usize]), (i, false));
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get_hashed(7, id, |j| ids[j as usize]), Some(i as u32));
        }
        assert_eq!(ix.get_hashed(7, "d", |j| ids[j as usize]), None);
        assert_eq!(ix.get("a", |j| ids[j as usize]), None);
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
