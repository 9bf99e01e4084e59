//! Stable stand-in for the `cargo fuzz` targets in `shared/platforms/fuzz/` (which need nightly):
//! thousands of random and mutated inputs into every normaliser and signature parser. None may
//! panic, and every event a normaliser returns must read back from its canonical JSON (else the
//! core would refuse what we stored).
//!
//! `PROPTEST_CASES` raises the count per target (default here: 2000).

use access_sync_platforms::nexudus::verify as verify_nexudus;
use access_sync_platforms::officernd::{
    parse_header as parse_officernd_header, verify as verify_officernd,
};
use access_sync_platforms::optix::verify as verify_optix;
use access_sync_platforms::signature::bearer;
use access_sync_platforms::teamup::verify as verify_teamup;
use access_sync_platforms::{
    Delivery, Format, Nothing, Platform, Seen, normalize_lines, split_word,
};
use access_sync_rules::Event;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn fixture(p: Platform) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(p.as_str())
        .join(p.spec().fixture().file);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Feeds one input to a platform's normaliser with every combination of side channels, and
/// checks what comes out.
fn feed(p: Platform, body: &[u8], word: Option<&str>) {
    for known in [&Nothing as &dyn access_sync_platforms::Known, &Seen::new()] {
        let d = Delivery {
            body,
            signature: word,
            delivery_id: word,
            action: word,
        };
        if let Ok(events) = p.normalize(&d, known) {
            for e in events {
                let json = e.to_json();
                assert_eq!(Event::parse(&json).as_ref(), Ok(&e), "{json}");
            }
        }
    }
}

/// A small deterministic generator, so a failing case is reproduced from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(rng.next() as i64),
        3 => Value::from(-(rng.below(3) as i64)),
        4 => Value::from(1.5e300),
        5 => Value::from(""),
        6 => {
            Value::from(["2026-12-07", "9999-12-31T23:59:59Z", "0", "x@y", ":", "  "][rng.below(6)])
        }
        7 => Value::Array(vec![Value::from("m1"), Value::Null]),
        _ => serde_json::json!({"id": rng.below(5), "_id": "", "email": "A@B.c"}),
    }
}

/// Replaces, removes or retypes one random node of a JSON document.
fn mutate_json(v: &mut Value, rng: &mut Rng) {
    match v {
        Value::Object(map) if !map.is_empty() && rng.below(4) != 0 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            match rng.below(4) {
                0 => {
                    map.remove(k);
                }
                1 => {
                    map.insert(k.clone(), random_value(rng));
                }
                _ => {
                    if let Some(child) = map.get_mut(k) {
                        mutate_json(child, rng);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.below(4) != 0 => {
            let i = rng.below(items.len());
            if rng.below(3) == 0 {
                items.remove(i);
            } else {
                mutate_json(&mut items[i], rng);
            }
        }
        other => *other = random_value(rng),
    }
}

/// Byte-level damage: flips, insertions, deletions, truncation.
fn mutate_bytes(b: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..=rng.below(4) {
        if b.is_empty() {
            b.push(b'{');
            continue;
        }
        let i = rng.below(b.len());
        match rng.below(4) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b.insert(
                i,
                [b'"', b'{', b'[', b',', b'%', 0xff, b'&', b'='][rng.below(8)],
            ),
            2 => {
                b.remove(i);
            }
            _ => b.truncate(i),
        }
    }
}

/// Mutates a form body: a field's value replaced or dropped, or a field duplicated.
fn mutate_form(s: &str, rng: &mut Rng) -> String {
    let mut parts: Vec<String> = s.split('&').map(str::to_string).collect();
    for _ in 0..=rng.below(3) {
        if parts.is_empty() {
            break;
        }
        let i = rng.below(parts.len());
        let key = parts[i].split('=').next().unwrap_or("").to_string();
        match rng.below(4) {
            0 => {
                parts.remove(i);
            }
            1 => parts[i] = format!("{key}="),
            2 => {
                let v = ["-1", "99999999999999999999", "2026-12-07", "%ZZ", "x", "0"][rng.below(6)];
                parts[i] = format!("{key}={v}");
            }
            _ => {
                let dup = parts[i].clone();
                parts.insert(0, dup);
            }
        }
    }
    parts.join("&")
}

/// (word, payload) of a fixture line, as the CLI splits it.
fn split(p: Platform, line: &str) -> (Option<String>, String) {
    let (w, rest) = split_word(p, line);
    (w.map(str::to_string), rest.to_string())
}

fn mutated(p: Platform, seed: u64) -> (Option<String>, Vec<u8>) {
    let lines = fixture(p);
    let mut rng = Rng(seed | 1);
    let (word, payload) = split(p, &lines[rng.below(lines.len())]);
    let body = match (p.spec().fixture().format, rng.below(3)) {
        (Format::Form, 0 | 1) => mutate_form(&payload, &mut rng).into_bytes(),
        (Format::Json, 0 | 1) => match serde_json::from_str::<Value>(&payload) {
            Ok(mut v) => {
                for _ in 0..=rng.below(3) {
                    mutate_json(&mut v, &mut rng);
                }
                serde_json::to_vec(&v).unwrap_or_default()
            }
            Err(_) => payload.into_bytes(),
        },
        _ => {
            let mut b = payload.into_bytes();
            mutate_bytes(&mut b, &mut rng);
            b
        }
    };
    (word, body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn normalisers_never_panic_on_random_bytes(
        p in prop::sample::select(Platform::ALL.to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..512),
        word in prop::option::of("[A-Za-z0-9]{0,12}"),
    ) {
        feed(p, &body, word.as_deref());
    }

    #[test]
    fn officernd_never_panics_on_mutated_fixtures(seed in any::<u64>()) {
        let (w, b) = mutated(Platform::Officernd, seed);
        feed(Platform::Officernd, &b, w.as_deref());
    }

    #[test]
    fn optix_never_panics_on_mutated_fixtures(seed in any::<u64>()) {
        let (w, b) = mutated(Platform::Optix, seed);
        feed(Platform::Optix, &b, w.as_deref());
    }

    #[test]
    fn nexudus_never_panics_on_mutated_fixtures(seed in any::<u64>()) {
        let (w, b) = mutated(Platform::Nexudus, seed);
        feed(Platform::Nexudus, &b, w.as_deref());
        feed(Platform::Nexudus, &b, None);
    }

    #[test]
    fn teamup_never_panics_on_mutated_fixtures(seed in any::<u64>()) {
        let (w, b) = mutated(Platform::Teamup, seed);
        feed(Platform::Teamup, &b, w.as_deref());
    }

    #[test]
    fn signature_parsers_never_panic(
        header in ".{0,200}",
        body in prop::collection::vec(any::<u8>(), 0..256),
        secret in ".{0,16}",
        now in 0i64..253_402_300_799,
    ) {
        let now = Utc.timestamp_opt(now, 0).single().unwrap_or_default();
        let _ = parse_officernd_header(&header);
        let _ = verify_officernd(secret.as_bytes(), Some(&header), &body, now);
        let _ = verify_optix(&secret, &body, now);
        let _ = verify_optix(&secret, header.as_bytes(), now);
        let _ = verify_nexudus(secret.as_bytes(), Some(&header), &body);
        let _ = verify_teamup(&secret, bearer(Some(&header)));
        let _ = verify_teamup(&secret, Some(&header));
    }

    #[test]
    fn officernd_headers_shaped_like_real_ones_never_panic(
        t in prop::option::of("[0-9]{0,14}|-[0-9]{1,3}"),
        v1 in prop::collection::vec("[0-9a-fA-F]{0,70}", 0..3),
        now in 0i64..253_402_300_799,
    ) {
        let mut h = String::new();
        if let Some(t) = &t { h.push_str(&format!("t={t}")); }
        for v in &v1 { h.push_str(&format!(",v1={v}")); }
        let now = Utc.timestamp_opt(now, 0).single().unwrap_or_default();
        let _ = verify_officernd(b"s", Some(&h), b"{}", now);
        // OfficeRnD's own key, `signature=`.
        let _ = verify_officernd(b"s", Some(&h.replace("v1=", "signature=")), b"{}", now);
    }
}

#[test]
fn whole_mutated_files_never_panic_the_line_runner() {
    for p in Platform::ALL {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50 {
            let mut text = fixture(p).join("\n").into_bytes();
            mutate_bytes(&mut text, &mut rng);
            let _ = normalize_lines(p, &String::from_utf8_lossy(&text));
        }
    }
}

#[test]
fn mutations_reach_both_accepted_and_refused_payloads() {
    // Guards the smoke test itself: mutations that were always refused at the first field would
    // never exercise the record-level code.
    for p in Platform::ALL {
        let (mut ok, mut refused) = (0, 0);
        for seed in 1..400u64 {
            let (w, b) = mutated(p, seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
            let d = Delivery {
                body: &b,
                delivery_id: w.as_deref(),
                action: w.as_deref(),
                ..Delivery::default()
            };
            match p.normalize(&d, &Nothing) {
                Ok(_) => ok += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("{p}: {ok} accepted, {refused} refused");
        assert!(
            ok > 20 && refused > 20,
            "{p}: {ok} accepted, {refused} refused"
        );
    }
}
