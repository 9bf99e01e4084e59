//! The directory a normaliser may consult: the members (id ↔ e-mail) and team lists described by
//! earlier deliveries.
//!
//! Normalisers are pure functions of (payload, [`Known`]). The CLI keeps a [`Seen`] over the
//! events of one file; the live engine implements [`Known`] over its fact store. Nothing here is
//! required for correctness of access — an entitlement naming a member id that nobody has
//! described yet is still emitted, and the engine holds it until the member arrives — it only
//! lets a normaliser reuse a known member id for an e-mail-only payload (Optix), and keep a team
//! list whole when one member joins or leaves (OfficeRnD `member.*`).
//!
//! The core's [`Facts`] is a [`Known`] too, so the live ingest can normalise against the facts
//! it already holds.

use access_sync_rules::{Body, Email, Event, Facts, MemberId, TeamId};
use std::collections::BTreeMap;

/// Read-only view of the members and teams described so far.
pub trait Known {
    /// The member id last seen with this address.
    fn member_by_email(&self, email: &Email) -> Option<MemberId>;
    /// The member's current address, if the member is known and has one.
    fn email_of(&self, member: &MemberId) -> Option<Email>;
    /// The team's current member list, if a team event has described it.
    fn team_members(&self, team: &TeamId) -> Option<Vec<MemberId>>;
}

/// An in-memory [`Known`] built by observing canonical events in order.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    emails: BTreeMap<MemberId, Email>,
    by_email: BTreeMap<Email, MemberId>,
    teams: BTreeMap<TeamId, Vec<MemberId>>,
}

impl Seen {
    /// Nothing seen yet.
    pub fn new() -> Seen {
        Seen::default()
    }

    /// Takes note of a canonical event (member and team events; others change nothing).
    pub fn observe(&mut self, ev: &Event) {
        match &ev.body {
            Body::Member(m) => {
                if let Some(old) = self.emails.remove(&m.id) {
                    self.by_email.remove(&old);
                }
                if let Some(e) = &m.email
                    && !m.removed
                {
                    self.emails.insert(m.id.clone(), e.clone());
                    self.by_email.insert(e.clone(), m.id.clone());
                }
            }
            Body::Team(t) => {
                self.teams.insert(t.id.clone(), t.members.clone());
            }
            Body::Entitlement(_) | Body::Cancel(_) => {}
        }
    }
}

impl Known for Seen {
    fn member_by_email(&self, email: &Email) -> Option<MemberId> {
        self.by_email.get(email).cloned()
    }

    fn email_of(&self, member: &MemberId) -> Option<Email> {
        self.emails.get(member).cloned()
    }

    fn team_members(&self, team: &TeamId) -> Option<Vec<MemberId>> {
        self.teams.get(team).cloned()
    }
}

/// Knows nothing: every payload is normalised on its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nothing;

impl Known for Nothing {
    fn member_by_email(&self, _: &Email) -> Option<MemberId> {
        None
    }
    fn email_of(&self, _: &MemberId) -> Option<Email> {
        None
    }
    fn team_members(&self, _: &TeamId) -> Option<Vec<MemberId>> {
        None
    }
}

/// The live engine's stored facts: the latest member and team records.
impl Known for Facts {
    fn member_by_email(&self, email: &Email) -> Option<MemberId> {
        // Several members may share an address (ACCESS-MODEL rule 7); prefer one still present.
        let ids = self.members_with_email(email);
        ids.iter()
            .find(|id| self.member(id).is_some_and(|m| m.active_email().is_some()))
            .or(ids.first())
            .cloned()
    }

    fn email_of(&self, member: &MemberId) -> Option<Email> {
        self.member(member).and_then(|m| m.active_email()).cloned()
    }

    fn team_members(&self, team: &TeamId) -> Option<Vec<MemberId>> {
        self.team(team).map(|t| t.members.clone())
    }
}
