//! A file of native payloads, one per line, normalised in order: what `access-sync normalize`
//! and the fixture tests run. Signatures are not checked; members and teams seen on earlier
//! lines are known to later ones ([`Seen`]).
//!
//! Line format: blank lines and lines starting with `#` are skipped; each other line is one
//! payload, preceded, for a platform whose [`Fixture`](crate::Fixture) takes a [`Word`], by that
//! word and a space (the Nexudus action, the TeamUp `TEAMUP-WEBHOOK-ID` header). Each platform's
//! folder says its format.

use crate::{FixtureLine, Platform, Rejection, Seen, Word};
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
    let takes_word = match platform.spec().fixture().word {
        Word::None => false,
        Word::Action | Word::DeliveryId => true,
    };
    if takes_word
        && !t.starts_with(['[', '{'])
        && let Some((word, rest)) = t.split_once(char::is_whitespace)
    {
        return (Some(word), rest.trim_start());
    }
    (None, t)
}

/// The payload lines of a fixture file, in order, with their 1-based line numbers: blank
/// lines and comments skipped, each line split into its word and payload.
pub fn fixture_lines(
    platform: Platform,
    text: &str,
) -> impl Iterator<Item = (usize, FixtureLine<'_>)> {
    text.lines().enumerate().filter_map(move |(i, line)| {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return None;
        }
        Some((i + 1, platform.fixture_line(trimmed)))
    })
}

/// Normalises every payload of `text`, in order; the first bad line stops.
pub fn normalize_lines(platform: Platform, text: &str) -> Result<Vec<Event>, LineRejection> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for (line, fixture_line) in fixture_lines(platform, text) {
        let delivery = platform.fixture_delivery(fixture_line);
        let events = platform
            .normalize(&delivery, &seen)
            .map_err(|rejection| LineRejection { line, rejection })?;
        for e in events {
            seen.observe(&e);
            out.push(e);
        }
    }
    Ok(out)
}
