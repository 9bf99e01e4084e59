//! The OfficeRnD collections a sync reads, and how each is listed (reference §2, §3).

/// How a collection's listing is narrowed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// Not dated: every record is listed.
    None,
    /// `/bookings/occurrences`: a required period, `start` and `end` (§2.5 [O]: v1 code sends
    /// `start`/`end`; the period is at most one year without paging [C]).
    Occurrences,
    /// `/checkins`: `start[$gte]` and `start[$lt]` (§2.8 and §3 "Date filters" [C for visitor
    /// check-ins, I for member check-ins]).
    Checkins,
}

/// One collection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// The collection's name in [`crate::officernd::OfficerndSource::collections`]: its path
    /// under the organisation, without the leading slash.
    pub(crate) name: &'static str,
    /// Whether `modifiedAt[$gte]` filters it (§2.1, §2.2, §2.7 [C]; memberships reject it [O]).
    pub(crate) incremental: bool,
    /// How it is narrowed in time.
    pub(crate) window: Window,
    /// Whether `GET /<name>/{id}` exists (§2; occurrences have no single-item GET).
    pub(crate) readable: bool,
    /// The read scope (§1 "Scopes (v2)").
    pub(crate) scope: &'static str,
}

const fn spec(
    name: &'static str,
    incremental: bool,
    window: Window,
    readable: bool,
    scope: &'static str,
) -> Spec {
    Spec {
        name,
        incremental,
        window,
        readable,
        scope,
    }
}

/// Every collection that decides access, in the order a full sync reads them: places and
/// plans first, then who (companies, members), then what they hold (memberships, passes,
/// assignments), then when (bookings and their occurrences, check-ins).
pub(crate) const SPECS: [Spec; 12] = [
    spec(
        "locations",
        false,
        Window::None,
        true,
        "flex.space.locations.read",
    ),
    spec("floors", true, Window::None, true, "flex.space.floors.read"),
    spec(
        "plans",
        false,
        Window::None,
        true,
        "flex.billing.plans.read",
    ),
    spec(
        "resources",
        false,
        Window::None,
        true,
        "flex.space.resources.read",
    ),
    spec(
        "companies",
        true,
        Window::None,
        true,
        "flex.community.companies.read",
    ),
    spec(
        "members",
        true,
        Window::None,
        true,
        "flex.community.members.read",
    ),
    spec(
        "memberships",
        false,
        Window::None,
        true,
        "flex.community.memberships.read",
    ),
    spec(
        "passes",
        false,
        Window::None,
        true,
        "flex.space.passes.read",
    ),
    spec(
        "assignments",
        false,
        Window::None,
        true,
        "flex.space.assignments.read",
    ),
    spec(
        "bookings",
        false,
        Window::None,
        true,
        "flex.space.bookings.read",
    ),
    spec(
        "bookings/occurrences",
        false,
        Window::Occurrences,
        false,
        "flex.space.bookings.read",
    ),
    spec(
        "checkins",
        false,
        Window::Checkins,
        true,
        "flex.community.checkins.read",
    ),
];

/// The names, in [`SPECS`] order.
pub(crate) const NAMES: [&str; 12] = {
    let mut out = [""; 12];
    let mut i = 0;
    while i < SPECS.len() {
        out[i] = SPECS[i].name;
        i += 1;
    }
    out
};

/// The collection called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The scopes a token is asked for: each collection's read scope, once.
pub(crate) fn scopes() -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in &SPECS {
        if !out.contains(&s.scope) {
            out.push(s.scope);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_scopes_deduplicated() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SPECS.len());
        assert_eq!(scopes().split(' ').count(), 11);
        assert!(find("members").is_some_and(|s| s.incremental));
        assert!(find("memberships").is_some_and(|s| !s.incremental));
        assert!(find("nope").is_none());
    }
}
