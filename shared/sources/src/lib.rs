//! [`PlatformSource`](access_sync_ports::PlatformSource) adapters: the HTTP clients that read a
//! platform's API as the source of truth (issue 17), one module per platform.
//!
//! Why a crate of its own rather than a module behind a feature of `access-sync-platforms`:
//! the port lives in `access-sync-ports`, which depends on `access-sync-platforms` (for
//! `Platform`), so an adapter inside the platforms crate would make the two depend on each
//! other — a cycle cargo refuses, feature or not. The pure platform folder
//! (`shared/platforms/src/<platform>/`: webhooks, signatures, the records → events mapping)
//! stays pure; the I/O sits here, beside its technology (HTTP), as `shared/kisi` does for Kisi.
//!
//! One HTTP stack for the project: `reqwest` with rustls. The request budget is
//! `access_sync_kisi`'s [`SlidingWindow`](access_sync_kisi::SlidingWindow) (at most *n*
//! requests in any window, paused for everyone after a 429), shared rather than copied; the
//! retry policy ([`RetryPolicy`]) is the same equal-jitter exponential backoff as Kisi's.

#![warn(missing_docs)]

pub mod nexudus;
pub mod officernd;
pub mod optix;
mod retry;
pub mod teamup;

pub use retry::RetryPolicy;

use access_sync_platforms::Platform;
use access_sync_ports::{
    ListRequest, Page, PlatformSource, SecretSource, SourceError, SourceRecord,
};

/// How a platform's client is built: from the secret store and the name of the secret that
/// holds its credentials (`<prefix>/platforms/<platform>`). Building reads nothing: a client
/// reads its secret on first use, so an empty secret surfaces as
/// [`SourceError::NotConfigured`] from the first listing, not here.
pub trait Connect<S>: PlatformSource + Sized {
    /// The client with its production settings, paced as `pacing` says.
    ///
    /// # Errors
    /// The client cannot be built (its HTTP stack failed to start).
    fn connect(secrets: S, secret_name: &str, pacing: Pacing) -> Result<Self, SourceError>;
}

/// How a client spaces its requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pacing {
    /// The platform's request budget and the deployed backoffs: what runs in AWS.
    #[default]
    Deployed,
    /// No request budget and millisecond backoffs (the same number of attempts; a
    /// `Retry-After` is still honoured): for the local stack's virtual clock, which stands
    /// still while a function runs, so real waits would only cost wall time.
    Unpaced,
}

impl Pacing {
    /// `retry` as this pacing runs it.
    pub fn retry(self, retry: RetryPolicy) -> RetryPolicy {
        match self {
            Pacing::Deployed => retry,
            Pacing::Unpaced => RetryPolicy {
                base_delay: std::time::Duration::from_millis(2),
                max_delay: std::time::Duration::from_millis(20),
                rate_limit_floor: std::time::Duration::from_millis(2),
                ..retry
            },
        }
    }

    /// The budget that replaces the client's own, if any.
    pub fn budget(self) -> Option<std::sync::Arc<dyn access_sync_kisi::RequestBudget>> {
        match self {
            Pacing::Deployed => None,
            Pacing::Unpaced => Some(std::sync::Arc::new(access_sync_kisi::Unlimited)),
        }
    }
}

impl<S: SecretSource> Connect<S> for officernd::OfficerndSource<S> {
    fn connect(secrets: S, secret_name: &str, pacing: Pacing) -> Result<Self, SourceError> {
        let mut config = officernd::OfficerndConfig::new(secret_name);
        config.retry = pacing.retry(config.retry);
        let source = officernd::OfficerndSource::new(secrets, config)?;
        Ok(match pacing.budget() {
            Some(b) => source.with_budget(b),
            None => source,
        })
    }
}

impl<S: SecretSource> Connect<S> for nexudus::NexudusSource<S> {
    fn connect(secrets: S, secret_name: &str, pacing: Pacing) -> Result<Self, SourceError> {
        let mut config = nexudus::NexudusConfig::new(secret_name);
        config.retry = pacing.retry(config.retry);
        let source = nexudus::NexudusSource::new(secrets, config)?;
        Ok(match pacing.budget() {
            Some(b) => source.with_budget(b),
            None => source,
        })
    }
}

/// The sync's share of Optix's 60 requests a minute per token (BENCHMARKS.md, "Optix"): the
/// scheduled sync and the webhook re-reads run in separate invocations, each with its own
/// client, so each gets half and together they never exceed the platform's budget.
pub const OPTIX_REQUESTS_PER_MINUTE: usize = 30;

impl<S: SecretSource> Connect<S> for optix::OptixSource<optix::SecretTokens<S>> {
    fn connect(secrets: S, secret_name: &str, pacing: Pacing) -> Result<Self, SourceError> {
        let mut config = optix::OptixConfig::new(None);
        config.requests_per_minute = OPTIX_REQUESTS_PER_MINUTE;
        config.retry = pacing.retry(config.retry);
        let source =
            optix::OptixSource::new(optix::SecretTokens::new(secrets, secret_name), config)?;
        Ok(match pacing.budget() {
            Some(b) => source.with_budget(b),
            None => source,
        })
    }
}

/// The sync's share of TeamUp's 250 requests a minute per caller (BENCHMARKS.md, "TeamUp"):
/// as for Optix, the scheduled sync and the webhook re-reads run in separate invocations with
/// one token, so each gets half and together they never exceed TeamUp's limit.
pub const TEAMUP_REQUESTS_PER_MINUTE: usize = teamup::REQUESTS_PER_MINUTE / 2;

impl<S: SecretSource> Connect<S> for teamup::TeamupSource<S> {
    fn connect(secrets: S, secret_name: &str, pacing: Pacing) -> Result<Self, SourceError> {
        let mut config = teamup::TeamupConfig::new(secret_name);
        config.requests_per_minute = TEAMUP_REQUESTS_PER_MINUTE;
        config.retry = pacing.retry(config.retry);
        let source = teamup::TeamupSource::new(secrets, config)?;
        Ok(match pacing.budget() {
            Some(b) => source.with_budget(b),
            None => source,
        })
    }
}

/// Why [`connect`] gave no client.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No API client for this platform in this build (its webhooks may still be understood).
    #[error("{} has no API client yet: it cannot be imported or re-synced", .0.as_str())]
    NoClient(Platform),
    /// The client could not be built.
    #[error(transparent)]
    Source(#[from] SourceError),
}

macro_rules! registry {
    ($( $variant:ident => $client:ty, )+) => {
        /// The API client of any platform that has one: what [`connect`] returns, a
        /// [`PlatformSource`] that forwards to the platform's own client (the port is not
        /// object-safe, so the registry is an enum).
        pub enum Source<S: SecretSource> {
            $(
                #[doc = concat!("`", stringify!($variant), "`'s client.")]
                $variant($client),
            )+
        }

        /// The client of `platform`, reading its credentials from `secret_name` in `secrets`,
        /// paced as deployed.
        ///
        /// # Errors
        /// [`ConnectError::NoClient`] for a platform without a client; the client's own.
        pub fn connect<S: SecretSource>(
            platform: Platform,
            secrets: S,
            secret_name: &str,
        ) -> Result<Source<S>, ConnectError> {
            connect_paced(platform, secrets, secret_name, Pacing::Deployed)
        }

        /// [`connect`] with the given [`Pacing`].
        ///
        /// # Errors
        /// As [`connect`].
        pub fn connect_paced<S: SecretSource>(
            platform: Platform,
            secrets: S,
            secret_name: &str,
            pacing: Pacing,
        ) -> Result<Source<S>, ConnectError> {
            #[allow(unreachable_patterns)]
            match platform {
                $( Platform::$variant => Ok(Source::$variant(
                    <$client as Connect<S>>::connect(secrets, secret_name, pacing)?,
                )), )+
                other => Err(ConnectError::NoClient(other)),
            }
        }

        impl<S: SecretSource> PlatformSource for Source<S> {
            fn platform(&self) -> Platform {
                match self { $( Source::$variant(c) => c.platform(), )+ }
            }

            fn collections(&self) -> &'static [&'static str] {
                match self { $( Source::$variant(c) => c.collections(), )+ }
            }

            fn incremental(&self, collection: &str) -> bool {
                match self { $( Source::$variant(c) => c.incremental(collection), )+ }
            }

            fn window(
                &self,
                collection: &str,
                now: access_sync_rules::Instant,
            ) -> Option<(access_sync_rules::Instant, access_sync_rules::Instant)> {
                match self { $( Source::$variant(c) => c.window(collection, now), )+ }
            }

            async fn list(&self, request: &ListRequest) -> Result<Page, SourceError> {
                match self { $( Source::$variant(c) => c.list(request).await, )+ }
            }

            async fn read(
                &self,
                collection: &str,
                id: &str,
                now: access_sync_rules::Instant,
            ) -> Result<Option<SourceRecord>, SourceError> {
                match self { $( Source::$variant(c) => c.read(collection, id, now).await, )+ }
            }
        }
    };
}

// One line per platform with an API client (its type implements [`Connect`]).
registry! {
    Officernd => officernd::OfficerndSource<S>,
    Optix => optix::OptixSource<optix::SecretTokens<S>>,
    Nexudus => nexudus::NexudusSource<S>,
    Teamup => teamup::TeamupSource<S>,
}

#[cfg(test)]
mod registry_tests {
    use super::*;
    use access_sync_ports::memory::MemorySecrets;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_platform_with_a_client_connects_and_an_empty_secret_is_not_configured() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.set("p/platforms/officernd", "");
        let source = connect(Platform::Officernd, secrets, "p/platforms/officernd").unwrap();
        assert_eq!(source.platform(), Platform::Officernd);
        assert!(source.collections().contains(&"memberships"));
        let err = source
            .list(&ListRequest {
                collection: "members".into(),
                changed_since: None,
                window: None,
                cursor: None,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::NotConfigured {
                    platform: Platform::Officernd
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_platform_without_a_client_says_so() {
        let secrets = Arc::new(MemorySecrets::default());
        let missing: Vec<Platform> = Platform::ALL
            .into_iter()
            .filter(|p| connect(*p, secrets.clone(), "x").is_err())
            .collect();
        for p in [
            Platform::Officernd,
            Platform::Optix,
            Platform::Nexudus,
            Platform::Teamup,
        ] {
            assert!(!missing.contains(&p), "{p:?} has a client");
        }
        for p in missing {
            let e = connect(p, secrets.clone(), "x").err().unwrap();
            assert!(e.to_string().contains("no API client"), "{e}");
        }
    }
}
