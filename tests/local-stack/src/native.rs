//! Platforms' native webhooks as the platforms would deliver them to the local stack: each
//! fixture line (`events/<platform>/webhooks.*`) becomes a signed HTTP request to its ingest
//! route, due at the instant its payload carries.

use crate::names::local_webhook_secret;
use access_sync_platforms::signature::{
    NEXUDUS_HEADER, OFFICERND_HEADER, TEAMUP_ID_HEADER, nexudus_signature, officernd_header,
    sign_optix_body,
};
use access_sync_platforms::{Delivery, Platform, Seen, split_word};
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
        let body = self.payload.as_bytes().to_vec();
        match self.platform {
            Platform::Officernd => {
                let sig = officernd_header(secret.as_bytes(), &body, now.timestamp());
                (
                    "/officernd".into(),
                    vec![(OFFICERND_HEADER.into(), sig)],
                    body,
                )
            }
            Platform::Optix => (
                "/optix".into(),
                vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                sign_optix_body(&secret, &self.payload).into_bytes(),
            ),
            Platform::Nexudus => {
                let action = self.word.clone().unwrap_or_default();
                let sig = nexudus_signature(secret.as_bytes(), &body);
                (
                    format!("/nexudus?action={action}"),
                    vec![(NEXUDUS_HEADER.into(), sig)],
                    body,
                )
            }
            Platform::Teamup => (
                "/teamup".into(),
                vec![
                    (
                        TEAMUP_ID_HEADER.into(),
                        self.word.clone().unwrap_or_default(),
                    ),
                    ("authorization".into(), format!("Bearer {secret}")),
                ],
                body,
            ),
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
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (word, payload) = split_word(platform, t);
        let word = word.map(str::to_string);
        let delivery = Delivery {
            body: payload.as_bytes(),
            signature: None,
            delivery_id: word.as_deref().filter(|_| platform == Platform::Teamup),
            action: word.as_deref().filter(|_| platform == Platform::Nexudus),
        };
        let events = platform
            .normalize(&delivery, &seen)
            .map_err(|e| anyhow!("line {}: {e}", i + 1))?;
        // Optix signs its `created_timestamp`: that is when it delivers.
        let created = form_urlencoded::parse(payload.as_bytes())
            .find(|(k, _)| k == "created_timestamp")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .filter(|_| platform == Platform::Optix)
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
        let at = created
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
            word,
            payload: payload.to_string(),
            at,
        });
    }
    Ok((out, all))
}
