//! Shared by the fuzz targets: run a normaliser and check that whatever it accepts reads back
//! from its canonical JSON.

use access_sync_platforms::{Delivery, Nothing, Platform};
use access_sync_rules::Event;

/// Splits `word\nbody`: the first line is the side channel (Nexudus action, TeamUp webhook id).
pub fn split(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    }
}

pub fn check(p: Platform, data: &[u8]) {
    let (word, body) = split(data);
    let d = Delivery {
        body,
        signature: word,
        delivery_id: word,
        action: word,
    };
    if let Ok(events) = p.normalize(&d, &Nothing) {
        for e in events {
            let json = e.to_json();
            assert_eq!(Event::parse(&json).as_ref(), Ok(&e), "{json}");
        }
    }
}
