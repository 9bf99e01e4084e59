//! The directory: what a platform's normaliser may ask about members and teams seen earlier
//! (an OfficeRnD member event names its company, and the canonical team event needs the
//! company's whole member list).
//!
//! As deployed it is [`FactsDirectory`]: the facts store answers (reads only). Without one,
//! `memory::NoDirectory` (feature `testing`) knows nothing.

use crate::facts::{FactStore, member_key, team_key};
use crate::store::StoreError;
use access_sync_rules::facts::Record;
use access_sync_rules::{Email, MemberId, TeamId};
use std::future::Future;

/// Why the directory could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// It could not be reached or throttled us; asking again later may work.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// What it holds could not be read back.
    #[error("directory unreadable: {0}")]
    Corrupt(String),
}

impl DirectoryError {
    /// True when asking again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            DirectoryError::Unavailable(_) => true,
            DirectoryError::Corrupt(_) => false,
        }
    }
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { .. } | StoreError::Invalid(_) => {
                DirectoryError::Corrupt(e.to_string())
            }
            StoreError::VersionMismatch { .. }
            | StoreError::NotFound { .. }
            | StoreError::Unavailable(_) => DirectoryError::Unavailable(e.to_string()),
        }
    }
}

/// Answers about members and teams, from wherever they are kept.
pub trait Directory: Send + Sync {
    /// A team's current member list, if a team event described it.
    ///
    /// # Errors
    /// [`DirectoryError`].
    fn team_members(
        &self,
        team: &TeamId,
    ) -> impl Future<Output = Result<Option<Vec<MemberId>>, DirectoryError>> + Send;

    /// A member's current address, if the member is known and has one.
    ///
    /// # Errors
    /// [`DirectoryError`].
    fn email_of(
        &self,
        member: &MemberId,
    ) -> impl Future<Output = Result<Option<Email>, DirectoryError>> + Send;

    /// The member id last seen with this address.
    ///
    /// # Errors
    /// [`DirectoryError`].
    fn member_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<MemberId>, DirectoryError>> + Send;
}

/// The directory the facts store answers (reads only): the records the events recorded.
#[derive(Debug, Clone)]
pub struct FactsDirectory<S>(pub S);

impl<S: FactStore> Directory for FactsDirectory<S> {
    async fn team_members(&self, team: &TeamId) -> Result<Option<Vec<MemberId>>, DirectoryError> {
        Ok(match self.0.canonical_record(&team_key(team)).await? {
            Some(Record::Team(t)) if &t.id == team => Some(t.members),
            _ => None,
        })
    }

    async fn email_of(&self, member: &MemberId) -> Result<Option<Email>, DirectoryError> {
        Ok(match self.0.canonical_record(&member_key(member)).await? {
            Some(Record::Member(m)) if &m.id == member => m.active_email().cloned(),
            _ => None,
        })
    }

    async fn member_by_email(&self, email: &Email) -> Result<Option<MemberId>, DirectoryError> {
        let records = self.0.facts_for_email(email).await?;
        Ok(records.into_iter().find_map(|r| match r {
            Record::Member(m) if m.active_email() == Some(email) => Some(m.id),
            _ => None,
        }))
    }
}
