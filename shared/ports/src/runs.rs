//! The last run of each periodic job (the 15-minute reconcile, a platform's sync) and its
//! result, for the operator's `access-sync status` and the console's overview.
//!
//! One record per job, replaced by every run: the job's own report is the history (logs,
//! metrics); this is what an operator asks first ("did reconcile run, and what did it find?").

use crate::store::StoreError;
use access_sync_rules::Instant;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// One run of a periodic job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The job (`reconcile`, `sync:<platform>`).
    pub job: String,
    /// When it ran (the job's `now`).
    pub at: Instant,
    /// `ok`, `braked` (revokes held for the operator) or `aborted` (nothing revoked; see the
    /// report for why).
    pub outcome: String,
    /// The job's report as JSON text (counts, no personal data).
    pub report: String,
}

/// Store of the last run of each job.
pub trait RunLog: Send + Sync {
    /// Replaces the job's record.
    ///
    /// # Errors
    /// `Unavailable`.
    fn record_run(&self, run: &RunRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The job's last record (`None`: it never ran).
    ///
    /// # Errors
    /// `Unavailable`; `Corrupt`.
    fn last_run(
        &self,
        job: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> + Send;
}
