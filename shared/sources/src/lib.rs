//! [`PlatformSource`](access_sync_ports::PlatformSource) adapters: the HTTP clients that read a
//! platform's API as the source of truth (issue 17), one module per platform.
//!
//! Why a crate of its own rather than a module behind a feature of `access-sync-platforms`:
//! the port lives in `access-sync-ports`, which depends on `access-sync-platforms` (for
//! `Platform`), so an adapter inside the platforms crate would make the two depend on each
//! other — a cycle cargo refuses, feature or not. The pure platform folder
//! (`shared/platforms/src/<platform>/`: webhooks, signatures, the records → events mapping)
//! stays pure; the I/O sits here, beside its technology (HTTP), as `shared/kisi` does for Kisi.
//!
//! One HTTP stack for the project: `reqwest` with rustls. The request budget is
//! `access_sync_kisi`'s [`SlidingWindow`](access_sync_kisi::SlidingWindow) (at most *n*
//! requests in any window, paused for everyone after a 429), shared rather than copied; the
//! retry policy ([`RetryPolicy`]) is the same equal-jitter exponential backoff as Kisi's.

#![warn(missing_docs)]

pub mod officernd;
pub mod optix;
mod retry;

pub use retry::RetryPolicy;
