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

/// A Kisi group id: a positive integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(u64);

impl GroupId {
    /// A group id; `None` unless positive.
    pub fn new(id: i64) -> Option<GroupId> {
        u64::try_from(id).ok().filter(|&v| v > 0).map(GroupId)
    }

    /// The numeric id Kisi uses.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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
        write!(f, "{} in group {}", self.email, self.group)
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
    }
}
