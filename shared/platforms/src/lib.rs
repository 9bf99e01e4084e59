//! # access-sync platforms
//!
//! The pure half of access-sync's platform webhooks: for OfficeRnD, Optix, Nexudus and TeamUp,
//! verify a delivery's signature ([`signature`]) and translate its native payload into canonical
//! events ([`officernd`], [`optix`], [`nexudus`], [`teamup`]; ACCESS-MODEL §2 and §5).
//!
//! No I/O, no clock (`now` is a parameter), nothing async: the ingest routes read the request,
//! call [`Platform::accept`], and answer [`Rejection::http_status`] or store the events.
//!
//! Every canonical event's `id` is a function of the payload (the platform's delivery id where it
//! sends one, else a hash of platform, event type, record id and the payload's timestamp), so a
//! redelivered webhook yields the same ids and the core ignores it. `at` is the payload's own
//! timestamp.
//!
//! An entitlement whose holder is a member id nobody has described yet (an OfficeRnD membership
//! names the member by id only) is emitted all the same, with `holder: {"member": id}`: the engine
//! resolves the e-mail from member events it has seen, and holds the entitlement until the
//! member arrives. Nothing is dropped here.

#![warn(missing_docs)]

pub mod error;
pub mod known;
pub mod lines;
pub mod nexudus;
pub mod officernd;
pub mod optix;
pub mod signature;
pub mod teamup;

mod json;
mod out;
mod when;

pub use error::{Rejection, SignatureError, Verdict};
pub use known::{Known, Nothing, Seen};
pub use lines::{LineRejection, normalize_lines, split_word};

use access_sync_rules::{Event, Instant};
use std::fmt;

/// The largest body accepted: 256 KiB. Larger deliveries get 413 before anything is parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Refuses a body over [`MAX_BODY_BYTES`].
pub fn check_size(len: usize) -> Verdict {
    if len > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge {
            size: len,
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(())
}

/// A platform whose webhooks we understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// OfficeRnD (Flex).
    Officernd,
    /// Optix.
    Optix,
    /// Nexudus.
    Nexudus,
    /// TeamUp.
    Teamup,
}

impl Platform {
    /// Every platform, in the order the docs list them.
    pub const ALL: [Platform; 4] = [
        Platform::Officernd,
        Platform::Optix,
        Platform::Nexudus,
        Platform::Teamup,
    ];

    /// Parses a platform's name (`officernd`, `optix`, `nexudus`, `teamup`; any case).
    pub fn parse(s: &str) -> Option<Platform> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "officernd" => Platform::Officernd,
            "optix" => Platform::Optix,
            "nexudus" => Platform::Nexudus,
            "teamup" => Platform::Teamup,
            _ => return None,
        })
    }

    /// The name, which is also the ingest route (`/officernd`, …) and the fixtures folder.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Officernd => "officernd",
            Platform::Optix => "optix",
            Platform::Nexudus => "nexudus",
            Platform::Teamup => "teamup",
        }
    }

    /// Checks the delivery's signature (or, for TeamUp, the installation secret).
    pub fn verify(self, secret: &str, d: &Delivery<'_>, now: Instant) -> Verdict {
        match self {
            Platform::Officernd => {
                signature::verify_officernd(secret.as_bytes(), d.signature, d.body, now)
            }
            Platform::Optix => signature::verify_optix(secret, d.body, now),
            Platform::Nexudus => signature::verify_nexudus(secret.as_bytes(), d.signature, d.body),
            Platform::Teamup => signature::verify_teamup(secret, d.signature),
        }
    }

    /// Translates the payload into canonical events, without checking the signature.
    pub fn normalize(self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        check_size(d.body.len())?;
        match self {
            Platform::Officernd => officernd::normalize(d.body, known),
            Platform::Optix => optix::normalize(d.body, known),
            Platform::Nexudus => nexudus::normalize(d.body, d.action, known),
            Platform::Teamup => teamup::normalize(d.body, d.delivery_id, known),
        }
    }

    /// What an ingest route does: size (413), then signature (401), then payload (400).
    pub fn accept(
        self,
        secret: &str,
        d: &Delivery<'_>,
        now: Instant,
        known: &dyn Known,
    ) -> Result<Vec<Event>, Rejection> {
        check_size(d.body.len())?;
        self.verify(secret, d, now)?;
        self.normalize(d, known)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One webhook delivery as the ingest route received it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delivery<'a> {
    /// The raw body, exactly as received (signatures are over these bytes).
    pub body: &'a [u8],
    /// OfficeRnD: the `officernd-signature` header; Nexudus: `X-Nexudus-Hook-Signature`;
    /// TeamUp: the presented installation secret (bearer token or URL segment, see
    /// [`signature::bearer`]); Optix: unused (the signature is a form field).
    pub signature: Option<&'a str>,
    /// TeamUp: the `TEAMUP-WEBHOOK-ID` header, which the canonical event ids are made from.
    pub delivery_id: Option<&'a str>,
    /// Nexudus: the webhook's action (`BookingCreate`, …), from the URL's `action` query
    /// parameter; without it the action is inferred from the record's fields.
    pub action: Option<&'a str>,
}
