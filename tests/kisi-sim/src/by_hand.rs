//! What a person does in the Kisi dashboard, outside any integration: share access with a user
//! by hand (a role assignment nobody's API call made) and delete a user. Tests use these to
//! check that access-sync leaves hand-made access alone and respects an operator's removal.
//!
//! Deleting a user deletes its role assignments with it, as Kisi does; both appear in the
//! timeline as deletions.

use chrono::{DateTime, Utc};

use crate::Sim;
use crate::model::{PlaceRoleAssignment, RoleAssignment, TimelineAction, TimelineEntry};

impl Sim {
    /// Gives `user_id` the role `role_id` in `group_id` as a person would in the dashboard
    /// (no e-mail), and returns the assignment's id; `None` if the user or group does not
    /// exist or the user already holds a role there.
    pub fn assign_by_hand(
        &self,
        user_id: u64,
        group_id: u64,
        role_id: &str,
        valid_until: Option<DateTime<Utc>>,
    ) -> Option<u64> {
        let now = self.now();
        let mut g = self.lock();
        let email = g.org.users.get(&user_id)?.email.clone();
        g.org.groups.get(&group_id)?;
        if g.org
            .role_assignments
            .values()
            .any(|r| r.user_id == user_id && r.group_id == group_id)
        {
            return None;
        }
        let id = g.org.next_assignment_id();
        g.org.role_assignments.insert(
            id,
            RoleAssignment {
                id,
                user_id,
                group_id,
                role_id: role_id.into(),
                notify: false,
                valid_from: None,
                valid_until,
                created_at: now,
            },
        );
        g.org.timeline.push(TimelineEntry {
            at: now,
            action: TimelineAction::Created,
            role_assignment_id: id,
            user_id,
            email,
            group_id,
            role_id: role_id.into(),
            valid_from: None,
            valid_until,
        });
        Some(id)
    }

    /// Gives `user_id` the role `role_id` in place `place_id` as a person would in the
    /// dashboard (no e-mail), and returns the assignment's id; `None` if the user or place
    /// does not exist or the user already holds a role there.
    pub fn assign_place_by_hand(&self, user_id: u64, place_id: u64, role_id: &str) -> Option<u64> {
        let now = self.now();
        let mut g = self.lock();
        g.org.users.get(&user_id)?;
        g.org.places.get(&place_id)?;
        if g.org
            .place_assignments
            .values()
            .any(|r| r.user_id == user_id && r.place_id == place_id)
        {
            return None;
        }
        let id = g.org.next_assignment_id();
        g.org.place_assignments.insert(
            id,
            PlaceRoleAssignment {
                id,
                user_id,
                place_id,
                role_id: role_id.into(),
                notify: false,
                created_at: now,
            },
        );
        Some(id)
    }

    /// Deletes a user and every role assignment it holds, as a person deleting it in the
    /// dashboard would; `false` if there is no such user.
    pub fn delete_user_by_hand(&self, user_id: u64) -> bool {
        let now = self.now();
        let mut g = self.lock();
        let Some(user) = g.org.users.remove(&user_id) else {
            return false;
        };
        g.org.place_assignments.retain(|_, r| r.user_id != user_id);
        let ids: Vec<u64> = g
            .org
            .role_assignments
            .values()
            .filter(|r| r.user_id == user_id)
            .map(|r| r.id)
            .collect();
        for id in ids {
            if let Some(r) = g.org.role_assignments.remove(&id) {
                g.org.timeline.push(TimelineEntry {
                    at: now,
                    action: TimelineAction::Deleted,
                    role_assignment_id: r.id,
                    user_id,
                    email: user.email.clone(),
                    group_id: r.group_id,
                    role_id: r.role_id,
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                });
            }
        }
        true
    }
}
