//! A file of native payloads, one per line, normalised in order: what `access-sync normalize`
//! and the fixture tests run. Signatures are not checked; members and teams seen on earlier
//! lines are known to later ones ([`Seen`]).
//!
//! Line format: blank lines and lines starting with `#` are skipped. Optix: one form-encoded
//! body. OfficeRnD: one JSON payload. Nexudus and TeamUp: one JSON payload, optionally preceded
//! by a word and a space — the Nexudus action (`BookingDelete [{…}]`, what the URL's `action`
//! parameter carries live) or the TeamUp `TEAMUP-WEBHOOK-ID` header.

use crate::{Delivery, Platform, Rejection, Seen};
use access_sync_rules::Event;

/// A rejected line: its 1-based number and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {rejection}")]
pub struct LineRejection {
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub rejection: Rejection,
}

/// Splits a fixture line `word payload` for the platforms that take a word before the JSON
/// (Nexudus's action, TeamUp's webhook id); other lines are all payload.
pub fn split_word(platform: Platform, line: &str) -> (Option<&str>, &str) {
    let t = line.trim_start();
    let takes_word = matches!(platform, Platform::Nexudus | Platform::Teamup);
    if takes_word
        && !t.starts_with(['[', '{'])
        && let Some((word, rest)) = t.split_once(char::is_whitespace)
    {
        return (Some(word), rest.trim_start());
    }
    (None, t)
}

/// Normalises every payload of `text`, in order; the first bad line stops.
pub fn normalize_lines(platform: Platform, text: &str) -> Result<Vec<Event>, LineRejection> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (word, payload) = split_word(platform, trimmed);
        let delivery = Delivery {
            body: payload.as_bytes(),
            signature: None,
            delivery_id: word.filter(|_| platform == Platform::Teamup),
            action: word.filter(|_| platform == Platform::Nexudus),
        };
        let events = platform
            .normalize(&delivery, &seen)
            .map_err(|rejection| LineRejection {
                line: i + 1,
                rejection,
            })?;
        for e in events {
            seen.observe(&e);
            out.push(e);
        }
    }
    Ok(out)
}
