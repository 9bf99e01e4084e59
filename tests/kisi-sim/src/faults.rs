//! Fault switches: the ways tests make the simulator misbehave, the way real Kisi or the network
//! might.
//!
//! Counted faults (`*_requests`) fire on the next N API requests and then switch themselves off,
//! so a test can say "the next three calls fail" and then expect success. Admin requests are
//! never affected.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The fault switches, as set through `POST /__admin/faults` or [`crate::SimHandle::set_faults`].
/// Every field defaults to "off", so a JSON body only names the faults it wants.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added latency before each API request is answered, in milliseconds.
    pub latency_ms: u64,
    /// Apply the latency only to the next N requests (`None`: to all of them).
    pub latency_requests: Option<u32>,
    /// Share (0.0–1.0) of API requests answered with `error_status` before they are processed.
    pub error_rate: f64,
    /// The status used by `error_rate`; 503 when 0.
    pub error_status: u16,
    /// Answer the next N API requests with 429 (a storm).
    pub storm_429_requests: u32,
    /// Answer every API request with 429 for this many milliseconds from now.
    pub storm_429_for_ms: Option<u64>,
    /// Send `Retry-After: <s>` on 429 answers (real Kisi documents no such header).
    pub retry_after_secs: Option<u64>,
    /// Process the next N API requests, then drop the connection mid-response (the client
    /// cannot know whether a create happened).
    pub drop_connection_requests: u32,
    /// The next N list responses omit their last item while the range header still counts it.
    pub short_page_requests: u32,
    /// The next N list responses repeat an item (as if the collection shifted between pages).
    pub duplicate_page_requests: u32,
    /// `GET /users` ignores the `email` filter (as an API that does not know it would).
    pub email_filter_ignored: bool,
    /// `GET /users?email=` compares case-sensitively.
    pub email_filter_case_sensitive: bool,
}

/// Live fault state: the switches plus the storm deadline computed when they were set.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    pub(crate) storm_until: Option<Instant>,
}

/// What the middleware decided for one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub(crate) latency_ms: u64,
    pub(crate) rate_limit_storm: bool,
    pub(crate) server_error: Option<u16>,
    pub(crate) drop_connection: bool,
    pub(crate) retry_after_secs: Option<u64>,
}

impl FaultState {
    pub(crate) fn set(&mut self, faults: Faults) {
        self.storm_until = faults
            .storm_429_for_ms
            .map(|ms| Instant::now() + std::time::Duration::from_millis(ms));
        self.faults = faults;
    }

    /// Decides the request-level faults for one API request and consumes counted ones.
    pub(crate) fn next_verdict(&mut self, roll: f64) -> Verdict {
        let f = &mut self.faults;
        let mut v = Verdict {
            retry_after_secs: f.retry_after_secs,
            ..Verdict::default()
        };
        if f.latency_ms > 0 {
            match f.latency_requests.as_mut() {
                None => v.latency_ms = f.latency_ms,
                Some(0) => {}
                Some(n) => {
                    *n -= 1;
                    v.latency_ms = f.latency_ms;
                }
            }
        }
        let storm_by_time = self.storm_until.is_some_and(|until| Instant::now() < until);
        if f.storm_429_requests > 0 {
            f.storm_429_requests -= 1;
            v.rate_limit_storm = true;
        } else if storm_by_time {
            v.rate_limit_storm = true;
        }
        if !v.rate_limit_storm && f.error_rate > 0.0 && roll < f.error_rate {
            v.server_error = Some(if f.error_status == 0 {
                503
            } else {
                f.error_status
            });
        }
        if !v.rate_limit_storm && v.server_error.is_none() && f.drop_connection_requests > 0 {
            f.drop_connection_requests -= 1;
            v.drop_connection = true;
        }
        v
    }

    /// Whether this list response should be short; consumes one count.
    pub(crate) fn take_short_page(&mut self) -> bool {
        take(&mut self.faults.short_page_requests)
    }

    /// Whether this list response should repeat an item; consumes one count.
    pub(crate) fn take_duplicate_page(&mut self) -> bool {
        take(&mut self.faults.duplicate_page_requests)
    }
}

fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}
