//! One record changed in an in-process simulator whose records have integer ids (Nexudus,
//! TeamUp): the create / update / remove that [`super::PlatformAdmin::change`] makes there
//! before answering the platform's webhook, which each platform builds its own way.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// An in-process simulator's records, keyed by collection and integer id.
pub(super) trait IntegerRecords {
    /// The platform, as messages name it.
    const PLATFORM: &'static str;
    /// The field holding a record's id.
    const ID_FIELD: &'static str;

    /// The record `id` of `collection`, if held.
    fn get(&self, collection: &str, id: i64) -> Option<Value>;

    /// Merges `fields` into the record with their id, or creates it; answers the record.
    ///
    /// # Errors
    /// The simulator refused the record (an unknown collection, no id, not an object).
    fn put(&self, collection: &str, fields: &Value) -> Result<Value>;

    /// Removes the record `id` of `collection`; answers it as it was, if it was held.
    fn remove(&self, collection: &str, id: i64) -> Option<Value>;
}

impl IntegerRecords for nexudus_sim::Sim {
    const PLATFORM: &'static str = "Nexudus";
    const ID_FIELD: &'static str = "Id";

    fn get(&self, collection: &str, id: i64) -> Option<Value> {
        nexudus_sim::Sim::get(self, collection, id)
    }

    fn put(&self, collection: &str, fields: &Value) -> Result<Value> {
        self.upsert(collection, fields)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn remove(&self, collection: &str, id: i64) -> Option<Value> {
        self.delete(collection, id)
    }
}

impl IntegerRecords for teamup_sim::Sim {
    const PLATFORM: &'static str = "TeamUp";
    const ID_FIELD: &'static str = "id";

    fn get(&self, collection: &str, id: i64) -> Option<Value> {
        teamup_sim::Sim::get(self, collection, id)
    }

    fn put(&self, collection: &str, fields: &Value) -> Result<Value> {
        teamup_sim::Sim::put(self, collection, fields).map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn remove(&self, collection: &str, id: i64) -> Option<Value> {
        teamup_sim::Sim::remove(self, collection, id)
    }
}

/// Makes `change` (`create` with `body` the record, `update` with `body` the top-level fields
/// to set, `remove`) to a record of `collection`, and answers the record as changed — or, for
/// a removal, as it was.
///
/// # Errors
/// An unknown change, an update or removal without an id (or of a record not held), an id
/// that is not an integer, or a record the simulator refused.
pub(super) fn change_record<S: IntegerRecords>(
    sim: &S,
    change: &str,
    collection: &str,
    id: Option<&str>,
    body: Option<&Value>,
) -> Result<Value> {
    let integer = |id: &str| -> Result<i64> {
        id.parse()
            .with_context(|| format!("a {} id is an integer", S::PLATFORM))
    };
    match (change, id) {
        ("create", _) => {
            let body = body.context("a created record needs a body")?;
            sim.put(collection, body)
        }
        ("update", Some(id)) => {
            let n = integer(id)?;
            if sim.get(collection, n).is_none() {
                bail!("{collection} {id}: no such record");
            }
            let mut patch = body.cloned().unwrap_or_else(|| json!({}));
            patch[S::ID_FIELD] = json!(n);
            sim.put(collection, &patch)
        }
        ("remove", Some(id)) => {
            let n = integer(id)?;
            sim.remove(collection, n)
                .with_context(|| format!("{collection} {id}: no such record"))
        }
        _ => bail!("change {change:?} of {collection} needs an id (or is unknown)"),
    }
}
