//! Optix webhooks as hints (issue 19): the signature (`sha1(client_id + secret +
//! created_timestamp)`) does not cover the body, and Optix says a payload is "a subset" to be
//! re-read from the API, possibly late and out of order (optix.md §5 [C WH]). So a verified
//! delivery is read only for *which* records to re-read; nothing it says is believed.
//!
//! | form field | re-read |
//! |---|---|
//! | `booking_id` | `bookings` |
//! | `account_plan_id` | `accountPlans` |
//! | `assignment_id` | `assignments` |
//! | `checkin_id` | `checkins` |
//! | `user_id`, `member_id` | `users` |
//! | `team_id` | `teams` |
//!
//! Whatever the event's name (only a few names are confirmed, §5.1): a delivery that names
//! none of these (`new_sale`, `invoice_paid`, an unknown event) asks for nothing and is
//! acknowledged. `organization_token` (on `organization_token_updated` and `app_install`) is
//! passed on as a candidate token, which the API client checks before use.
//!
//! **Revocations are not taken from the body either** (a decision, see
//! `events/optix/README.md`): a cancellation in a hint is acted on only once the re-read says
//! so, seconds later. Acting on it at once would be the "safe direction" for grants, but a
//! forged body under a captured signature could then end anyone's access, and Optix's
//! out-of-order deliveries could end a booking that was re-instated meanwhile.

use crate::Rejection;
use crate::spec::{Hints, MAX_HINTS, RecordHint};

/// The form fields that name a record, and the collection each is re-read from.
pub const ID_FIELDS: [(&str, &str); 7] = [
    ("booking_id", "bookings"),
    ("account_plan_id", "accountPlans"),
    ("assignment_id", "assignments"),
    ("checkin_id", "checkins"),
    ("user_id", "users"),
    ("member_id", "users"),
    ("team_id", "teams"),
];

/// The records a verified Optix delivery names.
///
/// # Errors
/// A body without `event` (not an Optix delivery).
pub fn hints(body: &[u8]) -> Result<Hints, Rejection> {
    let mut h = Hints::default();
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_ref() {
            "event" if h.event.is_none() => h.event = Some(v.to_string()),
            "organization_token" if h.token.is_none() => h.token = Some(v.to_string()),
            key => {
                let Some((_, collection)) = ID_FIELDS.iter().find(|(f, _)| *f == key) else {
                    continue;
                };
                // Ids are short tokens; anything else is not an id.
                if v.len() > 64
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(Rejection::malformed(key, "not an id"));
                }
                let r = RecordHint {
                    collection: (*collection).to_string(),
                    id: v.to_string(),
                };
                if !h.records.contains(&r) && h.records.len() < MAX_HINTS {
                    h.records.push(r);
                }
            }
        }
    }
    if h.event.is_none() {
        return Err(Rejection::malformed("event", "missing"));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_webhook_names_only_the_booking_and_its_member() {
        let h = hints(b"client_id=1&created_timestamp=2&event=member_booking_cancelled&booking_id=88001&workspace_id=6&member_email=a%40b.c&user_id=301").unwrap();
        assert_eq!(h.event.as_deref(), Some("member_booking_cancelled"));
        let got: Vec<(&str, &str)> = h
            .records
            .iter()
            .map(|r| (r.collection.as_str(), r.id.as_str()))
            .collect();
        assert_eq!(got, [("bookings", "88001"), ("users", "301")]);
        assert!(h.token.is_none());
    }

    #[test]
    fn unknown_events_ask_for_nothing_and_tokens_are_redacted_in_debug() {
        let h = hints(b"event=new_sale&product=x&total=3").unwrap();
        assert!(h.records.is_empty());
        let t = hints(b"event=organization_token_updated&organization_token=abc123o").unwrap();
        assert_eq!(t.token.as_deref(), Some("abc123o"));
        assert!(!format!("{t:?}").contains("abc123o"));
        assert!(hints(b"booking_id=1").is_err());
        assert!(hints(b"event=x&booking_id=..%2Fx").is_err());
    }

    #[test]
    fn a_body_cannot_ask_for_more_than_the_bound() {
        let mut body = String::from("event=x");
        for i in 0..50 {
            body.push_str(&format!("&booking_id={i}"));
        }
        assert_eq!(hints(body.as_bytes()).unwrap().records.len(), MAX_HINTS);
    }
}
