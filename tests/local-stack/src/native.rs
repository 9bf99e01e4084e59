//! Platforms' native webhooks as the platforms would deliver them to the local stack: each
//! fixture line (`events/<platform>/webhooks.*`) becomes a signed HTTP request to its ingest
//! route, due at the instant its payload carries.

use crate::names::local_webhook_secret;
use access_sync_platforms::{FixtureLine, Platform, Seen, SignedRequest, fixture_lines};
use access_sync_rules::{Event, Instant};
use anyhow::{Result, anyhow};

/// One native webhook delivery.
#[derive(Debug, Clone)]
pub struct Native {
    /// Which platform.
    pub platform: Platform,
    /// Nexudus's action or TeamUp's webhook id (the word before the payload in the fixture).
    pub word: Option<String>,
    /// The payload, exactly as the platform sends it.
    pub payload: String,
    /// When it is delivered: the latest instant its canonical events carry (the previous
    /// delivery's for one that yields none).
    pub at: Instant,
}

impl Native {
    /// The request the platform would send at `now`: (path with query, headers, body).
    pub fn request(&self, now: Instant) -> (String, Vec<(String, String)>, Vec<u8>) {
        let secret = local_webhook_secret(self.platform);
        let SignedRequest {
            path,
            headers,
            body,
        } = self.platform.spec().send(&secret, self.line(), now);
        (path, headers, body)
    }

    /// The fixture line it came from.
    pub fn line(&self) -> FixtureLine<'_> {
        FixtureLine {
            word: self.word.as_deref(),
            payload: &self.payload,
        }
    }
}

/// Every delivery of a fixture file, in order, and the canonical events `access-sync
/// normalize` makes of the whole file (what `preview` is given).
///
/// # Errors
/// A line the normaliser rejects.
pub fn deliveries(platform: Platform, text: &str) -> Result<(Vec<Native>, Vec<Event>)> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    let mut all = Vec::new();
    let mut last: Option<Instant> = None;
    for (n, line) in fixture_lines(platform, text) {
        let events = platform
            .normalize(&platform.fixture_delivery(line), &seen)
            .map_err(|e| anyhow!("line {n}: {e}"))?;
        // A platform that signs its own send time (Optix's `created_timestamp`) delivers then.
        let at = platform
            .spec()
            .sent_at(line.payload)
            .or_else(|| events.iter().map(|e| e.at).max())
            .or(last);
        let Some(at) = at else {
            continue; // nothing yet to place it in time, and nothing it changes
        };
        last = Some(at);
        for e in events {
            seen.observe(&e);
            all.push(e);
        }
        out.push(Native {
            platform,
            word: line.word.map(str::to_string),
            payload: line.payload.to_string(),
            at,
        });
    }
    Ok((out, all))
}
