//! The domain unit of Kisi state: one person (their normalised e-mail, which is their Kisi
//! user) and one Kisi group — the rules crate's [`Pair`], re-exported so handlers and adapters
//! share one type.
//!
//! Stores and schedule names spell a pair as `<email>#<group>` ([`pair_key`]); the e-mail is
//! already trimmed and lower-cased by [`access_sync_rules::Email::parse`], so every key derived
//! from a pair agrees on one spelling of the address.

pub use access_sync_rules::{Email, GroupId, Pair};

/// `<email>#<group>`: the pair as it appears in store keys and cursors. The group is numeric,
/// so splitting at the *last* `#` gives the parts back even if the address contains `#`.
pub fn pair_key(pair: &Pair) -> String {
    format!("{}#{}", pair.email.as_str(), pair.group.get())
}

/// Parses [`pair_key`]'s output.
pub fn parse_pair_key(key: &str) -> Option<Pair> {
    let (email, group) = key.rsplit_once('#')?;
    Some(Pair {
        email: Email::parse(email)?,
        group: GroupId::new(group.parse().ok()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_keys_round_trip_even_with_a_hash_in_the_address() {
        let p = Pair {
            email: Email::parse(" Jo#e@Example.com").unwrap(),
            group: GroupId::new(201).unwrap(),
        };
        assert_eq!(pair_key(&p), "jo#e@example.com#201");
        assert_eq!(parse_pair_key(&pair_key(&p)), Some(p));
    }
}
