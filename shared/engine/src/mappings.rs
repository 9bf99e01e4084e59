//! Mapping changes in the live system (`access-sync mappings apply FILE`): validate the new
//! file, show who gains or loses which group now, store it, and converge every pair whose
//! access it changes — through the one converge path, so staff and unmapped groups stay
//! untouched.

use crate::engine::{Engine, EngineError, Store, Trigger};
use access_sync_ports::AccessControl;
use access_sync_ports::{EdgeScheduler, OWNERSHIP_SHARDS};
use access_sync_rules::facts::Facts;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::{Email, GroupId, Instant, Pair};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Only show what would change.
    pub dry_run: bool,
    /// Largest share of managed access a change may revoke without `allow_mass_revoke`.
    pub brake_share: f64,
    /// Apply even above the brake.
    pub allow_mass_revoke: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            dry_run: false,
            brake_share: 0.10,
            allow_mass_revoke: false,
        }
    }
}

/// What a mapping change does now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MappingChange {
    /// People who gain a group now.
    pub gains: Vec<Pair>,
    /// People who lose a group now.
    pub losses: Vec<Pair>,
    /// Pairs whose access changes now or later (windows, edges): all are converged.
    pub affected: usize,
    /// Pairs we own before the change.
    pub managed: usize,
    /// Stored and converged.
    pub applied: bool,
    /// Why it was not applied (the brake), if so.
    pub refused: Option<String>,
}

impl<S: Store, K: AccessControl, E: EdgeScheduler> Engine<S, K, E> {
    /// Applies a new mapping file (see the module docs).
    ///
    /// # Errors
    /// A file that does not validate (`Mapping`, naming the line); store, Kisi and scheduler
    /// failures; `VersionMismatch` if someone else changed the mapping meanwhile.
    pub async fn apply_mapping(
        &self,
        toml: &str,
        now: Instant,
        opts: &ApplyOptions,
    ) -> Result<MappingChange, EngineError> {
        let new = Mappings::parse(toml).map_err(|e| EngineError::Mapping(e.to_string()))?;
        let stored = self.store().mapping().await?;
        let old = match &stored {
            Some(v) => Mappings::parse(&v.value).unwrap_or_default(),
            None => Mappings::default(),
        };
        let facts = Facts::from_records(self.store().all_records().await?);
        let mut pairs = facts.all_pairs(&old);
        pairs.extend(facts.all_pairs(&new));
        let mut managed = 0;
        for shard in 0..OWNERSHIP_SHARDS {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store()
                    .owned_page(shard, cursor.as_deref(), 500)
                    .await?;
                managed += page.items.len();
                pairs.extend(page.items.into_iter().map(|o| o.value.pair));
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }

        let mut change = MappingChange {
            managed,
            ..MappingChange::default()
        };
        let mut todo: BTreeMap<Email, BTreeSet<GroupId>> = BTreeMap::new();
        for p in &pairs {
            let before = old
                .managed_targets()
                .contains(&p.group)
                .then(|| facts.access(&old, p, now));
            let after = new
                .managed_targets()
                .contains(&p.group)
                .then(|| facts.access(&new, p, now));
            let open = |a: &Option<access_sync_rules::Access>| a.as_ref().is_some_and(|a| a.open);
            match (open(&before), open(&after)) {
                (false, true) => change.gains.push(p.clone()),
                (true, false) => change.losses.push(p.clone()),
                _ => {}
            }
            let same = match (&before, &after) {
                (Some(a), Some(b)) => {
                    a.open == b.open && a.until == b.until && a.next_change == b.next_change
                }
                (None, None) => true,
                _ => false,
            };
            if !same {
                todo.entry(p.email.clone()).or_default().insert(p.group);
            }
        }
        change.affected = todo.values().map(BTreeSet::len).sum();

        let limit = (opts.brake_share * managed as f64).floor() as usize;
        if change.losses.len() > limit.max(1) && !opts.allow_mass_revoke {
            change.refused = Some(format!(
                "this change would take {} of {} managed accesses away now (more than {:.0} %); check the file, or apply with --allow-mass-revoke",
                change.losses.len(),
                managed,
                opts.brake_share * 100.0
            ));
            return Ok(change);
        }
        if opts.dry_run {
            return Ok(change);
        }
        self.store()
            .put_mapping(toml, stored.map(|v| v.version))
            .await?;
        self.forget_mapping();
        for (email, groups) in todo {
            self.converge(&email, &groups, now, Trigger::Mapping)
                .await?;
        }
        change.applied = true;
        Ok(change)
    }
}
