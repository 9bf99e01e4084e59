//! `platform_sync`: the platform's API as the truth. A listing of the platform
//! ([`access_sync_ports::PlatformSource`]) is mapped to canonical events by the platform's pure
//! mapping (`access_sync_platforms::Platform::events_from_records`), compared with the stored
//! facts ([`diff`]), and only what differs is published, through the normal path.
//!
//! - [`diff`]: the pure comparison and the brake;
//! - [`run`]: the resumable run (cursor and buffered pages in a [`access_sync_ports::SyncStateStore`]).

pub mod diff;
pub mod run;

#[cfg(test)]
mod tests;

pub use diff::{Brake, Listing, SyncDiff, SyncScope, diff, sync_delivery_id};
pub use run::{
    Mode, PlatformMapping, PlatformSync, SyncError, SyncOutcome, SyncReport, SyncSettings,
};
