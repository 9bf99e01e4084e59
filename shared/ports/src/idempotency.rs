//! At-most-once handling of at-least-once deliveries, with the semantics of Powertools for
//! AWS Lambda's idempotency utility (see `peers-and-reliability.md` C.1):
//!
//! * the key is the function's name plus the sha256 of a business key (a delivery id, a
//!   schedule name), so two functions never share records;
//! * [`Idempotency::begin`] takes a lock that succeeds when no record exists, when the record
//!   has expired, or when it is an in-progress lock whose deadline has passed (the previous
//!   invocation timed out or crashed); expiry is decided by comparing with `now`, never by
//!   storage TTL, which only cleans up days later;
//! * a completed record hands back the saved outcome instead of running again;
//! * a failed execution [`Idempotency::release`]s the lock so the retry can run.
//!
//! `now` is always a parameter: the system runs on a movable clock in local demos.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::fmt;
use std::future::Future;

/// A record key: `<function>#<sha256 hex of the business key>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Builds the key for `business_key` handled by `function`.
    pub fn new(function: &str, business_key: &str) -> Self {
        let hash = hex::encode(Sha256::digest(business_key.as_bytes()));
        Self(format!("{function}#{hash}"))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A held in-progress lock. Completing or releasing it only touches the record if it is
/// still *this* lock (same deadline), so a slow invocation whose lock was taken over cannot
/// clobber the newer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The record key.
    pub key: IdempotencyKey,
    /// The in-progress deadline this lock was taken with (milliseconds precision).
    pub until: DateTime<Utc>,
    /// Taken over from an earlier attempt whose lock lapsed without completing or releasing:
    /// that attempt may have died part-way, after some of its work was saved.
    pub taken_over: bool,
}

/// The answer of [`Idempotency::begin`].
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// First time (or the earlier attempt expired or died): run, then complete or release.
    Proceed(Lock),
    /// Already done: this is the saved outcome. Do not run again.
    Completed(serde_json::Value),
}

/// What can go wrong with idempotency records.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// Another invocation holds a live lock on this key. Retryable later (the platform's
    /// redelivery will find it completed, or the lock expired).
    #[error("{key} is in progress elsewhere until {until}")]
    InProgress {
        /// The key.
        key: IdempotencyKey,
        /// The other invocation's deadline.
        until: DateTime<Utc>,
    },
    /// Our lock was taken over (its deadline passed and another invocation locked the key)
    /// or removed before we completed or released it.
    #[error("lock on {0} was lost")]
    LockLost(IdempotencyKey),
    /// A record we cannot read back. Not retryable.
    #[error("idempotency record {key} is unreadable: {reason}")]
    Corrupt {
        /// The key.
        key: IdempotencyKey,
        /// What was wrong.
        reason: String,
    },
    /// The store could not be reached; retry.
    #[error("idempotency store unavailable: {0}")]
    Unavailable(String),
}

impl IdempotencyError {
    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            IdempotencyError::InProgress { .. } | IdempotencyError::Unavailable(_) => true,
            IdempotencyError::LockLost(_) | IdempotencyError::Corrupt { .. } => false,
        }
    }
}

/// Idempotency records (one round trip per call).
pub trait Idempotency: Send + Sync {
    /// Tries to lock `key` until `lock_until` (typically now + the invocation's remaining
    /// time).
    ///
    /// # Errors
    /// `InProgress` when another live lock holds the key; `Corrupt`; `Unavailable`.
    fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        lock_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Begin, IdempotencyError>> + Send;

    /// Saves `outcome` as the result of `lock`'s execution; the record then answers
    /// [`Begin::Completed`] until it expires (the store's expiry window after `now`).
    ///
    /// # Errors
    /// `LockLost` if the record is no longer our lock; `Unavailable`.
    fn complete(
        &self,
        lock: &Lock,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;

    /// Ends the lock after a failed execution so a retry can run at once; the retry's lock is
    /// [`Lock::taken_over`] (the failed execution may have saved part of its work, e.g. a
    /// store write that succeeded but answered an error). Releasing a lock that was already
    /// taken over or removed is not an error (there is nothing of ours left).
    ///
    /// # Errors
    /// `Unavailable`.
    fn release(&self, lock: &Lock) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
}
