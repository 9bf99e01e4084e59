//! [`SafetyStore`] in memory, for unit tests and benches: same contract as the DynamoDB
//! adapter (conditional clean of dirty marks, versioned budget, pages in pair order).

use super::{MemoryStore, lock};
use crate::ownership::{OWNERSHIP_SHARDS, shard_of};
use crate::pair::{Pair, pair_key};
use crate::safety::{Budget, Dirty, Hold, NoteChange, Notes, SafetyPage, SafetyStore, Wanted};
use crate::store::{StoreError, Version, Versioned};
use std::collections::BTreeMap;

#[derive(Default)]
pub(super) struct MemorySafety {
    wanted: BTreeMap<Pair, Wanted>,
    dirty: BTreeMap<Pair, Dirty>,
    holds: BTreeMap<Pair, Hold>,
    budget: Option<Versioned<Budget>>,
}

fn page<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    cursor: Option<&str>,
    limit: u32,
) -> SafetyPage<T> {
    let mut list: Vec<(String, T)> = items
        .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() > c))
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let limit = limit.max(1) as usize;
    let next = if list.len() > limit {
        list.truncate(limit);
        list.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    SafetyPage {
        items: list.into_iter().map(|(_, v)| v).collect(),
        next,
    }
}

fn check_shard(shard: u16) -> Result<(), StoreError> {
    if shard >= OWNERSHIP_SHARDS {
        return Err(StoreError::Invalid(format!("shard {shard} out of range")));
    }
    Ok(())
}

impl SafetyStore for MemoryStore {
    async fn notes(&self, email: &str) -> Result<Notes, StoreError> {
        let s = lock(&self.safety);
        let mine = |p: &Pair| p.email.as_str() == email;
        Ok(Notes {
            wanted: (s.wanted.iter())
                .filter(|(p, _)| mine(p))
                .map(|(p, w)| (p.clone(), *w))
                .collect(),
            dirty: s
                .dirty
                .values()
                .filter(|d| mine(&d.pair))
                .cloned()
                .collect(),
            holds: s
                .holds
                .values()
                .filter(|h| mine(&h.pair))
                .cloned()
                .collect(),
        })
    }

    async fn mark_dirty(&self, marks: &[Dirty]) -> Result<(), StoreError> {
        let mut s = lock(&self.safety);
        for m in marks {
            s.dirty.insert(m.pair.clone(), m.clone());
        }
        Ok(())
    }

    async fn apply_notes(&self, changes: &[NoteChange]) -> Result<(), StoreError> {
        let mut s = lock(&self.safety);
        for c in changes {
            match c {
                NoteChange::Want(p, w) => {
                    s.wanted.insert(p.clone(), *w);
                }
                NoteChange::Unwant(p) => {
                    s.wanted.remove(p);
                }
                NoteChange::Clean(d) => {
                    if s.dirty.get(&d.pair).is_some_and(|m| m.mark == d.mark) {
                        s.dirty.remove(&d.pair);
                    }
                }
                NoteChange::Hold(h) => {
                    s.holds.insert(h.pair.clone(), h.clone());
                }
                NoteChange::Release(p) => {
                    s.holds.remove(p);
                }
            }
        }
        Ok(())
    }

    async fn wanted_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<(Pair, Wanted)>, StoreError> {
        check_shard(shard)?;
        let s = lock(&self.safety);
        let items = (s.wanted.iter())
            .filter(|(p, _)| shard_of(p) == shard)
            .map(|(p, w)| (pair_key(p), (p.clone(), *w)));
        Ok(page(items, cursor, limit))
    }

    async fn dirty_page(
        &self,
        shard: u16,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Dirty>, StoreError> {
        check_shard(shard)?;
        let s = lock(&self.safety);
        let items = (s.dirty.values())
            .filter(|d| shard_of(&d.pair) == shard)
            .map(|d| (pair_key(&d.pair), d.clone()));
        Ok(page(items, cursor, limit))
    }

    async fn holds_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<SafetyPage<Hold>, StoreError> {
        let s = lock(&self.safety);
        let items = s.holds.values().map(|h| (pair_key(&h.pair), h.clone()));
        Ok(page(items, cursor, limit))
    }

    async fn budget(&self) -> Result<Option<Versioned<Budget>>, StoreError> {
        Ok(lock(&self.safety).budget.clone())
    }

    async fn save_budget(
        &self,
        budget: &Budget,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        let mut s = lock(&self.safety);
        if s.budget.as_ref().map(|b| b.version) != expected {
            return Err(StoreError::VersionMismatch {
                key: "BRAKE/BUDGET".into(),
            });
        }
        let version = expected.unwrap_or(0) + 1;
        s.budget = Some(Versioned {
            value: budget.clone(),
            version,
        });
        Ok(version)
    }
}
