//! Finding a person: by the start of their e-mail address or of any word of their name.
//!
//! An administrative read of every stored record (a table scan in DynamoDB, as `mappings
//! apply` does), never on the event, edge or reconcile path.

use crate::kisi::KisiLookup;
use crate::{DeadLetters, Operator, OperatorError};
use access_sync_engine::Store;
use access_sync_ports::{AccessControl, EdgeScheduler, ExclusionList, RunLog, SyncStateStore};
use access_sync_rules::Email;
use access_sync_rules::facts::Record;
use serde::Serialize;
use std::collections::BTreeMap;

/// The most people one search returns.
pub const MAX_RESULTS: usize = 100;

/// A person found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    /// The address (what every other query takes).
    pub email: Email,
    /// The display name, if a member record has one.
    pub name: Option<String>,
    /// The platform member ids with this address.
    pub members: Vec<String>,
    /// Whether every member record with this address is removed.
    pub removed: bool,
}

/// Whether `name` or `email` starts with the (lower-case, trimmed) query, or a word of the
/// name does.
pub fn matches(query: &str, email: &str, name: Option<&str>) -> bool {
    if email.starts_with(query) {
        return true;
    }
    let Some(name) = name else { return false };
    let name = name.to_lowercase();
    name.starts_with(query) || name.split_whitespace().any(|w| w.starts_with(query))
}

/// The people among `records` whose address or name starts with `query`, by address (pure).
pub fn search(records: &[Record], query: &str, limit: usize) -> Vec<Person> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let mut found: BTreeMap<Email, Person> = BTreeMap::new();
    for r in records {
        let Record::Member(m) = r else { continue };
        let Some(email) = &m.email else { continue };
        if !matches(&q, email.as_str(), m.name.as_deref()) {
            continue;
        }
        let p = found.entry(email.clone()).or_insert_with(|| Person {
            email: email.clone(),
            name: None,
            members: Vec::new(),
            removed: true,
        });
        if p.name.is_none() {
            p.name.clone_from(&m.name);
        }
        p.members.push(m.id.as_str().to_string());
        p.removed &= m.removed;
    }
    found.into_values().take(limit.min(MAX_RESULTS)).collect()
}

impl<S, K, E, Q> Operator<S, K, E, Q>
where
    S: Store + SyncStateStore + ExclusionList + RunLog + Sync,
    K: AccessControl + KisiLookup,
    E: EdgeScheduler + Send + Sync,
    Q: DeadLetters,
{
    /// People whose e-mail or name starts with `query` (case-insensitive), at most `limit`
    /// (capped at [`MAX_RESULTS`]), by address.
    ///
    /// # Errors
    /// Store failures.
    pub async fn search_people(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Person>, OperatorError> {
        let records = self.engine().store().all_records().await?;
        Ok(search(&records, query, limit))
    }
}
