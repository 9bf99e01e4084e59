//! The function's settings (environment).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SYNC_BRAKE_SHARE` | `0.10` | a sync that would end more than this share of the platform's active grants (entitlements, a team's counted once per member) … |
//! | `SYNC_BRAKE_FLOOR` | `5` | … and more than this many, is held for an operator |
//! | `SYNC_FULL_EVERY_HOURS` | `24` | longest time between complete full listings (incremental in between) of a platform whose every collection can be listed by change time; the others (OfficeRnD) are listed in full on every run |
//! | `SYNC_DEADLINE_MARGIN_SECONDS` | `60` | a run stops listing this long before the Lambda deadline, stores its cursor and resumes next time |

use access_sync_engine::sync::{Brake, SyncSettings};

/// The settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyncConfig {
    /// Brake and full-sync interval.
    pub sync: SyncSettings,
    /// Stop listing this long before the deadline.
    pub deadline_margin: std::time::Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            sync: SyncSettings::default(),
            deadline_margin: std::time::Duration::from_secs(60),
        }
    }
}

impl SyncConfig {
    /// Reads the settings through `get` (the environment, or a map in tests).
    ///
    /// # Errors
    /// Every bad variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<SyncConfig, Vec<String>> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let d = SyncConfig::default();
        let share = match get("SYNC_BRAKE_SHARE") {
            None => d.sync.brake.share,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(n) if (0.0..=1.0).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "SYNC_BRAKE_SHARE={v:?} is not a number from 0 to 1"
                    ));
                    d.sync.brake.share
                }
            },
        };
        let mut whole = |name: &str, default: u64, max: u64| match get(name) {
            None => default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= max => n,
                _ => {
                    problems.push(format!(
                        "{name}={v:?} is not a whole number from 0 to {max}"
                    ));
                    default
                }
            },
        };
        let floor = whole("SYNC_BRAKE_FLOOR", d.sync.brake.floor as u64, 1_000_000);
        let hours = whole("SYNC_FULL_EVERY_HOURS", 24, 24 * 31);
        let margin = whole("SYNC_DEADLINE_MARGIN_SECONDS", 60, 900);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SyncConfig {
            sync: SyncSettings {
                brake: Brake {
                    share,
                    floor: floor as usize,
                },
                full_every: chrono::Duration::hours(hours as i64),
            },
            deadline_margin: std::time::Duration::from_secs(margin),
        })
    }

    /// From the environment.
    ///
    /// # Errors
    /// Every bad variable.
    pub fn from_env() -> Result<SyncConfig, Vec<String>> {
        SyncConfig::from_lookup(|k| std::env::var(k).ok())
    }
}
