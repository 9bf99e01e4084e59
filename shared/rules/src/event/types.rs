//! The canonical event types (ACCESS-MODEL §2): what every platform adapter produces and what
//! the core consumes. A value of these types is well-formed: [`super::parse`] builds them only
//! from input that passes every check.

use crate::ids::{Email, EntitlementId, MemberId, TeamId};
use crate::source::Source;
use crate::time::Instant;
use chrono::Weekday;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One canonical event: a delivery with a unique `id`, the instant it happened, and its body.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique delivery id: a second delivery with the same id has no effect.
    pub id: String,
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub body: Body,
}

/// The four kinds of canonical event.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A member's full state.
    Member(MemberEvent),
    /// A team's full member list.
    Team(TeamEvent),
    /// A new version of an entitlement.
    Entitlement(Entitlement),
    /// The end of an entitlement.
    Cancel(EntitlementId),
}

/// A member's full state: an event without `email` leaves the member without an address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberEvent {
    /// Platform id.
    pub id: MemberId,
    /// Normalised address, if any.
    pub email: Option<Email>,
    /// Display name.
    pub name: Option<String>,
    /// The member is gone: all their access ends.
    pub removed: bool,
}

/// A team's full list of member ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamEvent {
    /// Platform id.
    pub id: TeamId,
    /// Every current member.
    pub members: Vec<MemberId>,
}

/// What kind of entitlement; decides how windows are computed (ACCESS-MODEL §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A membership plan.
    Plan,
    /// An allowance (credits, hours).
    Allowance,
    /// A day pass or pass pack.
    Pass,
    /// A resource booking.
    Booking,
    /// A resource assignment, optionally in weekly blocks.
    Assignment,
    /// A desk or office occupancy.
    Occupancy,
    /// A check-in (until checkout or local midnight).
    Checkin,
    /// A class, appointment or course registration.
    Registration,
}

impl Kind {
    /// Every kind name, for error messages.
    pub(crate) const NAMES: [&'static str; 8] = [
        "plan",
        "allowance",
        "pass",
        "booking",
        "assignment",
        "occupancy",
        "checkin",
        "registration",
    ];

    /// Parses a kind name.
    pub(crate) fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "plan" => Kind::Plan,
            "allowance" => Kind::Allowance,
            "pass" => Kind::Pass,
            "booking" => Kind::Booking,
            "assignment" => Kind::Assignment,
            "occupancy" => Kind::Occupancy,
            "checkin" => Kind::Checkin,
            "registration" => Kind::Registration,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plan => "plan",
            Kind::Allowance => "allowance",
            Kind::Pass => "pass",
            Kind::Booking => "booking",
            Kind::Assignment => "assignment",
            Kind::Occupancy => "occupancy",
            Kind::Checkin => "checkin",
            Kind::Registration => "registration",
        }
    }

    /// Whether lead and lag apply (booking, registration, assignment).
    pub fn uses_lead_lag(self) -> bool {
        match self {
            Kind::Booking | Kind::Registration | Kind::Assignment => true,
            Kind::Plan | Kind::Allowance | Kind::Pass | Kind::Occupancy | Kind::Checkin => false,
        }
    }
}

/// An entitlement's status (ACCESS-MODEL §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Grants.
    Active,
    /// Not accepted yet: grants nothing.
    Pending,
    /// Unpaid: grants only when `defaults.blocked = "allow"`.
    Blocked,
    /// Passes or pack used up: grants nothing.
    Exhausted,
}

impl Status {
    /// Parses a status name.
    pub(crate) fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "pending" => Status::Pending,
            "blocked" => Status::Blocked,
            "exhausted" => Status::Exhausted,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Pending => "pending",
            Status::Blocked => "blocked",
            Status::Exhausted => "exhausted",
        }
    }
}

/// A mapping key `"<source>:<id>"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// What kind of platform thing.
    pub source: Source,
    /// The platform's id of it.
    pub id: String,
}

impl Ref {
    /// Parses `"<source>:<id>"`.
    pub fn parse(s: &str) -> Result<Ref, String> {
        let (src, id) = s
            .split_once(':')
            .ok_or_else(|| format!("ref {s:?} has no ':' (want \"<source>:<id>\")"))?;
        let source = Source::parse(src).ok_or_else(|| {
            format!(
                "ref {s:?} has unknown source {src:?} (want one of {})",
                Source::NAMES.join(", ")
            )
        })?;
        if id.is_empty() {
            return Err(format!("ref {s:?} has an empty id"));
        }
        Ok(Ref {
            source,
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source.as_str(), self.id)
    }
}

/// Who holds an entitlement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// One member.
    Member(MemberId),
    /// Every current member of a team.
    Team(TeamId),
}

/// A weekly block of an assignment, in local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Days of the week it recurs on.
    pub days: Vec<Weekday>,
    /// Local start, minutes after midnight (0..1440).
    pub from: u32,
    /// Local end, minutes after midnight (from < to ≤ 1440; 1440 is "24:00").
    pub to: u32,
}

/// One version of an entitlement record.
#[derive(Clone, Debug, PartialEq)]
pub struct Entitlement {
    /// Stable id of the source record.
    pub id: EntitlementId,
    /// Kind.
    pub kind: Kind,
    /// Mapping keys.
    pub refs: Vec<Ref>,
    /// Holder.
    pub holder: Holder,
    /// Guests who get the same windows.
    pub guests: Vec<Email>,
    /// Start; `None` means the `at` of the first event that made the record known.
    pub start: Option<Instant>,
    /// End; `None` is open-ended (checkin: until local midnight).
    pub end: Option<Instant>,
    /// Weekly blocks (assignment only).
    pub blocks: Vec<Block>,
    /// Zone for blocks and check-in day end; `None` uses the mapping default.
    pub tz: Option<Tz>,
    /// Status.
    pub status: Status,
}
