//! The simulator's in-memory Kisi organisation: users, groups, places, role assignments, the
//! e-mails Kisi would have sent and the assignment timeline.
//!
//! Everything here is plain data behind one `std::sync::Mutex` (see `lib.rs`); no lock is held
//! across an `.await`. Rendering to JSON follows the published OpenAPI shapes field for field,
//! because the contract tests validate every response against them.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The organisation every simulated record belongs to.
pub const ORGANIZATION_ID: u64 = 1;
const ORGANIZATION_NAME: &str = "Simulated Organisation";
const ORGANIZATION_DOMAIN: &str = "sim.kisi.test";

/// A Kisi user as the simulator stores it.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Kisi id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// E-mail as given at creation (case preserved).
    pub email: String,
    /// Free-text notes; access-sync writes its ownership marker here.
    pub notes: Option<String>,
    /// `false` makes a managed user that never receives Kisi e-mails.
    pub send_emails: bool,
    /// Auto-confirmed at creation.
    pub confirmed: bool,
    /// Door access switch.
    pub access_enabled: bool,
    /// Password login allowed.
    pub password_flow_enabled: bool,
    /// Free metadata object.
    pub metadata: Value,
    /// Creation time (simulator clock).
    pub created_at: DateTime<Utc>,
    /// Last change (simulator clock).
    pub updated_at: DateTime<Utc>,
}

/// A place (a building or site).
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    /// Kisi id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Street address (required by Kisi).
    pub address: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A group of doors.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Kisi id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The place, or `None` for an organisation-wide group.
    pub place_id: Option<u64>,
    /// App access enabled.
    pub login_enabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A user's role in a group (the UI's "access right").
#[derive(Debug, Clone, Serialize)]
pub struct RoleAssignment {
    /// Kisi id.
    pub id: u64,
    /// The user (assignee).
    pub user_id: u64,
    /// The group (applies to).
    pub group_id: u64,
    /// `group_basic` or `group_manager`.
    pub role_id: String,
    /// Whether Kisi was asked to e-mail the user.
    pub notify: bool,
    /// Start of validity, if any.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A user's role in a place (`applies_to_type: Place`). Kisi's Place variant has no
/// `valid_from`/`valid_until`: it lasts until deleted.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceRoleAssignment {
    /// Kisi id (from the same sequence as group assignments).
    pub id: u64,
    /// The user (assignee).
    pub user_id: u64,
    /// The place (applies to).
    pub place_id: u64,
    /// The role, e.g. `place_basic`.
    pub role_id: String,
    /// Whether Kisi was asked to e-mail the user.
    pub notify: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Which e-mail Kisi would have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Welcome / invitation on user creation (`send_emails`).
    Welcome,
    /// "You have access" on assignment creation (`notify`).
    AccessGranted,
}

/// One e-mail Kisi would have sent.
#[derive(Debug, Clone, Serialize)]
pub struct SentEmail {
    /// Kind of e-mail.
    pub kind: EmailKind,
    /// Recipient.
    pub to: String,
    /// Recipient's user id.
    pub user_id: u64,
    /// The group, for access e-mails.
    pub group_id: Option<u64>,
    /// When (simulator clock).
    pub at: DateTime<Utc>,
}

/// What happened to an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineAction {
    /// `POST /role_assignments` succeeded.
    Created,
    /// `DELETE /role_assignments/{id}` succeeded.
    Deleted,
}

/// One entry of the assignment history, for end-to-end tests that compare the simulator's
/// timeline with the preview.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When (simulator clock, settable through the admin API).
    pub at: DateTime<Utc>,
    /// Created or deleted.
    pub action: TimelineAction,
    /// The assignment.
    pub role_assignment_id: u64,
    /// The user.
    pub user_id: u64,
    /// The user's e-mail at the time.
    pub email: String,
    /// The group.
    pub group_id: u64,
    /// The role.
    pub role_id: String,
    /// Validity start.
    pub valid_from: Option<DateTime<Utc>>,
    /// Validity end.
    pub valid_until: Option<DateTime<Utc>>,
}

/// The whole organisation.
#[derive(Debug, Default)]
pub struct Org {
    /// Users by id.
    pub users: BTreeMap<u64, User>,
    /// Groups by id.
    pub groups: BTreeMap<u64, Group>,
    /// Places by id.
    pub places: BTreeMap<u64, Place>,
    /// Assignments by id.
    pub role_assignments: BTreeMap<u64, RoleAssignment>,
    /// Place role assignments by id (ids never shared with `role_assignments`).
    pub place_assignments: BTreeMap<u64, PlaceRoleAssignment>,
    /// E-mails Kisi would have sent, oldest first.
    pub emails: Vec<SentEmail>,
    /// Assignment history, oldest first.
    pub timeline: Vec<TimelineEntry>,
    next_user: u64,
    next_group: u64,
    next_place: u64,
    next_assignment: u64,
}

/// Ids of each kind start in their own range so a test that passes a user id where a group id
/// belongs gets a 404 instead of a lucky hit.
const USER_IDS: u64 = 1_000;
const GROUP_IDS: u64 = 100;
const PLACE_IDS: u64 = 10;
const ASSIGNMENT_IDS: u64 = 50_000;

impl Org {
    /// Hands out the next user id.
    pub fn next_user_id(&mut self) -> u64 {
        self.next_user += 1;
        USER_IDS + self.next_user
    }
    /// Hands out the next group id.
    pub fn next_group_id(&mut self) -> u64 {
        self.next_group += 1;
        GROUP_IDS + self.next_group
    }
    /// Makes sure later generated group ids do not collide with a chosen one.
    pub fn reserve_group_id(&mut self, id: u64) {
        if id > GROUP_IDS {
            self.next_group = self.next_group.max(id - GROUP_IDS);
        }
    }
    /// Makes sure later generated place ids do not collide with a chosen one.
    pub fn reserve_place_id(&mut self, id: u64) {
        if id > PLACE_IDS {
            self.next_place = self.next_place.max(id - PLACE_IDS);
        }
    }
    /// Hands out the next place id.
    pub fn next_place_id(&mut self) -> u64 {
        self.next_place += 1;
        PLACE_IDS + self.next_place
    }
    /// Hands out the next assignment id.
    pub fn next_assignment_id(&mut self) -> u64 {
        self.next_assignment += 1;
        ASSIGNMENT_IDS + self.next_assignment
    }

    /// The user with this e-mail, compared case-insensitively as Kisi does for uniqueness.
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// Number of assignments of a user (the deprecated `groups_count`).
    fn groups_count(&self, user_id: u64) -> usize {
        self.role_assignments
            .values()
            .filter(|r| r.user_id == user_id)
            .count()
    }

    fn users_count(&self, group_id: u64) -> usize {
        self.role_assignments
            .values()
            .filter(|r| r.group_id == group_id)
            .count()
    }

    /// The User object of the published spec.
    pub fn user_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "resource_type": "User",
            "name": u.name,
            "email": u.email,
            "created_at": ts(u.created_at),
            "updated_at": ts(u.updated_at),
            "metadata": u.metadata,
            "image": null,
            "otp_required_for_login": false,
            "password_flow_enabled": u.password_flow_enabled,
            "access_enabled": u.access_enabled,
            "last_accessed_at": null,
            "scim_access_enabled": true,
            "notes": u.notes,
            "organization_id": ORGANIZATION_ID,
            "confirmed": u.confirmed,
            "groups_count": self.groups_count(u.id),
        })
    }

    /// The Group object of the published spec. `place` is left out for organisation-wide
    /// groups: the spec types it as a non-nullable object that is not required.
    pub fn group_json(&self, g: &Group) -> Value {
        let mut v = json!({
            "id": g.id,
            "resource_type": "Group",
            "name": g.name,
            "description": g.description,
            "created_at": ts(g.created_at),
            "updated_at": ts(g.created_at),
            "geofence_restriction_enabled": false,
            "geofence_restriction_radius": 300,
            "primary_device_restriction_enabled": false,
            "managed_device_restriction_enabled": false,
            "reader_restriction_enabled": false,
            "time_restriction_enabled": false,
            "tap_to_access_restriction_enabled": false,
            "login_enabled": g.login_enabled,
            "users_count": self.users_count(g.id),
            "locks_count": 0,
            "elevator_stops_count": 0,
            "place_id": g.place_id,
            "time_restriction_time_zone": null,
            "members_count": self.users_count(g.id),
        });
        if let (Some(pid), Some(obj)) = (g.place_id, v.as_object_mut()) {
            let name = self
                .places
                .get(&pid)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            obj.insert(
                "place".into(),
                json!({"id": pid, "resource_type": "Place", "name": name}),
            );
        }
        v
    }

    /// The full Place object of the published spec.
    pub fn place_json(&self, p: &Place) -> Value {
        json!({
            "id": p.id,
            "resource_type": "Place",
            "name": p.name,
            "description": null,
            "created_at": ts(p.created_at),
            "updated_at": ts(p.created_at),
            "latitude": null,
            "longitude": null,
            "address": p.address,
            "image": null,
            "time_zone": p.time_zone,
            "tz_time_zone": p.time_zone,
            "locks_count": 0,
            "integrations_count": 0,
            "locked_down": false,
            "locked_down_since": null,
            "occupancy_rate": null,
            "organization_id": ORGANIZATION_ID,
            "organization": {
                "id": ORGANIZATION_ID,
                "resource_type": "Organization",
                "name": ORGANIZATION_NAME,
                "domain": ORGANIZATION_DOMAIN,
            },
            "color": null,
            "logo": null,
            "user_id": null,
            "members_count": 0,
        })
    }

    /// The Group variant of the RoleAssignment object, deprecated fields included.
    pub fn assignment_json(&self, r: &RoleAssignment) -> Value {
        let (email, uname) = self
            .users
            .get(&r.user_id)
            .map(|u| (u.email.clone(), u.name.clone()))
            .unwrap_or_default();
        let gname = self
            .groups
            .get(&r.group_id)
            .map(|g| g.name.clone())
            .unwrap_or_default();
        let user = json!({"id": r.user_id, "resource_type": "User", "email": email, "name": uname});
        let group = json!({"id": r.group_id, "resource_type": "Group", "name": gname});
        json!({
            "id": r.id,
            "resource_type": "RoleAssignment",
            "created_at": ts(r.created_at),
            "updated_at": ts(r.created_at),
            "role_id": r.role_id,
            "notify": r.notify,
            "applies_to_type": "Group",
            "applies_to_id": r.group_id,
            "applies_to": group,
            "assignee_type": "User",
            "assignee_id": r.user_id,
            "assignee": user,
            "created_by_type": "User",
            "created_by_id": null,
            "user_id": r.user_id,
            "user": user,
            "assignee_team_id": null,
            "guest_id": null,
            "issued_by_id": null,
            "type": "group",
            "scope": "group",
            "group_id": r.group_id,
            "group": group,
            "valid_from": r.valid_from.map(ts),
            "valid_until": r.valid_until.map(ts),
        })
    }
}

impl Org {
    /// The Place variant of the RoleAssignment object, deprecated fields included (the spec's
    /// "Place Role Assignment": no `valid_*` fields).
    pub fn place_assignment_json(&self, r: &PlaceRoleAssignment) -> Value {
        let (email, uname) = self
            .users
            .get(&r.user_id)
            .map(|u| (u.email.clone(), u.name.clone()))
            .unwrap_or_default();
        let pname = self
            .places
            .get(&r.place_id)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let user = json!({"id": r.user_id, "resource_type": "User", "email": email, "name": uname});
        let place = json!({"id": r.place_id, "resource_type": "Place", "name": pname});
        json!({
            "id": r.id,
            "resource_type": "RoleAssignment",
            "created_at": ts(r.created_at),
            "updated_at": ts(r.created_at),
            "role_id": r.role_id,
            "notify": r.notify,
            "applies_to_type": "Place",
            "applies_to_id": r.place_id,
            "applies_to": place,
            "assignee_type": "User",
            "assignee_id": r.user_id,
            "assignee": user,
            "created_by_type": "User",
            "created_by_id": null,
            "user_id": r.user_id,
            "user": user,
            "assignee_team_id": null,
            "guest_id": null,
            "issued_by_id": null,
            "type": "place",
            "scope": "place",
            "place_id": r.place_id,
            "place": place,
        })
    }
}

/// Kisi's timestamp format: RFC 3339, milliseconds, `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
