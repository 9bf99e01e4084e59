//! What the operator reads of Kisi beyond the converge port: one person's user and every
//! assignment they hold (in any group, managed or not), and whether Kisi accepts the API key.
//!
//! Read-only by construction: nothing here can write Kisi (that is the engine's one converge
//! path). [`KisiAccess`] answers it through its client (one user look-up and one listing of the
//! user's assignments: cheap enough for a person's page, unlike listing whole groups).

use access_sync_kisi::{KisiAccess, KisiError};
use access_sync_rules::{Email, GroupId, Instant};
use serde::Serialize;
use std::future::Future;

/// One person as Kisi has them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KisiPerson {
    /// Kisi's user id.
    pub user_id: u64,
    /// Kisi's door-access switch for the user.
    pub access_enabled: bool,
    /// Every role assignment of the user.
    pub assignments: Vec<KisiAssignment>,
}

/// One role assignment as Kisi holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KisiAssignment {
    /// Kisi's id of the assignment.
    pub id: u64,
    /// The group.
    pub group: GroupId,
    /// Kisi's role (`group_basic`, …).
    pub role: String,
    /// When Kisi stops honouring it.
    pub valid_until: Option<Instant>,
}

/// Whether Kisi accepts the API key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum KeyHealth {
    /// Kisi answered an authenticated read (how many groups it listed).
    Ok(usize),
    /// Kisi rejected the key (HTTP 401): nothing reaches Kisi until it is replaced.
    Rejected(String),
    /// Kisi could not be reached or failed otherwise.
    Unavailable(String),
}

/// The operator's read-only look-ups in Kisi.
pub trait KisiLookup: Send + Sync {
    /// The Kisi user with exactly this e-mail and all their assignments; `None` when Kisi has
    /// no such user.
    ///
    /// # Errors
    /// Kisi's failure, for a human.
    fn person(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<KisiPerson>, String>> + Send;

    /// Whether Kisi accepts the API key (an authenticated read).
    fn health(&self) -> impl Future<Output = KeyHealth> + Send;
}

impl KisiLookup for KisiAccess {
    async fn person(&self, email: &Email) -> Result<Option<KisiPerson>, String> {
        let kisi = self.client();
        let Some(user) = kisi
            .find_user_by_email(email.as_str())
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let assignments = kisi
            .list_user_assignments(user.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(KisiPerson {
            user_id: user.id.0,
            access_enabled: user.access_enabled,
            assignments: assignments
                .into_iter()
                .filter_map(|a| {
                    Some(KisiAssignment {
                        id: a.id.0,
                        group: GroupId::new(i64::try_from(a.group.0).ok()?)?,
                        role: a.role_id,
                        valid_until: a.valid_until,
                    })
                })
                .collect(),
        }))
    }

    async fn health(&self) -> KeyHealth {
        match self.client().list_groups().await {
            Ok(groups) => KeyHealth::Ok(groups.len()),
            Err(e @ KisiError::Unauthorized) => KeyHealth::Rejected(e.to_string()),
            Err(e) => KeyHealth::Unavailable(e.to_string()),
        }
    }
}
