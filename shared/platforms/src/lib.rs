//! # access-sync platforms
//!
//! The pure half of access-sync's platform webhooks: for OfficeRnD, Optix, Nexudus and TeamUp,
//! verify a delivery's signature and translate its native payload into canonical events
//! (ACCESS-MODEL §2 and §5).
//!
//! One folder per platform ([`officernd`], [`optix`], [`nexudus`], [`teamup`]) holds everything
//! about it: its records → canonical events, its webhook delivery (route, signature, how a test
//! signs one) and its fixtures' format, behind one [`PlatformSpec`]. [`registry`] is the one list
//! of platforms; code elsewhere asks a [`Platform`] instead of matching on platforms. Adding a
//! platform: the folder, its `pub mod` line below, its line in [`registry`] (and its webhook
//! secret in `infra/lib/stateful-stack.ts`).
//!
//! No I/O, no clock (`now` is a parameter), nothing async: the ingest routes read the request,
//! call [`PlatformSpec::receive`] and [`Platform::accept`], and answer [`Rejection::http_status`] or store the events.
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

pub mod api;
pub mod canonical;
pub mod directory;
pub mod error;
pub mod lines;
pub mod registry;
pub mod replay;
pub mod signature;
pub mod spec;

pub mod nexudus;
pub mod officernd;
pub mod optix;
pub mod teamup;

mod json;
mod out;
mod when;

pub use directory::{Known, Nothing, Seen};
pub use error::{Rejection, SignatureError, Verdict};
pub use lines::{LineRejection, fixture_lines, normalize_lines, split_word};
pub use registry::Platform;
pub use spec::{
    Delivery, Fixture, FixtureLine, Format, Hints, IncomingRequest, MAX_HINTS, PlatformSpec,
    Received, RecordHint, SignedRequest, WebhookTrust, Word,
};

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
