//! Fuzz every signature parser and verifier: no input may panic. Input: `header\nbody`.
#![no_main]

use access_sync_platforms::canonical::{
    parse_header as parse_canonical_header, verify as verify_canonical,
};
use access_sync_platforms::nexudus::verify as verify_nexudus;
use access_sync_platforms::officernd::{
    parse_header as parse_officernd_header, verify as verify_officernd,
};
use access_sync_platforms::optix::verify as verify_optix;
use access_sync_platforms::signature::bearer;
use access_sync_platforms::teamup::verify as verify_teamup;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => (String::new(), data),
    };
    let now = Utc
        .timestamp_opt(1_796_637_600, 0)
        .single()
        .unwrap_or_default();
    let _ = parse_canonical_header(&header);
    let _ = verify_canonical(b"secret", Some(&header), body, now);
    let _ = parse_officernd_header(&header);
    let _ = verify_officernd(b"secret", Some(&header), body, now);
    let _ = verify_optix("secret", body, now);
    let _ = verify_nexudus(b"secret", Some(&header), body);
    let _ = verify_teamup("secret", bearer(Some(&header)));
    let _ = verify_teamup("secret", Some(&header));
});
