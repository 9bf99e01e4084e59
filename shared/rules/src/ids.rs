//! Identifiers and values that are parsed once at the boundary, so that inside the core an
//! invalid one cannot exist: e-mail addresses (the identity of a Kisi user), Kisi group ids,
//! and the platform's member, team and entitlement ids.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// An e-mail address, trimmed and lower-cased (ACCESS-MODEL rule 7). Two members, or a member
/// and a guest, with the same `Email` share one timeline: it is who Kisi sees.
///
/// The text is shared: a clone (one per pair, per interval of a preview) copies a pointer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(Arc<str>);

impl Email {
    /// Normalises an address. `None` for an empty or blank one: such a member has no address.
    pub fn parse(raw: &str) -> Option<Email> {
        let t = raw.trim();
        if t.is_empty() {
            None
        } else if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            // Already lower case (nearly always): no intermediate string.
            Some(Email(Arc::from(t)))
        } else {
            Some(Email(Arc::from(t.to_lowercase())))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s).ok_or_else(|| "empty e-mail address".to_string())
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0.to_string()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What converge makes right for a person in Kisi: a Kisi **group** (door access, a positive
/// integer below 2^62), or a Kisi **place** (a place role assignment, from a `[[place]]` entry
/// of the mapping file; places grant no doors).
///
/// A place is carried in the same type so that it goes through the one converge path, the
/// ownership records, intents, the brake, edges and reconcile exactly as a group does: its
/// value is the place id with bit 62 set ([`GroupId::place`]). Kisi group ids are far below
/// that, and [`GroupId::new`] refuses any that is not, so a group and a place never share a
/// value. Store keys spell a place by that value (e.g. `ann@example.com#4611686018427387911`
/// for place 7), and [`GroupId::new`] reads it back from any of them; [`GroupId::as_place`]
/// and [`GroupId::as_group`] tell the two apart where Kisi is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(u64);

/// Bit 62: set on a [`GroupId`] that stands for a Kisi place.
const PLACE_BIT: u64 = 1 << 62;

impl GroupId {
    /// A group id, or the stored value of a place (2^62 and above, see [`GroupId::place`]);
    /// `None` unless positive. Input naming a Kisi *group* uses [`GroupId::group`].
    pub fn new(id: i64) -> Option<GroupId> {
        u64::try_from(id)
            .ok()
            .filter(|&v| v > 0 && v != PLACE_BIT)
            .map(GroupId)
    }

    /// A Kisi group id; `None` unless positive and below 2^62 (where places begin).
    pub fn group(id: i64) -> Option<GroupId> {
        GroupId::new(id).filter(|g| !g.is_place())
    }

    /// The target standing for Kisi place `place`; `None` unless `0 < place < 2^62`.
    pub fn place(place: u64) -> Option<GroupId> {
        (place > 0 && place < PLACE_BIT).then_some(GroupId(place | PLACE_BIT))
    }

    /// The Kisi place id, if this stands for a place.
    pub fn as_place(self) -> Option<u64> {
        (self.0 & PLACE_BIT != 0).then_some(self.0 & !PLACE_BIT)
    }

    /// The Kisi group id, if this is a group.
    pub fn as_group(self) -> Option<u64> {
        (self.0 & PLACE_BIT == 0).then_some(self.0)
    }

    /// Whether this stands for a place.
    pub fn is_place(self) -> bool {
        self.as_place().is_some()
    }

    /// The numeric value: the Kisi group id for a group, the encoded value for a place (as
    /// store keys and schedules spell it; Kisi is never called with it).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_place() {
            Some(p) => write!(f, "place {p}"),
            None => write!(f, "{}", self.0),
        }
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as the platform wrote it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

string_id!(
    /// The platform's id of a member (a person with an account on the platform).
    MemberId
);
string_id!(
    /// The platform's id of a team (company) whose members share team plans.
    TeamId
);
string_id!(
    /// The stable id of an entitlement record (plan, booking, pass…); a later event with the
    /// same id replaces it.
    EntitlementId
);

/// A (person, Kisi group) pair: the unit that converge makes right in Kisi.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pair {
    /// The person, as Kisi knows them.
    pub email: Email,
    /// The Kisi group.
    pub group: GroupId,
}

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group.as_place() {
            Some(p) => write!(f, "{} in place {p}", self.email),
            None => write!(f, "{} in group {}", self.email, self.group),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Joe@Example.COM ").unwrap().as_str(),
            "joe@example.com"
        );
    }

    #[test]
    fn blank_email_is_no_address() {
        assert_eq!(Email::parse("   "), None);
    }

    #[test]
    fn group_ids_must_be_positive() {
        assert_eq!(GroupId::new(0), None);
        assert_eq!(GroupId::new(-4), None);
        assert_eq!(GroupId::new(7).map(GroupId::get), Some(7));
        assert_eq!(GroupId::group(1 << 62), None);
        assert_eq!(GroupId::group(8).map(GroupId::get), Some(8));
    }

    #[test]
    fn a_place_never_shares_a_value_with_a_group() {
        let place = GroupId::place(7).unwrap();
        let group = GroupId::new(7).unwrap();
        assert_ne!(place, group);
        assert_eq!((place.as_place(), place.as_group()), (Some(7), None));
        assert_eq!((group.as_place(), group.as_group()), (None, Some(7)));
        assert!(place > group, "places sort after every group");
        assert_eq!(place.to_string(), "place 7");
        assert_eq!(GroupId::place(0), None);
        assert_eq!(GroupId::place(1 << 62), None);
        // A stored place reads back as the place.
        assert_eq!(GroupId::new(place.get() as i64), Some(place));
    }
}
