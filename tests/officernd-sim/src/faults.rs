//! Fault switches (the ways a test makes the simulator misbehave as OfficeRnD or the network
//! might) and readings (switches between two behaviours where the reference is unsure which
//! one OfficeRnD has).
//!
//! Counted faults (`*_requests`) fire on the next N requests and then switch themselves off.
//! Faults apply to data API requests (`/api/v2/...`) after authentication; the token endpoint
//! has its own `token_error_requests`. Admin requests are never affected.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use sim_common::take;

/// The fault switches, set through `POST /__admin/faults` or [`crate::Sim::set_faults`]. Every
/// field defaults to "off", so a JSON body names only the faults it wants.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer the next N API requests with `error_status`.
    pub error_requests: u32,
    /// Share (0.0–1.0) of API requests answered with `error_status`.
    pub error_rate: f64,
    /// Let this many more API requests through, then answer every one with `error_status`
    /// until the faults are cleared (a listing that fails part-way, deterministically).
    pub fail_after_requests: Option<u32>,
    /// The status of injected errors; 503 when 0.
    pub error_status: u16,
    /// Answer the next N API requests with 429.
    pub storm_429_requests: u32,
    /// Answer every API request with 429 for this many milliseconds from when it is set.
    pub storm_429_for_ms: Option<u64>,
    /// Send `Retry-After: <s>` on injected 429s (the reference: not documented; `None` sends
    /// no header, the other reading).
    pub retry_after_secs: Option<u64>,
    /// The next N list pages that have more records after them come back short: about half
    /// the page, with a `cursorNext` that continues right after the last record returned
    /// (nothing is lost; a client that stops on a short page misses the rest).
    pub short_page_requests: u32,
    /// One-shot: every token issued so far expires now (401 until the client fetches a new
    /// one). Reads back as `false`.
    pub expire_tokens_now: bool,
    /// Answer the next N token requests with 503.
    pub token_error_requests: u32,
}

/// Readings: where the reference says OfficeRnD's behaviour is unknown or was observed two
/// ways, each switch picks one. The defaults follow the reference's strongest evidence (see
/// the crate README for the sources).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Readings {
    /// The last page carries `"cursorNext": null, "cursorPrev": …` (the documented example's
    /// shape) instead of omitting absent cursor keys (observed on staging; default).
    pub null_cursor_keys: bool,
    /// Accept `modifiedAt`/`createdAt` comparisons on every collection (a third-party
    /// connector's "modified since" reading). Default: only where documented (members,
    /// companies, floors; check-ins on `createdAt`), 400 elsewhere as observed on memberships.
    pub modified_at_everywhere: bool,
    /// Ignore undeclared query parameters on lists. Default: 400 "property X should not exist"
    /// (observed).
    pub ignore_unknown_params: bool,
    /// `email=` compares case-insensitively. Default: exact (documented "exact match").
    pub email_case_insensitive: bool,
    /// Webhook `data.object` uses v1 names (`team`, `office`) instead of v2 (`company`,
    /// `location`); the reference: not documented.
    pub webhook_v1_field_names: bool,
    /// Sign webhooks as `t=…,v1=…` instead of `t=…,signature=…` (the key of the broken n8n
    /// version; the HMAC stays body-first). Only for checking a receiver copes.
    pub webhook_signature_key_v1: bool,
    /// The configured rate limiter answers 429 without `Retry-After` (not documented).
    pub limiter_without_retry_after: bool,
}

/// What the API gate decided for one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub(crate) rate_limit_storm: bool,
    pub(crate) server_error: Option<u16>,
    pub(crate) retry_after_secs: Option<u64>,
}

/// Live fault state: the switches plus the storm deadline computed when they were set.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    pub(crate) storm_until: Option<Instant>,
}

impl FaultState {
    /// Stores the switches (the one-shot `expire_tokens_now` is the caller's to act on).
    pub(crate) fn set(&mut self, mut faults: Faults) {
        faults.expire_tokens_now = false;
        self.storm_until = faults
            .storm_429_for_ms
            .map(|ms| Instant::now() + std::time::Duration::from_millis(ms));
        self.faults = faults;
    }

    /// Decides the request-level faults for one API request and consumes counted ones.
    pub(crate) fn next_verdict(&mut self, roll: f64) -> Verdict {
        let storm_by_time = self.storm_until.is_some_and(|until| Instant::now() < until);
        let f = &mut self.faults;
        let mut v = Verdict {
            retry_after_secs: f.retry_after_secs,
            ..Verdict::default()
        };
        if take(&mut f.storm_429_requests) || storm_by_time {
            v.rate_limit_storm = true;
            return v;
        }
        let status = if f.error_status == 0 {
            503
        } else {
            f.error_status
        };
        let failing_now = match &mut f.fail_after_requests {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        };
        if failing_now || take(&mut f.error_requests) || (f.error_rate > 0.0 && roll < f.error_rate)
        {
            v.server_error = Some(status);
        }
        v
    }

    /// Whether this list page should be short; consumes one count.
    pub(crate) fn take_short_page(&mut self) -> bool {
        take(&mut self.faults.short_page_requests)
    }

    /// Whether this token request should fail; consumes one count.
    pub(crate) fn take_token_error(&mut self) -> bool {
        take(&mut self.faults.token_error_requests)
    }
}
