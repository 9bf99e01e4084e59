//! Reconcile's repair of grants that were lost on the way: a converge request or an opening
//! edge that dead-lettered (a Kisi outage longer than the retries, a bug, a crash before the
//! ownership write) leaves a member locked out although the rules say they should be in.
//!
//! Converge keeps an index of the pairs that should be open (and from when), and event
//! handling marks the pairs an event can change as dirty until a converge has seen them (see
//! [`crate::brake`]). Reconcile walks both, shard by shard with a cursor, and asks converge for
//! every pair that should be open now but holds no assignment in Kisi (ours, or one added by
//! hand), and for every dirty mark older than the grace period. Converge judges: a pair whose
//! access has ended meanwhile is kept closed and its entry dropped.
//!
//! Cost: one index page per 500 pairs and one per 500 dirty marks (normally none); no facts
//! are read and Kisi is not read again (the group listings reconcile already has say who holds
//! an assignment).

use crate::engine::{Engine, EngineError, Store};
use crate::reconcile::{ReconcileConfig, ReconcileReport};
use access_sync_ports::{AccessControl, EdgeScheduler, OWNERSHIP_SHARDS};
use access_sync_rules::{Instant, Pair};
use futures_util::future::try_join_all;
use std::collections::BTreeSet;

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// Adds to `todo` the pairs whose grant was lost (see the module docs).
    pub(crate) async fn repair_lost(
        &self,
        now: Instant,
        cfg: &ReconcileConfig,
        in_kisi: &BTreeSet<Pair>,
        todo: &mut BTreeSet<Pair>,
        report: &mut ReconcileReport,
    ) -> Result<(), EngineError> {
        let managed = self.mapping(now).await?.managed_targets();
        // The shards are read side by side (each page by page) and taken in shard order.
        let shards = (0..OWNERSHIP_SHARDS).map(|shard| async move {
            let mut wanted = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store()
                    .wanted_page(shard, cursor.as_deref(), cfg.page)
                    .await?;
                wanted.extend(page.items);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            let mut dirty = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store()
                    .dirty_page(shard, cursor.as_deref(), cfg.page)
                    .await?;
                dirty.extend(page.items);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            Ok::<_, EngineError>((wanted, dirty))
        });
        for (wanted, dirty) in try_join_all(shards).await? {
            for (pair, w) in wanted {
                if w.open_at(now)
                    && managed.contains(&pair.group)
                    && !in_kisi.contains(&pair)
                    && todo.insert(pair)
                {
                    report.lost_grants += 1;
                }
            }
            for d in dirty {
                if d.at + cfg.dirty_grace <= now && todo.insert(d.pair) {
                    report.unconverged += 1;
                }
            }
        }
        Ok(())
    }
}
