//! What `platform_sync` remembers between runs, per platform: where a full listing got to (so
//! a sync can stop inside Lambda's time limit and resume), the records a full listing has read
//! so far (buffered, because nothing may change until the listing is complete), the last
//! complete full sync, the incremental high-water mark, and the endings a brake holds.
//!
//! Buffered records and held events are stored as **chunks** of text (JSON lines) each smaller
//! than [`MAX_CHUNK_BYTES`], so no stored item nears DynamoDB's 400 KB limit however large the
//! space is. The caller splits ([`split_chunks`]).

use crate::store::StoreError;
use access_sync_rules::Instant;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The largest chunk the store accepts (bytes of text); DynamoDB items stop at 400 KB.
pub const MAX_CHUNK_BYTES: usize = 300 * 1024;

/// A full listing in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullProgress {
    /// When the listing started (the instant its events will carry).
    pub started: Instant,
    /// Index, in the source's `collections()`, of the collection being listed.
    pub collection: usize,
    /// The cursor of the next page of that collection (`None`: its first page).
    pub cursor: Option<String>,
    /// How many buffered chunks are stored.
    pub chunks: u32,
    /// How many records they hold.
    pub records: u64,
}

/// Endings a sync held back for an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSync {
    /// When the sync that held them ran.
    pub at: Instant,
    /// How many events are held (stored as chunks).
    pub events: u64,
    /// How many chunks hold them.
    pub chunks: u32,
    /// Active grants they would end (one person's access through one entitlement: a
    /// team-held entitlement counts once per member; `access_sync_engine::sync::diff`).
    pub ended: u64,
    /// The platform's active grants at the time.
    pub active: u64,
}

/// The state of one platform's sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// The full listing in progress.
    pub full: Option<FullProgress>,
    /// When the last complete full sync started.
    pub last_full: Option<Instant>,
    /// Incremental listings ask for records changed since this instant (the start of the last
    /// complete listing, full or incremental).
    pub high_water: Option<Instant>,
    /// Endings held by the brake, waiting for `access-sync sync confirm`.
    pub held: Option<HeldSync>,
}

/// Which chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkKind {
    /// Records of the full listing in progress.
    Buffer,
    /// Events held by the brake.
    Held,
}

/// Splits lines of text into chunks of at most [`MAX_CHUNK_BYTES`] (a line longer than that
/// gets a chunk of its own; the store refuses it, so the caller learns it is too large).
pub fn split_chunks(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for l in lines {
        if !cur.is_empty() && cur.len() + l.len() + 1 > MAX_CHUNK_BYTES {
            out.push(std::mem::take(&mut cur));
        }
        cur.push_str(&l);
        cur.push('\n');
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The sync state store. One sync per platform runs at a time (the function's reserved
/// concurrency is 1), so there is no read-modify-write race to guard against.
pub trait SyncStateStore: Send + Sync {
    /// The platform's state (default when never synced).
    fn progress(
        &self,
        platform: &str,
    ) -> impl Future<Output = Result<SyncProgress, StoreError>> + Send;

    /// Replaces the platform's state.
    fn put_progress(
        &self,
        platform: &str,
        progress: &SyncProgress,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores chunk number `n` (0-based) of `kind`.
    ///
    /// # Errors
    /// `StoreError::Invalid` for a chunk over [`MAX_CHUNK_BYTES`].
    fn put_chunk(
        &self,
        platform: &str,
        kind: ChunkKind,
        n: u32,
        text: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Chunks `0..count` of `kind`, in order.
    fn chunks(
        &self,
        platform: &str,
        kind: ChunkKind,
        count: u32,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Deletes every chunk of `kind`.
    fn clear_chunks(
        &self,
        platform: &str,
        kind: ChunkKind,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_limit_and_keep_every_line() {
        let line = "x".repeat(1000);
        let lines: Vec<String> = (0..700).map(|_| line.clone()).collect();
        let chunks = split_chunks(lines.clone());
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK_BYTES));
        let back: Vec<&str> = chunks.iter().flat_map(|c| c.lines()).collect();
        assert_eq!(back.len(), 700);
        assert!(split_chunks(Vec::<String>::new()).is_empty());
    }
}
