//! What a platform's normaliser may ask about members and teams seen earlier (an OfficeRnD
//! member event names its company, and the canonical team event needs the company's whole
//! member list), answered from the facts store.
//!
//! Normalisers are pure and synchronous ([`Known`]), the store is not: [`normalize_with`] runs
//! the normaliser with what is known so far while recording what it asked, fetches those
//! answers, and runs it again, until it asks nothing new (each run is microseconds; a member
//! event takes two).
//!
//! Known limit: the answer is the store as it is when the webhook arrives. Two member events of
//! one company arriving within the moment it takes to record the first may each compute the
//! team list without the other; the next member or company event of that team corrects it.

use access_sync_platforms::{Delivery, Known, Platform, Rejection};
use access_sync_ports::FactStore;
use access_sync_rules::event::{MemberEvent, TeamEvent};
use access_sync_rules::facts::Record;
use access_sync_rules::{Body, Email, Event, MemberId, TeamId};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;

/// Answers about members and teams, from wherever they are kept.
pub trait Lookup: Send + Sync {
    /// A team's current member list, if a team event described it.
    fn team_members(
        &self,
        team: &TeamId,
    ) -> impl Future<Output = Result<Option<Vec<MemberId>>, String>> + Send;
    /// A member's current address, if the member is known and has one.
    fn email_of(
        &self,
        member: &MemberId,
    ) -> impl Future<Output = Result<Option<Email>, String>> + Send;
    /// The member id last seen with this address.
    fn member_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<MemberId>, String>> + Send;
}

/// Knows nothing (the engine still resolves member ids and holds what it cannot).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLookup;

impl Lookup for NoLookup {
    async fn team_members(&self, _: &TeamId) -> Result<Option<Vec<MemberId>>, String> {
        Ok(None)
    }
    async fn email_of(&self, _: &MemberId) -> Result<Option<Email>, String> {
        Ok(None)
    }
    async fn member_by_email(&self, _: &Email) -> Result<Option<MemberId>, String> {
        Ok(None)
    }
}

/// The facts store answers (reads only).
pub struct StoreLookup<S>(pub S);

impl<S: FactStore + Send + Sync> Lookup for StoreLookup<S> {
    async fn team_members(&self, team: &TeamId) -> Result<Option<Vec<MemberId>>, String> {
        let body = Body::Team(TeamEvent {
            id: team.clone(),
            members: Vec::new(),
        });
        let loaded = self
            .0
            .load_for_event(&body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(loaded.records.into_iter().find_map(|r| match r {
            Record::Team(t) if &t.id == team => Some(t.members),
            _ => None,
        }))
    }

    async fn email_of(&self, member: &MemberId) -> Result<Option<Email>, String> {
        let body = Body::Member(MemberEvent {
            id: member.clone(),
            email: None,
            name: None,
            removed: false,
        });
        let loaded = self
            .0
            .load_for_event(&body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(loaded.records.into_iter().find_map(|r| match r {
            Record::Member(m) if &m.id == member => m.active_email().cloned(),
            _ => None,
        }))
    }

    async fn member_by_email(&self, email: &Email) -> Result<Option<MemberId>, String> {
        let records = self
            .0
            .facts_for_email(email)
            .await
            .map_err(|e| e.to_string())?;
        Ok(records.into_iter().find_map(|r| match r {
            Record::Member(m) if m.active_email() == Some(email) => Some(m.id),
            _ => None,
        }))
    }
}

#[derive(Default)]
struct Answers {
    teams: BTreeMap<TeamId, Option<Vec<MemberId>>>,
    emails: BTreeMap<MemberId, Option<Email>>,
    members: BTreeMap<Email, Option<MemberId>>,
}

/// Answers what is fetched; records every question that is not.
#[derive(Default)]
struct Recording {
    answers: Answers,
    asked: RefCell<Answers>,
}

impl Known for Recording {
    fn member_by_email(&self, email: &Email) -> Option<MemberId> {
        match self.answers.members.get(email) {
            Some(a) => a.clone(),
            None => {
                self.asked.borrow_mut().members.insert(email.clone(), None);
                None
            }
        }
    }
    fn email_of(&self, member: &MemberId) -> Option<Email> {
        match self.answers.emails.get(member) {
            Some(a) => a.clone(),
            None => {
                self.asked.borrow_mut().emails.insert(member.clone(), None);
                None
            }
        }
    }
    fn team_members(&self, team: &TeamId) -> Option<Vec<MemberId>> {
        match self.answers.teams.get(team) {
            Some(a) => a.clone(),
            None => {
                self.asked.borrow_mut().teams.insert(team.clone(), None);
                None
            }
        }
    }
}

/// Why a delivery could not be normalised.
#[derive(Debug)]
pub enum NormalizeError {
    /// The payload (400).
    Rejected(Rejection),
    /// The store could not answer (503: the platform retries).
    Unavailable(String),
}

/// Normalises `d` with answers from `lookup` (see the module docs). The signature is not
/// checked here.
///
/// # Errors
/// The payload is malformed, or the store could not answer.
pub async fn normalize_with<L: Lookup>(
    platform: Platform,
    d: &Delivery<'_>,
    lookup: &L,
) -> Result<Vec<Event>, NormalizeError> {
    let mut answers = Answers::default();
    for _ in 0..4 {
        let (result, asked) = {
            let known = Recording {
                answers,
                asked: RefCell::default(),
            };
            let r = platform.normalize(d, &known);
            answers = known.answers;
            (r, known.asked.into_inner())
        };
        let events = result.map_err(NormalizeError::Rejected)?;
        if asked.teams.is_empty() && asked.emails.is_empty() && asked.members.is_empty() {
            return Ok(events);
        }
        let unavailable = NormalizeError::Unavailable;
        for t in asked.teams.into_keys() {
            let a = lookup.team_members(&t).await.map_err(unavailable)?;
            answers.teams.insert(t, a);
        }
        for m in asked.emails.into_keys() {
            let a = lookup.email_of(&m).await.map_err(unavailable)?;
            answers.emails.insert(m, a);
        }
        for e in asked.members.into_keys() {
            let a = lookup.member_by_email(&e).await.map_err(unavailable)?;
            answers.members.insert(e, a);
        }
    }
    let known = Recording {
        answers,
        asked: RefCell::default(),
    };
    platform
        .normalize(d, &known)
        .map_err(NormalizeError::Rejected)
}
