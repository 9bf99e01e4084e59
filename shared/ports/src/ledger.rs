//! The delivery ledger: every signed delivery `ingest` accepted, remembered for days, so that
//! a replay of it (or of its signed body under another Nexudus action, or of an Optix
//! signature with another body) changes nothing.
//!
//! A delivery is claimed before its events are published and marked done after:
//!
//! 1. [`DeliveryLedger::claim`]: `Fresh` (nobody has it, or an earlier attempt's claim
//!    lapsed: publish), `Done` (accepted before: answer that it is a duplicate, publish
//!    nothing), `InFlight` (another attempt is publishing it right now: ask to retry later);
//! 2. publish; if that fails the claim lapses by itself, so the sender's retry is processed;
//! 3. [`DeliveryLedger::done`]: remembered until `keep_until`.
//!
//! Keys are route-specific hashes of what the signature covers
//! (`access_sync_platforms::replay`). `now` is always a parameter.

use chrono::{DateTime, Utc};
use std::future::Future;

/// The answer of [`DeliveryLedger::claim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours: publish, then mark done.
    Fresh,
    /// Accepted before: a replay (or the sender's retry of something we accepted).
    Done,
    /// Another attempt holds it until this instant.
    InFlight {
        /// When its claim lapses.
        until: DateTime<Utc>,
    },
}

/// The ledger could not be read or written (retryable).
#[derive(Debug, thiserror::Error)]
#[error("delivery ledger unavailable: {0}")]
pub struct LedgerError(pub String);

/// Where accepted deliveries are remembered.
pub trait DeliveryLedger: Send + Sync {
    /// Claims `key` until `hold_until` unless it is done, or claimed by someone whose claim
    /// has not lapsed at `now` (a claim lapses at its `hold_until`: a sender retrying after the
    /// `Retry-After` it was given is not refused again).
    ///
    /// # Errors
    /// The store could not be reached.
    fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send;

    /// Marks `key` done, remembered until `keep_until`.
    ///
    /// # Errors
    /// The store could not be reached.
    fn done(
        &self,
        key: &str,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLedger;
    use chrono::Duration;

    #[tokio::test]
    async fn a_key_is_fresh_once_in_flight_while_held_and_done_after() {
        let l = MemoryLedger::default();
        let t = DateTime::from_timestamp(1_000, 0).unwrap();
        let hold = t + Duration::seconds(60);
        assert_eq!(l.claim("k", t, hold).await.unwrap(), Claim::Fresh);
        assert_eq!(
            l.claim("k", t, hold).await.unwrap(),
            Claim::InFlight { until: hold }
        );
        // A claim lapses at its end: a retry exactly then takes it over.
        assert_eq!(
            l.claim("k", hold, hold + Duration::seconds(60))
                .await
                .unwrap(),
            Claim::Fresh
        );
        let later = hold + Duration::seconds(61);
        assert_eq!(
            l.claim("k", later, later + Duration::seconds(60))
                .await
                .unwrap(),
            Claim::Fresh
        );
        l.done("k", later + Duration::days(7)).await.unwrap();
        assert_eq!(l.claim("k", later, later).await.unwrap(), Claim::Done);
        assert_eq!(l.claim("other", t, hold).await.unwrap(), Claim::Fresh);
    }
}
