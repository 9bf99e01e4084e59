//! [`SyncStateStore`] on DynamoDB: one partition per platform.
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | progress | `SYNC#<platform>` | `STATE` | `doc` (JSON of `SyncProgress`) |
//! | buffered records of a full listing | `SYNC#<platform>` | `BUF#<n, 6 digits>` | `doc` (JSON lines, < 300 KB) |
//! | endings held by the brake | `SYNC#<platform>` | `HELD#<n, 6 digits>` | `doc` (JSON lines, < 300 KB) |
//!
//! Chunks are read with one `GetItem` each (strongly consistent) and cleared with a query on
//! the sort-key prefix then `DeleteItem`s; no item nears the 400 KB limit.

use super::{DynamoStore, get_s, key, s, sdk_error};
use access_sync_ports::{ChunkKind, MAX_CHUNK_BYTES, StoreError, SyncProgress, SyncStateStore};

fn pk(platform: &str) -> String {
    format!("SYNC#{platform}")
}

fn prefix(kind: ChunkKind) -> &'static str {
    match kind {
        ChunkKind::Buffer => "BUF#",
        ChunkKind::Held => "HELD#",
    }
}

fn chunk_sk(kind: ChunkKind, n: u32) -> String {
    format!("{}{n:06}", prefix(kind))
}

impl DynamoStore {
    pub(super) async fn get_doc(&self, pk: &str, sk: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| get_s(i, "doc"))
            .map(str::to_string))
    }

    pub(super) async fn put_doc(&self, pk: &str, sk: &str, doc: &str) -> Result<(), StoreError> {
        let mut item = key(pk, sk);
        item.insert("doc".into(), s(doc));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

impl SyncStateStore for DynamoStore {
    async fn progress(&self, platform: &str) -> Result<SyncProgress, StoreError> {
        let pk = pk(platform);
        match self.get_doc(&pk, "STATE").await? {
            None => Ok(SyncProgress::default()),
            Some(doc) => serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt {
                key: format!("{pk}/STATE"),
                reason: e.to_string(),
            }),
        }
    }

    async fn put_progress(
        &self,
        platform: &str,
        progress: &SyncProgress,
    ) -> Result<(), StoreError> {
        let doc =
            serde_json::to_string(progress).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.put_doc(&pk(platform), "STATE", &doc).await
    }

    async fn put_chunk(
        &self,
        platform: &str,
        kind: ChunkKind,
        n: u32,
        text: &str,
    ) -> Result<(), StoreError> {
        if text.len() > MAX_CHUNK_BYTES {
            return Err(StoreError::Invalid(format!(
                "sync chunk of {} bytes (at most {MAX_CHUNK_BYTES})",
                text.len()
            )));
        }
        self.put_doc(&pk(platform), &chunk_sk(kind, n), text).await
    }

    async fn chunks(
        &self,
        platform: &str,
        kind: ChunkKind,
        count: u32,
    ) -> Result<Vec<String>, StoreError> {
        let pk = pk(platform);
        let mut out = Vec::with_capacity(count as usize);
        for n in 0..count {
            let sk = chunk_sk(kind, n);
            match self.get_doc(&pk, &sk).await? {
                Some(doc) => out.push(doc),
                None => {
                    return Err(StoreError::Corrupt {
                        key: format!("{pk}/{sk}"),
                        reason: "chunk missing".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn clear_chunks(&self, platform: &str, kind: ChunkKind) -> Result<(), StoreError> {
        let pk = pk(platform);
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":p", s(prefix(kind)))
                .projection_expression("pk, sk")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                let sk = get_s(&item, "sk").unwrap_or_default().to_string();
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk.clone(), sk)))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }
}
