//! What kind of platform thing a mapping (and an entitlement's ref) names: a plan, a resource,
//! a location … The source half of a mapping key `"<source>:<id>"`.

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

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
