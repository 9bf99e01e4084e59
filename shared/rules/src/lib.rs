//! # access-sync rules
//!
//! The pure core of access-sync: it turns the operator's mapping file and the platforms'
//! canonical events into an access timeline — who may open which Kisi group, from when to when —
//! and decides what converge must do about one (e-mail, group) pair at a given `now`.
//!
//! Nothing here reads a clock, touches the network or knows about AWS: time is a parameter and
//! every decision is returned as plain data for the shell to carry out. The contract is
//! `ACCESS-MODEL.md` (in the shared reference beside the repository).
//!
//! - [`mapping`]: the mapping file, validated with line numbers.
//! - [`event`]: canonical events, validated.
//! - [`windows`]: the windows one entitlement version opens, per kind.
//! - [`facts`]: the stored facts (latest versions of members, teams, entitlements), applying an
//!   event to them and telling which (e-mail, group) pairs it can change.
//! - [`access`]: for one pair at `now`: open or closed, until when, and the next edge.
//! - [`converge`]: desired access against what we own in Kisi → one decision.
//! - [`preview`]: the same operations on a virtual clock over an event file (and the same
//!   timeline read from the whole history at once, `batch`).

pub mod access;
mod batch;
pub mod converge;
pub mod event;
pub mod facts;
pub mod ids;
pub mod mapping;
pub mod preview;
mod short_list;
pub mod time;
pub mod windows;

pub use access::Access;
pub use event::{Body, Entitlement, Event, Holder, Kind, Ref, Status};
pub use facts::Facts;
pub use ids::{Email, EntitlementId, GroupId, MemberId, Pair, TeamId};
pub use mapping::Mappings;
pub use time::Instant;

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of platform thing a mapping (and a ref) names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A membership plan.
    Plan,
    /// An allowance.
    Allowance,
    /// A pass.
    Pass,
    /// A bookable or assignable resource.
    Resource,
    /// A location (building, site).
    Location,
    /// A floor.
    Floor,
    /// A private office.
    Office,
    /// A desk.
    Desk,
    /// Check-ins at a location.
    Checkin,
    /// Registrations for an offering (class type, appointment type, course).
    Registration,
}

impl Source {
    /// Every source name, for error messages.
    pub const NAMES: [&'static str; 10] = [
        "plan",
        "allowance",
        "pass",
        "resource",
        "location",
        "floor",
        "office",
        "desk",
        "checkin",
        "registration",
    ];

    /// Parses a source name.
    pub fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "plan" => Source::Plan,
            "allowance" => Source::Allowance,
            "pass" => Source::Pass,
            "resource" => Source::Resource,
            "location" => Source::Location,
            "floor" => Source::Floor,
            "office" => Source::Office,
            "desk" => Source::Desk,
            "checkin" => Source::Checkin,
            "registration" => Source::Registration,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Plan => "plan",
            Source::Allowance => "allowance",
            Source::Pass => "pass",
            Source::Resource => "resource",
            Source::Location => "location",
            Source::Floor => "floor",
            Source::Office => "office",
            Source::Desk => "desk",
            Source::Checkin => "checkin",
            Source::Registration => "registration",
        }
    }
}

/// An input error that names the 1-based line it is on. The caller adds the file name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

impl LineError {
    /// An error on a line.
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        LineError {
            line,
            message: message.into(),
        }
    }

    /// An error at a byte offset of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        LineError::new(mapping::line_of(text, offset), message)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
