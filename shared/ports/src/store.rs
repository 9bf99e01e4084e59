//! Errors and version stamps shared by the stores (facts, ownership, audit).
//!
//! Every stored record carries a `version`; a read-modify-write passes the version it read
//! and the store refuses the write if someone else wrote in between (optimistic concurrency).

/// A record's version: 1 for the first write, +1 on every write. 0 never appears in a store.
pub type Version = u64;

/// A value and the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The stored value.
    pub value: T,
    /// The version to pass back on the next write of this record.
    pub version: Version,
}

/// What can go wrong talking to a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the record changed (or appeared, or vanished) since it was
    /// read. Re-read and retry the whole read-modify-write.
    #[error("version mismatch on {key}: someone else wrote it first")]
    VersionMismatch {
        /// The record key that lost the race.
        key: String,
    },
    /// The record does not exist.
    #[error("{key} not found")]
    NotFound {
        /// The record key.
        key: String,
    },
    /// A stored item we cannot read back (bad JSON, missing attribute). Not retryable.
    #[error("stored item {key} is unreadable: {reason}")]
    Corrupt {
        /// The record key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// A request the store refuses whatever the timing (too many items in one transaction,
    /// a value too large). Not retryable.
    #[error("request refused: {0}")]
    Invalid(String),
    /// The store could not be reached or throttled us; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when retrying the same call (after a re-read, for `VersionMismatch`) may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::VersionMismatch { .. } | StoreError::Unavailable(_) => true,
            StoreError::NotFound { .. } | StoreError::Corrupt { .. } | StoreError::Invalid(_) => {
                false
            }
        }
    }
}
