//! The one list of platforms. Adding a platform: its folder (`src/<name>/`, with a unit struct
//! implementing [`PlatformSpec`]), its `pub mod` line in `lib.rs`, and one line in the list
//! below; then the compiler points at every `match` on [`Platform`] (none outside tests) and
//! everything else ([`Platform::ALL`], routes, secrets, fixtures, the local stack) follows.

use crate::api::{ApiRecord, Mapped, NoApiMapping};
use crate::spec::{FixtureLine, PlatformSpec};
use crate::{Delivery, Known, Rejection, Verdict, check_size};
use access_sync_rules::{EntitlementId, Event, Instant};
use std::fmt;

macro_rules! platforms {
    ($( $(#[$doc:meta])* $variant:ident => $spec:expr, )+) => {
        /// A platform whose webhooks we understand.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Platform {
            $( $(#[$doc])* $variant, )+
        }

        impl Platform {
            /// Every platform, in the order the docs list them.
            pub const ALL: [Platform; [$( stringify!($variant) ),+].len()] =
                [ $( Platform::$variant, )+ ];

            /// Everything about the platform (its folder's [`PlatformSpec`]).
            pub fn spec(self) -> &'static dyn PlatformSpec {
                match self {
                    $( Platform::$variant => &$spec, )+
                }
            }
        }
    };
}

platforms! {
    /// OfficeRnD (Flex).
    Officernd => crate::officernd::Officernd,
    /// Optix.
    Optix => crate::optix::Optix,
    /// Nexudus.
    Nexudus => crate::nexudus::Nexudus,
    /// TeamUp.
    Teamup => crate::teamup::Teamup,
}

impl Platform {
    /// Parses a platform's name (`officernd`, `optix`, `nexudus`, `teamup`; any case).
    pub fn parse(s: &str) -> Option<Platform> {
        let s = s.trim();
        Platform::ALL
            .iter()
            .copied()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The name, which is also the ingest route (`/officernd`, …) and the fixtures folder.
    pub fn as_str(self) -> &'static str {
        self.spec().name()
    }

    /// Checks the delivery's signature (or, for TeamUp, the installation secret).
    pub fn verify(self, secret: &str, d: &Delivery<'_>, now: Instant) -> Verdict {
        self.spec().verify(secret, d, now)
    }

    /// Translates the payload into canonical events, without checking the signature.
    pub fn normalize(self, d: &Delivery<'_>, known: &dyn Known) -> Result<Vec<Event>, Rejection> {
        check_size(d.body.len())?;
        self.spec().normalize(d, known)
    }

    /// What an ingest route does: size (413), then signature (401), then payload (400).
    pub fn accept(
        self,
        secret: &str,
        d: &Delivery<'_>,
        now: Instant,
        known: &dyn Known,
    ) -> Result<Vec<Event>, Rejection> {
        check_size(d.body.len())?;
        self.verify(secret, d, now)?;
        self.normalize(d, known)
    }

    /// The canonical events a complete set of the platform's API records means (see
    /// [`PlatformSpec::map_records`]).
    ///
    /// # Errors
    /// [`NoApiMapping`] when the platform's API is not mapped yet.
    pub fn events_from_records(
        self,
        records: &[ApiRecord<'_>],
        at: Instant,
    ) -> Result<Mapped, NoApiMapping> {
        self.spec().map_records(records, at)
    }

    /// Whether a complete full listing would contain entitlement `id` if it still existed.
    pub fn covers(self, id: &EntitlementId) -> bool {
        self.spec().covers(id)
    }

    /// What a verified webhook of this platform is trusted for.
    pub fn webhook_trust(self) -> crate::WebhookTrust {
        self.spec().webhook_trust()
    }

    /// Splits a fixture line into its word (if the platform takes one) and its payload.
    pub fn fixture_line(self, line: &str) -> FixtureLine<'_> {
        let (word, payload) = crate::lines::split_word(self, line);
        FixtureLine { word, payload }
    }

    /// The delivery a fixture line stands for (unsigned).
    pub fn fixture_delivery(self, line: FixtureLine<'_>) -> Delivery<'_> {
        line.delivery(self.spec().fixture().word)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
