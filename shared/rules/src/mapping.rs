//! The operator's mapping file (ACCESS-MODEL §1): which platform plans, resources, locations…
//! open which Kisi groups, with lead/lag and policy defaults.
//!
//! Parsing validates everything and names the line of the first problem. A group that appears in
//! no mapping is never touched by access-sync: staff and manual groups stay as they are.

use crate::error::{LineError, line_of};
use crate::ids::GroupId;
use crate::source::Source;
use crate::time::parse_tz;
use chrono::Duration;
use chrono_tz::Tz;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use toml::Spanned;

/// What Kisi may do while a membership is blocked (unpaid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockedPolicy {
    /// Blocked memberships grant nothing.
    Deny,
    /// Blocked memberships grant as if active.
    Allow,
}

/// Whether Kisi sends its own invitation e-mails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyPolicy {
    /// Kisi's default behaviour: invite new users, notify on new access.
    KisiDefault,
    /// Always ask Kisi to notify.
    Always,
    /// Never: managed users, no Kisi e-mails.
    Never,
}

/// The `[defaults]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// Zone for entitlements without `tz`.
    pub timezone: Tz,
    /// Minutes a booking, assignment or registration opens early.
    pub lead_minutes: i64,
    /// Minutes a booking, assignment or registration closes late.
    pub lag_minutes: i64,
    /// Access while blocked.
    pub blocked: BlockedPolicy,
    /// Kisi invitation e-mails.
    pub notify: NotifyPolicy,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timezone: Tz::UTC,
            lead_minutes: 5,
            lag_minutes: 5,
            blocked: BlockedPolicy::Deny,
            notify: NotifyPolicy::KisiDefault,
        }
    }
}

/// One `[[mapping]]` entry, with lead and lag already resolved against the defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingEntry {
    /// What kind of platform thing this maps.
    pub source: Source,
    /// The platform's id of it.
    pub id: String,
    /// Kisi groups it opens.
    pub groups: Vec<GroupId>,
    /// Lead in minutes (override or default).
    pub lead_minutes: i64,
    /// Lag in minutes (override or default).
    pub lag_minutes: i64,
    /// The line of the `[[mapping]]` entry in the file it came from (0 if unknown).
    pub line: usize,
    /// Access while a membership is blocked, for this mapping only (an extension of the
    /// contract, documented in README "Mapping file"): `None` follows `defaults.blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<BlockedPolicy>,
    /// The Kisi places (as [`GroupId::place`] targets) a `location` mapping also gives: every
    /// `[[place]]` entry for its location. Filled by [`Mappings::new`]/[`Mappings::reindex`].
    #[serde(skip)]
    pub places: Vec<GroupId>,
}

impl MappingEntry {
    /// Everything this mapping opens: its Kisi groups, then its places (a place follows
    /// exactly the windows its location's mapping opens, see `[[place]]`).
    pub fn targets(&self) -> impl Iterator<Item = GroupId> + '_ {
        self.groups.iter().chain(&self.places).copied()
    }

    /// Whether this mapping opens `target` (a group or a place).
    pub fn opens(&self, target: GroupId) -> bool {
        if target.is_place() {
            self.places.contains(&target)
        } else {
            self.groups.contains(&target)
        }
    }

    /// Lead as a duration.
    pub fn lead(&self) -> Duration {
        Duration::minutes(self.lead_minutes)
    }
    /// Lag as a duration.
    pub fn lag(&self) -> Duration {
        Duration::minutes(self.lag_minutes)
    }

    /// Access while blocked through this mapping: its own `blocked`, else the default's.
    pub fn blocked_policy(&self, defaults: &Defaults) -> BlockedPolicy {
        self.blocked.unwrap_or(defaults.blocked)
    }
}

/// A `[[place]]` entry: the Kisi place for members of a location.
///
/// Whoever the location's mapping (`[[mapping]] source = "location"`, the same `id`) opens a
/// group for gets a place role assignment in `place` for exactly the same windows; several
/// locations give several places, and the place is taken back when no mapped location of it
/// reaches the person any more. A `[[place]]` whose location has no mapping gives nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaceEntry {
    /// Platform location id.
    pub location: String,
    /// Kisi place id.
    pub place: u64,
    /// The line of the `[[place]]` entry (0 if unknown).
    #[serde(default)]
    pub line: usize,
}

/// A validated mapping file.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Mappings {
    /// `[defaults]`, filled in.
    pub defaults: Defaults,
    /// Entries in file order.
    pub entries: Vec<MappingEntry>,
    /// `[[place]]` entries in file order.
    pub places: Vec<PlaceEntry>,
    #[serde(skip)]
    index: FxHashMap<Source, FxHashMap<String, usize>>,
}

impl Mappings {
    /// Parses and validates a mapping file. The error names the line and the field.
    pub fn parse(text: &str) -> Result<Mappings, LineError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            LineError::new(line, e.message().trim().to_string())
        })?;
        Self::from_raw(text, raw)
    }

    /// Builds from already validated parts (e.g. loaded from the store).
    pub fn new(defaults: Defaults, entries: Vec<MappingEntry>, places: Vec<PlaceEntry>) -> Self {
        let mut m = Mappings {
            defaults,
            entries,
            places,
            index: FxHashMap::default(),
        };
        m.reindex();
        m
    }

    /// Rebuilds the lookup index (after deserialising).
    pub fn reindex(&mut self) {
        self.index.clear();
        for (i, e) in self.entries.iter_mut().enumerate() {
            self.index
                .entry(e.source)
                .or_default()
                .insert(e.id.clone(), i);
            e.places = if e.source == Source::Location {
                let mut ps: Vec<GroupId> = self
                    .places
                    .iter()
                    .filter(|p| p.location == e.id)
                    .filter_map(|p| GroupId::place(p.place))
                    .collect();
                ps.sort_unstable();
                ps.dedup();
                ps
            } else {
                Vec::new()
            };
        }
    }

    /// The mapping for a ref, if an operator mapped it.
    pub fn get(&self, source: Source, id: &str) -> Option<&MappingEntry> {
        self.position(source, id).map(|i| &self.entries[i])
    }

    /// The index in [`Mappings::entries`] of the mapping for a ref.
    pub(crate) fn position(&self, source: Source, id: &str) -> Option<usize> {
        if self.index.is_empty() && !self.entries.is_empty() {
            // Deserialised without `reindex`: still correct, just slower.
            return self
                .entries
                .iter()
                .position(|e| e.source == source && e.id == id);
        }
        self.index
            .get(&source)
            .and_then(|by_id| by_id.get(id))
            .copied()
    }

    /// Every group some mapping names: the only groups access-sync ever touches.
    pub fn managed_groups(&self) -> BTreeSet<GroupId> {
        self.entries
            .iter()
            .flat_map(|e| e.groups.iter().copied())
            .collect()
    }

    /// Every place a mapped location gives (as [`GroupId::place`] targets).
    pub fn managed_places(&self) -> BTreeSet<GroupId> {
        self.entries
            .iter()
            .flat_map(|e| e.places.iter().copied())
            .collect()
    }

    /// Every group and place access-sync converges: [`Mappings::managed_groups`] and
    /// [`Mappings::managed_places`].
    pub fn managed_targets(&self) -> BTreeSet<GroupId> {
        let mut all = self.managed_groups();
        all.extend(self.managed_places());
        all
    }

    fn from_raw(text: &str, raw: RawFile) -> Result<Mappings, LineError> {
        let mut defaults = Defaults::default();
        if let Some(d) = raw.defaults {
            let d = d.into_inner();
            if let Some(tz) = d.timezone {
                defaults.timezone = parse_tz(tz.get_ref())
                    .map_err(|m| LineError::at(text, tz.span().start, format!("timezone: {m}")))?;
            }
            if let Some(v) = d.lead_minutes {
                defaults.lead_minutes = minutes(text, &v, "lead_minutes")?;
            }
            if let Some(v) = d.lag_minutes {
                defaults.lag_minutes = minutes(text, &v, "lag_minutes")?;
            }
            if let Some(b) = d.blocked {
                defaults.blocked = blocked_policy(text, &b, "blocked")?;
            }
            if let Some(n) = d.notify {
                defaults.notify = match n.get_ref().as_str() {
                    "kisi_default" => NotifyPolicy::KisiDefault,
                    "always" => NotifyPolicy::Always,
                    "never" => NotifyPolicy::Never,
                    other => {
                        return Err(LineError::at(
                            text,
                            n.span().start,
                            format!(
                                "notify: {other:?} is not \"kisi_default\", \"always\" or \"never\""
                            ),
                        ));
                    }
                };
            }
        }

        let mut entries = Vec::with_capacity(raw.mapping.len());
        let mut seen: HashMap<(Source, String), usize> = HashMap::new();
        for m in raw.mapping {
            let entry_line = header_line(text, m.span().start, "[[mapping]]");
            let m = m.into_inner();
            let Some(source) = m.source else {
                return Err(LineError::new(
                    entry_line,
                    "mapping: missing field `source`",
                ));
            };
            let Some(id) = m.id else {
                return Err(LineError::new(entry_line, "mapping: missing field `id`"));
            };
            let Some(groups) = m.groups else {
                return Err(LineError::new(
                    entry_line,
                    "mapping: missing field `groups`",
                ));
            };
            let src = Source::parse(source.get_ref()).ok_or_else(|| {
                LineError::at(
                    text,
                    source.span().start,
                    format!(
                        "mapping.source: unknown source {:?} (want one of {})",
                        source.get_ref(),
                        Source::NAMES.join(", ")
                    ),
                )
            })?;
            if id.get_ref().trim().is_empty() {
                return Err(LineError::at(text, id.span().start, "mapping.id: empty id"));
            }
            if groups.get_ref().is_empty() {
                return Err(LineError::at(
                    text,
                    groups.span().start,
                    "mapping.groups: empty list (name at least one Kisi group id)",
                ));
            }
            let mut gs = Vec::with_capacity(groups.get_ref().len());
            for g in groups.get_ref() {
                let gid = match g.get_ref() {
                    toml::Value::Integer(i) => GroupId::group(*i),
                    _ => None,
                }
                .ok_or_else(|| {
                    LineError::at(
                        text,
                        g.span().start,
                        format!(
                            "mapping.groups: {} is not a positive integer Kisi group id",
                            g.get_ref()
                        ),
                    )
                })?;
                if !gs.contains(&gid) {
                    gs.push(gid);
                }
            }
            let lead_minutes = match &m.lead_minutes {
                Some(v) => minutes(text, v, "mapping.lead_minutes")?,
                None => defaults.lead_minutes,
            };
            let lag_minutes = match &m.lag_minutes {
                Some(v) => minutes(text, v, "mapping.lag_minutes")?,
                None => defaults.lag_minutes,
            };
            let blocked = match &m.blocked {
                Some(b) => Some(blocked_policy(text, b, "mapping.blocked")?),
                None => None,
            };
            let key = (src, id.get_ref().clone());
            if let Some(first) = seen.get(&key) {
                return Err(LineError::new(
                    entry_line,
                    format!(
                        "mapping: duplicate source {:?} id {:?}: already mapped at line {first}",
                        src.as_str(),
                        id.get_ref()
                    ),
                ));
            }
            seen.insert(key, entry_line);
            entries.push(MappingEntry {
                source: src,
                id: id.into_inner(),
                groups: gs,
                lead_minutes,
                lag_minutes,
                line: entry_line,
                places: Vec::new(),
                blocked,
            });
        }

        let mut places: Vec<PlaceEntry> = Vec::with_capacity(raw.place.len());
        for p in raw.place {
            let line = header_line(text, p.span().start, "[[place]]");
            let p = p.into_inner();
            let (Some(location), Some(place)) = (p.location, p.place) else {
                return Err(LineError::new(
                    line,
                    "place: needs both `location` and `place`",
                ));
            };
            if location.get_ref().trim().is_empty() {
                return Err(LineError::at(
                    text,
                    location.span().start,
                    "place.location: empty location id",
                ));
            }
            let place_id = u64::try_from(*place.get_ref())
                .ok()
                .filter(|&v| GroupId::place(v).is_some())
                .ok_or_else(|| {
                    LineError::at(
                        text,
                        place.span().start,
                        "place.place: not a positive integer Kisi place id",
                    )
                })?;
            if let Some(first) = places.iter().find(|e| e.location == *location.get_ref()) {
                return Err(LineError::new(
                    line,
                    format!(
                        "place: duplicate location {:?}: its place is already given at line {}",
                        location.get_ref(),
                        first.line
                    ),
                ));
            }
            places.push(PlaceEntry {
                location: location.into_inner(),
                place: place_id,
                line,
            });
        }
        Ok(Mappings::new(defaults, entries, places))
    }
}

fn minutes(text: &str, v: &Spanned<toml::Value>, field: &str) -> Result<i64, LineError> {
    match v.get_ref() {
        toml::Value::Integer(i) if *i >= 0 => Ok(*i),
        other => Err(LineError::at(
            text,
            v.span().start,
            format!("{field}: {other} is not a whole number of minutes ≥ 0"),
        )),
    }
}

/// The line of the table header (e.g. `[[mapping]]`) that a table's body at `offset` belongs to.
fn header_line(text: &str, offset: usize, header: &str) -> usize {
    let line = line_of(text, offset);
    let lines: Vec<&str> = text.lines().collect();
    (1..=line.min(lines.len()))
        .rev()
        .find(|&l| lines[l - 1].trim_start().starts_with(header))
        .unwrap_or(line)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<Spanned<RawDefaults>>,
    #[serde(default)]
    mapping: Vec<Spanned<RawMapping>>,
    #[serde(default)]
    place: Vec<Spanned<RawPlace>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timezone: Option<Spanned<String>>,
    lead_minutes: Option<Spanned<toml::Value>>,
    lag_minutes: Option<Spanned<toml::Value>>,
    blocked: Option<Spanned<String>>,
    notify: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    source: Option<Spanned<String>>,
    id: Option<Spanned<String>>,
    groups: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    lead_minutes: Option<Spanned<toml::Value>>,
    lag_minutes: Option<Spanned<toml::Value>>,
    blocked: Option<Spanned<String>>,
}

/// `"deny"` or `"allow"` (the `[defaults]` key and its per-mapping override).
fn blocked_policy(text: &str, b: &Spanned<String>, key: &str) -> Result<BlockedPolicy, LineError> {
    match b.get_ref().as_str() {
        "deny" => Ok(BlockedPolicy::Deny),
        "allow" => Ok(BlockedPolicy::Allow),
        other => Err(LineError::at(
            text,
            b.span().start,
            format!("{key}: {other:?} is not \"deny\" or \"allow\""),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    location: Option<Spanned<String>>,
    place: Option<Spanned<i64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_line_may_override_blocked_and_a_file_without_it_is_unchanged() {
        let m = Mappings::parse(
            "[defaults]\nblocked = \"deny\"\n[[mapping]]\nsource = \"plan\"\nid = \"a\"\ngroups = [1]\nblocked = \"allow\"\n[[mapping]]\nsource = \"plan\"\nid = \"b\"\ngroups = [2]\n",
        )
        .unwrap();
        assert_eq!(m.entries[0].blocked, Some(BlockedPolicy::Allow));
        assert_eq!(m.entries[1].blocked, None);
        assert_eq!(
            m.entries[0].blocked_policy(&m.defaults),
            BlockedPolicy::Allow
        );
        assert_eq!(
            m.entries[1].blocked_policy(&m.defaults),
            BlockedPolicy::Deny
        );
        // Stored mappings without the key read and write as before.
        let json = serde_json::to_string(&m.entries[1]).unwrap();
        assert!(!json.contains("blocked"), "{json}");
        let back: MappingEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.blocked, None);
        let err = Mappings::parse(
            "[[mapping]]\nsource = \"plan\"\nid = \"a\"\ngroups = [1]\nblocked = \"sometimes\"\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 5);
        assert!(err.message.contains("mapping.blocked"), "{}", err.message);
    }

    fn err(text: &str) -> LineError {
        Mappings::parse(text).expect_err("should be rejected")
    }

    #[test]
    fn an_empty_file_has_the_documented_defaults() {
        let m = Mappings::parse("").unwrap();
        assert_eq!(m.defaults, Defaults::default());
        assert!(m.entries.is_empty());
    }

    #[test]
    fn per_mapping_lead_and_lag_override_the_defaults() {
        let m = Mappings::parse(
            "[defaults]\nlead_minutes = 10\n\n[[mapping]]\nsource = \"resource\"\nid = \"r\"\ngroups = [1, 2]\nlag_minutes = 15\n",
        )
        .unwrap();
        let e = m.get(Source::Resource, "r").unwrap();
        assert_eq!((e.lead_minutes, e.lag_minutes), (10, 15));
        assert_eq!(
            e.groups,
            vec![GroupId::new(1).unwrap(), GroupId::new(2).unwrap()]
        );
        assert_eq!(e.line, 4);
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let e = err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [1]\ncolour = \"red\"\n");
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn an_unknown_source_names_its_line() {
        let e = err("[[mapping]]\nsource = \"room\"\nid = \"p\"\ngroups = [1]\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("room"));
    }

    #[test]
    fn empty_groups_are_rejected() {
        assert_eq!(
            err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = []\n").line,
            4
        );
    }

    #[test]
    fn a_group_that_is_not_a_positive_integer_is_rejected() {
        assert_eq!(
            err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [1, \"2\"]\n").line,
            4
        );
        assert_eq!(
            err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [-1]\n").line,
            4
        );
        assert_eq!(
            err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [1.5]\n").line,
            4
        );
    }

    #[test]
    fn an_unknown_time_zone_is_rejected() {
        let e = err("[defaults]\ntimezone = \"Mars/Olympus\"\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("Mars/Olympus"));
    }

    #[test]
    fn negative_or_fractional_lead_is_rejected() {
        assert_eq!(err("[defaults]\nlead_minutes = -5\n").line, 2);
        assert_eq!(err("\n[defaults]\nlag_minutes = 2.5\n").line, 3);
    }

    #[test]
    fn bad_policies_are_rejected() {
        assert_eq!(err("[defaults]\nblocked = \"maybe\"\n").line, 2);
        assert_eq!(err("[defaults]\nnotify = \"loud\"\n").line, 2);
    }

    #[test]
    fn a_duplicate_mapping_names_both_lines() {
        let e = err(
            "[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [1]\n\n[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [2]\n",
        );
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("line 1"), "{e}");
    }

    #[test]
    fn a_missing_field_names_the_entry() {
        let e = err("[[mapping]]\nsource = \"plan\"\ngroups = [1]\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("`id`"));
    }

    #[test]
    fn toml_syntax_errors_name_the_line() {
        assert_eq!(err("[defaults]\nlead_minutes = = 3\n").line, 2);
    }

    #[test]
    fn an_unknown_table_is_rejected() {
        assert_eq!(err("[[mappings]]\nsource = \"plan\"\n").line, 1);
    }

    const PLACES: &str = "[[mapping]]\nsource = \"location\"\nid = \"london\"\ngroups = [101]\n\n[[mapping]]\nsource = \"location\"\nid = \"paris\"\ngroups = [102]\n\n[[place]]\nlocation = \"london\"\nplace = 7\n\n[[place]]\nlocation = \"paris\"\nplace = 8\n\n[[place]]\nlocation = \"berlin\"\nplace = 9\n";

    #[test]
    fn a_place_follows_its_location_mapping() {
        let m = Mappings::parse(PLACES).unwrap();
        let london = m.get(Source::Location, "london").unwrap();
        let seven = GroupId::place(7).unwrap();
        assert_eq!(london.places, vec![seven]);
        assert!(london.opens(seven));
        assert!(!london.opens(GroupId::place(8).unwrap()));
        assert!(
            !london.opens(GroupId::new(7).unwrap()),
            "place 7 is not group 7"
        );
        assert_eq!(
            london.targets().collect::<Vec<_>>(),
            vec![GroupId::new(101).unwrap(), seven]
        );
        // Berlin has no location mapping: its place is never managed.
        let places: Vec<u64> = m
            .managed_places()
            .iter()
            .filter_map(|p| p.as_place())
            .collect();
        assert_eq!(places, vec![7, 8]);
        assert_eq!(m.managed_groups().len(), 2, "places are not groups");
        assert_eq!(m.managed_targets().len(), 4);
        assert_eq!(m.places[2].line, 19);
    }

    #[test]
    fn a_place_mapping_survives_a_store_round_trip() {
        let m = Mappings::parse(PLACES).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        let mut back: Mappings = serde_json::from_str(&json).unwrap();
        back.reindex();
        assert_eq!(back, m);
    }

    #[test]
    fn place_mistakes_name_their_line() {
        let e = err("[[place]]\nlocation = \"london\"\n");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("`place`"), "{e}");
        let e = err("\n[[place]]\nlocation = \"london\"\nplace = 0\n");
        assert_eq!(e.line, 4, "{e}");
        let e = err("[[place]]\nlocation = \"london\"\nplace = 4611686018427387904\n");
        assert_eq!(e.line, 3, "{e}");
        let e = err("[[place]]\nlocation = \"  \"\nplace = 3\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[[place]]\nlocation = \"london\"\nplace = \"7\"\n");
        assert_eq!(e.line, 3, "{e}");
        let e = err("[[place]]\nlocation = \"london\"\nplace = 7\nfloor = 2\n");
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn a_location_given_two_places_names_both_lines() {
        let e = err(
            "[[place]]\nlocation = \"london\"\nplace = 7\n\n[[place]]\nlocation = \"london\"\nplace = 8\n",
        );
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("line 1"), "{e}");
    }

    #[test]
    fn a_group_id_in_the_place_range_is_refused() {
        let e = err("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [4611686018427387911]\n");
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn unmapped_groups_are_not_managed() {
        let m = Mappings::parse("[[mapping]]\nsource = \"plan\"\nid = \"p\"\ngroups = [3, 1]\n")
            .unwrap();
        let managed: Vec<u64> = m.managed_groups().into_iter().map(GroupId::get).collect();
        assert_eq!(managed, vec![1, 3]);
    }
}
