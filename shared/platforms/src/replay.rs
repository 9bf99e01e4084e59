//! What makes two deliveries "the same signed delivery", for the replay ledger.
//!
//! Each key is the SHA-256 (hex) of the route and of exactly what the route's signature
//! vouches for, so a second delivery that the signature cannot tell apart from the first gets
//! the same key:
//!
//! | route | keyed on | so that |
//! |---|---|---|
//! | canonical | `t` and the raw body | a captured batch is accepted once (and refused after 300 s by the window) |
//! | OfficeRnD | `t` and the raw body | as above |
//! | Nexudus | the raw body only, **not** `?action=` | the same signed body under another action is a replay |
//! | Optix | the signature alone (`request_signature`, which covers `client_id`, secret and `created_timestamp`, not the body) | a captured signature is usable once, whatever body comes with it |
//! | TeamUp | the delivery id header and the raw body | a retried delivery is recognised |
//!
//! Parts are length-prefixed before hashing, so no two different inputs share a key.

use crate::canonical;
use crate::{Delivery, Platform};
use sha2::{Digest, Sha256};

fn key<P: AsRef<[u8]>>(parts: &[P]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        let p = p.as_ref();
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The replay key of a canonical batch (`header` is its `access-sync-signature`).
pub fn canonical_key(header: Option<&str>, body: &[u8]) -> String {
    let header = header.unwrap_or_default();
    let t = canonical::parse_header(header).map_or(header, |s| s.t);
    key(&[b"canonical".as_slice(), t.as_bytes(), body])
}

/// The replay key of a verified platform delivery: the platform's name and what its signature
/// vouches for ([`crate::PlatformSpec::signed_parts`]).
pub fn delivery_key(platform: Platform, d: &Delivery<'_>) -> String {
    let mut parts = vec![platform.as_str().as_bytes().to_vec()];
    parts.extend(platform.spec().signed_parts(d));
    key(&parts)
}

/// The replay key of a verified delivery on a hint-only route (`WebhookTrust::Hint`): what
/// the signature vouches for *and the body*. Optix's signature does not cover the body, so a
/// key of the signature alone would let a forged body that raced ahead of the genuine delivery
/// under a captured signature make the genuine one a duplicate (its records never re-read until
/// the next sync). With the body in the key the genuine delivery is still re-read; a forged body
/// can only ask for more re-reads, and each exact replay is still one delivery.
pub fn hint_key(platform: Platform, d: &Delivery<'_>) -> String {
    let mut parts = vec![platform.as_str().as_bytes().to_vec(), b"hint".to_vec()];
    parts.extend(platform.spec().signed_parts(d));
    parts.push(d.body.to_vec());
    key(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::officernd::header as officernd_header;
    use crate::optix::sign_body as sign_optix_body;

    fn d<'a>(body: &'a [u8], signature: Option<&'a str>) -> Delivery<'a> {
        Delivery {
            body,
            signature,
            ..Delivery::default()
        }
    }

    #[test]
    fn a_nexudus_body_has_one_key_whatever_the_action() {
        let body = br#"{"Id":1}"#;
        let create = Delivery {
            action: Some("BookingCreate"),
            ..d(body, Some("AB"))
        };
        let cancel = Delivery {
            action: Some("BookingCancel"),
            ..d(body, Some("AB"))
        };
        assert_eq!(
            delivery_key(Platform::Nexudus, &create),
            delivery_key(Platform::Nexudus, &cancel)
        );
        assert_ne!(
            delivery_key(Platform::Nexudus, &create),
            delivery_key(Platform::Nexudus, &d(br#"{"Id":2}"#, None))
        );
    }

    #[test]
    fn an_optix_signature_has_one_key_whatever_the_body() {
        let a = sign_optix_body("s", "client_id=1&created_timestamp=100&event=a");
        let b = a.replace("event=a", "event=b");
        assert_ne!(a, b);
        assert_eq!(
            delivery_key(Platform::Optix, &d(a.as_bytes(), None)),
            delivery_key(Platform::Optix, &d(b.as_bytes(), None))
        );
        let later = sign_optix_body("s", "client_id=1&created_timestamp=101&event=a");
        assert_ne!(
            delivery_key(Platform::Optix, &d(a.as_bytes(), None)),
            delivery_key(Platform::Optix, &d(later.as_bytes(), None))
        );
    }

    #[test]
    fn officernd_and_canonical_keys_follow_the_signed_timestamp_and_body() {
        let body = b"{}";
        let h1 = officernd_header(b"s", body, 100);
        let h2 = officernd_header(b"s", body, 101);
        let k = |h: &str, b: &[u8]| delivery_key(Platform::Officernd, &d(b, Some(h)));
        assert_eq!(k(&h1, body), k(&h1, body));
        assert_ne!(k(&h1, body), k(&h2, body));
        assert_ne!(k(&h1, body), k(&h1, b"[]"));
        let c1 = canonical::sign(b"s", body, 100);
        assert_eq!(
            canonical_key(Some(&c1), body),
            canonical_key(Some(&c1), body)
        );
        assert_ne!(
            canonical_key(Some(&c1), body),
            canonical_key(Some(&canonical::sign(b"s", body, 101)), body)
        );
        // Routes never share keys.
        assert_ne!(canonical_key(Some(&c1), body), k(&h1, body));
    }

    #[test]
    fn teamup_keys_follow_the_delivery_id() {
        let a = Delivery {
            delivery_id: Some("w-1"),
            ..d(b"{}", Some("secret"))
        };
        let b = Delivery {
            delivery_id: Some("w-2"),
            ..a
        };
        assert_ne!(
            delivery_key(Platform::Teamup, &a),
            delivery_key(Platform::Teamup, &b)
        );
    }
}
