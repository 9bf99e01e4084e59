//! Typed Kisi records and the client's inputs and outcomes.
//!
//! Responses are read leniently (unknown fields ignored, only what access-sync needs is kept) so
//! a new Kisi field never breaks a sync; requests are written strictly (see `client.rs`), and the
//! contract tests check both against the published OpenAPI files.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Written into the `notes` of every user access-sync creates, so an operator (and a later
/// reconcile) can tell our users from hand-made ones.
pub const OWNERSHIP_MARKER: &str = "managed-by: access-sync";

/// The role access-sync grants: "grant users access to unlock a set of doors".
pub const ROLE_GROUP_BASIC: &str = "group_basic";

/// The role access-sync grants in a place (`[[place]]`): membership of the place, no doors.
///
/// Kisi's spec names place role assignments (`applies_to_type: Place`) but the reference
/// confirms only the group role ids (`../shared/reference/kisi-api.md` §2.4: "Their exact
/// `role_id` strings were not confirmed; only `group_basic` and `group_manager` were"). This
/// id is chosen by analogy with `group_basic`; check it with `GET /roles` before going live.
/// A wrong id makes Kisi refuse the place grant (422), which converge records and skips
/// without touching the person's doors.
pub const ROLE_PLACE_BASIC: &str = "place_basic";

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A Kisi user id.
    UserId
);
id_type!(
    /// A Kisi group id.
    GroupId
);
id_type!(
    /// A Kisi place id.
    PlaceId
);
id_type!(
    /// A Kisi role assignment id.
    RoleAssignmentId
);

/// A Kisi user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail as Kisi stores it (case preserved).
    pub email: String,
    /// Notes; carries [`OWNERSHIP_MARKER`] for users access-sync created.
    #[serde(default)]
    pub notes: Option<String>,
    /// Door access switch.
    #[serde(default = "yes")]
    pub access_enabled: bool,
}

fn yes() -> bool {
    true
}

impl User {
    /// Whether access-sync created this user (its notes carry the ownership marker).
    pub fn is_managed_by_access_sync(&self) -> bool {
        self.notes
            .as_deref()
            .is_some_and(|n| n.contains(OWNERSHIP_MARKER))
    }
}

/// A place's id and name as embedded in a group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PlaceRef {
    /// Id.
    pub id: PlaceId,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// A Kisi group (a set of doors).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The place; `None` for an organisation-wide group.
    #[serde(default)]
    pub place_id: Option<PlaceId>,
    /// The place's name, when Kisi embeds it.
    #[serde(default)]
    pub place: Option<PlaceRef>,
}

/// A Kisi place (site).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Place {
    /// Id.
    pub id: PlaceId,
    /// Name.
    pub name: String,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The wire form of a role assignment: canonical and deprecated fields side by side.
#[derive(Debug, Deserialize)]
pub(crate) struct RawAssignment {
    id: RoleAssignmentId,
    role_id: String,
    #[serde(default)]
    notify: Option<bool>,
    #[serde(default)]
    applies_to_type: Option<String>,
    #[serde(default)]
    applies_to_id: Option<u64>,
    #[serde(default)]
    assignee_type: Option<String>,
    #[serde(default)]
    assignee_id: Option<u64>,
    #[serde(default)]
    user_id: Option<u64>,
    #[serde(default)]
    group_id: Option<u64>,
    #[serde(default)]
    place_id: Option<u64>,
    #[serde(default)]
    r#type: Option<String>,
    #[serde(default)]
    valid_from: Option<DateTime<Utc>>,
    #[serde(default)]
    valid_until: Option<DateTime<Utc>>,
}

/// A user's role in a group (Kisi's "access right"). Assignments to places, the organisation,
/// teams or guests are outside access-sync's remit and are skipped when listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleAssignment {
    /// Id.
    pub id: RoleAssignmentId,
    /// The user.
    pub user: UserId,
    /// The group.
    pub group: GroupId,
    /// The role, e.g. `group_basic`.
    pub role_id: String,
    /// Whether Kisi was asked to e-mail the user.
    pub notify: bool,
    /// Validity start, if any.
    pub valid_from: Option<DateTime<Utc>>,
    /// Validity end, if any.
    pub valid_until: Option<DateTime<Utc>>,
}

impl RawAssignment {
    /// The user→group assignment this is, or `None` for other kinds.
    pub(crate) fn into_group_assignment(self) -> Option<RoleAssignment> {
        let group = match self.applies_to_type.as_deref() {
            Some("Group") => self.applies_to_id,
            Some(_) => None,
            None => self.group_id,
        }?;
        let user = match self.assignee_type.as_deref() {
            Some("User") => self.assignee_id,
            Some(_) => None,
            None => self.user_id,
        }?;
        Some(RoleAssignment {
            id: self.id,
            user: UserId(user),
            group: GroupId(group),
            role_id: self.role_id,
            notify: self.notify.unwrap_or(false),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }

    /// The user→place assignment this is, or `None` for other kinds (the canonical
    /// `applies_to_type: Place`, or the deprecated `type: place` with `place_id`).
    pub(crate) fn into_place_assignment(self) -> Option<PlaceRoleAssignment> {
        let place = match self.applies_to_type.as_deref() {
            Some("Place") => self.applies_to_id,
            Some(_) => None,
            None if self.r#type.as_deref() == Some("place") => self.place_id,
            None => None,
        }?;
        let user = match self.assignee_type.as_deref() {
            Some("User") => self.assignee_id,
            Some(_) => None,
            None => self.user_id,
        }?;
        Some(PlaceRoleAssignment {
            id: self.id,
            user: UserId(user),
            place: PlaceId(place),
            role_id: self.role_id,
            notify: self.notify.unwrap_or(false),
        })
    }

    pub(crate) fn id(&self) -> RoleAssignmentId {
        self.id
    }
}

/// A user's role in a place (`applies_to_type: Place`). Kisi's place role assignments carry
/// no `valid_from`/`valid_until` (the spec's Place variant has none), so a place role lasts
/// until it is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceRoleAssignment {
    /// Id.
    pub id: RoleAssignmentId,
    /// The user.
    pub user: UserId,
    /// The place.
    pub place: PlaceId,
    /// The role, e.g. [`ROLE_PLACE_BASIC`].
    pub role_id: String,
    /// Whether Kisi was asked to e-mail the user.
    pub notify: bool,
}

/// Whether Kisi should e-mail members (per mapping or per site).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitePolicy {
    /// Leave `send_emails` and `notify` out and let Kisi do what it does by default.
    KisiDefault,
    /// `send_emails:true` on user creation and `notify:true` on each grant.
    Always,
    /// A managed user (`send_emails:false, confirm:true`) and `notify:false`: no Kisi e-mail.
    Never,
}

impl InvitePolicy {
    /// `send_emails` for a new user (`None`: left out).
    pub(crate) fn send_emails(self) -> Option<bool> {
        match self {
            InvitePolicy::KisiDefault => None,
            InvitePolicy::Always => Some(true),
            InvitePolicy::Never => Some(false),
        }
    }

    /// `confirm` for a new user: managed users are confirmed at once, as they never sign up.
    pub(crate) fn confirm(self) -> Option<bool> {
        match self {
            InvitePolicy::KisiDefault | InvitePolicy::Always => None,
            InvitePolicy::Never => Some(true),
        }
    }

    /// `notify` for a new assignment (`None`: left out).
    pub(crate) fn notify(self) -> Option<bool> {
        self.send_emails()
    }
}

impl FromStr for InvitePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kisi_default" => Ok(InvitePolicy::KisiDefault),
            "always" => Ok(InvitePolicy::Always),
            "never" => Ok(InvitePolicy::Never),
            other => Err(format!(
                "unknown invite policy {other:?}: use kisi_default, always or never"
            )),
        }
    }
}

/// A user to create when none has the e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// E-mail (the identity access-sync matches on).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// How [`crate::KisiClient::ensure_user`] got its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrigin {
    /// A user with exactly this e-mail already existed.
    Found,
    /// access-sync created it (with the ownership marker).
    Created,
    /// Creating answered 409 (a concurrent or earlier create); the existing user was found by
    /// exact e-mail and adopted.
    AdoptedAfterConflict,
}

/// A user and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredUser {
    /// The user.
    pub user: User,
    /// Found, created or adopted.
    pub origin: UserOrigin,
}

/// One grant: a user in a group with `group_basic`, within an optional window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user.
    pub user: UserId,
    /// The group.
    pub group: GroupId,
    /// Start of access (`None`: now).
    pub valid_from: Option<DateTime<Utc>>,
    /// End of access, enforced by Kisi itself (`None`: open-ended).
    pub valid_until: Option<DateTime<Utc>>,
    /// Whether Kisi e-mails the user about it.
    pub invite: InvitePolicy,
}

/// What [`crate::KisiClient::grant`] (or, with a [`PlaceRoleAssignment`],
/// [`crate::KisiClient::grant_place`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome<A = RoleAssignment> {
    /// A new assignment was created.
    Created(A),
    /// Kisi answered 409 and the existing assignment has the same user, group and role; it is
    /// returned as is. Its window may differ from the one asked for: compare and, if needed,
    /// revoke and grant again (Kisi's PATCH of the window is not reliable).
    Adopted(A),
    /// Kisi answered 409 because the user already holds *another* role in the group (say
    /// `group_manager`, given by hand): returned as is, never to be taken for a grant of ours.
    OtherRole(A),
}

impl<A> GrantOutcome<A> {
    /// The assignment, created or found.
    pub fn assignment(&self) -> &A {
        match self {
            GrantOutcome::Created(a) | GrantOutcome::Adopted(a) | GrantOutcome::OtherRole(a) => a,
        }
    }
}

/// What [`crate::KisiClient::revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Kisi deleted it.
    Deleted,
    /// It was not there (404, confirmed by an empty listing for its id).
    AlreadyGone,
}
