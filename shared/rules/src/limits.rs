//! Bounds on what one request may carry, and on time: checked by `ingest` on canonical events
//! and on the events normalised from a platform's webhook alike, before anything is published.
//!
//! | bound | default | field named in the refusal |
//! |---|---|---|
//! | events per request | 500 | (the line after the last allowed) |
//! | guests per entitlement | 50 | `entitlement.guests` |
//! | refs per entitlement | 50 | `entitlement.refs` |
//! | weekly blocks per entitlement | 100 | `entitlement.blocks` |
//! | members per team | 200 | `team.members` |
//! | length of any id (event, member, team, entitlement, ref, holder) | 128 bytes | e.g. `member.id`, `team.members[3]` |
//! | length of an e-mail (member or guest) | 254 bytes (RFC 5321) | `member.email`, `entitlement.guests[0]` |
//! | length of a member's name | 128 bytes | `member.name` |
//! | how far `at` may lie ahead of the receiver's clock | 300 s | `at` |
//!
//! The defaults are chosen so that the largest item access-sync stores for them (an
//! entitlement held by a team at the maximum, with every id, e-mail and name at its maximum
//! length and made of characters JSON escapes) stays under DynamoDB's 400 KB item size:
//! `access_sync_aws::dynamo::item_size` computes that bound (about 391 KB for the defaults;
//! about 1.65 KB per team member), and ingest refuses to start with limits that break it. A
//! larger team allowance needs shorter ids, e-mails or names.
//!
//! Ids, e-mails and names may not contain control characters (they would also garble logs).
//!
//! An `at` far in the future would make every later version of the record look stale and
//! freeze it; refusing it at the door keeps the stale-version rule sound. Pure: `now` is a
//! parameter.

use crate::event::{Body, Event, Holder};
use crate::time::{Instant, format_instant};
use chrono::Duration;

/// The bounds (see the module docs for the defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events in one request.
    pub events_per_request: usize,
    /// Guests of one entitlement.
    pub guests: usize,
    /// Refs of one entitlement.
    pub refs: usize,
    /// Weekly blocks of one entitlement.
    pub blocks: usize,
    /// Members of one team.
    pub team_members: usize,
    /// Bytes of any id.
    pub id_bytes: usize,
    /// Bytes of an e-mail address.
    pub email_bytes: usize,
    /// Bytes of a member's name.
    pub name_bytes: usize,
    /// How far an event's `at` may lie ahead of the receiver's clock.
    pub max_future_skew: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            events_per_request: 500,
            guests: 50,
            refs: 50,
            blocks: 100,
            team_members: 200,
            id_bytes: 128,
            email_bytes: 254,
            name_bytes: 128,
            max_future_skew: Duration::minutes(5),
        }
    }
}

/// Why an event is refused: which event (1-based position in the request), which field, the
/// limit it broke (when it is a count or a length), and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 1-based position of the event in the request.
    pub index: usize,
    /// The field, e.g. `entitlement.guests`.
    pub field: String,
    /// The limit broken; `None` for `at` (the bound is a time).
    pub limit: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl Limits {
    /// Checks a whole request's events in order; the first problem found is the answer.
    ///
    /// # Errors
    /// The first event over a bound.
    pub fn check_all<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Event>,
        now: Instant,
    ) -> Result<(), Refusal> {
        for (i, e) in events.into_iter().enumerate() {
            let index = i + 1;
            if index > self.events_per_request {
                return Err(Refusal {
                    index,
                    field: "(request)".into(),
                    limit: Some(self.events_per_request),
                    reason: format!(
                        "more than {} events in one request",
                        self.events_per_request
                    ),
                });
            }
            self.check(e, now)
                .map_err(|(field, limit, reason)| Refusal {
                    index,
                    field,
                    limit,
                    reason,
                })?;
        }
        Ok(())
    }

    /// Checks one event: `(field, limit, reason)` of the first problem.
    fn check(&self, e: &Event, now: Instant) -> Result<(), (String, Option<usize>, String)> {
        let latest = now + self.max_future_skew;
        if e.at > latest {
            return Err((
                "at".into(),
                None,
                format!(
                    "{} is more than {} s ahead of the receiver's clock ({})",
                    format_instant(e.at),
                    self.max_future_skew.num_seconds(),
                    format_instant(now)
                ),
            ));
        }
        self.length("id", &e.id, self.id_bytes, "id")?;
        match &e.body {
            Body::Member(m) => {
                self.length("member.id", m.id.as_str(), self.id_bytes, "id")?;
                if let Some(email) = &m.email {
                    self.length("member.email", email.as_str(), self.email_bytes, "e-mail")?;
                }
                if let Some(name) = &m.name {
                    self.length("member.name", name, self.name_bytes, "name")?;
                }
            }
            Body::Team(t) => {
                self.length("team.id", t.id.as_str(), self.id_bytes, "id")?;
                self.count(
                    "team.members",
                    t.members.len(),
                    self.team_members,
                    "members",
                )?;
                for (i, m) in t.members.iter().enumerate() {
                    self.length(
                        &format!("team.members[{i}]"),
                        m.as_str(),
                        self.id_bytes,
                        "id",
                    )?;
                }
            }
            Body::Cancel(id) => {
                self.length("cancel.entitlement", id.as_str(), self.id_bytes, "id")?;
            }
            Body::Entitlement(en) => {
                self.length("entitlement.id", en.id.as_str(), self.id_bytes, "id")?;
                match &en.holder {
                    Holder::Member(m) => {
                        self.length("entitlement.holder.member", m.as_str(), self.id_bytes, "id")?
                    }
                    Holder::Team(t) => {
                        self.length("entitlement.holder.team", t.as_str(), self.id_bytes, "id")?
                    }
                }
                self.count("entitlement.refs", en.refs.len(), self.refs, "refs")?;
                for (i, r) in en.refs.iter().enumerate() {
                    self.length(
                        &format!("entitlement.refs[{i}]"),
                        &r.id,
                        self.id_bytes,
                        "id",
                    )?;
                }
                self.count("entitlement.guests", en.guests.len(), self.guests, "guests")?;
                for (i, g) in en.guests.iter().enumerate() {
                    let field = format!("entitlement.guests[{i}]");
                    self.length(&field, g.as_str(), self.email_bytes, "e-mail")?;
                }
                self.count(
                    "entitlement.blocks",
                    en.blocks.len(),
                    self.blocks,
                    "weekly blocks",
                )?;
            }
        }
        Ok(())
    }

    fn length(
        &self,
        field: &str,
        value: &str,
        limit: usize,
        what: &str,
    ) -> Result<(), (String, Option<usize>, String)> {
        if value.chars().any(char::is_control) {
            return Err((
                field.to_string(),
                Some(limit),
                format!("the {what} contains a control character"),
            ));
        }
        if value.len() > limit {
            return Err((
                field.to_string(),
                Some(limit),
                format!(
                    "the {what} is {} bytes long; at most {limit} are accepted",
                    value.len()
                ),
            ));
        }
        Ok(())
    }

    fn count(
        &self,
        field: &str,
        n: usize,
        limit: usize,
        what: &str,
    ) -> Result<(), (String, Option<usize>, String)> {
        if n > limit {
            return Err((
                field.to_string(),
                Some(limit),
                format!("{n} {what}; at most {limit} are accepted"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn now() -> Instant {
        parse_instant("2026-12-07T07:00:00Z").unwrap()
    }

    fn ev(line: &str) -> Event {
        Event::parse(line).unwrap()
    }

    fn booking(guests: usize, refs: usize) -> Event {
        let guests: Vec<String> = (0..guests).map(|i| format!("\"g{i}@x.dev\"")).collect();
        let refs: Vec<String> = (0..refs).map(|i| format!("\"resource:r{i}\"")).collect();
        ev(&format!(
            r#"{{"id":"d-1","at":"2026-12-07T07:00:00Z","entitlement":{{"id":"b-1","kind":"booking","refs":[{}],"holder":{{"member":"m-1"}},"guests":[{}],"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}}}}"#,
            refs.join(","),
            guests.join(",")
        ))
    }

    #[test]
    fn at_the_limits_passes_and_one_over_names_the_field_and_the_limit() {
        let l = Limits::default();
        assert_eq!(l.check_all([&booking(50, 50)], now()), Ok(()));
        let r = l.check_all([&booking(51, 1)], now()).unwrap_err();
        assert_eq!(
            (r.index, r.field.as_str(), r.limit),
            (1, "entitlement.guests", Some(50))
        );
        let r = l
            .check_all([&booking(1, 1), &booking(1, 51)], now())
            .unwrap_err();
        assert_eq!(
            (r.index, r.field.as_str(), r.limit),
            (2, "entitlement.refs", Some(50))
        );
    }

    #[test]
    fn ids_e_mails_names_and_team_sizes_are_bounded() {
        let l = Limits {
            team_members: 3,
            ..Limits::default()
        };
        let long = "x".repeat(129);
        let member = |id: &str, email: &str, name: &str| {
            ev(&format!(
                r#"{{"id":"d","at":"2026-12-07T07:00:00Z","member":{{"id":"{id}","email":"{email}","name":"{name}"}}}}"#
            ))
        };
        let ok = "y".repeat(128);
        assert_eq!(l.check_all([&member(&ok, "a@b.c", &ok)], now()), Ok(()));
        let field = |e: &Event| l.check_all([e], now()).unwrap_err().field;
        assert_eq!(field(&member(&long, "a@b.c", "n")), "member.id");
        assert_eq!(
            field(&member("m", &format!("{}@b.c", "a".repeat(251)), "n")),
            "member.email"
        );
        assert_eq!(field(&member("m", "a@b.c", &long)), "member.name");
        let team = |members: &[&str]| {
            let m: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
            ev(&format!(
                r#"{{"id":"d","at":"2026-12-07T07:00:00Z","team":{{"id":"t","members":[{}]}}}}"#,
                m.join(",")
            ))
        };
        assert_eq!(l.check_all([&team(&["a", "b", "c"])], now()), Ok(()));
        assert_eq!(field(&team(&["a", "b", "c", "d"])), "team.members");
        assert_eq!(field(&team(&["a", &long])), "team.members[1]");
        assert_eq!(field(&team(&["a", "b\\u0007"])), "team.members[1]");
    }

    #[test]
    fn an_at_beyond_the_skew_is_refused_naming_at() {
        let l = Limits::default();
        let at = |t: &str| {
            ev(&format!(
                r#"{{"id":"d","at":"{t}","cancel":{{"entitlement":"b"}}}}"#
            ))
        };
        assert_eq!(l.check_all([&at("2026-12-07T07:05:00Z")], now()), Ok(()));
        let r = l
            .check_all([&at("2026-12-07T07:05:01Z")], now())
            .unwrap_err();
        assert_eq!((r.field.as_str(), r.limit), ("at", None));
        assert!(r.reason.contains("300 s ahead"), "{}", r.reason);
        assert!(l.check_all([&at("9999-12-31T00:00:00Z")], now()).is_err());
    }

    #[test]
    fn the_number_of_events_is_bounded() {
        let l = Limits {
            events_per_request: 2,
            ..Limits::default()
        };
        let e = booking(0, 1);
        assert_eq!(l.check_all([&e, &e], now()), Ok(()));
        let r = l.check_all([&e, &e, &e], now()).unwrap_err();
        assert_eq!((r.index, r.limit), (3, Some(2)));
    }
}
