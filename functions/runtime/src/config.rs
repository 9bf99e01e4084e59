//! Settings read once at cold start.
//!
//! The AWS adapters' variables (`TABLE_NAME`, `SCHEDULE_GROUP`, `CONVERGE_FUNCTION_ARN`,
//! `SCHEDULER_ROLE_ARN`, `SCHEDULER_DLQ_ARN`, `EVENT_BUS_NAME`, `KISI_TOKEN_SECRET`, ...; see
//! [`access_sync_aws::Config`]) plus the ones the functions add:
//!
//! | variable | default | |
//! |---|---|---|
//! | `KISI_BASE_URL` | `https://api.kisi.io` | the Kisi API (the simulator locally) |
//! | `ACCESS_SYNC_CLOCK_URL` | unset: system clock | see [`crate::clock`] |
//! | `BRAKE_SHARE_PER_HOUR` | `0.10` | the one brake: share of managed pairs that may lose access (revoke or shorter window) in any hour, from every trigger together (`BRAKE_SHARE`, its former name, is still read) |
//! | `BRAKE_FLOOR` | `20` | revokes always allowed per hour, however few pairs are managed |
//! | `KISI_MAX_ATTEMPTS` | `6` | tries per Kisi call within one invocation (1 to 10) |
//!
//! Every missing or bad variable is reported, one line each, in one error.

use access_sync_kisi::DEFAULT_BASE_URL;

/// Every missing or bad variable, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad configuration:\n{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

/// Every setting of the engine-backed functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The AWS adapters' settings.
    pub aws: access_sync_aws::Config,
    /// `KISI_BASE_URL`.
    pub kisi_base_url: String,
    /// `ACCESS_SYNC_CLOCK_URL`.
    pub clock_url: Option<String>,
    /// `BRAKE_SHARE_PER_HOUR` (or `BRAKE_SHARE`).
    pub brake_share: f64,
    /// `BRAKE_FLOOR`.
    pub brake_floor: u32,
    /// `KISI_MAX_ATTEMPTS`.
    pub kisi_max_attempts: u32,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] listing every missing or bad variable.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (the environment, or a map in tests).
    ///
    /// # Errors
    /// [`ConfigError`] listing every missing or bad variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let aws = access_sync_aws::Config::from_lookup(get).map_err(|e| problems.extend(e.0));
        let kisi_base_url = get("KISI_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into());
        if !kisi_base_url.starts_with("https://") && !kisi_base_url.starts_with("http://") {
            problems.push(format!(
                "KISI_BASE_URL={kisi_base_url:?} must start with https:// (http:// for the simulator)"
            ));
        }
        let clock_url = get("ACCESS_SYNC_CLOCK_URL");
        if let Some(url) = &clock_url
            && let Err(e) = crate::Clock::new(Some(url))
        {
            problems.push(e);
        }
        let share_name = match get("BRAKE_SHARE_PER_HOUR") {
            Some(_) => "BRAKE_SHARE_PER_HOUR",
            None => "BRAKE_SHARE",
        };
        let brake_share = match get(share_name) {
            None => 0.10,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(n) if (0.0..=1.0).contains(&n) => n,
                _ => {
                    problems.push(format!("{share_name}={v:?} is not a number from 0 to 1"));
                    0.10
                }
            },
        };
        let brake_floor = match get("BRAKE_FLOOR") {
            None => 20,
            Some(v) => v.trim().parse::<u32>().unwrap_or_else(|_| {
                problems.push(format!("BRAKE_FLOOR={v:?} is not a whole number"));
                20
            }),
        };
        let kisi_max_attempts = match get("KISI_MAX_ATTEMPTS") {
            None => 6,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=10).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "KISI_MAX_ATTEMPTS={v:?} is not a number from 1 to 10"
                    ));
                    6
                }
            },
        };
        match aws {
            Ok(aws) if problems.is_empty() => Ok(Config {
                aws,
                kisi_base_url,
                clock_url,
                brake_share,
                brake_floor,
                kisi_max_attempts,
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

/// `EVENT_BUS_NAME` (default `default`): all `ingest` needs.
pub fn event_bus_from_env() -> String {
    std::env::var("EVENT_BUS_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "default".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| env.get(k).cloned()
    }

    #[test]
    fn every_missing_or_bad_variable_is_named_once() {
        let err = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("KISI_BASE_URL", "ftp://kisi"),
            ("ACCESS_SYNC_CLOCK_URL", "localhost:9"),
            ("BRAKE_SHARE", "50%"),
            ("BRAKE_FLOOR", "-1"),
            ("KISI_MAX_ATTEMPTS", "0"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        for name in [
            "SCHEDULE_GROUP",
            "CONVERGE_FUNCTION_ARN",
            "SCHEDULER_ROLE_ARN",
            "KISI_TOKEN_SECRET",
            "KISI_BASE_URL",
            "ACCESS_SYNC_CLOCK_URL",
            "BRAKE_SHARE",
            "BRAKE_FLOOR",
            "KISI_MAX_ATTEMPTS",
        ] {
            assert_eq!(text.matches(name).count(), 1, "{name} in {text}");
        }
        assert!(!text.contains("TABLE_NAME"));
    }

    #[test]
    fn a_complete_environment_gives_defaults_for_the_optional_variables() {
        let c = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("SCHEDULE_GROUP", "g"),
            (
                "CONVERGE_FUNCTION_ARN",
                "arn:aws:lambda:eu-west-1:1:function:on_edge",
            ),
            ("SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/s"),
            ("KISI_TOKEN_SECRET", "kisi"),
        ]))
        .unwrap();
        assert_eq!(c.kisi_base_url, DEFAULT_BASE_URL);
        assert_eq!(c.clock_url, None);
        assert_eq!((c.brake_share, c.brake_floor), (0.10, 20));
        assert_eq!(c.kisi_max_attempts, 6);
        assert_eq!(c.aws.event_bus_name, "default");
    }
}
