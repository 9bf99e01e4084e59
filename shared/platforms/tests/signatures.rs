//! Signatures per platform: the right one is accepted; a wrong, missing or replayed one is
//! refused with 401; comparisons are constant-time; bodies over 256 KiB get 413.

use access_sync_platforms::nexudus::{signature as nexudus_signature, verify as verify_nexudus};
use access_sync_platforms::officernd::{
    header as officernd_header, parse_header as parse_officernd_header, verify as verify_officernd,
};
use access_sync_platforms::optix::{signature as optix_signature, verify as verify_optix};
use access_sync_platforms::signature::{self, bearer};
use access_sync_platforms::teamup::verify as verify_teamup;
use access_sync_platforms::{
    Delivery, MAX_BODY_BYTES, Nothing, Platform, Rejection, SignatureError, check_size,
};
use access_sync_rules::Instant;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_3kT9pQ";

fn now() -> Instant {
    DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn hmac_hex(secret: &str, msg: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(msg);
    hex::encode(m.finalize().into_bytes())
}

fn unauthorized(r: Result<(), Rejection>) -> SignatureError {
    match r {
        Err(Rejection::Unauthorized(e)) => e,
        other => panic!("want 401, got {other:?}"),
    }
}

const ORND_BODY: &[u8] = br#"{"event":"e1","eventType":"member.created","data":{"object":{"_id":"m1","email":"a@b.c"}},"createdAt":"2026-12-07T10:00:00Z"}"#;

fn orn_header(t: i64, order_body_first: bool) -> String {
    let t = t.to_string();
    let msg = if order_body_first {
        [ORND_BODY, b".", t.as_bytes()].concat()
    } else {
        [t.as_bytes(), b".", ORND_BODY].concat()
    };
    format!("t={t},v1={}", hmac_hex(SECRET, &msg))
}

#[test]
fn officernd_accepts_either_order_of_body_and_timestamp() {
    let t = now().timestamp();
    for body_first in [true, false] {
        let h = orn_header(t, body_first);
        verify_officernd(SECRET.as_bytes(), Some(&h), ORND_BODY, now()).unwrap();
    }
    // Spaces and an extra unknown part are tolerated.
    let h = orn_header(t, true).replace(",v1=", " , v0=zz, v1=");
    verify_officernd(SECRET.as_bytes(), Some(&h), ORND_BODY, now()).unwrap();
}

#[test]
fn officernd_refuses_wrong_missing_and_replayed_signatures() {
    let t = now().timestamp();
    let good = orn_header(t, true);
    let s = SECRET.as_bytes();
    // Wrong secret, tampered body, flipped digit.
    let other = orn_header(t, true).replace(&good[good.len() - 4..], "0000");
    assert_eq!(
        unauthorized(verify_officernd(s, Some(&other), ORND_BODY, now())),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_officernd(b"other", Some(&good), ORND_BODY, now())),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_officernd(s, Some(&good), b"{}", now())),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_officernd(s, None, ORND_BODY, now())),
        SignatureError::Missing("officernd-signature")
    );
    for bad in [
        "",
        "t=,v1=",
        "v1=abcd",
        "t=1796637600",
        "t=17966x,v1=ab",
        "t=1,v1=xyz",
    ] {
        assert!(matches!(
            unauthorized(verify_officernd(s, Some(bad), ORND_BODY, now())),
            SignatureError::Unreadable(_)
        ));
    }
    // Replayed: signed 301 s ago (or in the future); exactly 300 s is still fine.
    for skew in [301, -301, 100_000] {
        let h = orn_header(t - skew, true);
        assert!(matches!(
            unauthorized(verify_officernd(s, Some(&h), ORND_BODY, now())),
            SignatureError::OutsideWindow { .. }
        ));
    }
    verify_officernd(s, Some(&orn_header(t - 300, true)), ORND_BODY, now()).unwrap();
    // No secret configured: nothing passes.
    assert_eq!(
        unauthorized(verify_officernd(b"", Some(&good), ORND_BODY, now())),
        SignatureError::NotConfigured
    );
}

#[test]
fn officernd_header_parts_are_read() {
    let p = parse_officernd_header("t=1796637600,v1=ab01,v1=CD").unwrap();
    assert_eq!(p.unix, 1_796_637_600);
    assert_eq!(p.signatures, vec![vec![0xab, 0x01], vec![0xcd]]);
    // OfficeRnD's own form, and the second part read whatever its key (as its demo does).
    let p = parse_officernd_header("t=1796637600,signature=ab01").unwrap();
    assert_eq!(
        (p.unix, p.signatures),
        (1_796_637_600, vec![vec![0xab, 0x01]])
    );
    let p = parse_officernd_header("t=1796637600, sig=CD").unwrap();
    assert_eq!(p.signatures, vec![vec![0xcd]]);
    assert!(matches!(
        parse_officernd_header("t=1796637600,signature=xyz"),
        Err(SignatureError::Unreadable(_))
    ));
}

/// The header as OfficeRnD sends it (kisi-api.md §4.1): `t=<unix>,signature=<hex>`, the HMAC
/// over `rawBody + "." + t`, computed here independently of the crate.
fn real_header(t: i64, body: &[u8]) -> String {
    let msg = [body, b".", t.to_string().as_bytes()].concat();
    format!("t={t},signature={}", hmac_hex(SECRET, &msg))
}

#[test]
fn officernd_accepts_a_delivery_signed_as_officernd_signs_it() {
    let t = now().timestamp();
    let h = real_header(t, ORND_BODY);
    verify_officernd(SECRET.as_bytes(), Some(&h), ORND_BODY, now()).unwrap();
    // The crate's own signer (tests, the local stack) makes exactly that header.
    assert_eq!(officernd_header(SECRET.as_bytes(), ORND_BODY, t), h);
    // Read positionally: the second part's value counts whatever its key.
    let renamed = h.replace(",signature=", ",s=");
    verify_officernd(SECRET.as_bytes(), Some(&renamed), ORND_BODY, now()).unwrap();
    // The older `v1=` form, in either signing order, still passes.
    for body_first in [true, false] {
        let h = orn_header(t, body_first);
        assert!(h.contains(",v1="));
        verify_officernd(SECRET.as_bytes(), Some(&h), ORND_BODY, now()).unwrap();
    }
}

#[test]
fn officernd_refuses_a_tampered_delivery_signed_as_officernd_signs_it() {
    let t = now().timestamp();
    let s = SECRET.as_bytes();
    let h = real_header(t, ORND_BODY);
    // The body changed after signing.
    let tampered = [ORND_BODY, b" "].concat();
    assert_eq!(
        unauthorized(verify_officernd(s, Some(&h), &tampered, now())),
        SignatureError::Mismatch
    );
    // The timestamp changed after signing (still within the window).
    let moved = h.replace(&format!("t={t},"), &format!("t={},", t - 1));
    assert_eq!(
        unauthorized(verify_officernd(s, Some(&moved), ORND_BODY, now())),
        SignatureError::Mismatch
    );
    // One hex digit of the signature changed.
    let last = h.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &h[..h.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(
        unauthorized(verify_officernd(s, Some(&flipped), ORND_BODY, now())),
        SignatureError::Mismatch
    );
    // Signed with another secret.
    assert_eq!(
        unauthorized(verify_officernd(b"other", Some(&h), ORND_BODY, now())),
        SignatureError::Mismatch
    );
    // Replayed outside the window.
    let old = real_header(t - 301, ORND_BODY);
    assert!(matches!(
        unauthorized(verify_officernd(s, Some(&old), ORND_BODY, now())),
        SignatureError::OutsideWindow { .. }
    ));
}

fn optix_body(ts: i64, sig: Option<&str>) -> String {
    let mut b = format!(
        "client_id=8e3b7c1d&created_timestamp={ts}&organization_id=1042&event=member_booking_cancelled&booking_id=9001"
    );
    if let Some(s) = sig {
        b.push_str("&request_signature=");
        b.push_str(s);
    }
    b
}

#[test]
fn optix_accepts_the_documented_sha1_and_the_sha256_variant() {
    // The docs' own example: sha1("123secret123456").
    assert_eq!(
        optix_signature("123", "secret", "123456"),
        "4739add6e433e2e9510761d994ba127f1b45834d"
    );
    let ts = now().timestamp();
    let sig = optix_signature("8e3b7c1d", SECRET, &ts.to_string());
    verify_optix(SECRET, optix_body(ts, Some(&sig)).as_bytes(), now()).unwrap();
    verify_optix(
        SECRET,
        optix_body(ts, Some(&sig.to_uppercase())).as_bytes(),
        now(),
    )
    .unwrap();
    use sha2::Digest;
    let sha256 = hex::encode(Sha256::digest(format!("8e3b7c1d{SECRET}{ts}")));
    verify_optix(SECRET, optix_body(ts, Some(&sha256)).as_bytes(), now()).unwrap();
}

#[test]
fn optix_refuses_wrong_missing_and_replayed_signatures() {
    let ts = now().timestamp();
    let sig = optix_signature("8e3b7c1d", SECRET, &ts.to_string());
    let wrong = optix_signature("8e3b7c1d", "guess", &ts.to_string());
    assert_eq!(
        unauthorized(verify_optix(
            SECRET,
            optix_body(ts, Some(&wrong)).as_bytes(),
            now()
        )),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_optix(SECRET, optix_body(ts, None).as_bytes(), now())),
        SignatureError::Missing("request_signature")
    );
    assert_eq!(
        unauthorized(verify_optix(
            SECRET,
            format!("created_timestamp={ts}&request_signature={sig}").as_bytes(),
            now()
        )),
        SignatureError::Missing("client_id")
    );
    // A signature made for another timestamp does not cover this one.
    let other_ts = optix_body(ts + 1, Some(&sig));
    assert_eq!(
        unauthorized(verify_optix(SECRET, other_ts.as_bytes(), now())),
        SignatureError::Mismatch
    );
    // Replayed: a correct signature from 10 minutes ago.
    let old = ts - 600;
    let old_sig = optix_signature("8e3b7c1d", SECRET, &old.to_string());
    assert!(matches!(
        unauthorized(verify_optix(
            SECRET,
            optix_body(old, Some(&old_sig)).as_bytes(),
            now()
        )),
        SignatureError::OutsideWindow { skew_secs: 600 }
    ));
    assert!(matches!(
        unauthorized(verify_optix(
            SECRET,
            optix_body(ts, Some("not-hex")).as_bytes(),
            now()
        )),
        SignatureError::Unreadable(_)
    ));
    assert_eq!(
        unauthorized(verify_optix(
            "",
            optix_body(ts, Some(&sig)).as_bytes(),
            now()
        )),
        SignatureError::NotConfigured
    );
}

const NX_BODY: &[u8] = br#"[{"Id":7001,"ResourceId":41,"CoworkerId":1002,"FromTime":"2026-12-07T10:00:00Z","ToTime":"2026-12-07T11:00:00Z","UpdatedOn":"2026-12-02T09:00:00Z"}]"#;

#[test]
fn nexudus_accepts_the_upper_case_hex_hmac_of_the_body() {
    let sig = nexudus_signature(SECRET.as_bytes(), NX_BODY);
    assert_eq!(sig, hmac_hex(SECRET, NX_BODY).to_uppercase());
    assert!(sig.chars().all(|c| !c.is_ascii_lowercase()));
    verify_nexudus(SECRET.as_bytes(), Some(&sig), NX_BODY).unwrap();
}

#[test]
fn nexudus_refuses_wrong_and_missing_signatures() {
    let sig = nexudus_signature(SECRET.as_bytes(), NX_BODY);
    let tampered = [NX_BODY, b" "].concat();
    assert_eq!(
        unauthorized(verify_nexudus(SECRET.as_bytes(), Some(&sig), &tampered)),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_nexudus(b"other", Some(&sig), NX_BODY)),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_nexudus(SECRET.as_bytes(), None, NX_BODY)),
        SignatureError::Missing("X-Nexudus-Hook-Signature")
    );
    assert!(matches!(
        unauthorized(verify_nexudus(SECRET.as_bytes(), Some("ZZ"), NX_BODY)),
        SignatureError::Unreadable(_)
    ));
    assert_eq!(
        unauthorized(verify_nexudus(b"", Some(&sig), NX_BODY)),
        SignatureError::NotConfigured
    );
}

#[test]
fn teamup_needs_the_installation_secret_as_bearer_or_path_segment() {
    verify_teamup(SECRET, bearer(Some(&format!("Bearer {SECRET}")))).unwrap();
    verify_teamup(SECRET, bearer(Some(&format!("bearer  {SECRET} ")))).unwrap();
    verify_teamup(SECRET, Some(SECRET)).unwrap();
    assert_eq!(
        unauthorized(verify_teamup(SECRET, Some("whsec_3kT9pq"))),
        SignatureError::Mismatch
    );
    assert_eq!(
        unauthorized(verify_teamup(SECRET, Some(&SECRET[..5]))),
        SignatureError::Mismatch
    );
    assert!(matches!(
        unauthorized(verify_teamup(SECRET, bearer(Some("Basic abc")))),
        SignatureError::Missing(_)
    ));
    assert!(matches!(
        unauthorized(verify_teamup(SECRET, None)),
        SignatureError::Missing(_)
    ));
    assert_eq!(
        unauthorized(verify_teamup("", Some(""))),
        SignatureError::NotConfigured
    );
}

#[test]
fn signature_comparisons_are_constant_time() {
    // Every digest comparison in the signature modules (the shared one and each platform's)
    // goes through `subtle`; they have no `==` at all outside their tests, so a plain
    // (early-exit) comparison cannot slip in.
    let src_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = std::iter::once(src_dir.join("signature.rs")).chain(
        Platform::ALL
            .iter()
            .map(|p| src_dir.join(p.as_str()).join("signature.rs")),
    );
    let mut code = String::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let src = src.split("#[cfg(test)]").next().unwrap_or(&src);
        for l in src.lines().filter(|l| !l.trim_start().starts_with("//")) {
            code.push_str(l);
            code.push('\n');
        }
    }
    assert!(!code.contains("=="), "a non-constant-time comparison");
    assert!(!code.contains("!="), "a non-constant-time comparison");
    assert!(
        !code.contains("verify_slice"),
        "use subtle directly, in one way"
    );
    assert!(
        code.matches("ct_eq").count() >= 4,
        "every scheme uses ct_eq"
    );
    assert!(signature::equal(b"abc", b"abc"));
    assert!(!signature::equal(b"abc", b"abd"));
    assert!(!signature::equal(b"abc", b"abcd"));
}

#[test]
fn rejections_map_to_http_statuses() {
    assert_eq!(
        check_size(MAX_BODY_BYTES + 1).unwrap_err().http_status(),
        413
    );
    check_size(MAX_BODY_BYTES).unwrap();
    assert_eq!(MAX_BODY_BYTES, 256 * 1024);
    assert_eq!(
        Rejection::Unauthorized(SignatureError::Mismatch).http_status(),
        401
    );
    assert_eq!(Rejection::malformed("x", "y").http_status(), 400);
}

#[test]
fn accept_checks_size_then_signature_then_payload() {
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    for p in Platform::ALL {
        // Too large: 413 before anything else, even with no signature.
        let d = Delivery {
            body: &big,
            ..Delivery::default()
        };
        assert_eq!(
            p.accept(SECRET, &d, now(), &Nothing)
                .unwrap_err()
                .http_status(),
            413,
            "{p}"
        );
        // Unsigned: 401, even when the payload is garbage too.
        let d = Delivery {
            body: b"garbage",
            ..Delivery::default()
        };
        assert_eq!(
            p.accept(SECRET, &d, now(), &Nothing)
                .unwrap_err()
                .http_status(),
            401,
            "{p}"
        );
    }
    // Signed but malformed for an action we act on: 400.
    let body = br#"[{"Id":1}]"#;
    let sig = nexudus_signature(SECRET.as_bytes(), body);
    let d = Delivery {
        body,
        signature: Some(&sig),
        action: Some("BookingCreate"),
        ..Delivery::default()
    };
    let e = Platform::Nexudus
        .accept(SECRET, &d, now() + Duration::days(3), &Nothing)
        .unwrap_err();
    assert_eq!(e.http_status(), 400, "{e}");
    // Signed and well-formed: the events.
    let sig = nexudus_signature(SECRET.as_bytes(), NX_BODY);
    let d = Delivery {
        body: NX_BODY,
        signature: Some(&sig),
        action: Some("BookingCreate"),
        ..Delivery::default()
    };
    assert_eq!(
        Platform::Nexudus
            .accept(SECRET, &d, now(), &Nothing)
            .unwrap()
            .len(),
        1
    );
}
