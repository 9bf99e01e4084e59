//! The Kisi adapter: the only code in access-sync that talks to Kisi.
//!
//! - [`KisiClient`] — typed calls for users, groups, places and role assignments, one
//!   `reqwest::Client` with timeouts, an injectable base URL, retries with backoff and jitter on
//!   429/5xx/timeouts within a deadline, and 409/404 turned into outcomes
//!   ([`GrantOutcome::Adopted`], [`RevokeOutcome::AlreadyGone`]) after checking them.
//! - [`RequestBudget`] — what keeps the process under Kisi's 5 requests/s; [`SlidingWindow`] is
//!   the in-process budget used in production together with reserved concurrency 1 on the
//!   Kisi-writing Lambda (see the `budget` module for the shared-budget plan).
//! - Listings prove themselves complete (`X-Collection-Range` totals, no duplicate ids, no short
//!   page before the total) or fail with [`KisiError::IncompleteRead`].
//! - Users are matched on exact, case-insensitive e-mail only; users we create carry
//!   [`OWNERSHIP_MARKER`] in their notes; no code path deletes a Kisi user.
//! - [`ApiKey`] never prints; a key that can change comes from a [`KeySource`] ([`SecretKey`]:
//!   a secret store), read on the first call and again once after a 401.
//! - [`KisiAccess`] — the adapter of the `AccessControl` port (`access-sync-ports`) over the
//!   client.

#![warn(missing_docs)]

mod access;
mod budget;
mod client;
mod error;
mod pagination;
mod secret;
mod types;

pub use access::KisiAccess;
pub use budget::{
    BudgetFuture, KISI_REQUESTS_PER_SECOND, RequestBudget, SlidingWindow, TokenBucket, Unlimited,
};
pub use client::{CallStats, DEFAULT_BASE_URL, KisiClient, KisiConfig, RetryPolicy, same_email};
pub use error::KisiError;
pub use pagination::CollectionRange;
pub use secret::{ApiKey, KeyFuture, KeySource, SecretKey};
pub use types::{
    EnsuredUser, Grant, GrantOutcome, Group, GroupId, InvitePolicy, NewUser, OWNERSHIP_MARKER,
    Place, PlaceId, PlaceRef, PlaceRoleAssignment, ROLE_GROUP_BASIC, ROLE_PLACE_BASIC,
    RevokeOutcome, RoleAssignment, RoleAssignmentId, User, UserId, UserOrigin,
};
