//! The people search's index: every current member with an address, held in memory and kept
//! current from the store's people index (members filed by when they were stored, see
//! `access_sync_aws::dynamo::people`) — a full read at start and every
//! [`PEOPLE_FULL_EVERY`], and in between, every [`PEOPLE_INDEX_TTL`], only the members stored
//! since the latest one seen (with an overlap, as that index follows writes eventually). No
//! table scan: at 10,000 members a pass that finds no change is 16 small queries.

use crate::Console;
use access_sync_aws::dynamo::people::StoredMember;
use access_sync_ports::Version;
use access_sync_rules::facts::MemberRecord;
use access_sync_rules::{Email, Instant, MemberId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the members stored since the last pass are read.
pub const PEOPLE_INDEX_TTL: Duration = Duration::from_secs(30);
/// How often every member is read again (so erased members leave the index).
pub const PEOPLE_FULL_EVERY: Duration = Duration::from_secs(15 * 60);
/// How far before the latest member seen a pass reads again (the index follows writes
/// eventually, and writers' clocks differ a little).
pub const PEOPLE_OVERLAP: chrono::Duration = chrono::Duration::seconds(60);
/// The most members held.
pub const MAX_PEOPLE: usize = 200_000;

/// One person the search can find.
#[derive(Clone, Debug)]
pub struct Person {
    /// The address.
    pub email: Email,
    /// Names of members with it.
    pub names: Vec<String>,
    /// Lower-case address and names, for matching.
    haystack: String,
}

/// Every current member with an address, by address: what a search reads.
#[derive(Debug, Default)]
pub struct PeopleIndex {
    /// In address order.
    pub people: Vec<Person>,
    /// [`MAX_PEOPLE`] cut the read short.
    pub partial: bool,
}

impl PeopleIndex {
    /// From member records (removed members and members without an address are left out).
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a MemberRecord>) -> PeopleIndex {
        let mut by: BTreeMap<Email, Vec<String>> = BTreeMap::new();
        for m in members {
            if let Some(e) = m.active_email() {
                let names = by.entry(e.clone()).or_default();
                if let Some(n) = &m.name {
                    names.push(n.clone());
                }
            }
        }
        PeopleIndex {
            people: by
                .into_iter()
                .map(|(email, names)| Person {
                    haystack: format!("{} {}", email.as_str(), names.join(" ")).to_lowercase(),
                    email,
                    names,
                })
                .collect(),
            partial: false,
        }
    }

    /// People whose address or name contains every word of `q` (case-insensitive); at most
    /// `limit`, and the number that matched.
    pub fn search(&self, q: &str, limit: usize) -> (Vec<&Person>, usize) {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return (Vec::new(), 0);
        }
        let mut n = 0;
        let mut out = Vec::new();
        for p in &self.people {
            if words.iter().all(|w| p.haystack.contains(w.as_str())) {
                n += 1;
                if out.len() < limit {
                    out.push(p);
                }
            }
        }
        (out, n)
    }
}

/// The members read so far, by id, with their version: what the refresh keeps between passes.
#[derive(Debug, Default)]
pub struct Members {
    by_id: BTreeMap<MemberId, (Version, MemberRecord)>,
    latest: Option<Instant>,
    partial: bool,
}

impl Members {
    /// Replaces everything with a full read.
    pub fn replace(&mut self, read: Vec<StoredMember>, partial: bool) {
        *self = Members::default();
        self.merge(read);
        self.partial = partial;
    }

    /// Takes in what a pass read (a record replaces one of a lower version only); whether
    /// anything changed.
    pub fn merge(&mut self, read: Vec<StoredMember>) -> bool {
        let mut changed = false;
        for m in read {
            self.latest = Some(self.latest.map_or(m.stored, |l| l.max(m.stored)));
            let newer = self
                .by_id
                .get(&m.record.id)
                .is_none_or(|(v, _)| *v < m.version);
            if newer {
                self.by_id
                    .insert(m.record.id.clone(), (m.version, m.record));
                changed = true;
            }
        }
        changed
    }

    /// Where the next pass reads from: a little before the latest member seen (`None`: read
    /// everything).
    pub fn since(&self) -> Option<Instant> {
        self.latest.map(|l| l - PEOPLE_OVERLAP)
    }

    /// The search's index of what is held.
    pub fn index(&self) -> PeopleIndex {
        let mut idx = PeopleIndex::from_members(self.by_id.values().map(|(_, m)| m));
        idx.partial = self.partial;
        idx
    }
}

/// One pass: every member when `full` (or nothing was read yet), else those stored since the
/// last one seen; publishes a new index when something changed.
///
/// # Errors
/// The store's failure, for a human.
pub async fn refresh(c: &Console, members: &mut Members, full: bool) -> Result<(), String> {
    let since = if full { None } else { members.since() };
    let (read, cut) = c
        .ops
        .engine()
        .store()
        .members_stored_since(since, MAX_PEOPLE)
        .await
        .map_err(|e| e.to_string())?;
    let changed = if since.is_none() {
        members.replace(read, cut);
        true
    } else {
        members.merge(read)
    };
    if let Ok(mut g) = c.people.lock() {
        let idx = match g.take() {
            Some((_, idx)) if !changed => idx,
            _ => Arc::new(members.index()),
        };
        *g = Some((std::time::Instant::now(), idx));
    }
    Ok(())
}

/// The latest index and how old it is; right after start, waits up to 20 s for the first.
///
/// # Errors
/// When the first read has not finished in that time.
pub async fn current(c: &Console) -> Result<(Arc<PeopleIndex>, Duration), String> {
    for _ in 0..200 {
        if let Ok(g) = c.people.lock()
            && let Some((at, idx)) = g.as_ref()
        {
            return Ok((idx.clone(), at.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(
        "the member list is still being read (the first time after start): try again in a moment"
            .into(),
    )
}

/// Reads the people index until the console stops: a full read now and every
/// [`PEOPLE_FULL_EVERY`], the changes every [`PEOPLE_INDEX_TTL`] in between.
pub async fn keep_current(c: Arc<Console>) {
    let mut members = Members::default();
    let mut full_at: Option<std::time::Instant> = None;
    loop {
        let full = full_at.is_none_or(|t| t.elapsed() >= PEOPLE_FULL_EVERY);
        match refresh(&c, &mut members, full).await {
            Ok(()) if full => full_at = Some(std::time::Instant::now()),
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "console: the member list was not read"),
        }
        tokio::time::sleep(PEOPLE_INDEX_TTL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::time::parse_instant;

    fn member(id: &str, email: Option<&str>, name: &str, removed: bool) -> MemberRecord {
        let at = parse_instant("2026-12-07T08:00:00Z").unwrap();
        MemberRecord {
            id: MemberId::from(id),
            at,
            email: email.map(|e| Email::parse(e).unwrap()),
            email_since: at,
            removed,
            name: Some(name.into()),
        }
    }

    fn stored(at: &str, version: Version, record: MemberRecord) -> StoredMember {
        StoredMember {
            stored: parse_instant(at).unwrap(),
            version,
            record,
        }
    }

    fn emails(idx: &PeopleIndex, q: &str, limit: usize) -> (Vec<String>, usize) {
        let (found, n) = idx.search(q, limit);
        (
            found.iter().map(|p| p.email.as_str().to_string()).collect(),
            n,
        )
    }

    #[test]
    fn search_matches_every_word_in_address_or_name_and_is_bounded() {
        let ms = [
            member("m1", Some("ann@acme.io"), "Ann Lee", false),
            member("m2", Some("bob@acme.io"), "Bob Stone", false),
            member("m3", Some("cat@studio.dev"), "Cat Lee", false),
            member("m4", Some("dan@acme.io"), "Dan Lee", true),
            member("m5", None, "Eve Lee", false),
        ];
        let idx = PeopleIndex::from_members(&ms);
        assert_eq!(
            emails(&idx, "lee", 50),
            (vec!["ann@acme.io".into(), "cat@studio.dev".into()], 2)
        );
        assert_eq!(
            emails(&idx, "ACME ann", 50),
            (vec!["ann@acme.io".into()], 1)
        );
        assert_eq!(emails(&idx, "lee", 1), (vec!["ann@acme.io".into()], 2));
        assert_eq!(emails(&idx, "   ", 50), (vec![], 0));
        assert_eq!(emails(&idx, "zed", 50), (vec![], 0));
    }

    #[test]
    fn later_passes_bring_changes_in_by_version_and_read_again_from_before_the_latest() {
        let mut m = Members::default();
        assert_eq!(m.since(), None);
        m.replace(
            vec![
                stored(
                    "2026-12-07T09:00:00Z",
                    1,
                    member("m1", Some("ann@acme.io"), "Ann", false),
                ),
                stored(
                    "2026-12-07T09:05:00Z",
                    1,
                    member("m2", Some("bob@acme.io"), "Bob", false),
                ),
            ],
            false,
        );
        assert_eq!(
            m.since(),
            Some(parse_instant("2026-12-07T09:04:00Z").unwrap())
        );
        // Bob is read again unchanged (the overlap), Ann changed address, Cat is new.
        assert!(m.merge(vec![
            stored(
                "2026-12-07T09:05:00Z",
                1,
                member("m2", Some("bob@acme.io"), "Bob", false)
            ),
            stored(
                "2026-12-07T09:06:00Z",
                2,
                member("m1", Some("ann@new.io"), "Ann", false)
            ),
            stored(
                "2026-12-07T09:07:00Z",
                1,
                member("m3", Some("cat@acme.io"), "Cat", false)
            ),
        ]));
        assert!(!m.merge(vec![stored(
            "2026-12-07T09:07:00Z",
            1,
            member("m3", Some("cat@acme.io"), "Cat", false)
        )]));
        // A stale read of an older version changes nothing; a removal drops the person.
        assert!(!m.merge(vec![stored(
            "2026-12-07T09:00:00Z",
            1,
            member("m1", Some("ann@acme.io"), "Ann", false)
        )]));
        assert!(m.merge(vec![stored(
            "2026-12-07T09:08:00Z",
            2,
            member("m2", Some("bob@acme.io"), "Bob", true)
        )]));
        let idx = m.index();
        assert_eq!(
            emails(&idx, "@", 50),
            (vec!["ann@new.io".into(), "cat@acme.io".into()], 2)
        );
        assert_eq!(
            m.since(),
            Some(parse_instant("2026-12-07T09:07:00Z").unwrap())
        );
        // A full read replaces everything (an erased member is gone).
        m.replace(
            vec![stored(
                "2026-12-07T09:10:00Z",
                3,
                member("m1", Some("ann@new.io"), "Ann", false),
            )],
            false,
        );
        assert_eq!(emails(&m.index(), "@", 50), (vec!["ann@new.io".into()], 1));
    }
}
