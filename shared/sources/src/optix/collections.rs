//! What the client asks Optix for, collection by collection (optix.md §2, the example queries
//! there, which were validated against SCHEMA): the root field, the arguments that make the
//! list "everything" (§2 "Set all explicitly"), the window a dated list takes, the selection,
//! and how one record is read by id.

/// Which time window a listing takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// None: listed in full.
    None,
    /// Bookings: `end_timestamp_from` / `start_timestamp_to` (inclusive, §2.5).
    Bookings,
    /// Check-ins: `timestamp_from` / `timestamp_to` (§2.6).
    Checkins,
}

/// One collection.
#[derive(Debug)]
pub struct Spec {
    /// The collection (= the list root field).
    pub name: &'static str,
    /// Its records' id field.
    pub id: &'static str,
    /// Fixed arguments besides `limit`, `page` and the window.
    pub args: &'static str,
    /// The window.
    pub window: Window,
    /// The selection of one record.
    pub fields: &'static str,
    /// The single-record root field and its id argument, where one exists (§2); else the
    /// record is found by paging the list.
    pub single: Option<(&'static str, &'static str)>,
}

/// Every collection, in the order a full sync reads them (locations and people first).
pub const SPECS: [Spec; 8] = [
    Spec {
        name: "locations",
        id: "location_id",
        args: "include_visible: true, include_hidden: true, include_deleted: true",
        window: Window::None,
        fields: "location_id name timezone is_deleted is_visible is_hidden",
        single: None,
    },
    Spec {
        name: "users",
        id: "user_id",
        args: "include_active: true, include_inactive: true, include_deleted: true, include_pending: true",
        window: Window::None,
        fields: "user_id email name surname fullname is_active is_inactive is_deleted is_pending is_lead has_plans user_since teams { team_id name } account_contracts { account { account_id } team { team_id } is_admin }",
        single: Some(("user", "get_by_user_id")),
    },
    Spec {
        name: "teams",
        id: "team_id",
        args: "",
        window: Window::None,
        fields: "team_id name users_count users { user_id email } admins { user_id }",
        single: None,
    },
    Spec {
        name: "accounts",
        id: "account_id",
        args: "",
        window: Window::None,
        fields: "account_id type name email status",
        single: None,
    },
    Spec {
        name: "accountPlans",
        id: "account_plan_id",
        args: "status: [ACTIVE, IN_TRIAL, UPCOMING, CANCELED, ENDED, UNKNOWN]",
        window: Window::None,
        fields: "account_plan_id name status start_timestamp end_timestamp canceled_timestamp created_timestamp payer_account { account_id type } access_usage_user { user_id email } plan_template { plan_template_id name } accesses { access_id unlimited_allowance allowance discount_pct unit { unit_id name type } access_template { access_template_id name type rules { location_id all_resources resource_id resource_type_id } } }",
        single: Some(("accountPlan", "account_plan_id")),
    },
    Spec {
        name: "assignments",
        id: "assignment_id",
        args: "status: [UPCOMING, ACTIVE, ENDED, CANCELED]",
        window: Window::None,
        fields: "assignment_id status created_timestamp first_occurrence_start_timestamp last_occurrence_end_timestamp duration_sec recurrence { rrule days_of_week time_of_day skipped_timestamps parts { freq interval byday until count } } resource { resource_id name location { location_id timezone } } owner_account { account_id type } payer_account { account_id }",
        single: Some(("assignment", "assignment_id")),
    },
    Spec {
        name: "bookings",
        id: "booking_id",
        args: "user_id: -1, include_new: true, include_approved: true, include_canceled: true, include_rejected: true, order: START_TIMESTAMP_ASC",
        window: Window::Bookings,
        fields: "booking_id start_timestamp end_timestamp created_timestamp is_new is_approved is_canceled is_rejected is_hidden is_recurring user { user_id email } account { account_id type } resource { resource_id name location { location_id timezone } } invitees { status user { user_id email } }",
        single: Some(("booking", "booking_id")),
    },
    Spec {
        name: "checkins",
        id: "checkin_id",
        args: "user_id: []",
        window: Window::Checkins,
        fields: "checkin_id start_timestamp end_timestamp created_timestamp owner_account { account_id type } payer_account { account_id } location { location_id timezone }",
        single: Some(("checkin", "checkin_id")),
    },
];

/// The names, in order.
pub const NAMES: [&str; 8] = [
    SPECS[0].name,
    SPECS[1].name,
    SPECS[2].name,
    SPECS[3].name,
    SPECS[4].name,
    SPECS[5].name,
    SPECS[6].name,
    SPECS[7].name,
];

/// The spec of a collection.
pub fn find(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}
