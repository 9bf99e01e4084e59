//! A platform's normaliser run with what it may ask about members and teams seen earlier (an
//! OfficeRnD member event names its company, and the canonical team event needs the company's
//! whole member list), answered by the [`Directory`] (as deployed, the facts store).
//!
//! Normalisers are pure and synchronous ([`Known`]), the directory is not: [`normalize_with`] runs
//! the normaliser with what is known so far while recording what it asked, fetches those
//! answers, and runs it again, until it asks nothing new (each run is microseconds; a member
//! event takes two).
//!
//! Known limit: the answer is the store as it is when the webhook arrives. Two member events of
//! one company arriving within the moment it takes to record the first may each compute the
//! team list without the other; the next member or company event of that team corrects it.

use access_sync_platforms::{Delivery, Known, Platform, Rejection};
use access_sync_ports::{Directory, DirectoryError};
use access_sync_rules::{Email, Event, MemberId, TeamId};
use std::cell::RefCell;
use std::collections::BTreeMap;

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
    /// The directory could not answer (503: the platform retries).
    Unavailable(DirectoryError),
}

/// Normalises `d` with answers from `directory` (see the module docs). The signature is not
/// checked here.
///
/// # Errors
/// The payload is malformed, or the directory could not answer.
pub async fn normalize_with<D: Directory>(
    platform: Platform,
    d: &Delivery<'_>,
    directory: &D,
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
            let a = directory.team_members(&t).await.map_err(unavailable)?;
            answers.teams.insert(t, a);
        }
        for m in asked.emails.into_keys() {
            let a = directory.email_of(&m).await.map_err(unavailable)?;
            answers.emails.insert(m, a);
        }
        for e in asked.members.into_keys() {
            let a = directory.member_by_email(&e).await.map_err(unavailable)?;
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
