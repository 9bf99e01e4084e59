//! [`RunLog`] on DynamoDB: one item per job, `RUN#<job>` / `LAST`, replaced by every run.

use super::DynamoStore;
use access_sync_ports::{RunLog, RunRecord, StoreError};

fn pk(job: &str) -> String {
    format!("RUN#{job}")
}

impl RunLog for DynamoStore {
    async fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let doc = serde_json::to_string(run).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.put_doc(&pk(&run.job), "LAST", &doc).await
    }

    async fn last_run(&self, job: &str) -> Result<Option<RunRecord>, StoreError> {
        self.get_doc(&pk(job), "LAST")
            .await?
            .map(|doc| {
                serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt {
                    key: pk(job),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }
}
